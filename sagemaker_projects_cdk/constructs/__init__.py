"""Building blocks of the SageMaker Projects templates, one concern per module."""

from .build.execution_role import SageMakerExecutionRole
from .build.pipeline import ModelBuildPipeline
from .deploy.deployer_role import StageDeployerRole
from .deploy.pipeline import ModelDeployPipeline
from .deploy.stages import DEFAULT_STAGES, DeployStage
from .deploy.teardown import StageTeardown
from .endpoint.endpoint import ModelEndpoint
from .endpoint.rollout import BlueGreenRollout, RollbackAlarms, TrafficShift, TrafficStep
from .endpoint.settings import Autoscaling, DataCapture, InstanceVariant, ServerlessVariant
from .monitor import (
    DataQualityMonitor,
    ExplainabilityMonitor,
    ModelAttributes,
    ModelBiasMonitor,
    ModelMonitors,
    ModelQualityMonitor,
    MonitoringResources,
    ViolationAlarm,
    monitor_deployer_statements,
)
from .project.dataset import ProjectDataset
from .project.identity import ProjectIdentity
from .project.precheck import RetainedResourceCheck
from .project.storage import ArtifactBucket, project_key
from .registry.approval_rule import ModelApprovalRule
from .registry.model_package_group import IModelPackageGroup, ImportedModelPackageGroup, ModelPackageGroup
from .sources.seeded_repository import SeededRepository, seed_code_path
from .sources.source import CodeCommitSource, CodeConnectionsSource, PipelineSource
from .targets import (
    TargetActionsRole,
    TargetDeployerRole,
    TargetEndpointRole,
    ToolingAccountTrust,
)

__all__ = [
    "ArtifactBucket",
    "Autoscaling",
    "BlueGreenRollout",
    "CodeCommitSource",
    "CodeConnectionsSource",
    "DataCapture",
    "DataQualityMonitor",
    "DEFAULT_STAGES",
    "DeployStage",
    "ExplainabilityMonitor",
    "IModelPackageGroup",
    "ImportedModelPackageGroup",
    "InstanceVariant",
    "ModelApprovalRule",
    "ModelAttributes",
    "ModelBiasMonitor",
    "ModelBuildPipeline",
    "ModelDeployPipeline",
    "ModelEndpoint",
    "ModelMonitors",
    "ModelPackageGroup",
    "ModelQualityMonitor",
    "MonitoringResources",
    "PipelineSource",
    "ProjectDataset",
    "ProjectIdentity",
    "RetainedResourceCheck",
    "RollbackAlarms",
    "SageMakerExecutionRole",
    "SeededRepository",
    "ServerlessVariant",
    "StageDeployerRole",
    "StageTeardown",
    "TargetActionsRole",
    "TargetDeployerRole",
    "TargetEndpointRole",
    "ToolingAccountTrust",
    "TrafficShift",
    "TrafficStep",
    "ViolationAlarm",
    "monitor_deployer_statements",
    "project_key",
    "seed_code_path",
]
