"""The "model building, training, deployment, and Amazon SageMaker Model Monitor" template:
build-deploy, and a third seeded repository whose pipeline deploys, per stage, the model
monitors of the model that stage's endpoint serves (data quality, model quality, bias drift,
feature attribution drift), with drift alarms on the project's notification topic and an
optional retraining on production drift."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Stack

from .components import (
    ModelBuildSettings,
    ModelDeploySettings,
    MonitoringSettings,
    TemplateParts,
    add_core,
    add_core_outputs,
    add_model_build,
    add_model_deploy,
    add_monitoring,
    add_operations,
)
from .template import Template, TemplateStack


@dataclass(frozen=True, kw_only=True)
class BuildDeployMonitorSettings(MonitoringSettings, ModelDeploySettings, ModelBuildSettings):
    """Settings of the build-deploy-monitor template: build-deploy's, then the monitoring's."""


def _compose(stack: Stack, settings: BuildDeployMonitorSettings) -> TemplateParts:
    core = add_core(stack, settings)
    model_build = add_model_build(stack, core, settings)
    model_deploy = add_model_deploy(stack, core, settings)
    monitoring = add_monitoring(stack, core, settings, model_build=model_build, model_deploy=model_deploy)
    add_core_outputs(stack, core)
    parts = TemplateParts.of(core, model_build=model_build, model_deploy=model_deploy, monitoring=monitoring)
    return add_operations(stack, core, settings, parts)


BUILD_DEPLOY_MONITOR = Template(
    template_id="build-deploy-monitor",
    # SageMaker's own title: 91 characters, within Service Catalog's 100 for a product name.
    title="MLOps template for model building, training, deployment, and Amazon SageMaker Model Monitor",
    description="SageMaker project: model building, training, deployment and Model Monitor (sagemaker-projects-cdk)",
    summary="build-deploy, and a third repository whose pipeline deploys, per stage, Model Monitor schedules (data "
    "quality, model quality, bias drift, feature attribution drift) for the model the stage's endpoint serves, "
    "started by its commits and when the staging or prod endpoint reaches InService; drift alarms notify the project's "
    "topic and may start the model build (retraining, off by default)",
    settings=BuildDeployMonitorSettings,
    compose=_compose,
)


class BuildDeployMonitorStack(TemplateStack):
    """Model building, training and deployment (see ``BuildDeployStack``), and Amazon SageMaker
    Model Monitor: a CodeCommit repository (or a connection's repository) seeded with the
    monitor code, and a pipeline that deploys the monitor stage stack
    ``sagemaker-<name>-<id>-monitor-<stage>`` through the deploy pipeline's stages (a person
    approves before prod), for the model version each stage's endpoint serves and its drift
    baselines. It starts on every push and when the staging or prod endpoint (in this account)
    reaches InService. The
    monitors' drift alarms publish to the project's notification topic; with
    ``retrain_on_drift`` a prod drift alarm starts the model build. Deleting the project
    deletes the monitor stage stacks (their schedules) before the endpoint stage stacks.

    Settings: ``BuildDeployMonitorSettings``; any other keyword is an ``aws_cdk.Stack`` property.
    """

    TEMPLATE = BUILD_DEPLOY_MONITOR
