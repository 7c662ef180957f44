"""The model-deploy CI/CD pipeline: source -> build -> one pipeline stage per deployment stage.

The deployment stages are data (:class:`DeployStage`, default ``DEFAULT_STAGES``: staging,
tested; a manual approval; prod). The build action runs the deploy repository's
``build.py`` with those stages (``DEPLOY_STAGES``): it picks the newest approved model
version of the project's group and writes the stage template and one parameter file per
stage. CloudFormation then deploys ``sagemaker-<name>-<id>-deploy-<stage>`` from them, a
tested stage runs the seed's endpoint tests (``STAGE_NAME``), and a stage that needs an
approval waits for a person at the end of the pipeline stage before it. After a stage that
records changes (by default the last, prod) is deployed, the seed's ``change/change_record.py``
puts a change record on the default event bus: the version deployed and the one it replaced
(which ``build.py`` read from the stage stack before), who approved it and when.
The pipeline starts on a push to the deploy repository and, through
:class:`ModelApprovalRule`, when a model version is approved or rejected.

A stage in another account (``DeployStage.account``) is deployed with the roles of that
account's baseline (``TargetAccountStack``, named by ``targets.py``): its CloudFormation action
runs as the target's ``actions`` role and deploys with its ``deployer`` role, and the tests
and the change record's snapshot of that stage assume its ``actions`` role. The tooling
account's artifact bucket and key and the project's model package group grant those roles
(account principals with ``aws:PrincipalArn`` conditions, never role principals: the roles
may not exist yet). When the account is a template parameter, all of it exists only under
the stage's ``<Stage>InOtherAccount`` condition, so a single-account deployment gets none.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence, cast

from aws_cdk import ArnFormat, CfnCapabilities, CfnCondition, CfnResource, Fn, Stack, Token
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct, IConstruct

from ..._internal.codebuild import COMPUTE_TYPES, acknowledge_pipeline_grants, default_policy, pipeline_project
from ..._internal.logs import encrypted_log_group
from ..._internal.resource_policy import ConditionalStatements
from ..._internal.validation import check_choice, invalid
from ...compliance import acknowledge, acknowledge_wildcards
from ..project.identity import ProjectIdentity
from ..registry.approval_rule import ModelApprovalRule
from ..registry.model_package_group import (
    CROSS_ACCOUNT_DEPLOY_ACTIONS,
    CROSS_ACCOUNT_READ_ACTIONS,
    IModelPackageGroup,
    ModelPackageGroup,
)
from ..sources.source import PipelineSource
from .cross_account import StageTarget, role_policy_statements, stage_targets
from .deployer_role import StageDeployerRole
from .stages import DEFAULT_STAGES, DeployStage, check_stages, records_change

#: What the deploy repository's build action writes (see seed_code/model_deploy/buildspec.yml).
STAGE_TEMPLATE_FILE = "endpoint-stage.template.json"
#: The change record's ``source`` and ``detail-type`` on the default event bus (the deploy
#: seed's ``change/change_record.py`` puts it; its role may put no other).
CHANGE_EVENT_SOURCE = "sagemaker-projects-cdk"
CHANGE_EVENT_DETAIL_TYPE = "SageMaker Project Model Deployment"
#: The name of the manual approval action before a stage that needs one.
APPROVAL_ACTION = "ApproveDeployment"


def stage_parameters_file(stage: str) -> str:
    return f"{stage}-params.json"


class ModelDeployPipeline(Construct):
    """CodePipeline (V2) that deploys the newest approved model through its stages: by
    default to staging, tests it, waits for a person's approval and deploys it to prod.

    :param project: the project (names, tags, IAM scoping).
    :param source: where the deploy code lives (the seeded ``model_deploy`` repository).
    :param bucket: the artifact bucket (pipeline artifacts, data capture, test data).
    :param encryption_key: the bucket's key; also encrypts build logs and endpoint volumes.
    :param model_package_group: the group whose newest approved version is deployed.
    :param stages: the deployment stages, in order; a stage with an ``account`` other than
        this one is deployed with that account's baseline roles (see the module's docstring).
        Default: ``DEFAULT_STAGES`` (staging, tested; then a manual approval and prod).
    :param approval_topic: an SNS topic told when a stage waits for approval.
        Default: none (the approval waits in the console).
    :param compute_type: CodeBuild compute type. Default: ``BUILD_GENERAL1_SMALL``.
    :param build_image: CodeBuild image. Default: ``aws/codebuild/standard:7.0`` (Python 3.12).
    :param log_retention: how long build logs are kept. Default: one year.
    :param trigger_on_approval: start on a model version's approval or rejection.
        Default: True.
    :param model_artifact_bucket_name: the bucket holding the group's model artifacts, when
        another project registered them (may be a token; empty means this project's bucket).
        Default: this project's bucket.
    :param model_artifact_key_arn: the KMS key of those artifacts (may be a token; empty means
        not KMS-encrypted, or this project's key for this project's bucket).
        Default: empty.
    :param target_setting_names: per stage name, the names of the settings its account and
        region came from (a template's ``prod_account_id``, ``prod_region``), which an error
        about them names. Default: ``stage '<name>' account`` and ``stage '<name>' region``.
    :param shared_targets: each stage's account and region, by stage name, as another pipeline of
        the project decided them (``ModelDeployPipeline.targets``): this pipeline then uses its
        conditions and leaves the grants of the artifact bucket, key and group to the target
        accounts' roles to it (they hold the same roles). Default: decided here, and granted.
    :param build_variables: more environment variables of the build action.
        Default: none.

    A subclass deploys another stage template through the same stages (see
    ``ModelMonitorPipeline``): it sets the class attributes below and may override
    ``_deployer_role``.
    """

    #: Names the pipeline ``sagemaker-<name>-<id>-<PIPELINE_PART>``.
    PIPELINE_PART = "modeldeploy"
    #: Names the stage stacks ``sagemaker-<name>-<id>-<STACK_PART>-<stage>``.
    STACK_PART = "deploy"
    #: The stage template the build action writes (and the deploy actions deploy).
    STAGE_TEMPLATE = STAGE_TEMPLATE_FILE
    #: The build project's description.
    BUILD_DESCRIPTION = "Writes the endpoint stage template and parameters for the newest approved model"

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
        stages: Sequence[DeployStage] = DEFAULT_STAGES,
        approval_topic: Optional[sns.ITopic] = None,
        compute_type: str = "BUILD_GENERAL1_SMALL",
        build_image: codebuild.IBuildImage = codebuild.LinuxBuildImage.STANDARD_7_0,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        trigger_on_approval: bool = True,
        model_artifact_bucket_name: Optional[str] = None,
        model_artifact_key_arn: Optional[str] = None,
        target_setting_names: Optional[Mapping[str, tuple[str, str]]] = None,
        shared_targets: Optional[Mapping[str, StageTarget]] = None,
        build_variables: Optional[Mapping[str, str]] = None,
    ) -> None:
        super().__init__(scope, construct_id)
        check_choice("compute_type", compute_type, COMPUTE_TYPES)
        #: The deployment stages, in order.
        self.stages = check_stages(stages)
        if getattr(model_package_group, "account", None) is not None:
            # build.py lists the group by name in this account, and the approval rule hears
            # this account's event bus only.
            raise invalid(
                "model_package_group",
                model_package_group.model_package_group_arn,
                "a group of this stack's account (ModelPackageGroup.from_name); a group in another account "
                "is not supported by the deploy pipeline yet",
            )
        self._project = project
        #: Each stage's account and region (:class:`StageTarget`), by stage name.
        self.targets: dict[str, StageTarget] = (
            {stage.name: shared_targets[stage.name] for stage in self.stages}
            if shared_targets is not None
            else {t.stage.name: t for t in stage_targets(self, self.stages, setting_names=dict(target_setting_names or {}))}
        )
        log_group = encrypted_log_group(self, encryption_key=encryption_key, retention=log_retention)

        def project_for(construct_id: str, description: str, variables: dict[str, str], build_spec=None) -> codebuild.PipelineProject:
            return pipeline_project(
                self,
                construct_id,
                description=description,
                variables=variables,
                encryption_key=encryption_key,
                log_group=log_group,
                compute_type=compute_type,
                build_image=build_image,
                timeout_minutes=30,
                build_spec=build_spec,
            )

        #: Picks the newest approved version and writes the stage files.
        self.build_project = project_for(
            "Build",
            self.BUILD_DESCRIPTION,
            {
                "SAGEMAKER_PROJECT_NAME": project.project_name,
                "SAGEMAKER_PROJECT_ID": project.project_id,
                "MODEL_PACKAGE_GROUP_NAME": model_package_group.model_package_group_name,
                "ARTIFACT_BUCKET": bucket.bucket_name,
                "ARTIFACT_KMS_KEY_ARN": encryption_key.key_arn,
                # Unset or empty, build.py reads the model artifacts from this project's bucket.
                **({"MODEL_ARTIFACT_BUCKET": model_artifact_bucket_name} if model_artifact_bucket_name else {}),
                **({"MODEL_ARTIFACT_KMS_KEY_ARN": model_artifact_key_arn} if model_artifact_key_arn else {}),
                # The stages build.py writes files for, in order.
                "DEPLOY_STAGES": ",".join(stage.name for stage in self.stages),
                # build.py refuses a tested stage whose configuration has no smoke_test block.
                **({"TESTED_STAGES": ",".join(tested)} if (tested := [s.name for s in self.stages if s.test]) else {}),
                # build.py writes a change file for each of these stages.
                **({"CHANGE_RECORD_STAGES": ",".join(recorded)} if (recorded := self._recorded_stage_names()) else {}),
                # Each stage's account, region and endpoint role, when one may be elsewhere.
                **self._target_variables(),
                **(build_variables or {}),
            },
        )
        model_package_group.grant_read(self.build_project)

        #: The endpoint-test projects of the tested stages, by stage name.
        self.test_projects: dict[str, codebuild.PipelineProject] = {}
        # The tests read the test set the model version names (TestDataS3Uri), written by the
        # registering project: in the source model artifact bucket when one is given.
        test_data_reads = _source_artifact_reads(self, model_artifact_bucket_name, model_artifact_key_arn)
        for stage in self.stages:
            if not stage.test:
                continue
            test_project = project_for(
                f"Test{stage.title}",
                f"Tests the {stage.name} endpoint with rows of the test set",
                {
                    "SAGEMAKER_PROJECT_NAME": project.project_name,
                    "SAGEMAKER_PROJECT_ID": project.project_id,
                    "STAGE_NAME": stage.name,
                    # The role the tests assume in the stage's account (empty: this account's).
                    **self._stage_role_variables(stage),
                },
                build_spec=codebuild.BuildSpec.from_source_filename("test/buildspec.yml"),
            )
            self._allow_assume_actions_role(test_project, stage, f"the {stage.name} tests invoke the endpoint in its account")
            for statement in stage_test_statements(self, project, stage.name):
                test_project.add_to_role_policy(statement)
            bucket.grant_read(test_project)
            self._allow_queue_tests(test_project, stage, project, bucket, encryption_key)
            for grant_id, statements, condition, wildcard_reason in test_data_reads:
                # A PipelineProject always has its role (it creates one when none is given).
                read = iam.Policy(test_project, grant_id, statements=statements, roles=[cast(iam.IRole, test_project.role)])
                if condition is not None:
                    cast(iam.CfnPolicy, read.node.default_child).cfn_options.condition = condition
                acknowledge(
                    read,
                    f"the {stage.name} tests' read of the source project's test data; the inline policy belongs to "
                    "this one role and is deleted with it",
                    "HIPAA.Security-IAMNoInlinePolicy",
                    "NIST.800.53.R5-IAMNoInlinePolicy",
                )
                if wildcard_reason:
                    acknowledge_wildcards(read, wildcard_reason, *(r for s in statements for r in s.resources))
            self.test_projects[stage.name] = test_project
        #: The first tested stage's endpoint-test project (None when no stage is tested).
        self.test_project: Optional[codebuild.PipelineProject] = next(iter(self.test_projects.values()), None)

        #: The pipeline's name (``sagemaker-<name>-<id>-modeldeploy``).
        self.pipeline_name = project.resource_name(self.PIPELINE_PART)
        #: The change-record projects of the stages that record changes, by stage name.
        self.change_record_projects: dict[str, codebuild.PipelineProject] = {}
        approval_stage = "Build"  # the pipeline stage holding the approval before a stage
        for stage in self.stages:
            if records_change(stage, self.stages):
                change_project = project_for(
                    f"RecordChange{stage.title}",
                    f"Puts a change record on the default event bus after each {stage.name} deployment",
                    {
                        "SAGEMAKER_PROJECT_NAME": project.project_name,
                        "SAGEMAKER_PROJECT_ID": project.project_id,
                        "STAGE_NAME": stage.name,
                        "PIPELINE_NAME": self.pipeline_name,
                        # Where the approval before this stage is (none: not approved by a person).
                        **({"APPROVAL_STAGE": approval_stage, "APPROVAL_ACTION": APPROVAL_ACTION} if stage.approval else {}),
                        # The role the snapshot assumes to read the stage's stack in its account.
                        **self._stage_role_variables(stage),
                    },
                    build_spec=codebuild.BuildSpec.from_source_filename("change/buildspec.yml"),
                )
                self._allow_assume_actions_role(
                    change_project, stage, f"the {stage.name} change record reads the stage's stack in its account"
                )
                # Its snapshot step reads the version the stage's stack serves before the deployment.
                change_project.add_to_role_policy(
                    iam.PolicyStatement(
                        actions=["cloudformation:DescribeStacks"], resources=[self._stage_stack_arn(stage.name)]
                    )
                )
                change_project.add_to_role_policy(
                    iam.PolicyStatement(
                        actions=["codepipeline:ListActionExecutions"],
                        resources=[Stack.of(self).format_arn(service="codepipeline", resource=self.pipeline_name)],
                    )
                )
                change_project.add_to_role_policy(
                    iam.PolicyStatement(
                        actions=["events:PutEvents"],
                        resources=[
                            Stack.of(self).format_arn(
                                service="events",
                                resource="event-bus",
                                resource_name="default",
                                arn_format=ArnFormat.SLASH_RESOURCE_NAME,
                            )
                        ],
                        conditions={
                            "StringEquals": {
                                "events:source": CHANGE_EVENT_SOURCE,
                                "events:detail-type": CHANGE_EVENT_DETAIL_TYPE,
                            }
                        },
                    )
                )
                self.change_record_projects[stage.name] = change_project
            approval_stage = f"Deploy{stage.title}"

        #: CloudFormation's service role for the stage stacks.
        self.deployer = self._deployer_role(project, encryption_key, model_package_group)

        source_output = codepipeline.Artifact("SourceArtifact")
        build_output = codepipeline.Artifact("BuildArtifact")
        #: The CodePipeline.
        self.pipeline = codepipeline.Pipeline(
            self,
            "Pipeline",
            pipeline_name=self.pipeline_name,
            pipeline_type=codepipeline.PipelineType.V2,
            artifact_bucket=bucket,
            restart_execution_on_update=True,
            stages=self._pipeline_stages(source, source_output, build_output, approval_topic),
        )
        source.grant_clone(self.build_project)
        #: Starts the pipeline when a model version is approved or rejected.
        self.approval_rule: Optional[ModelApprovalRule] = None
        if trigger_on_approval:
            self.approval_rule = ModelApprovalRule(
                self,
                "OnModelApproval",
                model_package_group_name=model_package_group.model_package_group_name,
                targets=[targets.CodePipeline(self.pipeline)],
            )
        self._deploy_with_target_roles()
        #: The statements granting other accounts, by resource (``bucket``, ``key``, ``group``).
        self.target_grants: dict[str, ConditionalStatements] = {}
        if shared_targets is None:
            self._grant_targets(bucket, encryption_key, model_package_group)
        self._acknowledge_findings(project, bucket, model_package_group)

    def _deployer_role(
        self, project: ProjectIdentity, encryption_key: kms.IKey, model_package_group: IModelPackageGroup
    ) -> StageDeployerRole:
        """CloudFormation's service role for the stage stacks (construct id ``Deployer``)."""
        return StageDeployerRole(
            self, "Deployer", project=project, encryption_key=encryption_key, model_package_group=model_package_group
        )

    def _pipeline_stages(
        self,
        source: PipelineSource,
        source_output: codepipeline.Artifact,
        build_output: codepipeline.Artifact,
        approval_topic: Optional[sns.ITopic],
    ) -> list[codepipeline.StageProps]:
        """Source, Build, then ``Deploy<Stage>`` per stage: deploy, test if tested, and the
        approval of the next stage when it needs one."""
        build = actions.CodeBuildAction(
            action_name="BuildStageFiles", project=self.build_project, input=source_output, outputs=[build_output]
        )
        stage_actions: dict[str, list[codepipeline.IAction]] = {
            "Source": [source.action(output=source_output)],
            "Build": [build],
        }
        previous: Optional[DeployStage] = None
        #: (pipeline stage index, action index, stage) of each CloudFormation deploy action.
        self._deploy_positions: list[tuple[int, int, DeployStage]] = []
        for stage in self.stages:
            if stage.approval:
                before = stage_actions[list(stage_actions)[-1]]
                last = max(int(action.action_properties.run_order or 1) for action in before)
                before.append(self._approval(previous, stage, approval_topic, run_order=last + 1))
            recorded = stage.name in self.change_record_projects
            deploy: list[codepipeline.IAction] = []
            snapshot: Optional[actions.CodeBuildAction] = None
            if recorded:
                # Right before the deployment, in its pipeline stage: the version the stage serves
                # then (not at build time: another execution may deploy it in between).
                snapshot = actions.CodeBuildAction(
                    action_name=f"ReadDeployed{stage.title}",
                    project=self.change_record_projects[stage.name],
                    input=build_output,
                    run_order=1,
                    variables_namespace=f"Deployed{stage.title}",
                    environment_variables={"CHANGE_RECORD_STEP": codebuild.BuildEnvironmentVariable(value="snapshot")},
                )
                deploy.append(snapshot)
            after = 3 if recorded else 2
            self._deploy_positions.append((len(stage_actions), len(deploy), stage))
            deploy.append(self._deploy(stage, build_output, run_order=after - 1))
            if stage.test:
                deploy.append(
                    actions.CodeBuildAction(
                        action_name=f"Test{stage.title}",
                        project=self.test_projects[stage.name],
                        input=build_output,
                        run_order=after,
                    )
                )
            if snapshot is not None:
                # Right after the deployment (beside the tests): the change has happened.
                deploy.append(
                    actions.CodeBuildAction(
                        action_name=f"RecordChange{stage.title}",
                        project=self.change_record_projects[stage.name],
                        input=build_output,
                        run_order=after,
                        environment_variables={
                            "CHANGE_RECORD_STEP": codebuild.BuildEnvironmentVariable(value="record"),
                            "PIPELINE_EXECUTION_ID": codebuild.BuildEnvironmentVariable(
                                value=codepipeline.GlobalVariables.EXECUTION_ID
                            ),
                            "PREVIOUS_MODEL_PACKAGE_ARN": codebuild.BuildEnvironmentVariable(
                                value=snapshot.variable("PREVIOUS_MODEL_PACKAGE_ARN")
                            ),
                        },
                    )
                )
            stage_actions[f"Deploy{stage.title}"] = deploy
            previous = stage
        return [codepipeline.StageProps(stage_name=name, actions=acts) for name, acts in stage_actions.items()]

    def _approval_text(self, previous: Optional[DeployStage], stage: DeployStage) -> str:
        """What the approval before ``stage`` asks of the person."""
        done = f" {'tested' if previous.test else 'deployed'} in {previous.name}" if previous else ""
        return f"Approve to deploy the model{done} to {stage.name}."

    def _approval(
        self, previous: Optional[DeployStage], stage: DeployStage, topic: Optional[sns.ITopic], *, run_order: int
    ) -> actions.ManualApprovalAction:
        return actions.ManualApprovalAction(
            action_name=APPROVAL_ACTION,
            additional_information=self._approval_text(previous, stage),
            notification_topic=topic,
            run_order=run_order,
        )

    def _allow_queue_tests(
        self,
        test_project: codebuild.PipelineProject,
        stage: DeployStage,
        project: ProjectIdentity,
        bucket: s3.IBucket,
        encryption_key: kms.IKey,
    ) -> None:
        """What the staging tests of an asynchronous or a batch stage do (:func:`stage_queue_test_statements`)."""
        statements = stage_queue_test_statements(
            self, project, stage.name, bucket, encryption_key.key_arn, stack_arn=self._stage_stack_arn(stage.name)
        )
        policy = iam.ManagedPolicy(
            test_project,
            "QueueTests",
            description=f"The {stage.name} tests of an asynchronous or batch stage: requests, test runs, stack outputs",
            statements=statements,
            roles=[cast(iam.IRole, test_project.role)],
        )
        acknowledge_stage_queue_test(policy, project, stage.name, bucket, stack_arn=self._stage_stack_arn(stage.name))

    def stage_stack_name(self, stage: str) -> str:
        """``sagemaker-<name>-<id>-deploy-<stage>`` (``STACK_PART`` ``deploy``)."""
        return self._project.resource_name(f"{self.STACK_PART}-{stage}")

    def _stage_stack_arn(self, stage: str) -> str:
        """The ARN of a stage's stack, any stack id."""
        return stage_stack_arn(self, self._project, stage, part=self.STACK_PART)

    def _recorded_stage_names(self) -> list[str]:
        """The stages whose deployments are recorded as change events, in order."""
        return [stage.name for stage in self.stages if records_change(stage, self.stages)]

    def _deploy(
        self, stage: DeployStage, build_output: codepipeline.Artifact, *, run_order: int
    ) -> actions.CloudFormationCreateUpdateStackAction:
        return actions.CloudFormationCreateUpdateStackAction(
            action_name=f"Deploy{stage.title}",
            stack_name=self.stage_stack_name(stage.name),
            template_path=build_output.at_path(self.STAGE_TEMPLATE),
            template_configuration=build_output.at_path(stage_parameters_file(stage.name)),
            admin_permissions=False,
            deployment_role=self.deployer.role,
            cfn_capabilities=[CfnCapabilities.ANONYMOUS_IAM],
            # A stage stack that failed to create (ROLLBACK_COMPLETE) cannot be updated: the
            # action deletes it (the action role may, the deployer deletes its resources) and
            # creates it anew, so the next run recovers without a person.
            replace_on_failure=stage.replace_on_failure,
            run_order=run_order,
        )

    # ------------------------------------------------------------------ stages in other accounts

    def _target_variables(self) -> dict[str, str]:
        """``STAGE_ACCOUNTS`` and ``STAGE_EXECUTION_ROLE_ARNS`` for build.py: one entry per
        stage in ``DEPLOY_STAGES`` order, empty for this account and the stage stack's own
        role. None when every stage is known to be in this account. (A stage's region is
        this one: see ``cross_account``.)"""
        targets = [self.targets[stage.name] for stage in self.stages]
        if not any(t.may_be_other_account for t in targets):
            return {}

        def joined(values: list[str]) -> str:
            return Fn.join(",", values) if any(Token.is_unresolved(v) for v in values) else ",".join(values)

        return {
            "STAGE_ACCOUNTS": joined([t.pick_string(t.account, "") for t in targets]),
            "STAGE_EXECUTION_ROLE_ARNS": joined(
                [t.pick_string(t.role_arn(self, "endpoint"), "") if t.may_be_other_account else "" for t in targets]
            ),
        }

    def _stage_role_variables(self, stage: DeployStage) -> dict[str, str]:
        """``STAGE_ROLE_ARN`` for a CodeBuild project that acts in the stage's account: the
        target's ``actions`` role, empty in this account."""
        target = self.targets[stage.name]
        if not target.may_be_other_account:
            return {}
        return {"STAGE_ROLE_ARN": target.pick_string(target.role_arn(self, "actions"), "")}

    def _allow_assume_actions_role(self, project: codebuild.PipelineProject, stage: DeployStage, why: str) -> None:
        """``sts:AssumeRole`` on exactly the stage account's ``actions`` role, for ``project``."""
        target = self.targets[stage.name]
        if not target.may_be_other_account:
            return
        self._conditional_policy(
            project,
            "AssumeStageRole",
            [iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[target.role_arn(self, "actions")])],
            target.condition,
            roles=[cast(iam.IRole, project.role)],
            why=why,
        )

    def _conditional_policy(
        self,
        scope: Construct,
        construct_id: str,
        statements: list[iam.PolicyStatement],
        condition: Optional[CfnCondition],
        *,
        roles: list[iam.IRole],
        why: str,
    ) -> iam.Policy:
        policy = iam.Policy(scope, construct_id, statements=statements, roles=roles)
        if condition is not None:
            cast(iam.CfnPolicy, policy.node.default_child).cfn_options.condition = condition
        acknowledge(
            policy,
            f"{why}; the inline policy exists only when the stage is in another account, belongs to this one role "
            "and is deleted with it",
            "HIPAA.Security-IAMNoInlinePolicy",
            "NIST.800.53.R5-IAMNoInlinePolicy",
        )
        return policy

    def _deploy_with_target_roles(self) -> None:
        """The CloudFormation action of a stage in another account runs as that account's
        ``actions`` role and deploys with its ``deployer`` role (L1 overrides, ``Fn::If`` when
        decided at deployment); the pipeline's role may assume the ``actions`` role."""
        cfn_pipeline = cast(CfnResource, self.pipeline.node.default_child)
        pipeline_grants: Optional[ConditionalStatements] = None
        for stage_index, action_index, stage in self._deploy_positions:
            target = self.targets[stage.name]
            if not target.may_be_other_account:
                continue
            title = f"Deploy{stage.title}"
            action_role = cast(
                iam.IRole,
                self.pipeline.node.find_child(title).node.find_child(title).node.find_child("CodePipelineActionRole"),
            )
            action = f"Stages.{stage_index}.Actions.{action_index}"
            actions_role = target.role_arn(self, "actions")
            cfn_pipeline.add_property_override(f"{action}.RoleArn", target.pick(actions_role, action_role.role_arn))
            cfn_pipeline.add_property_override(
                f"{action}.Configuration.RoleArn", target.pick(target.role_arn(self, "deployer"), self.deployer.role.role_arn)
            )
            # In the role's default policy, which the pipeline depends on: CodePipeline refuses
            # to create or update a pipeline whose role may not assume an action's role.
            assume = iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[actions_role])
            if target.condition is None:
                self.pipeline.role.add_to_principal_policy(assume)
            else:
                if pipeline_grants is None:
                    pipeline_grants = role_policy_statements(self.pipeline.role)
                pipeline_grants.add(assume, target.condition)

    def _grant_targets(self, bucket: s3.IBucket, encryption_key: kms.IKey, group: IModelPackageGroup) -> None:
        """What the baseline roles of each other account may use here: the artifact bucket
        (pipeline artifacts for ``actions``, model artifacts for ``endpoint``), its key, and the
        group's versions (``deployer`` reads them and creates models from them). Account principals with
        ``aws:PrincipalArn`` conditions: a role principal must exist when the policy is set."""
        others = [self.targets[stage.name] for stage in self.stages if self.targets[stage.name].may_be_other_account]
        if not others:
            return
        bucket_policy = bucket.policy if isinstance(bucket, s3.Bucket) else None
        key_resource = encryption_key.node.default_child if isinstance(encryption_key, kms.Key) else None
        if bucket_policy is None or not isinstance(key_resource, kms.CfnKey):
            raise invalid(
                "bucket",
                bucket.bucket_name,
                "a bucket (with its key) that this stack creates, when a stage is in another account: their policies "
                "must grant the target accounts",
            )
        bucket_grants = ConditionalStatements(
            cast(CfnResource, bucket_policy.node.default_child), "PolicyDocument", bucket_policy.document
        )
        key_grants = ConditionalStatements(key_resource, "KeyPolicy", key_resource.key_policy)
        group_grants: Optional[ConditionalStatements] = None
        if isinstance(group, ModelPackageGroup):
            group_grants = ConditionalStatements(
                group.resource,
                "ModelPackageGroupPolicy",
                group.resource.model_package_group_policy,
                document_condition=None if group.resource.model_package_group_policy else self._any_other_account(others),
            )
        stack = Stack.of(self)
        for target in others:
            title = target.stage.title

            def principals(*roles: str, target: StageTarget = target) -> dict[str, Any]:
                return {"ArnEquals": {"aws:PrincipalArn": [target.role_arn(self, role) for role in roles]}}  # type: ignore[arg-type]  # role names are TargetRole literals

            account = [iam.AccountPrincipal(target.account)]
            bucket_grants.add(
                iam.PolicyStatement(
                    sid=f"{title}ReadArtifacts",
                    principals=account,
                    actions=["s3:GetObject", "s3:GetObjectVersion"],
                    resources=[bucket.arn_for_objects("*")],
                    conditions=principals("actions", "endpoint"),
                ),
                target.condition,
            )
            bucket_grants.add(
                iam.PolicyStatement(
                    sid=f"{title}ListArtifacts",
                    principals=account,
                    actions=["s3:ListBucket"],
                    resources=[bucket.bucket_arn],
                    conditions=principals("endpoint"),
                ),
                target.condition,
            )
            key_grants.add(
                iam.PolicyStatement(
                    sid=f"{title}DecryptArtifacts",
                    principals=account,
                    actions=["kms:Decrypt"],
                    resources=["*"],
                    conditions={
                        **principals("actions", "endpoint"),
                        "StringEquals": {"kms:ViaService": f"s3.{stack.region}.{stack.url_suffix}"},
                    },
                ),
                target.condition,
            )
            key_grants.add(
                iam.PolicyStatement(
                    sid=f"{title}DescribeKey",
                    principals=account,
                    actions=["kms:DescribeKey"],
                    resources=["*"],
                    conditions=principals("actions", "endpoint"),
                ),
                target.condition,
            )
            if group_grants is not None:
                group_grants.add(
                    iam.PolicyStatement(
                        sid=f"{title}ReadModelVersions",
                        principals=account,
                        actions=CROSS_ACCOUNT_READ_ACTIONS,
                        resources=[group.model_package_group_arn, group.model_packages_arn],
                        conditions=principals("deployer"),
                    ),
                    target.condition,
                )
                # The stage stack's model names the version (PrimaryContainer.ModelPackageName):
                # CloudFormation, as the deployer, creates the model from it. The model's
                # execution role (``endpoint``) reads the version's artifacts (bucket and key
                # above), not the version itself.
                group_grants.add(
                    iam.PolicyStatement(
                        sid=f"{title}CreateModelsFromVersions",
                        principals=account,
                        actions=CROSS_ACCOUNT_DEPLOY_ACTIONS,
                        resources=[group.model_packages_arn],
                        conditions=principals("deployer"),
                    ),
                    target.condition,
                )
        self.target_grants = {"bucket": bucket_grants, "key": key_grants, **({"group": group_grants} if group_grants else {})}

    def _any_other_account(self, others: list[StageTarget]) -> Optional[CfnCondition]:
        """A condition holding when any of ``others`` is in another account (None: always)."""
        conditions = [t.condition for t in others]
        if any(c is None for c in conditions):
            return None
        unique = list({c.logical_id: c for c in conditions if c is not None}.values())
        if len(unique) == 1:
            return unique[0]
        return CfnCondition(
            self, "AnyStageInOtherAccount", expression=Fn.condition_or(*cast(list[Any], unique))  # a condition is an expression
        )

    def _acknowledge_findings(
        self,
        project: ProjectIdentity,
        bucket: s3.IBucket,
        model_package_group: IModelPackageGroup,
    ) -> None:
        acknowledge_pipeline_grants(
            self,
            bucket=bucket,
            reason="granted by aws-cdk-lib's CodePipeline, CodeBuild and CloudFormation actions: "
            "read and write pipeline artifacts in this project's bucket with its key, and "
            "create, update, describe and (replace on failure) delete this project's stage stacks (any stack id)",
            resources=tuple(self._stage_stack_arn(stage.name) for stage in self.stages),
        )
        for name, change_project in self.change_record_projects.items():
            acknowledge_wildcards(
                default_policy(change_project),
                "the change record reads the stage's stack before the deployment (the version it serves); "
                "a stack's ARN ends with an id CloudFormation generates",
                self._stage_stack_arn(name),
            )
        acknowledge_wildcards(
            default_policy(self.build_project),
            "build.py lists the group's versions (ListModelPackages has no resource type) and "
            "describes them (version numbers are assigned at registration)",
            "*",
            model_package_group.model_packages_arn,
        )
        for name, test_project in self.test_projects.items():
            acknowledge_stage_test(default_policy(test_project), project, name)


def _source_artifact_reads(
    scope: Construct,
    bucket_name: Optional[str],
    key_arn: Optional[str],
) -> list[tuple[str, list[iam.PolicyStatement], Optional[CfnCondition], str]]:
    """Read access to the source model artifact bucket (the registering project's): per grant,
    an id, its statements, the CloudFormation condition it exists under, and why its wildcard
    is accepted.

    Empty settings mean this project's bucket, which the tests read already, and artifacts
    that are not KMS-encrypted: no grant. A token (a template parameter) may be empty when
    deployed, so its grant is a policy of its own that exists only when the value is not
    empty (IAM has no optional statement; an empty value would make an invalid ARN).
    """
    stack = Stack.of(scope)
    grants: list[tuple[str, list[iam.PolicyStatement], Optional[CfnCondition], str]] = []

    def given(construct_id: str, value: str) -> Optional[CfnCondition]:
        if not Token.is_unresolved(value):
            return None
        return CfnCondition(scope, construct_id, expression=Fn.condition_not(Fn.condition_equals(value, "")))

    if bucket_name:
        grants.append(
            (
                "SourceTestDataRead",
                [iam.PolicyStatement(actions=["s3:GetObject"], resources=[f"arn:{stack.partition}:s3:::{bucket_name}/*"])],
                given("SourceModelArtifactBucketGiven", bucket_name),
                "the endpoint tests read the test set named by the model version (TestDataS3Uri), written at run "
                "time by the registering project's pipeline; read-only, in the one bucket given as holding its artifacts",
            )
        )
    if key_arn:
        grants.append(
            (
                "SourceTestDataDecrypt",
                [
                    iam.PolicyStatement(
                        actions=["kms:Decrypt"],
                        resources=[key_arn],
                        # Only when S3 asks (GetObject of an SSE-KMS object), never directly.
                        conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.{stack.url_suffix}"}},
                    )
                ],
                given("SourceModelArtifactKeyGiven", key_arn),
                "",
            )
        )
    return grants


def _sagemaker_arn(scope: IConstruct, resource: str) -> str:
    return Stack.of(scope).format_arn(
        service="sagemaker", resource=resource, resource_name="*", arn_format=ArnFormat.SLASH_RESOURCE_NAME
    )



# The statements of a stage's runners (CodeBuild's roles here; a Jenkins role in
# build-deploy-jenkins).


def stage_stack_name(project: ProjectIdentity, stage: str, *, part: str = "deploy") -> str:
    """``sagemaker-<name>-<id>-<part>-<stage>``: the stack of a stage's endpoint (``deploy``) or
    monitors (``monitor``)."""
    return project.resource_name(f"{part}-{stage}")


def stage_stack_arn(scope: Construct, project: ProjectIdentity, stage: str, *, part: str = "deploy") -> str:
    """The ARN of a stage's stack (this account and region), any stack id."""
    return Stack.of(scope).format_arn(
        service="cloudformation",
        resource="stack",
        resource_name=f"{stage_stack_name(project, stage, part=part)}/*",
        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
    )


def stage_test_statements(scope: Construct, project: ProjectIdentity, stage: str) -> list[iam.PolicyStatement]:
    """What the seed's endpoint tests call on a stage in this account: describe and invoke its
    endpoint, describe its configuration and model (tagged with the project id). The test set
    is read from the artifact bucket (grant that separately)."""
    return [
        iam.PolicyStatement(
            actions=["sagemaker:DescribeEndpoint", "sagemaker:InvokeEndpoint"],
            resources=project.sagemaker_arn("endpoint", f"-{stage}"),
        ),
        iam.PolicyStatement(
            actions=["sagemaker:DescribeEndpointConfig", "sagemaker:DescribeModel"],
            resources=[_sagemaker_arn(scope, "endpoint-config"), _sagemaker_arn(scope, "model")],
            conditions={"StringEquals": {"aws:ResourceTag/sagemaker:project-id": project.project_id}},
        ),
    ]


def acknowledge_stage_test(policy: IConstruct, project: ProjectIdentity, stage: str) -> None:
    """Acknowledge, on ``policy``, the wildcards of :func:`stage_test_statements`."""
    acknowledge_wildcards(
        policy,
        f"the {stage} tests read the endpoint's model and config, whose names CloudFormation "
        "generates; limited to resources tagged with this project's id",
        *(_sagemaker_arn(policy, r) for r in ("endpoint-config", "model")),
    )
    wildcard_endpoints = [arn for arn in project.sagemaker_arn("endpoint", f"-{stage}") if "*" in arn]
    if wildcard_endpoints:
        acknowledge_wildcards(policy, f"a project Studio names is matched as '*-<project id>-{stage}'", *wildcard_endpoints)


def _queue_test_writes(bucket: s3.IBucket, stage: str) -> list[str]:
    return [
        bucket.arn_for_objects(f"async-inference/*-{stage}/input/*"),
        bucket.arn_for_objects(f"batch-transform/{stage}/test-input/*"),
    ]


def _queue_test_machine_arn(scope: IConstruct, project: ProjectIdentity, stage: str, resource: str, suffix: str = "") -> str:
    return Stack.of(scope).format_arn(
        service="states",
        resource=resource,
        resource_name=f"{project.project_id}-{stage}-transform{suffix}",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


def stage_queue_test_statements(
    scope: Construct,
    project: ProjectIdentity,
    stage: str,
    bucket: s3.IBucket,
    key_arn: Optional[str],
    *,
    stack_arn: str,
) -> list[iam.PolicyStatement]:
    """What the endpoint tests of an asynchronous or a batch stage call besides
    :func:`stage_test_statements` (test/test_endpoint.py): submit requests under the endpoint's
    input prefix and read the answers (grant reading the bucket separately), or upload test rows
    and run the stage's state machine (named ``<project id>-<stage>-transform``); and read the
    stage stack (``stack_arn``) and its outputs. ``key_arn``: the bucket's key (None: granted
    separately, e.g. by ``bucket.grant_read_write``)."""
    statements = [
        iam.PolicyStatement(actions=["sagemaker:InvokeEndpointAsync"], resources=project.sagemaker_arn("endpoint", f"-{stage}")),
        iam.PolicyStatement(actions=["s3:PutObject"], resources=_queue_test_writes(bucket, stage)),
    ]
    if key_arn is not None:
        statements.append(iam.PolicyStatement(actions=["kms:GenerateDataKey"], resources=[key_arn]))
    statements += [
        iam.PolicyStatement(
            actions=["states:StartExecution"], resources=[_queue_test_machine_arn(scope, project, stage, "stateMachine")]
        ),
        iam.PolicyStatement(
            actions=["states:DescribeExecution", "states:StopExecution"],
            resources=[_queue_test_machine_arn(scope, project, stage, "execution", ":*")],
        ),
        iam.PolicyStatement(
            actions=["cloudformation:DescribeStacks", "cloudformation:DescribeStackResource"], resources=[stack_arn]
        ),
    ]
    return statements


def acknowledge_stage_queue_test(
    policy: IConstruct, project: ProjectIdentity, stage: str, bucket: s3.IBucket, *, stack_arn: str
) -> None:
    """Acknowledge, on ``policy``, the wildcards of :func:`stage_queue_test_statements`."""
    acknowledge_wildcards(
        policy,
        f"test requests and rows get keys per run under the {stage} stage's input prefixes (write-only); "
        "runs are named per test; the stage stack's id is generated",
        *_queue_test_writes(bucket, stage),
        _queue_test_machine_arn(policy, project, stage, "execution", ":*"),
        stack_arn,
        *(arn for arn in project.sagemaker_arn("endpoint", f"-{stage}") if "*" in arn),
    )


def stage_stack_deploy_statements(
    scope: Construct,
    project: ProjectIdentity,
    stages: Sequence[str],
    deployer_role_arn: str,
    *,
    replaceable_stages: Sequence[str] = (),
) -> list[iam.PolicyStatement]:
    """Deploy the stages' stacks with CloudFormation change sets (``aws cloudformation
    deploy``) as ``deployer_role_arn``, which only CloudFormation may be passed; delete the stack
    of a stage in ``replaceable_stages`` (one whose creation failed, ``ROLLBACK_COMPLETE``, is
    replaced, as the pipeline's CloudFormation action does). What a pipeline's CloudFormation
    action role holds, for a runner outside CodePipeline."""
    statements = [
        iam.PolicyStatement(
            actions=[
                "cloudformation:DescribeStacks",
                "cloudformation:CreateChangeSet",
                "cloudformation:DescribeChangeSet",
                "cloudformation:ExecuteChangeSet",
            ],
            resources=[stage_stack_arn(scope, project, stage) for stage in stages],
        ),
        iam.PolicyStatement(
            actions=["iam:PassRole"],
            resources=[deployer_role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}},
        ),
    ]
    if replaceable_stages:
        statements.append(
            iam.PolicyStatement(
                actions=["cloudformation:DeleteStack"],
                resources=[stage_stack_arn(scope, project, stage) for stage in replaceable_stages],
            )
        )
    return statements
