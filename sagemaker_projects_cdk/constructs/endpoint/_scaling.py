"""Autoscaling of a ``ModelEndpoint``'s instance variant.

One scalable target on the variant's instance count and one target-tracking policy on
invocations per instance, behind a CloudFormation condition when ``enabled`` is a token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import CfnCondition, Fn, Stack
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_iam as iam

from ..._internal.validation import is_unresolved
from .settings import Autoscaling

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
    policy = target.scale_to_track_metric(
        "InvocationsPerInstance",
        target_value=settings.target_invocations_per_instance,
        predefined_metric=appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
        scale_in_cooldown=settings.scale_in_cooldown,
        scale_out_cooldown=settings.scale_out_cooldown,
    )
    if is_unresolved(settings.enabled):
        condition = CfnCondition(
            endpoint, "AutoscalingEnabled", expression=Fn.condition_equals(settings.enabled, "true")
        )
        for construct in (target, policy):
            construct.node.default_child.cfn_options.condition = condition  # type: ignore[union-attr]  # an L2's CfnResource
    return target
