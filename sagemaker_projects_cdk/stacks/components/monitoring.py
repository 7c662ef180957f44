"""The model-monitor part of a project: the seeded monitor repository, the monitor pipeline,
the teardown of its stage stacks, and the optional retraining on production drift.

It comes after the model-build and model-deploy halves (it reads both): the monitor pipeline
deploys ``sagemaker-<name>-<id>-monitor-<stage>`` through the deploy pipeline's stages, for
the model each stage's endpoint serves, and the drift alarms of those stacks publish to the
project's notification topic (``add_operations`` lets CloudWatch of the stage accounts publish).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

from aws_cdk import CfnCondition, CfnOutput, CfnParameter, Fn, Stack, Token
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as event_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from ..._internal.validation import invalid
from ...compliance import acknowledge_wildcards
from ...constructs.deploy.monitor_pipeline import ModelMonitorPipeline, MonitorDeployerRole
from ...constructs.deploy.teardown import StageTeardown
from ...constructs.monitor.permissions import project_monitor_deployer_statements
from ...constructs.network import ISOLATION_VARIABLE
from ...constructs.operations.notifications import notification_topic_arn
from ...constructs.project.identity import ProjectIdentity
from ..template import setting
from .core import ProjectCore, ProjectRepository, ProjectSettings, add_seeded_repository, after_seeding
from .model_build import ModelBuildParts
from .model_deploy import ModelDeployParts

#: The parameter of the retraining setting when it is not given.
RETRAIN_PARAMETER = "RetrainOnDrift"


def _check_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise invalid(name, value, "True or False (or no value: the RetrainOnDrift parameter, 'false' by default)")


@dataclass(frozen=True, kw_only=True)
class MonitoringSettings(ProjectSettings):
    """Settings of the model-monitor part."""

    retrain_on_drift: Optional[bool] = setting(
        None,
        doc="start the model build pipeline (retraining) when a drift alarm of the last stage (prod) goes into ALARM; "
        "not given: the `RetrainOnDrift` parameter, `false` by default (alarms only notify)",
        parameter=RETRAIN_PARAMETER,
        check=_check_bool,
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.source is not None:
            self.source.repository("model_monitor")  # a ValueError naming the missing repository


@dataclass(frozen=True)
class MonitoringParts:
    """What :func:`add_monitoring` built."""

    #: The CodeCommit repository the project created, or the existing one on a Git host.
    repository: ProjectRepository
    pipeline: ModelMonitorPipeline
    #: Deletes the monitor stage stacks when the project stack is deleted, before the endpoints'.
    teardown: StageTeardown
    #: Starts the model build on a production drift alarm (None when retraining is off at synth).
    retraining_rule: Optional[events.Rule]


def monitor_alarm_prefix(project: ProjectIdentity, stage: str) -> str:
    """How the drift alarms of a stage's monitor stack are named: CloudFormation names them
    ``<stack name>-<logical id>-<suffix>``, the stack ``sagemaker-<name>-<id>-monitor-<stage>``."""
    return project.resource_name(f"monitor-{stage}-")


def drift_alarm_pattern(project: ProjectIdentity, stage: str) -> dict[str, Any]:
    """CloudWatch's "CloudWatch Alarm State Change" events of a stage's drift alarms going into ALARM."""
    return {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "detail": {"alarmName": [{"prefix": monitor_alarm_prefix(project, stage)}], "state": {"value": ["ALARM"]}},
    }


def monitor_deployer_policy(scope: Construct, project: ProjectIdentity, encryption_key: kms.IKey) -> list[iam.PolicyStatement]:
    """The monitor deployer's statements: ``constructs.monitor.project_monitor_deployer_statements``
    (names starting with the project id, alarms of its monitor stacks, the monitoring role its
    stacks create under the project's IAM path)."""
    return project_monitor_deployer_statements(scope, project_id=project.project_id)


def _acknowledge_deployer(pipeline: ModelMonitorPipeline) -> None:
    deployer = pipeline.deployer
    assert isinstance(deployer, MonitorDeployerRole)  # ModelMonitorPipeline._deployer_role
    policy = deployer.policy
    resources = sorted(
        {r for s in policy.document.to_json()["Statement"] for r in _as_list(s.get("Resource")) if isinstance(r, str) and "*" in r}
    )
    if resources:
        acknowledge_wildcards(
            policy,
            "the monitor stage stacks' job definitions and schedules are named '<project id>-<stage>-...' (with a "
            "definition version), their alarms and monitoring role by CloudFormation after the stack "
            "'sagemaker-<project>-monitor-<stage>' and under the project's IAM path",
            *resources,
        )


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def add_monitoring(
    stack: Stack,
    core: ProjectCore,
    settings: MonitoringSettings,
    *,
    model_build: ModelBuildParts,
    model_deploy: ModelDeployParts,
) -> MonitoringParts:
    """The repository seeded with the monitor code, the pipeline that deploys the monitor stage
    stacks through the deploy pipeline's stages, the teardown that deletes them before the
    endpoint stage stacks, and the retraining rule (see ``retrain_on_drift``)."""
    project = core.project
    repository = add_seeded_repository(
        stack,
        core,
        settings,
        seed="model_monitor",
        construct_id="ModelMonitorRepository",
        description="Model monitoring code of the SageMaker project",
    )
    deploy = model_deploy.pipeline
    pipeline = ModelMonitorPipeline(
        stack,
        "ModelMonitor",
        project=project,
        source=repository.source,
        bucket=core.artifacts.bucket,
        encryption_key=core.artifacts.encryption_key,
        model_package_group=core.model_package_group,
        deploy_pipeline=deploy,
        deployer_statements=monitor_deployer_policy,
        notification_topic_arn=notification_topic_arn(stack, project),
        compute_type=settings.compute_type,
        # build.py passes the subnets and security groups to the stage templates; not the isolation flag.
        build_variables={k: v for k, v in core.network.environment().items() if k != ISOLATION_VARIABLE},
    )
    _acknowledge_deployer(pipeline)
    teardown = StageTeardown(
        stack,
        "MonitorTeardown",
        pipeline=pipeline,
        encryption_key=core.artifacts.encryption_key,
        before=model_deploy.teardown,
        stacks_described="model monitor stage stacks",
    )
    after_seeding(pipeline.pipeline, repository)
    retraining = _retraining_rule(stack, project, settings, pipeline, model_build)
    CfnOutput(stack, "ModelMonitorRepositoryName", value=repository.source.description)
    CfnOutput(stack, "ModelMonitorPipelineName", value=pipeline.pipeline.pipeline_name)
    return MonitoringParts(repository, pipeline, teardown, retraining)


def _retraining_rule(
    stack: Stack,
    project: ProjectIdentity,
    settings: MonitoringSettings,
    pipeline: ModelMonitorPipeline,
    model_build: ModelBuildParts,
) -> Optional[events.Rule]:
    """The rule starting the model build when a drift alarm of the last stage goes into ALARM:
    always (True), never (False), or under the ``RetrainOnDrift`` parameter's condition."""
    if settings.retrain_on_drift is False:
        return None
    last = pipeline.stages[-1].name
    rule = events.Rule(
        stack,
        "RetrainOnDriftRule",
        description=f"Starts the model build pipeline when a {last} model monitor's drift alarm goes into ALARM",
        event_pattern=events.EventPattern(**_pattern_props(drift_alarm_pattern(project, last))),
        targets=[event_targets.CodePipeline(model_build.pipeline.pipeline)],
    )
    if settings.retrain_on_drift is None:
        parameter = CfnParameter(
            stack,
            RETRAIN_PARAMETER,
            type="String",
            default="false",
            allowed_values=["true", "false"],
            description=f"Start the model build (retraining) when a {last} drift alarm goes into ALARM",
        )
        condition = CfnCondition(stack, "RetrainOnDriftEnabled", expression=Fn.condition_equals(parameter.value_as_string, "true"))
        rule_resource = rule.node.default_child
        assert isinstance(rule_resource, events.CfnRule)
        rule_resource.cfn_options.condition = condition
    return rule


def stage_account_ids(pipeline: ModelMonitorPipeline) -> Sequence[str]:
    """The accounts the monitor stacks (and their alarms) are in: this one, and each stage's
    account when it may be another (``Fn::If`` on its condition: this account when not)."""
    accounts: list[str] = [Stack.of(pipeline).account]
    for stage in pipeline.stages:
        target = pipeline.targets[stage.name]
        if target.may_be_other_account:
            account = target.pick_string(target.account, Stack.of(pipeline).account)
            if Token.is_unresolved(account) or account not in accounts:
                accounts.append(account)
    return accounts


def _pattern_props(pattern: dict[str, Any]) -> dict[str, Any]:
    return {"source": pattern["source"], "detail_type": pattern["detail-type"], "detail": pattern["detail"]}
