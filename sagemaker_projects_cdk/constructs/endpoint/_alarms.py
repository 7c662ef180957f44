"""The CloudWatch alarms that roll back a ``ModelEndpoint`` deployment.

SageMaker's deployment guardrails watch these alarms while traffic shifts to the new fleet
and roll back when one fires: one on server errors, one on model latency.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from aws_cdk import aws_cloudwatch as cloudwatch

from .rollout import RollbackAlarms

if TYPE_CHECKING:
    from .endpoint import ModelEndpoint


def rollback_alarms(
    endpoint: ModelEndpoint, settings: RollbackAlarms, *, alarm_actions: Sequence[cloudwatch.IAlarmAction]
) -> tuple[cloudwatch.Alarm, cloudwatch.Alarm]:
    """The errors and latency alarms of ``endpoint`` (created in it), each also doing ``alarm_actions``."""
    errors = cloudwatch.Alarm(
        endpoint,
        "ErrorsAlarm",
        alarm_description=(
            f"Rolls back a deployment of SageMaker endpoint {endpoint.endpoint_name} when the model returns "
            "server errors (Invocation5XXErrors)"
        ),
        metric=endpoint.metric_5xx_errors(period=settings.period),
        threshold=settings.error_threshold,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluation_periods=settings.evaluation_periods,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    # ModelLatency is in microseconds; the alarm compares milliseconds.
    latency_ms = cloudwatch.MathExpression(
        expression="latency / 1000",
        using_metrics={
            "latency": endpoint.metric_model_latency(statistic=settings.latency_statistic, period=settings.period)
        },
        label="ModelLatency (ms)",
        period=settings.period,
    )
    threshold_ms = settings.latency_threshold_ms()
    if threshold_ms is None:  # RollbackAlarms refuses such a duration when it is created
        raise ValueError(f"invalid latency_threshold {settings.latency_threshold}: expected a duration in milliseconds")
    latency = cloudwatch.Alarm(
        endpoint,
        "LatencyAlarm",
        alarm_description=(
            f"Rolls back a deployment of SageMaker endpoint {endpoint.endpoint_name} when model latency "
            f"({settings.latency_statistic}) exceeds the threshold in milliseconds"
        ),
        metric=latency_ms,
        threshold=threshold_ms,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluation_periods=settings.evaluation_periods,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    for alarm in (errors, latency):
        alarm.add_alarm_action(*alarm_actions)
    return errors, latency
