"""AWS CDK v2 constructs and stacks for the Amazon SageMaker Projects MLOps templates."""

__version__ = "0.1.0"
