"""AWS CDK v2 constructs and stacks for the Amazon SageMaker Projects MLOps templates.

Where to start:

- ``sagemaker_projects_cdk.stacks``: one stack per template (``TEMPLATES`` maps template
  ids to them), each with its settings dataclass and their defaults, and the stage stacks
  the deploy pipelines deploy (``EndpointStageStack``...);
- ``sagemaker_projects_cdk.constructs``: the building blocks the templates compose
  (artifact bucket, model package group, build and deploy pipelines, endpoints, monitors,
  images, notifications), for your own app;
- ``sagemaker_projects_cdk.studio``: the templates published to SageMaker Studio (Service
  Catalog products, S3 templates);
- ``sagemaker_projects_cdk.compliance``: the security packs and how a finding is
  acknowledged; ``sagemaker_projects_cdk.app``: the app ``cdk synth`` builds.

The seed code the projects' repositories start with (``seed_code/``) is shipped in the
package but is not part of this API.
"""

__version__ = "0.1.0"
