"""Building blocks of the SageMaker Projects templates, one concern per module."""

from .artifact_bucket import ArtifactBucket, project_key
from .dataset import ProjectDataset
from .endpoint import ModelEndpoint
from .endpoint_rollout import BlueGreenRollout, RollbackAlarms, TrafficShift, TrafficStep
from .endpoint_settings import Autoscaling, DataCapture, InstanceVariant, ServerlessVariant
from .model_approval_rule import ModelApprovalRule
from .model_build_pipeline import ModelBuildPipeline
from .model_deploy_pipeline import ModelDeployPipeline
from .model_package_group import ImportedModelPackageGroup, ModelPackageGroup
from .project import ProjectIdentity
from .sagemaker_role import SageMakerExecutionRole
from .seeded_repository import SeededRepository, seed_code_path
from .source import CodeCommitSource, CodeConnectionsSource, PipelineSource
from .stage_deployer_role import StageDeployerRole

__all__ = [
    "ArtifactBucket",
    "Autoscaling",
    "BlueGreenRollout",
    "CodeCommitSource",
    "CodeConnectionsSource",
    "DataCapture",
    "ImportedModelPackageGroup",
    "InstanceVariant",
    "ModelApprovalRule",
    "ModelBuildPipeline",
    "ModelDeployPipeline",
    "ModelEndpoint",
    "ModelPackageGroup",
    "PipelineSource",
    "ProjectDataset",
    "ProjectIdentity",
    "RollbackAlarms",
    "SageMakerExecutionRole",
    "SeededRepository",
    "ServerlessVariant",
    "StageDeployerRole",
    "TrafficShift",
    "TrafficStep",
    "project_key",
    "seed_code_path",
]
