"""SageMaker Model Monitor for one endpoint: data quality, model quality, bias drift and
feature attribution drift, with alarms on what they find (``ModelMonitors``)."""

from .images import MONITOR_REGIONS, image_uris
from .monitors import METRIC_NAMESPACES, ModelMonitors, Monitor
from .naming import job_definition_name, schedule_name
from .permissions import monitor_deployer_statements, project_monitor_deployer_statements
from .settings import (
    DAILY,
    HOURLY,
    PROBLEM_TYPES,
    DataQualityMonitor,
    ExplainabilityMonitor,
    ModelAttributes,
    ModelBiasMonitor,
    ModelQualityMonitor,
    MonitoringResources,
    ViolationAlarm,
)

__all__ = [
    "DAILY",
    "DataQualityMonitor",
    "ExplainabilityMonitor",
    "HOURLY",
    "METRIC_NAMESPACES",
    "MONITOR_REGIONS",
    "ModelAttributes",
    "ModelBiasMonitor",
    "ModelMonitors",
    "ModelQualityMonitor",
    "Monitor",
    "MonitoringResources",
    "PROBLEM_TYPES",
    "ViolationAlarm",
    "image_uris",
    "job_definition_name",
    "monitor_deployer_statements",
    "project_monitor_deployer_statements",
    "schedule_name",
]
