"""Operating a project: its notification topic and rules, its dashboard."""

from .dashboard import ProjectDashboard
from .notifications import (
    Message,
    ProjectNotifications,
    approval_waiting,
    endpoint_alarm,
    model_decided,
    model_registered,
    pipeline_failed,
    sagemaker_pipeline_failed,
)

__all__ = [
    "Message",
    "ProjectDashboard",
    "ProjectNotifications",
    "approval_waiting",
    "endpoint_alarm",
    "model_decided",
    "model_registered",
    "pipeline_failed",
    "sagemaker_pipeline_failed",
]
