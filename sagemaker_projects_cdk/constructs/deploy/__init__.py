"""Model deployment: the deploy pipeline, its stages and CloudFormation's deployer role."""
