"""Building blocks of the SageMaker Projects templates, one concern per module."""

from .artifact_bucket import ArtifactBucket, project_key
from .dataset import ProjectDataset
from .model_build_pipeline import ModelBuildPipeline
from .model_package_group import ModelPackageGroup
from .project import ProjectIdentity
from .sagemaker_role import SageMakerExecutionRole
from .seeded_repository import SeededRepository, seed_code_path
from .source import CodeCommitSource, CodeConnectionsSource, PipelineSource

__all__ = [
    "ArtifactBucket",
    "CodeCommitSource",
    "CodeConnectionsSource",
    "ModelBuildPipeline",
    "ModelPackageGroup",
    "PipelineSource",
    "ProjectDataset",
    "ProjectIdentity",
    "SageMakerExecutionRole",
    "SeededRepository",
    "project_key",
    "seed_code_path",
]
