"""The stage templates of the other ways to serve: an asynchronous endpoint and a batch transform.

Like ``EndpointStageStack`` (real-time), each is a construct of ``constructs.endpoint`` with
every input a CloudFormation parameter, reaches the deploy repository as a checked-in file
generated from the stack, and is deployed by the model-deploy pipeline once per stage whose
configuration names its ``kind``:

- ``async-stage.template.json``: ``ModelEndpoint`` with ``AsyncInference`` (requests under
  ``async-inference/<endpoint>/input/`` in the stage's bucket, answers under ``.../output/``,
  failures under ``.../failure/``, KMS-encrypted SNS success and error topics, backlog
  autoscaling down to zero);
- ``batch-stage.template.json``: ``BatchTransform`` over
  ``batch-transform/<stage>/input/`` into ``batch-transform/<stage>/output/<run>/``, on an
  optional schedule and once after each deployment of the stage.

Both share the endpoint stage's common parameters (``stage_inputs``): the project, the stage,
the model version, the stage's bucket and key (its own in another account), the model role
(given in another account; a batch stage there is given the roles of its state machine and
rules too) and where the artifacts are read. Regenerate with::

    python -m sagemaker_projects_cdk.stacks.serving_stages
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional, Unpack

from aws_cdk import CfnCondition, CfnOutput, CfnResource, CfnRule, CfnRuleAssertion, CfnWaitConditionHandle, Fn
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from .._internal.patterns import ROLE_ARN
from .._internal.resource_policy import ConditionalStatements
from ..constructs.deploy.deployer_role import stage_iam_path
from ..constructs.endpoint import (
    AsyncInference,
    BacklogScaling,
    BatchTransform,
    ModelEndpoint,
    TransformSettings,
)
from ..constructs.endpoint.batch import BATCH_STRATEGIES, JOIN_SOURCES, SCHEDULE_EXPRESSION, SPLIT_TYPES
from ._stage_parameters import INSTANCE_TYPE_PATTERN, StageParameters, StageStack, StageStackProps
from .endpoint_stage import (
    STAGE_TEMPLATE_PATH,
    endpoint_outputs,
    endpoint_uses_given_role,
    endpoint_variant_and_capture,
    stage_images,
    stage_inputs,
    synth_stage_template,
    use_given_role,
)

SEED_DIR = STAGE_TEMPLATE_PATH.parent
ASYNC_TEMPLATE_FILE = "async-stage.template.json"
BATCH_TEMPLATE_FILE = "batch-stage.template.json"
ASYNC_TEMPLATE_PATH = SEED_DIR / ASYNC_TEMPLATE_FILE
BATCH_TEMPLATE_PATH = SEED_DIR / BATCH_TEMPLATE_FILE
#: The command that regenerates both checked-in templates.
REGENERATE_COMMAND = "python -m sagemaker_projects_cdk.stacks.serving_stages"
#: The key prefix of every asynchronous endpoint's requests, answers and failures.
ASYNC_PREFIX = "async-inference"
#: The key prefix of batch transforms' input and output (then ``<stage>/input`` and ``<stage>/output``).
BATCH_PREFIX = "batch-transform"


class AsyncStageStack(StageStack):
    """One deployment stage's asynchronous SageMaker endpoint, every setting a parameter.

    The endpoint is named ``<project name>-<project id>-<stage>`` like the real-time stage.
    Parameters beyond the common ones: ``InstanceType``, ``InstanceCount``,
    ``MaxConcurrentInvocationsPerInstance``, ``EnableDataCapture``,
    ``DataCaptureSamplingPercentage``, ``EnableAutoscaling``, ``MinCapacity`` (0: scale to
    zero), ``MaxCapacity``, ``TargetBacklogPerInstance``. Deployments are blue/green, all at
    once, rolled back by the 5xx and latency alarms (fixed defaults).
    """

    DEFAULT_DESCRIPTION = (
        "Asynchronous SageMaker endpoint of one deployment stage of a SageMaker project (sagemaker-projects-cdk model-deploy)"
    )

    def __init__(self, scope: Optional[Construct], construct_id: str, **props: Unpack[StageStackProps]) -> None:
        super().__init__(scope, construct_id, **props)
        p = StageParameters(self)
        inputs = stage_inputs(self, p, written="captured data and the asynchronous requests and answers are")
        project = inputs.project
        #: The stage's own key and bucket (another account only).
        self.storage = inputs.storage
        variant, capture = endpoint_variant_and_capture(p)
        settings = AsyncInference(
            prefix=ASYNC_PREFIX,
            max_concurrent_invocations_per_instance=p.number(
                "MaxConcurrentInvocationsPerInstance", "Requests one instance works on at once", 1, 1000, 4
            ),
            scaling=BacklogScaling(
                enabled=p.flag("EnableAutoscaling", "Scale on the backlog per instance", "true"),
                min_capacity=p.number("MinCapacity", "Fewest instances (0: scale to zero when idle)", 0, 1000, 0),
                max_capacity=p.number("MaxCapacity", "Most instances", 1, 1000, 2),
                target_backlog_per_instance=p.number(
                    "TargetBacklogPerInstance", "Queued requests per instance to hold", 1, 1_000_000, 5
                ),
            ),
        )
        images = stage_images(self, p)
        key = kms.Key.from_key_arn(self, "ArtifactKey", inputs.key_arn)
        bucket = s3.Bucket.from_bucket_attributes(self, "ArtifactBucket", bucket_name=inputs.bucket_name, encryption_key=key)
        model_bucket, model_key = inputs.model_artifacts(stack=self)
        #: The endpoint.
        self.endpoint = ModelEndpoint(
            self,
            "Endpoint",
            model_package_arn=inputs.model_package_arn,
            endpoint_name=f"{project.project_name}-{project.project_id}-{inputs.stage}",
            iam_path=stage_iam_path(project.project_id),
            variant=variant,
            bucket=bucket,
            key=key,
            model_artifacts_bucket=model_bucket,
            model_artifacts_key=model_key,
            data_capture=capture,
            async_inference=settings,
            image_repositories=images,
            network=inputs.network,
        )
        base = f"{ASYNC_PREFIX}/{self.endpoint.endpoint_name}"
        endpoint_uses_given_role(
            self,
            inputs,
            self.endpoint,
            writes={"CaptureByExecutionRole": ["data-capture/*", f"{base}/output/*", f"{base}/failure/*"]},
            reads={"RequestsByExecutionRole": [f"{base}/input/*"]},
        )
        self._let_given_role_publish(inputs.execution_role_arn)
        endpoint_outputs(self, self.endpoint)
        for name, topic in (("SuccessTopicArn", self.endpoint.success_topic), ("ErrorTopicArn", self.endpoint.error_topic)):
            assert topic is not None
            CfnOutput(self, name, value=topic.topic_arn, description="SNS topic of " + name[:-8].lower() + " notifications")

    def _let_given_role_publish(self, role_arn: str) -> None:
        """A given role (another account) publishes through the topics' policies: the stack's
        own policy, which would grant it, is not created then."""
        given = self.node.find_child("StageGivenExecutionRole")
        assert isinstance(given, CfnCondition)
        for topic in (self.endpoint.success_topic, self.endpoint.error_topic):
            assert isinstance(topic, sns.Topic)
            topic_policy = topic.node.find_child("Policy")
            assert isinstance(topic_policy, sns.TopicPolicy)
            ConditionalStatements(
                topic_policy.node.default_child, "PolicyDocument", topic_policy.document  # type: ignore[arg-type]  # an L1 TopicPolicy is a CfnResource
            ).add(
                iam.PolicyStatement(
                    sid="PublishByExecutionRole",
                    principals=[iam.ArnPrincipal(role_arn)],
                    actions=["sns:Publish"],
                    resources=[topic.topic_arn],
                ),
                given,
            )


class BatchStageStack(StageStack):
    """One deployment stage's batch transform, every setting a parameter.

    Each run reads ``s3://<bucket>/batch-transform/<stage>/input/`` (a test run, started with
    ``{"test_run": "<folder>"}``, reads ``.../test-input/<folder>/``) and writes
    ``.../output/<execution name>/``; a run starts on ``Schedule`` (empty: none) and after each
    deployment of the stage. Transform jobs are named ``<project id>-<uuid>``. Parameters beyond
    the common ones: ``InstanceType``, ``InstanceCount``, ``MaxPayloadInMB``, ``SplitType``,
    ``JoinSource``, ``BatchStrategy``, ``ContentType``, ``Schedule``, and ``StateMachineRoleArn``
    and ``TriggerRoleArn``: empty, the stack creates the roles its state machine and rules run
    as; given (with ``ExecutionRoleArn``, a stage in another account, whose deployer creates no
    IAM role), they run as those (the target-account baseline's ``transform`` and ``trigger``
    roles).
    """

    DEFAULT_DESCRIPTION = (
        "SageMaker batch transform of one deployment stage of a SageMaker project (sagemaker-projects-cdk model-deploy)"
    )

    def __init__(self, scope: Optional[Construct], construct_id: str, **props: Unpack[StageStackProps]) -> None:
        super().__init__(scope, construct_id, **props)
        p = StageParameters(self)
        inputs = stage_inputs(
            self,
            p,
            named="transform output folder",
            serve="run",
            written="the transform input is read and its output",
            volumes="transform jobs'",
        )
        project = inputs.project
        #: The stage's own key and bucket (another account only).
        self.storage = inputs.storage
        settings = TransformSettings(
            instance_type=p.string("InstanceType", "Transform instance type", pattern=INSTANCE_TYPE_PATTERN, default="ml.m5.large"),
            instance_count=p.number("InstanceCount", "Instances per run", 1, 100, 1),
            max_payload_mb=p.number("MaxPayloadInMB", "Largest mini-batch sent to the model, MB (0: unlimited)", 0, 100, 6),
            split_type=p.choice("SplitType", "How input files are cut into records", ["Line", *(t for t in SPLIT_TYPES if t != "Line")]),
            join_source=p.choice("JoinSource", "Input: write each input record beside its prediction", list(JOIN_SOURCES)),
            batch_strategy=p.choice("BatchStrategy", "Records per request", list(BATCH_STRATEGIES)),
            content_type=p.string("ContentType", "MIME type of the input", pattern=r"[\w.+-]+/[\w.+-]+", default="text/csv"),
        )
        schedule = p.string(
            "Schedule",
            "EventBridge schedule expression of the runs, e.g. rate(1 day); empty: after deployments only",
            pattern=f"({SCHEDULE_EXPRESSION})?",
            default="",
            constraint="must be rate(...) or cron(...) or empty",
        )
        images = stage_images(self, p)
        key = kms.Key.from_key_arn(self, "ArtifactKey", inputs.key_arn)
        bucket = s3.Bucket.from_bucket_attributes(self, "ArtifactBucket", bucket_name=inputs.bucket_name, encryption_key=key)
        model_bucket, model_key = inputs.model_artifacts(stack=self)
        base = f"{BATCH_PREFIX}/{inputs.stage}"
        #: The batch transform.
        self.transform = BatchTransform(
            self,
            "Transform",
            model_package_arn=inputs.model_package_arn,
            bucket=bucket,
            key=key,
            settings=settings,
            input_prefix=f"{base}/input",
            output_prefix=f"{base}/output",
            test_input_prefix=f"{base}/test-input",
            schedule=schedule,
            job_name_prefix=project.project_id,
            # The deployers may manage state machines and rules named after the project only.
            resource_name_prefix=f"{project.project_id}-{inputs.stage}",
            model_artifacts_bucket=model_bucket,
            model_artifacts_key=model_key,
            image_repositories=images,
            iam_path=stage_iam_path(project.project_id),
            network=inputs.network,
        )
        use_given_role(
            self,
            self.storage,
            inputs.own_role,
            inputs.execution_role_arn,
            role=self.transform.role,
            policy=self.transform.policy,
            dependents=(self.transform.model,),
            writes={"OutputByExecutionRole": [f"{base}/output/*"]},
            reads={"InputByExecutionRole": [f"{base}/input/*", f"{base}/test-input/*"]},
        )
        self._use_given_run_roles(inputs.own_role, inputs.execution_role_arn)
        CfnOutput(self, "StateMachineArn", value=self.transform.state_machine.state_machine_arn, description="Starts a run")
        CfnOutput(self, "ModelName", value=self.transform.model.attr_model_name, description="The model the runs use")


    def _use_given_run_roles(self, own_role: CfnCondition, execution_role_arn: str) -> None:
        """With ``ExecutionRoleArn`` given (a stage in another account, whose deployer creates no
        IAM role), the state machine and the rules run as the given ``StateMachineRoleArn`` and
        ``TriggerRoleArn`` (the baseline's ``transform`` and ``trigger`` roles): the stack's own
        roles and policies are not created."""
        p = StageParameters(self)
        described = "empty: a role this stack creates; given exactly when ExecutionRoleArn is (in another account: the {} role of its target-account baseline)"
        machine_role = p.string(
            "StateMachineRoleArn",
            "Role Step Functions runs the transforms as; " + described.format("transform"),
            pattern=f"({ROLE_ARN})?",
            constraint="must be an IAM role ARN or empty",
        )
        trigger_role = p.string(
            "TriggerRoleArn",
            "Role EventBridge starts the runs as; " + described.format("trigger"),
            pattern=f"({ROLE_ARN})?",
            constraint="must be an IAM role ARN or empty",
        )
        no_role = Fn.condition_equals(execution_role_arn, "")

        def together(name: str, value: str) -> CfnRuleAssertion:
            empty = Fn.condition_equals(value, "")
            return CfnRuleAssertion(
                assert_=Fn.condition_or(
                    Fn.condition_and(empty, no_role), Fn.condition_and(Fn.condition_not(empty), Fn.condition_not(no_role))
                ),
                assert_description=f"{name} is given exactly when ExecutionRoleArn is",
            )

        CfnRule(
            self,
            "RunRolesWithExecutionRole",
            assertions=[together("StateMachineRoleArn", machine_role), together("TriggerRoleArn", trigger_role)],
        )
        t = self.transform
        own = [_cfn(c) for c in (t.starter_role, t.starter_policy, t.trigger_role, t.trigger_policy)]
        for resource in own:
            resource.cfn_options.condition = own_role
        starter_role, starter_policy, trigger, trigger_policy = own

        def ready(handle_id: str, *resources: CfnResource) -> str:
            """DependsOn may not name a resource whose condition is false: a handle waits instead."""
            handle = CfnWaitConditionHandle(self, handle_id)
            handle.cfn_options.metadata = {r.logical_id: Fn.condition_if(own_role.logical_id, r.ref, "") for r in resources}
            return handle.logical_id

        machine = _cfn(t.state_machine)
        machine.add_property_override("RoleArn", Fn.condition_if(own_role.logical_id, starter_role.get_att("Arn"), machine_role))
        machine.add_override("DependsOn", [ready("StateMachineRoleReady", starter_role, starter_policy)])
        trigger_ready = ready("TriggerRoleReady", trigger, trigger_policy)
        for rule in (t.schedule_rule, t.deploy_rule):
            if rule is not None:
                rule.add_property_override(
                    "Targets.0.RoleArn", Fn.condition_if(own_role.logical_id, trigger.get_att("Arn"), trigger_role)
                )
                rule.add_override("DependsOn", [trigger_ready])


def _cfn(construct: Construct) -> CfnResource:
    child = construct if isinstance(construct, CfnResource) else construct.node.default_child
    assert isinstance(child, CfnResource)
    return child


def synth_async_template(*, security_packs: bool = True) -> dict[str, Any]:
    return synth_stage_template(security_packs=security_packs, stack_class=AsyncStageStack, construct_id="AsyncStage")


def synth_batch_template(*, security_packs: bool = True) -> dict[str, Any]:
    return synth_stage_template(security_packs=security_packs, stack_class=BatchStageStack, construct_id="BatchStage")


def render_serving_template(template: dict[str, Any]) -> str:
    """The checked-in file's exact text: one JSON token a line, unindented (CloudFormation takes
    at most 51,200 bytes inline; indentation alone would take the asynchronous stage past it)."""
    return json.dumps(template, indent=0, sort_keys=False) + "\n"


def write_serving_templates(directory: Path = SEED_DIR) -> list[Path]:
    """Regenerate both checked-in templates."""
    written = []
    for name, synth in ((ASYNC_TEMPLATE_FILE, synth_async_template), (BATCH_TEMPLATE_FILE, synth_batch_template)):
        path = directory / name
        path.write_text(render_serving_template(synth()), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover - the regeneration command
    for path in write_serving_templates(Path(sys.argv[1]) if len(sys.argv) > 1 else SEED_DIR):
        print(f"wrote {path}")
