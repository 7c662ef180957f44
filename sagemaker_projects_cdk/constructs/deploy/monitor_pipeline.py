"""The model-monitor CI/CD pipeline: source -> build -> deploy the monitor stage stack per stage.

It is the deploy pipeline (:class:`ModelDeployPipeline`) deploying another stage template:
the build action runs the monitor repository's ``build.py``, which resolves, for each stage,
the model the stage's endpoint serves (endpoint -> endpoint config -> model ->
``PrimaryContainer.ModelPackageName`` -> the version's ``DriftCheckBaselines``) and writes
``monitor-stage.template.json`` and one ``<stage>-params.json`` per stage; CloudFormation
then deploys ``sagemaker-<name>-<id>-monitor-<stage>`` with the monitor deployer role
(:class:`MonitorDeployerRole`), after a person's approval where the deploy pipeline has one.
Stages in other accounts are deployed exactly like the endpoint stages (the target account's
``actions`` and ``deployer`` roles, the deploy pipeline's conditions): the monitor pipeline
shares the deploy pipeline's targets.

It starts on a push to the monitor repository and when the first stage's endpoint (staging)
or the last stage's (prod) reaches InService (:func:`endpoint_in_service_pattern`), so prod's
monitors follow each prod deployment too. An endpoint's events reach this account's event bus
only when it is in this account: with prod in another account, release a change (or re-run
the pipeline) after each prod deployment. When an endpoint does not exist yet,
``build.py`` writes the stage's parameters with every monitor off, so the pipeline succeeds
and creates no schedule.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping, Optional, Sequence, cast

from aws_cdk import ArnFormat, Fn, Stack, Token
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as event_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from ..._internal.codebuild import default_policy
from ...compliance import acknowledge_wildcards
from ..project.identity import ProjectIdentity
from ..registry.model_package_group import IModelPackageGroup
from ..sources.source import PipelineSource
from .deployer_role import deployer_service_role
from .pipeline import ModelDeployPipeline
from .stages import DeployStage

#: What the monitor repository's build action writes (see seed_code/model_monitor/buildspec.yml).
MONITOR_STAGE_TEMPLATE_FILE = "monitor-stage.template.json"
#: Where ``build.py`` writes the files the monitors read (baselines, rewritten configs):
#: ``s3://<artifact bucket>/monitoring/<stage>/<definition version>/``.
MONITORING_PREFIX = "monitoring/"
#: ``detail.EndpointStatus`` of an endpoint in service: AWS's event examples write
#: ``IN_SERVICE``, the API (DescribeEndpoint) ``InService``; the rule accepts both.
ENDPOINT_IN_SERVICE = ("IN_SERVICE", "InService")

#: What a monitor deployer may do: ``(scope, project, encryption_key) -> statements`` (the
#: monitor stage template's needs, see ``constructs/monitor``).
DeployerStatements = Callable[[Construct, ProjectIdentity, kms.IKey], Sequence[iam.PolicyStatement]]


def endpoint_in_service_pattern(*endpoint_names: str) -> dict[str, Any]:
    """SageMaker's "SageMaker Endpoint State Change" events of these endpoints reaching InService.

    The name is matched ignoring case (SageMaker keeps the name as created in the event, but
    lower-cases it in the endpoint's ARN), the status in both spellings.
    """
    return {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Endpoint State Change"],
        "detail": {
            "EndpointName": [{"equals-ignore-case": name} for name in dict.fromkeys(endpoint_names)],
            "EndpointStatus": list(ENDPOINT_IN_SERVICE),
        },
    }


def monitor_stages(stages: Sequence[DeployStage]) -> tuple[DeployStage, ...]:
    """The deploy pipeline's stages as monitor stages: same names, accounts and approvals; no
    tests, no change records, and a failed monitor stack is replaced (it serves no traffic)."""
    return tuple(
        dataclasses.replace(stage, test=False, change_record=False, replace_on_failure=True) for stage in stages
    )


class MonitorDeployerRole(Construct):
    """CloudFormation's service role for a project's monitor stage stacks.

    :param project: the project (scopes what the statements name).
    :param encryption_key: the project key.
    :param statements: what the monitor stage template needs (job definitions, schedules,
        alarms, the monitoring role), scoped to the project.

    Like the endpoint deployer (``StageDeployerRole``) it lives under
    ``/sagemaker-project-deployers/``, outside the IAM path its stacks may change.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project: ProjectIdentity,
        encryption_key: kms.IKey,
        statements: DeployerStatements,
    ) -> None:
        super().__init__(scope, construct_id)
        #: The role.
        self.role = deployer_service_role(self, "monitor")
        #: The customer-managed policy with the role's permissions.
        self.policy = iam.ManagedPolicy(
            self, "Policy", roles=[self.role], statements=list(statements(self, project, encryption_key))
        )

    @property
    def role_arn(self) -> str:
        return self.role.role_arn


class ModelMonitorPipeline(ModelDeployPipeline):
    """CodePipeline (V2) that deploys the project's model monitors through the deploy
    pipeline's stages (see the module's docstring).

    :param project: the project.
    :param source: the seeded ``model_monitor`` repository.
    :param bucket: the artifact bucket (pipeline artifacts; ``build.py`` writes baselines under
        ``monitoring/``).
    :param encryption_key: the bucket's key; also encrypts build logs.
    :param model_package_group: the group whose versions the endpoints serve (their
        ``DriftCheckBaselines``).
    :param deploy_pipeline: the project's deploy pipeline: its stages (names, accounts,
        approvals) and their targets.
    :param deployer_statements: what the monitor deployer role may do.
    :param notification_topic_arn: the project's notification topic; the drift alarms of
        every stage publish to it (``NotificationTopicArn`` of the stage stacks).
    :param approval_topic: an SNS topic told when a stage waits for approval. Default: none.
    :param compute_type: CodeBuild compute type. Default: ``BUILD_GENERAL1_SMALL``.
    :param trigger_on_endpoint: start when the first or the last stage's endpoint (in this
        account) reaches InService. Default: True.
    :param build_variables: more environment variables of the build (e.g. the private
        network's subnets). Default: none.
    """

    PIPELINE_PART = "modelmonitor"
    STACK_PART = "monitor"
    STAGE_TEMPLATE = MONITOR_STAGE_TEMPLATE_FILE
    BUILD_DESCRIPTION = "Writes the monitor stage template and parameters for the model each stage's endpoint serves"

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project: ProjectIdentity,
        source: PipelineSource,
        bucket: s3.IBucket,
        encryption_key: kms.IKey,
        model_package_group: IModelPackageGroup,
        deploy_pipeline: ModelDeployPipeline,
        deployer_statements: DeployerStatements,
        notification_topic_arn: str,
        approval_topic: Optional[sns.ITopic] = None,
        compute_type: str = "BUILD_GENERAL1_SMALL",
        trigger_on_endpoint: bool = True,
        build_variables: Optional[Mapping[str, str]] = None,
    ) -> None:
        self._deployer_statements = deployer_statements
        stages = monitor_stages(deploy_pipeline.stages)
        targets = [deploy_pipeline.targets[stage.name] for stage in stages]
        role_arns = [
            t.pick_string(t.role_arn(deploy_pipeline, "actions"), "") if t.may_be_other_account else "" for t in targets
        ]
        variables = {"NOTIFICATION_TOPIC_ARN": notification_topic_arn, **dict(build_variables or {})}
        if any(t.may_be_other_account for t in targets):
            # The role build.py assumes to describe a stage's endpoint in its account (empty: this account).
            variables["STAGE_ROLE_ARNS"] = (
                Fn.join(",", role_arns) if any(Token.is_unresolved(a) for a in role_arns) else ",".join(role_arns)
            )
        super().__init__(
            scope,
            construct_id,
            project=project,
            source=source,
            bucket=bucket,
            encryption_key=encryption_key,
            model_package_group=model_package_group,
            stages=stages,
            approval_topic=approval_topic,
            compute_type=compute_type,
            trigger_on_approval=False,
            shared_targets=deploy_pipeline.targets,
            build_variables=variables,
        )
        self._grant_build(project, bucket)
        #: Starts the pipeline when the first or the last stage's endpoint reaches InService (None when not).
        self.endpoint_rule: Optional[events.Rule] = None
        if trigger_on_endpoint:
            ends = list(dict.fromkeys([self.stages[0].name, self.stages[-1].name]))
            pattern = endpoint_in_service_pattern(*(endpoint_name(project, stage) for stage in ends))
            self.endpoint_rule = events.Rule(
                self,
                "OnEndpointInService",
                description=f"Deploys the project's model monitors when its {' or '.join(ends)} endpoint reaches InService",
                event_pattern=events.EventPattern(**_pattern_props(pattern)),
                targets=[event_targets.CodePipeline(self.pipeline)],
            )

    def _approval_text(self, previous: Optional[DeployStage], stage: DeployStage) -> str:
        return (
            f"Approve to deploy the model monitors to {stage.name}. The build read the {stage.name} endpoint when this "
            f"execution started: if it did not exist yet (its monitors are off), or serves another model now, reject "
            f"and release a change once {stage.name} serves the model to monitor."
        )

    def _deployer_role(
        self, project: ProjectIdentity, encryption_key: kms.IKey, model_package_group: IModelPackageGroup
    ) -> Any:
        return MonitorDeployerRole(
            self, "Deployer", project=project, encryption_key=encryption_key, statements=self._deployer_statements
        )

    def _grant_build(self, project: ProjectIdentity, bucket: s3.IBucket) -> None:
        """What ``build.py`` does here: describe each stage's endpoint, its config and model
        (this project's), read the baselines, write under ``monitoring/``; in another account
        it assumes the stage's ``actions`` role."""
        build = self.build_project
        endpoints = [arn for stage in self.stages for arn in project.sagemaker_arn("endpoint", f"-{stage.name}")]
        build.add_to_role_policy(iam.PolicyStatement(actions=["sagemaker:DescribeEndpoint"], resources=endpoints))
        configs_and_models = [_sagemaker_arn(self, "endpoint-config"), _sagemaker_arn(self, "model")]
        build.add_to_role_policy(
            iam.PolicyStatement(
                actions=["sagemaker:DescribeEndpointConfig", "sagemaker:DescribeModel"],
                resources=configs_and_models,
                conditions={"StringEquals": {"aws:ResourceTag/sagemaker:project-id": project.project_id}},
            )
        )
        bucket.grant_read(build)
        bucket.grant_put(build, f"{MONITORING_PREFIX}*")
        acknowledge_wildcards(
            default_policy(build),
            "build.py reads the endpoint's model and config, whose names CloudFormation generates (limited to "
            "resources tagged with this project's id), and the baselines the model build wrote anywhere in the "
            "project's bucket; it writes its files under monitoring/",
            *configs_and_models,
            *(arn for arn in endpoints if "*" in arn),
            bucket.arn_for_objects("*"),
            bucket.arn_for_objects(f"{MONITORING_PREFIX}*"),
        )
        for stage in self.stages:
            target = self.targets[stage.name]
            if not target.may_be_other_account:
                continue
            self._conditional_policy(
                build,
                f"AssumeStageRole{stage.title}",
                [iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[target.role_arn(self, "actions")])],
                target.condition,
                roles=[cast(iam.IRole, build.role)],
                why=f"build.py describes the {stage.name} endpoint in its account",
            )


def endpoint_name(project: ProjectIdentity, stage: str) -> str:
    """The endpoint of a stage: ``<project name>-<project id>-<stage>`` (``EndpointStageStack``)."""
    return f"{project.project_name}-{project.project_id}-{stage}"


def _pattern_props(pattern: dict[str, Any]) -> dict[str, Any]:
    """An event pattern as ``events.EventPattern`` keywords."""
    return {"source": pattern["source"], "detail_type": pattern["detail-type"], "detail": pattern["detail"]}


def _sagemaker_arn(scope: Construct, resource: str) -> str:
    return Stack.of(scope).format_arn(
        service="sagemaker", resource=resource, resource_name="*", arn_format=ArnFormat.SLASH_RESOURCE_NAME
    )


__all__ = [
    "ENDPOINT_IN_SERVICE",
    "MONITORING_PREFIX",
    "MONITOR_STAGE_TEMPLATE_FILE",
    "DeployerStatements",
    "ModelMonitorPipeline",
    "MonitorDeployerRole",
    "endpoint_in_service_pattern",
    "endpoint_name",
    "monitor_stages",
]
