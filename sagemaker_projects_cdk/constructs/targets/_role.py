"""The service roles of a target account's baseline (``deployer``, ``endpoint``)."""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from constructs import Construct

from ..deploy.targets import TARGET_ROLE_PATH, TargetRole, target_role_name


def target_service_role(
    scope: Construct,
    *,
    tooling_account: str,
    role: TargetRole,
    service: str,
    description: str,
    from_this_account: bool = False,
) -> iam.Role:
    """``sagemaker-projects-<tooling account>-<role>`` under ``TARGET_ROLE_PATH``, assumed by
    ``service`` (a service principal such as ``sagemaker.amazonaws.com``); its construct id
    is ``Role`` in ``scope``. ``from_this_account``: the service may assume it only on behalf of
    this account's resources (``aws:SourceAccount``, against the confused deputy)."""
    conditions = {"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}} if from_this_account else None
    return iam.Role(
        scope,
        "Role",
        role_name=target_role_name(tooling_account, role),
        path=TARGET_ROLE_PATH,
        assumed_by=iam.ServicePrincipal(service, conditions=conditions),
        description=description,
    )
