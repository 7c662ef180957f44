"""Operating a project, on every template: the notification topic, its rules, the dashboard.

:func:`add_operations` is the last component every template composes: it reads what the
others built (the pipelines, the stages) from the template's parts and tells the project's
topic about each of them, and charts them on one dashboard.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Sequence

from aws_cdk import ArnFormat, CfnOutput, Stack

from ...constructs.operations.dashboard import ProjectDashboard
from ...constructs.operations.notifications import (
    ProjectNotifications,
    approval_waiting,
    check_emails,
    check_topic_arns,
    endpoint_alarm,
    model_decided,
    model_registered,
    pipeline_failed,
    sagemaker_pipeline_failed,
)
from ..template import TemplateSettings, setting

if TYPE_CHECKING:
    from .core import ProjectCore
    from .parts import TemplateParts


@dataclass(frozen=True, kw_only=True)
class OperationsSettings(TemplateSettings):
    """Settings of the project's notifications (every template has them)."""

    notification_emails: tuple[str, ...] = setting(
        (),
        doc="email addresses subscribed to the project's notification topic (each confirms by email); none: "
        "subscribe later to the topic the stack outputs",
        check=check_emails,
    )
    notification_topic_arns: tuple[str, ...] = setting(
        (),
        doc="existing SNS topics (a chat integration's, a team's; up to 4) that receive the same messages; their "
        "policies must let events.amazonaws.com publish",
        check=check_topic_arns,
    )


@dataclass(frozen=True)
class OperationsParts:
    """What :func:`add_operations` built."""

    notifications: ProjectNotifications
    dashboard: ProjectDashboard


def add_operations(
    stack: Stack,
    core: ProjectCore,
    settings: OperationsSettings,
    parts: TemplateParts,
    *,
    sagemaker_pipeline_name: Optional[str] = None,
    endpoint_stages: Sequence[str] = (),
) -> TemplateParts:
    """The project's topic, one rule per kind of message its parts call for, and its
    dashboard; returns ``parts`` with ``operations`` set. Compose it last.

    :param sagemaker_pipeline_name: the SageMaker pipeline a model build outside the parts
        runs (e.g. Jenkins's). Default: the model-build part's, if any.
    :param endpoint_stages: the stages whose endpoints a deployment outside the parts creates
        (e.g. Jenkins's). Default: the model-deploy part's, if any.
    """
    from .core import apply_private_network  # core imports this module's settings

    apply_private_network(stack, core)
    project = core.project
    notifications = ProjectNotifications(
        stack,
        "Notifications",
        project=project,
        encryption_key=core.artifacts.encryption_key,
        emails=settings.notification_emails,
        topic_arns=settings.notification_topic_arns,
    )
    codepipelines = []
    sagemaker_pipeline = sagemaker_pipeline_name
    stages: list[str] = list(endpoint_stages)
    monitor_stages: list[str] = []
    if parts.model_build is not None:
        codepipelines.append(parts.model_build.pipeline.pipeline.pipeline_name)
        sagemaker_pipeline = project.name_id
    if parts.images is not None:
        codepipelines.extend(p.pipeline.pipeline_name for p in parts.images.pipelines)
    if parts.model_deploy is not None:
        codepipelines.append(parts.model_deploy.pipeline.pipeline.pipeline_name)
        stages = [stage.name for stage in parts.model_deploy.pipeline.stages]
    if parts.monitoring is not None:
        from .monitoring import stage_account_ids  # imports this module's users

        codepipelines.append(parts.monitoring.pipeline.pipeline.pipeline_name)
        monitor_stages = [stage.name for stage in parts.monitoring.pipeline.stages]
        # The monitor stacks' drift alarms publish to the topic from each stage's account.
        notifications.allow_cloudwatch_alarms(stage_account_ids(parts.monitoring.pipeline))
    if codepipelines:  # an event pattern may not hold an empty list
        notifications.notify(pipeline_failed(project, codepipelines))
    if sagemaker_pipeline is not None:
        arn = stack.format_arn(
            service="sagemaker", resource="pipeline", resource_name=sagemaker_pipeline, arn_format=ArnFormat.SLASH_RESOURCE_NAME
        )
        notifications.notify(sagemaker_pipeline_failed(project, arn))
    group_name = core.model_package_group.model_package_group_name
    notifications.notify(model_registered(project, group_name))
    notifications.notify(model_decided(project, group_name))
    if parts.model_deploy is not None:
        deploy = parts.model_deploy.pipeline
        if any(stage.approval for stage in deploy.stages):
            notifications.notify(approval_waiting(project, deploy.pipeline.pipeline_name))
    if stages:
        notifications.notify(endpoint_alarm(project, project.resource_name("deploy-")))
    if parts.monitoring is not None and any(stage.approval for stage in parts.monitoring.pipeline.stages):
        monitor = parts.monitoring.pipeline.pipeline.pipeline_name
        notifications.notify(approval_waiting(project, monitor), construct_id="MonitorApprovalWaiting")
    dashboard = ProjectDashboard(
        stack,
        "Dashboard",
        project=project,
        codepipeline_names=codepipelines,
        sagemaker_pipeline_name=sagemaker_pipeline,
        endpoint_stages=stages,
        monitor_stages=monitor_stages,
    )
    CfnOutput(stack, "NotificationTopicArn", value=notifications.topic.topic_arn)
    CfnOutput(stack, "DashboardName", value=dashboard.dashboard.dashboard_name)
    return dataclasses.replace(parts, operations=OperationsParts(notifications, dashboard))
