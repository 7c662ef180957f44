"""Autoscaling of a ``ModelEndpoint``'s instance variant.

One scalable target on the variant's instance count and one target-tracking policy on
invocations per instance, behind a CloudFormation condition when ``enabled`` is a token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Union

from aws_cdk import CfnCondition, CfnResource, Duration, Fn, Stack, Token
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from constructs import Construct

from ..._internal.validation import is_unresolved
from .settings import Autoscaling, BacklogScaling

if TYPE_CHECKING:
    from .endpoint import ModelEndpoint

#: The service-linked role Application Auto Scaling uses for SageMaker variants. RoleARN is
#: optional, but the resource schema recommends naming the service-linked role so that
#: CloudFormation creates it in an account that does not have it yet; and without a role
#: aws-cdk-lib's ScalableTarget would create a plain service role instead. Whoever deploys the
#: template needs iam:CreateServiceLinkedRole and iam:PassRole of exactly this role
#: (``StageDeployerRole``).
_SCALING_ROLE = (
    "aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
)


def scale_variant(endpoint: ModelEndpoint, settings: Autoscaling) -> appscaling.ScalableTarget:
    """The scalable target (created in ``endpoint``) of its variant, tracking invocations per instance."""
    target = _variant_target(endpoint, settings)
    policy = target.scale_to_track_metric(
        "InvocationsPerInstance",
        target_value=settings.target_invocations_per_instance,
        predefined_metric=appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
        scale_in_cooldown=settings.scale_in_cooldown,
        scale_out_cooldown=settings.scale_out_cooldown,
    )
    _when_enabled(endpoint, settings, target, policy)
    return target


def scale_backlog(endpoint: ModelEndpoint, settings: BacklogScaling) -> appscaling.ScalableTarget:
    """The scalable target of an asynchronous endpoint's variant, tracking the backlog per
    instance, with a step-scaling policy that adds the first instance when requests wait and
    none runs (``HasBacklogWithoutCapacity``) when ``min_capacity`` may be 0."""
    target = _variant_target(endpoint, settings)
    # The backlog metrics have the endpoint as their only dimension.
    dimensions = {"EndpointName": endpoint.endpoint_name}
    tracking = target.scale_to_track_metric(
        "BacklogPerInstance",
        target_value=settings.target_backlog_per_instance,
        custom_metric=cloudwatch.Metric(
            namespace="AWS/SageMaker",
            metric_name="ApproximateBacklogSizePerInstance",
            dimensions_map=dimensions,
            statistic="Average",
        ),
        scale_in_cooldown=settings.scale_in_cooldown,
        scale_out_cooldown=settings.scale_out_cooldown,
    )
    enabled = _when_enabled(endpoint, settings, target, tracking)
    from_zero = settings.scales_from_zero
    if from_zero is not False:
        step = appscaling.StepScalingAction(
            endpoint,
            "ScaleFromZero",
            scaling_target=target,
            adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
            metric_aggregation_type=appscaling.MetricAggregationType.AVERAGE,
            cooldown=settings.scale_out_cooldown,
        )
        step.add_adjustment(adjustment=1, lower_bound=0)
        alarm = cloudwatch.Alarm(
            endpoint,
            "BacklogWithoutCapacityAlarm",
            alarm_description=(
                f"Requests wait at asynchronous SageMaker endpoint {endpoint.endpoint_name} and no instance runs: "
                "scale out from zero"
            ),
            metric=cloudwatch.Metric(
                namespace="AWS/SageMaker",
                metric_name="HasBacklogWithoutCapacity",
                dimensions_map=dimensions,
                statistic="Average",
                period=Duration.minutes(1),
            ),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=2,
            treat_missing_data=cloudwatch.TreatMissingData.MISSING,
        )
        alarm.add_alarm_action(cloudwatch_actions.ApplicationScalingAction(step))
        endpoint.scale_from_zero_alarm = alarm
        zero_expression = Fn.condition_equals(Token.as_string(settings.min_capacity), "0")
        condition: Optional[CfnCondition] = enabled
        if from_zero is None and enabled is not None:
            condition = CfnCondition(
                endpoint, "ScalesFromZero", expression=Fn.condition_and(enabled, zero_expression)  # type: ignore[arg-type]  # a condition is an expression
            )
        elif from_zero is None:
            condition = CfnCondition(endpoint, "ScalesFromZero", expression=zero_expression)
        if condition is not None:
            for zero_scaling in (step, alarm):
                _default_child(zero_scaling).cfn_options.condition = condition
    return target


def _variant_target(endpoint: ModelEndpoint, settings: Union[Autoscaling, BacklogScaling]) -> appscaling.ScalableTarget:
    """The scalable target (created in ``endpoint``, after its endpoint) of its variant's
    instance count, Application Auto Scaling acting as its service-linked role."""
    stack = Stack.of(endpoint)
    target = appscaling.ScalableTarget(
        endpoint,
        "ScalableTarget",
        service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
        resource_id=f"endpoint/{endpoint.endpoint_name}/variant/{endpoint.variant_name}",
        scalable_dimension="sagemaker:variant:DesiredInstanceCount",
        min_capacity=settings.min_capacity,
        max_capacity=settings.max_capacity,
        role=iam.Role.from_role_arn(
            endpoint,
            "ScalingRole",
            stack.format_arn(service="iam", region="", resource="role", resource_name=_SCALING_ROLE),
            mutable=False,
        ),
    )
    target.node.add_dependency(endpoint.endpoint)
    return target


def _when_enabled(
    endpoint: ModelEndpoint, settings: Union[Autoscaling, BacklogScaling], *scalings: Construct
) -> Optional[CfnCondition]:
    """With ``enabled`` a token, ``scalings`` exist only under condition ``AutoscalingEnabled``
    (returned); otherwise none."""
    if not is_unresolved(settings.enabled):
        return None
    enabled = CfnCondition(endpoint, "AutoscalingEnabled", expression=Fn.condition_equals(settings.enabled, "true"))
    for scaling in scalings:
        _default_child(scaling).cfn_options.condition = enabled
    return enabled


def _default_child(construct: Construct) -> CfnResource:
    child = construct.node.default_child
    assert isinstance(child, CfnResource)
    return child
