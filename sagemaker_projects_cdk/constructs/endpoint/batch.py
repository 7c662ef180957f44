"""Batch transform of a model package version: a scheduled job over an input prefix, and one run
after each deployment.

``BatchTransform`` creates the model (from the model package ARN, network-isolated by default)
and a Step Functions state machine whose one task starts a SageMaker transform job with the
service integration (``createTransformJob.sync``: the execution fails when the job fails) and
waits for it. EventBridge starts the state machine on a schedule (optional) and when the stack
holding it finishes a create or an update (``CloudFormation Stack Status Change``): a pipeline
that deploys the stack after each approval thus runs one transform of the approved version.

Every run reads ``s3://<bucket>/<input prefix>/`` and writes
``s3://<bucket>/<output prefix>/<execution name>/`` (``<input file>.out`` per input file),
encrypted with the key. Nothing here is a Lambda function.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence, Union

from aws_cdk import ArnFormat, Aws, CfnCondition, CfnResource, Fn, Names, Stack, Tags
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from ..._internal.patterns import KEY_PREFIX, MODEL_PACKAGE_ARN
from ..._internal.validation import Problems, check_choice, check_instance_type, check_pattern, check_whole, is_unresolved
from ...compliance import acknowledge, acknowledge_wildcards, nag_resource
from ..network import PrivateNetwork, grant_network_in_policy
from .endpoint import MODEL_PACKAGE_TAG, package_model
from .settings import LOCAL_STORAGE_FAMILIES, instance_family

#: ``TransformInput.SplitType``.
SPLIT_TYPES = ("None", "Line", "RecordIO", "TFRecord")
#: ``DataProcessing.JoinSource``.
JOIN_SOURCES = ("None", "Input")
#: ``BatchStrategy``.
BATCH_STRATEGIES = ("MultiRecord", "SingleRecord")
#: An EventBridge schedule expression: ``rate(<n> <unit>)`` or ``cron(<minutes> <hours>
#: <day of month> <month> <day of week> <year>)``, one of the two day fields ``?`` (EventBridge
#: takes a value in one of them only), each field of the characters EventBridge allows there.
SCHEDULE_EXPRESSION = (
    r"rate\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\)"
    r"|cron\([0-9*/,-]+ [0-9*/,-]+ (\? [0-9A-Za-z*/,-]+ [0-9A-Za-z*/,L#-]+|[0-9*/,LW-]+ [0-9A-Za-z*/,-]+ \?) [0-9*/,-]+\)"
)
#: Transform job names: ``<prefix>-<uuid>`` within SageMaker's 63 characters.
#: What Step Functions' ``createTransformJob.sync`` integration calls on a transform job: create,
#: describe and stop it; ``AddTags``, because a ``.sync`` job is created with Step Functions' own
#: tag (``MANAGED_BY_AWS``; aws-cdk-lib's SageMakerCreateTransformJob grants it for ``RUN_JOB``,
#: aws-cdk#26012); ``ListTags``, which the Step Functions developer guide's policy for the
#: integration lists (scoped here to the jobs, a resource type the action takes, not ``*``).
TRANSFORM_JOB_ACTIONS = (
    "sagemaker:AddTags",
    "sagemaker:CreateTransformJob",
    "sagemaker:DescribeTransformJob",
    "sagemaker:ListTags",
    "sagemaker:StopTransformJob",
)
#: Lower case only: SageMaker lower-cases the job's name in its ARN, and IAM compares ARNs
#: case-sensitively (a ``Serving-*`` resource would never match ``transform-job/serving-...``).
JOB_NAME_PREFIX = r"[a-z0-9](-*[a-z0-9]){0,25}"
#: The managed rule Step Functions uses to learn that a transform job ended (``.sync``).
SYNC_RULE = "StepFunctionsGetEventsForSageMakerTransformJobsRule"
#: What triggers a run after each deployment of the stack.
DEPLOYED_STATUSES = ("CREATE_COMPLETE", "UPDATE_COMPLETE")


@dataclass(frozen=True, kw_only=True)
class TransformSettings:
    """The transform job's resources and how it cuts and joins records.

    :param instance_type: the ML instance type. Default: ``ml.m5.large``.
    :param instance_count: instances, 1 to 100. Default: 1.
    :param max_payload_mb: largest mini-batch sent to the container, 0 to 100 MB (0: unlimited,
        for streaming containers). Default: 6.
    :param max_concurrent_transforms: requests each instance works on at once, 0 to 1000 (0:
        SageMaker's choice); times ``max_payload_mb`` at most 100. Default: 0.
    :param split_type: how input files are cut into records: ``None``, ``Line``, ``RecordIO``
        or ``TFRecord``. Default: ``Line``.
    :param join_source: ``Input`` writes each input record next to its prediction; ``None``
        writes the prediction alone. Default: ``None``.
    :param batch_strategy: ``MultiRecord`` (as many records per request as fit
        ``max_payload_mb``) or ``SingleRecord``. Default: ``MultiRecord``.
    :param content_type: the input's MIME type. Default: ``text/csv``.
    :param accept: the output's MIME type. Default: ``text/csv``.
    """

    instance_type: str = "ml.m5.large"
    instance_count: Union[int, float] = 1
    max_payload_mb: Union[int, float] = 6
    max_concurrent_transforms: Union[int, float] = 0
    split_type: str = "Line"
    join_source: str = "None"
    batch_strategy: str = "MultiRecord"
    content_type: str = "text/csv"
    accept: str = "text/csv"

    def __post_init__(self) -> None:
        problems = Problems()
        problems.check(check_instance_type, "instance_type", self.instance_type)
        check_whole(problems, "instance_count", self.instance_count, 1, 100)
        check_whole(problems, "max_payload_mb", self.max_payload_mb, 0, 100)
        check_whole(problems, "max_concurrent_transforms", self.max_concurrent_transforms, 0, 1000)
        concurrent, payload = self.max_concurrent_transforms, self.max_payload_mb
        # CreateTransformJob: MaxConcurrentTransforms * MaxPayloadInMB must not exceed 100 MB.
        if not is_unresolved(concurrent) and not is_unresolved(payload) and concurrent * payload > 100:
            problems.add(
                "max_concurrent_transforms",
                concurrent,
                f"at most 100 MB in flight per instance: max_concurrent_transforms ({concurrent}) times max_payload_mb "
                f"({payload}) must not exceed 100 (CreateTransformJob)",
            )
        problems.check(check_choice, "split_type", self.split_type, SPLIT_TYPES)
        problems.check(check_choice, "join_source", self.join_source, JOIN_SOURCES)
        problems.check(check_choice, "batch_strategy", self.batch_strategy, BATCH_STRATEGIES)
        for setting in ("content_type", "accept"):
            problems.check(check_pattern, setting, getattr(self, setting), r"[\w.+-]+/[\w.+-]+", "a MIME type such as 'text/csv'")
        problems.raise_if_any()


class BatchTransform(Construct):
    """A batch transform of a model package version, run on a schedule and after each deployment.

    :param model_package_arn: the versioned model package (a string or a token).
    :param bucket: where the input is read and the output written.
    :param key: the KMS key of the output and the instances' volumes. Default: the bucket's key
        (required when the bucket has none).
    :param settings: instances, payload, split, join and strategy. Default: ``TransformSettings()``.
    :param input_prefix: the key prefix read (every object below it). Default: ``batch-transform/input``.
    :param output_prefix: the key prefix written, one folder per run. Default: ``batch-transform/output``.
    :param test_input_prefix: a prefix for test runs: an execution started with the input
        ``{"test_run": "<folder>"}`` reads ``<test_input_prefix>/<folder>/`` instead of the input
        prefix (the deploy pipeline's staging test), and writes to the output prefix as any run.
        Default: none (every run reads the input prefix).
    :param schedule: an EventBridge schedule expression (``rate(1 day)``, ``cron(0 2 * * ? *)``)
        or a token, empty meaning none. Default: none (runs after deployments only).
    :param run_on_deploy: run when the stack holding this construct is created or updated.
        Default: True.
    :param resource_name_prefix: names the state machine ``<prefix>-transform`` and the rules
        ``<prefix>-schedule`` and ``<prefix>-deployed`` (at most 40 characters), so a deployer can
        be limited to them. Default: names CloudFormation generates.
    :param job_name_prefix: transform jobs are named ``<prefix>-<uuid>`` (at most 26 lower-case
        letters, digits and hyphens: SageMaker lower-cases the name in the job's ARN, which the
        state machine's role is limited to). Default: a name unique to this construct's path,
        lower-cased.
    :param model_artifacts_bucket: where the package's artifacts are, when not in ``bucket``.
        Default: ``bucket``.
    :param model_artifacts_key: the key encrypting the artifacts. Default: with
        ``model_artifacts_bucket``, its key (or none); without, ``key``.
    :param role: the model's execution role. Default: a new role with only what the job needs.
    :param network_isolation: forbid the container any network access. Default: True.
    :param network: the private network (``PrivateNetwork``) the model's transform jobs run
        in; the role may create their network interfaces there. Default: none.
    :param image_repositories: private ECR repositories of the model's images. Default: none.
    :param iam_path: the IAM path of the roles and policies created. Default: ``/``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model_package_arn: str,
        bucket: s3.IBucket,
        key: Optional[kms.IKey] = None,
        settings: Optional[TransformSettings] = None,
        input_prefix: str = "batch-transform/input",
        output_prefix: str = "batch-transform/output",
        test_input_prefix: Optional[str] = None,
        schedule: Optional[str] = None,
        run_on_deploy: bool = True,
        job_name_prefix: Optional[str] = None,
        resource_name_prefix: Optional[str] = None,
        model_artifacts_bucket: Optional[s3.IBucket] = None,
        model_artifacts_key: Optional[kms.IKey] = None,
        role: Optional[iam.IRole] = None,
        network_isolation: bool = True,
        image_repositories: Sequence[ecr.IRepository] = (),
        iam_path: Optional[str] = None,
        network: Optional[PrivateNetwork] = None,
    ) -> None:
        super().__init__(scope, construct_id)
        settings = settings if settings is not None else TransformSettings()
        problems = Problems()
        problems.check(
            check_pattern, "model_package_arn", model_package_arn, MODEL_PACKAGE_ARN, "a versioned model package ARN"
        )
        if not isinstance(settings, TransformSettings):
            problems.add("settings", settings, "a TransformSettings")
        prefixes = [("input_prefix", input_prefix), ("output_prefix", output_prefix)]
        if test_input_prefix is not None:
            prefixes.append(("test_input_prefix", test_input_prefix))
        for setting, prefix in prefixes:
            problems.check(check_pattern, setting, prefix, KEY_PREFIX, "an S3 key prefix without leading or trailing '/'")
        if not any(is_unresolved(p) for p in (input_prefix, output_prefix)):
            if input_prefix == output_prefix or output_prefix.startswith(input_prefix + "/"):
                problems.add("output_prefix", output_prefix, f"a prefix outside input_prefix ({input_prefix!r}): a run would read its own output")
        if schedule is not None and not is_unresolved(schedule) and schedule != "":
            problems.check(
                check_pattern, "schedule", schedule, SCHEDULE_EXPRESSION, "a schedule expression 'rate(1 day)' or 'cron(0 2 * * ? *)'"
            )
        if resource_name_prefix is not None:
            problems.check(
                check_pattern, "resource_name_prefix", resource_name_prefix, r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,39}",
                "1 to 40 letters, digits and inner hyphens",
            )
        if job_name_prefix is not None:
            problems.check(
                check_pattern,
                "job_name_prefix",
                job_name_prefix,
                JOB_NAME_PREFIX,
                "1 to 26 lower-case letters, digits and inner hyphens (SageMaker lower-cases job ARNs; IAM compares case-sensitively)",
            )
        if key is None and bucket.encryption_key is None:
            problems.add("key", None, "a KMS key (the bucket has none)")
        problems.raise_if_any()
        stack = Stack.of(self)

        #: The settings of every run.
        self.settings = settings
        #: The KMS key of outputs and volumes.
        self.key: kms.IKey = key or bucket.encryption_key  # type: ignore[assignment]  # checked above
        self.bucket = bucket
        self.input_prefix = input_prefix
        self.test_input_prefix = test_input_prefix
        self._read_prefixes = [input_prefix] + ([test_input_prefix] if test_input_prefix is not None else [])
        self.output_prefix = output_prefix
        #: Transform jobs are named ``<job_name_prefix>-<uuid>``.
        self.job_name_prefix: str = job_name_prefix or Names.unique_resource_name(self, max_length=26, separator="-").lower()
        artifacts_bucket = model_artifacts_bucket or bucket
        artifacts_key = model_artifacts_key or (
            model_artifacts_bucket.encryption_key if model_artifacts_bucket is not None else self.key
        )

        #: The model's execution role.
        self.role: iam.IRole = role or iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="Execution role of a SageMaker batch transform's model",
            path=iam_path,
        )
        #: What the transform job needs, attached to ``role``.
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description="What a SageMaker batch transform needs: logs, metrics, artifacts, input, output",
            path=iam_path,
            statements=self._job_statements(stack, artifacts_bucket, artifacts_key, image_repositories),
            roles=[self.role],
        )

        #: The SageMaker model.
        self.model = package_model(
            self,
            role=self.role,
            policy=self.policy,
            model_package_arn=model_package_arn,
            network_isolation=network_isolation,
            # A transform job runs in the VPC configuration of its model.
            vpc_config=network.sagemaker_vpc_config() if network is not None else None,
        )
        if network is not None:
            grant_network_in_policy(self.policy, network)
            network.acknowledge_empty_defaults(self.model)
        Tags.of(self.model).add(MODEL_PACKAGE_TAG, model_package_arn)

        #: The role Step Functions runs the state machine as.
        self.starter_role = iam.Role(
            self,
            "StarterRole",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description="Starts and watches the SageMaker transform jobs of one batch transform",
            path=iam_path,
        )
        self.starter_policy = iam.ManagedPolicy(
            self,
            "StarterPolicy",
            description="Create, describe and stop this batch transform's jobs; pass the model's role",
            path=iam_path,
            statements=self._starter_statements(stack),
            roles=[self.starter_role],
        )
        #: The state machine: one task that runs a transform job and waits for it.
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=f"{resource_name_prefix}-transform" if resource_name_prefix else None,
            # By ARN: the RoleArn reference orders the two already (a DependsOn would repeat it).
            role=iam.Role.from_role_arn(self, "StarterRoleArn", self.starter_role.role_arn, mutable=False),
            definition_body=sfn.DefinitionBody.from_string(stack.to_json_string(self._definition(stack))),
        )
        # The role's policy exists before the state machine can use it (the role is referenced already).
        _cfn(self.state_machine).add_resource_dependency(_cfn(self.starter_policy))

        #: The role EventBridge starts executions as.
        self.trigger_role = iam.Role(
            self,
            "TriggerRole",
            assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
            description="Starts a batch transform's state machine on its schedule and after deployments",
            path=iam_path,
        )
        self.trigger_policy = iam.ManagedPolicy(
            self,
            "TriggerPolicy",
            description="Start executions of one batch transform's state machine",
            path=iam_path,
            statements=[
                iam.PolicyStatement(actions=["states:StartExecution"], resources=[self.state_machine.state_machine_arn])
            ],
            roles=[self.trigger_role],
        )
        target = events.CfnRule.TargetProperty(
            id="BatchTransform", arn=self.state_machine.state_machine_arn, role_arn=self.trigger_role.role_arn
        )
        #: The scheduled rule, or None without a schedule.
        self.schedule_rule: Optional[events.CfnRule] = None
        if schedule:
            self.schedule_rule = events.CfnRule(
                self,
                "Schedule",
                name=f"{resource_name_prefix}-schedule" if resource_name_prefix else None,
                description="Runs a SageMaker batch transform on its schedule",
                schedule_expression=schedule,
                targets=[target],
            )
            if is_unresolved(schedule):
                self.schedule_rule.cfn_options.condition = CfnCondition(
                    self, "Scheduled", expression=Fn.condition_not(Fn.condition_equals(schedule, ""))
                )
        #: The rule that runs a transform after each deployment of the stack, or None.
        self.deploy_rule: Optional[events.CfnRule] = None
        if run_on_deploy:
            self.deploy_rule = events.CfnRule(
                self,
                "AfterDeployment",
                name=f"{resource_name_prefix}-deployed" if resource_name_prefix else None,
                description="Runs a SageMaker batch transform when its stack has been created or updated",
                event_pattern={
                    "source": ["aws.cloudformation"],
                    "detail-type": ["CloudFormation Stack Status Change"],
                    "detail": {
                        "stack-id": [Aws.STACK_ID],
                        "status-details": {"status": list(DEPLOYED_STATUSES)},
                    },
                },
                targets=[target],
            )
            # EventBridge may start the state machine once the rule exists (it refers to the machine).
            self.deploy_rule.add_resource_dependency(_cfn(self.trigger_policy))
        self._acknowledge(artifacts_bucket)

    # ------------------------------------------------------------------ public API

    @property
    def input_s3_uri(self) -> str:
        """``s3://<bucket>/<input prefix>/``: what every run reads."""
        return self.bucket.s3_url_for_object(self.input_prefix) + "/"

    @property
    def output_s3_uri(self) -> str:
        """``s3://<bucket>/<output prefix>``: each run writes a folder named after its execution."""
        return self.bucket.s3_url_for_object(self.output_prefix)

    @property
    def executions_arn(self) -> str:
        """The ARN of every execution (run) of the state machine."""
        return Stack.of(self).format_arn(
            service="states",
            resource="execution",
            resource_name=f"{self.state_machine.state_machine_name}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    def grant_start(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` start a run and follow it (``DescribeExecution`` of this state machine's runs)."""
        grant = self.state_machine.grant_start_execution(grantee)
        iam.Grant.add_to_principal(grantee=grantee, actions=["states:DescribeExecution"], resource_arns=[self.executions_arn])
        return grant

    # ------------------------------------------------------------------ resources

    def _job_arn(self, stack: Stack) -> str:
        return stack.format_arn(service="sagemaker", resource="transform-job", resource_name=f"{self.job_name_prefix}-*")

    def _job_statements(
        self,
        stack: Stack,
        artifacts_bucket: s3.IBucket,
        artifacts_key: Optional[kms.IKey],
        image_repositories: Sequence[ecr.IRepository],
    ) -> list[iam.PolicyStatement]:
        logs = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name="/aws/sagemaker/TransformJobs:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        statements = [
            iam.PolicyStatement(
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                resources=[logs],
            ),
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/TransformJobs"}},
            ),
            iam.PolicyStatement(actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[self.key.key_arn]),
            iam.PolicyStatement(
                actions=["s3:GetObject"], resources=[self.bucket.arn_for_objects(f"{p}/*") for p in self._read_prefixes]
            ),
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[self.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [v for p in self._read_prefixes for v in (f"{p}/*", p)]}},
            ),
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[self.bucket.arn_for_objects(f"{self.output_prefix}/*")],
            ),
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[artifacts_bucket.arn_for_objects("*")]),
        ]
        if artifacts_key is not None and artifacts_key.key_arn != self.key.key_arn:
            statements.append(
                iam.PolicyStatement(
                    actions=["kms:Decrypt"],
                    resources=[artifacts_key.key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.{stack.url_suffix}"}},
                )
            )
        if image_repositories:
            statements += [
                iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]),
                iam.PolicyStatement(
                    actions=["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                    resources=[r.repository_arn for r in image_repositories],
                ),
            ]
        self._image_repositories = list(image_repositories)
        self._logs_arn = logs
        return statements

    def _starter_statements(self, stack: Stack) -> list[iam.PolicyStatement]:
        s = self.settings
        local = not is_unresolved(s.instance_type) and instance_family(s.instance_type) in LOCAL_STORAGE_FAMILIES
        # VolumeKmsKeyId: SageMaker creates a grant on the key for the job's volumes. AWS's docs do
        # not say whether that grant is created with the CreateTransformJob caller's permissions (as
        # for endpoints and monitoring schedules); granting it for AWS resources only, as the
        # target-account baseline's transform role does, is the safe side either way.
        grant = iam.PolicyStatement(
            actions=["kms:CreateGrant"],
            resources=[self.key.key_arn],
            conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
        )
        return ([] if local else [grant]) + [
            # TRANSFORM_JOB_ACTIONS: what Step Functions' createTransformJob.sync calls on the job.
            iam.PolicyStatement(actions=list(TRANSFORM_JOB_ACTIONS), resources=[self._job_arn(stack)]),
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
            iam.PolicyStatement(
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[stack.format_arn(service="events", resource="rule", resource_name=SYNC_RULE)],
            ),
        ]

    def _definition(self, stack: Stack) -> dict[str, Any]:
        s = self.settings
        bucket = self.bucket.bucket_name
        resources: dict[str, Any] = {"InstanceType": s.instance_type, "InstanceCount": s.instance_count}
        volume_key = self._volume_key(s)
        if volume_key is not None:
            resources["VolumeKmsKeyId"] = volume_key
        output: dict[str, Any] = {
            "S3OutputPath.$": f"States.Format('s3://{bucket}/{self.output_prefix}/{{}}', $$.Execution.Name)",
            "KmsKeyId": self.key.key_arn,
            "Accept": s.accept,
            "AssembleWith": self._assemble_with(s),
        }
        parameters: dict[str, Any] = {
            "TransformJobName.$": f"States.Format('{self.job_name_prefix}-{{}}', States.UUID())",
            "ModelName": self.model.attr_model_name,
            "MaxPayloadInMB": s.max_payload_mb,
            "MaxConcurrentTransforms": s.max_concurrent_transforms,
            "BatchStrategy": s.batch_strategy,
            "TransformInput": {
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": self.input_s3_uri}},
                "ContentType": s.content_type,
                "SplitType": s.split_type,
                "CompressionType": "None",
            },
            "TransformOutput": output,
            "TransformResources": resources,
            "DataProcessing": {"JoinSource": s.join_source},
        }
        task = f"arn:{stack.partition}:states:::sagemaker:createTransformJob.sync"
        states: dict[str, Any] = {"Transform": {"Type": "Task", "Resource": task, "Parameters": parameters, "End": True}}
        definition: dict[str, Any] = {
            "Comment": "Runs one SageMaker batch transform of the deployed model and waits for it",
            "StartAt": "Transform",
            "States": states,
        }
        if self.test_input_prefix is not None:
            test_input = dict(parameters["TransformInput"])
            test_input["DataSource"] = {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri.$": f"States.Format('s3://{bucket}/{self.test_input_prefix}/{{}}/', $.test_run)",
                }
            }
            states["TestInput"] = {
                "Type": "Choice",
                "Choices": [{"Variable": "$.test_run", "IsPresent": True, "Next": "TransformTestInput"}],
                "Default": "Transform",
            }
            states["TransformTestInput"] = {
                "Type": "Task",
                "Resource": task,
                "Parameters": {**parameters, "TransformInput": test_input},
                "End": True,
            }
            definition["StartAt"] = "TestInput"
        return definition

    def _assemble_with(self, s: TransformSettings) -> Any:
        if not is_unresolved(s.split_type):
            return "Line" if s.split_type == "Line" else "None"
        line = CfnCondition(self, "SplitByLine", expression=Fn.condition_equals(s.split_type, "Line"))
        return Fn.condition_if(line.logical_id, "Line", "None")

    def _volume_key(self, s: TransformSettings) -> Any:
        """The volumes' key, left out for instance types with local storage (SageMaker rejects it)."""
        if not is_unresolved(s.instance_type):
            return None if instance_family(s.instance_type) in LOCAL_STORAGE_FAMILIES else self.key.key_arn
        family = Fn.select(1, Fn.split(".", s.instance_type))
        matches = [Fn.condition_equals(family, name) for name in LOCAL_STORAGE_FAMILIES]
        groups = [Fn.condition_or(*matches[i : i + 10]) for i in range(0, len(matches), 10)]
        local = CfnCondition(self, "InstanceHasLocalStorage", expression=Fn.condition_or(*groups))
        # A definition string cannot drop a key: an empty key means SageMaker's own encryption there.
        return Fn.condition_if(local.logical_id, "", self.key.key_arn)

    # ------------------------------------------------------------------ compliance

    def _acknowledge(self, artifacts_bucket: s3.IBucket) -> None:
        acknowledge_wildcards(
            self.policy,
            "SageMaker names the transform job's log streams (<job name>/<instance>) at run time; the "
            "TransformJobs log group only",
            self._logs_arn,
        )
        acknowledge_wildcards(
            self.policy,
            "a transform reads every object under its input prefix and writes objects named after them "
            "under its output prefix; read-only and write-only respectively",
            *(self.bucket.arn_for_objects(f"{p}/*") for p in self._read_prefixes),
            self.bucket.arn_for_objects(f"{self.output_prefix}/*"),
        )
        acknowledge_wildcards(
            self.policy,
            "model artifact keys are chosen by training jobs at run time; read-only, in the one bucket holding them",
            artifacts_bucket.arn_for_objects("*"),
        )
        no_resource = ["cloudwatch:PutMetricData (limited to /aws/sagemaker/TransformJobs by condition)"]
        if self._image_repositories:
            no_resource.append("ecr:GetAuthorizationToken")
            foreign = [r.repository_arn for r in self._image_repositories if "*" in nag_resource(self, r.repository_arn)]
            if foreign:
                acknowledge_wildcards(
                    self.policy,
                    "AWS's built-in algorithm and framework images live in per-region AWS-owned accounts; pull only",
                    *foreign,
                )
        acknowledge_wildcards(
            self.policy, "these actions have no resource type, so IAM accepts only '*': " + "; ".join(no_resource), "*"
        )
        acknowledge_wildcards(
            self.starter_policy,
            f"transform jobs are named '{self.job_name_prefix}-<uuid>' per run; only jobs with this prefix",
            self._job_arn(Stack.of(self)),
        )
        acknowledge(
            self.state_machine,
            "one task whose outcome SageMaker records (the transform job, its logs in "
            "/aws/sagemaker/TransformJobs) and Step Functions keeps in its execution history; no "
            "payload passes through the state machine",
            "AwsSolutions-SF1",
            "AwsSolutions-SF2",
        )


def _cfn(construct: Construct) -> CfnResource:
    child = construct.node.default_child
    assert isinstance(child, CfnResource)
    return child
