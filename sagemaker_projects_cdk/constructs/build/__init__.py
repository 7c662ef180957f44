"""Model building: the SageMaker pipeline's execution role and the CI pipeline that runs it."""
