"""The settings of ``ModelMonitors``, grouped as frozen dataclasses.

Every value may be a CloudFormation token (a parameter of the stage template); resolved
values are checked when ``ModelMonitors`` is built, with a ``ValueError`` naming the setting.
A monitor's ``enabled`` is a bool, ``"true"``/``"false"`` or a token of one of them (the
template then decides with a condition).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Union

#: Model quality's problem types (``ModelQualityAppSpecification.ProblemType``).
PROBLEM_TYPES = ("Regression", "BinaryClassification", "MulticlassClassification")
#: Hourly at minute 0, the schedule SageMaker's own templates use.
HOURLY = "cron(0 * ? * * *)"
#: Daily at midnight UTC.
DAILY = "cron(0 0 ? * * *)"
#: The expressions SageMaker accepts for a monitoring schedule: hourly, every N hours starting at
#: hour H, daily at hour H (minute 0 always).
SCHEDULE_EXPRESSION_PATTERN = r"cron\(0 (\*|[0-9]{1,2}|[0-9]{1,2}/[0-9]{1,2}) \? \* \* \*\)"
#: Alarm comparisons that make sense for a monitor's metric.
ALARM_COMPARISONS = ("GreaterThanThreshold", "GreaterThanOrEqualToThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold")

#: ``enabled``: a bool, or ``"true"``/``"false"`` (a token of one: decided at deployment).
Switch = Union[bool, str]


@dataclass(frozen=True, kw_only=True)
class ViolationAlarm:
    """A CloudWatch alarm on one metric a monitor publishes for the endpoint and schedule.

    Model Monitor publishes one metric per feature (data quality: ``feature_baseline_drift_<feature>``
    in ``aws/sagemaker/Endpoints/data-metrics``), per quality measure (``rmse``, ``accuracy``...
    in ``aws/sagemaker/Endpoints/model-metrics``), per bias measure (``bias_metric_<measure>``
    in ``aws/sagemaker/Endpoints/bias-metrics``) and per attribution
    (``aws/sagemaker/Endpoints/explainability-metrics``), with the dimensions ``Endpoint`` and
    ``MonitoringSchedule``; CloudWatch alarms cannot match metric names by pattern, so the
    alarm names one.

    :param metric_name: the metric (empty: no alarm; a token: decided at deployment).
    :param threshold: the value that breaches.
    :param comparison: one of ``ALARM_COMPARISONS``. Default: above the threshold.
    :param evaluation_periods: consecutive breaching schedule periods (hours by default) before
        the alarm fires. Default: 1.
    :param dimensions: dimensions the metric carries besides ``Endpoint`` and
        ``MonitoringSchedule`` (bias metrics: ``BiasStage``, ``Label``, ``LabelValue``,
        ``Facet``, ``FacetValue``; explainability: ``Label``). Default: none.
    """

    metric_name: str
    threshold: Union[float, str]
    comparison: str = "GreaterThanThreshold"
    evaluation_periods: Union[int, float] = 1
    dimensions: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class DataQualityMonitor:
    """Data quality: the captured inputs' statistics against the training data's baseline.

    :param statistics_uri: S3 URI of the baseline ``statistics.json``.
    :param constraints_uri: S3 URI of the baseline ``constraints.json``.
    :param enabled: Default: True.
    :param alarm: Default: no alarm.
    """

    statistics_uri: str
    constraints_uri: str
    enabled: Switch = True
    alarm: Optional[ViolationAlarm] = None


@dataclass(frozen=True, kw_only=True)
class ModelQualityMonitor:
    """Model quality: captured predictions merged with ground truth, against the baseline's
    constraints (created only with ``ModelMonitors``' ``ground_truth_s3_uri``).

    :param constraints_uri: S3 URI of the baseline ``constraints.json``.
    :param enabled: Default: True.
    :param alarm: Default: no alarm.
    """

    constraints_uri: str
    enabled: Switch = True
    alarm: Optional[ViolationAlarm] = None


@dataclass(frozen=True, kw_only=True)
class _ClarifyMonitor:
    """The settings both Clarify monitors take (see ``ModelBiasMonitor``, ``ExplainabilityMonitor``)."""

    analysis_config_uri: str
    constraints_uri: str
    enabled: Switch = True
    alarm: Optional[ViolationAlarm] = None


@dataclass(frozen=True, kw_only=True)
class ModelBiasMonitor(_ClarifyMonitor):
    """Bias drift (Clarify): captured data and ground truth against the baseline's bias
    constraints (created only with ``ModelMonitors``' ``ground_truth_s3_uri``).

    :param analysis_config_uri: S3 URI of Clarify's ``analysis_config.json``.
    :param constraints_uri: S3 URI of the baseline's bias constraints.
    :param enabled: Default: True.
    :param alarm: Default: no alarm.
    """


@dataclass(frozen=True, kw_only=True)
class ExplainabilityMonitor(_ClarifyMonitor):
    """Feature attribution drift (Clarify, SHAP): Clarify runs a temporary shadow endpoint of
    the model the analysis config names (named with the ``clarify_endpoint_prefix`` of ``ModelMonitors``).

    :param analysis_config_uri: S3 URI of Clarify's ``analysis_config.json``.
    :param constraints_uri: S3 URI of the baseline's explainability constraints.
    :param enabled: Default: True.
    :param alarm: Default: no alarm.
    """


@dataclass(frozen=True, kw_only=True)
class ModelAttributes:
    """How the monitors read the model's captured output.

    :param problem_type: one of ``PROBLEM_TYPES`` (model quality). Default: ``Regression``.
    :param inference_attribute: the prediction's column or JSON path (empty: the whole output).
        Default: empty.
    :param probability_attribute: the probability's column or JSON path (classification;
        empty: none). Default: empty.
    :param probability_threshold_attribute: the threshold that turns a probability into a
        label (binary classification; empty: none). Default: empty.
    """

    problem_type: str = "Regression"
    inference_attribute: str = ""
    probability_attribute: str = ""
    probability_threshold_attribute: Union[str, float] = ""


@dataclass(frozen=True, kw_only=True)
class MonitoringResources:
    """When the monitoring jobs run and on what.

    :param schedule_expression: Default: hourly (``cron(0 * ? * * *)``).
    :param instance_type: Default: ``ml.m5.xlarge``.
    :param instance_count: Default: 1.
    :param volume_size_in_gb: Default: 20.
    :param max_runtime_in_seconds: at most the schedule's period (3600 for hourly, SageMaker's
        rule); Default: 3600.
    """

    schedule_expression: str = HOURLY
    instance_type: str = "ml.m5.xlarge"
    instance_count: Union[int, float] = 1
    volume_size_in_gb: Union[int, float] = 20
    max_runtime_in_seconds: Union[int, float] = 3600
