"""The per-stage endpoint template that the model-deploy pipeline deploys.

``EndpointStageStack`` is ``ModelEndpoint`` with every input a CloudFormation parameter, so
the *same* template serves every stage: the pipeline deploys it once per stage with that
stage's parameter file (``staging-params.json``, ``prod-params.json``) written by the seed
repository's ``build.py``.

The template reaches the deploy repository as a checked-in file,
``seed_code/model_deploy/endpoint-stage.template.json``, generated from this stack::

    python -m sagemaker_projects_cdk.stacks.endpoint_stage

A test fails when that file differs from a fresh synth. The template has no asset and no
bootstrap reference (``BootstraplessSynthesizer``): accounts the pipeline deploys into need
not be bootstrapped.

In the project's own account the stage writes captured data to the project's bucket with its
key and creates its model role. A stage in another account (``build.py`` leaves
``ArtifactBucketName`` and ``ArtifactKmsKeyArn`` empty and names the target baseline's
``endpoint`` role in ``ExecutionRoleArn``) keeps its data in its own account: the stack then
creates a KMS key and a bucket (retained, like the project's: they hold captured requests)
whose policies let that role write (the bucket and its access-log bucket named
``sagemaker-projects-stage-<stack uuid>`` and ``sagemaker-projects-slogs-<stack uuid>``), encrypts the endpoint's volumes with that key, and
creates no role. It still reads the model artifacts from the project's bucket, whose policies
grant that role (the deploy pipeline's cross-account grants).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Unpack, cast

from aws_cdk import (
    CfnCondition,
    CfnOutput,
    CfnResource,
    CfnRule,
    CfnRuleAssertion,
    CfnWaitConditionHandle,
    Duration,
    Fn,
    Stack,
)
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .._internal.patterns import BUCKET_NAME, ECR_REPOSITORY_NAME, KMS_KEY_ARN, MODEL_PACKAGE_ARN, ROLE_ARN
from .._internal.resource_policy import ConditionalStatements
from ..constructs.build.execution_role import DEFAULT_IMAGE_REPOSITORIES
from ..constructs.deploy.deployer_role import stage_iam_path
from ..constructs.deploy.stages import STAGE_NAME_PATTERN as DEPLOY_STAGE_NAME_PATTERN
from ..constructs.deploy.targets import STAGE_DATA_BUCKET_PREFIX, STAGE_LOG_BUCKET_PREFIX
from ..constructs.endpoint import (
    Autoscaling,
    BlueGreenRollout,
    DataCapture,
    InstanceVariant,
    ModelEndpoint,
    RollbackAlarms,
    TrafficShift,
    TrafficStep,
)
from ..constructs.network import PrivateNetwork
from ..constructs.project.identity import ProjectIdentity
from ..constructs.project.storage import ArtifactBucket
from ._stage_parameters import (
    INSTANCE_TYPE_PATTERN,
    StageParameters,
    StageStack,
    StageStackProps,
    render_compact_stage_template,
    synth_alone,
)

#: The checked-in file's exact text (compact: with the private network's parameters and
#: statements, indented it would be past the 51,200 bytes CloudFormation takes inline).
render_stage_template = render_compact_stage_template

#: Where the generated template lives in the deploy repository's seed code.
STAGE_TEMPLATE_FILE = "endpoint-stage.template.json"
STAGE_TEMPLATE_PATH = Path(__file__).resolve().parent.parent / "seed_code" / "model_deploy" / STAGE_TEMPLATE_FILE
#: The command that regenerates the checked-in template.
REGENERATE_COMMAND = "python -m sagemaker_projects_cdk.stacks.endpoint_stage"

STAGE_NAME_PATTERN = DEPLOY_STAGE_NAME_PATTERN
#: Shared patterns (``_internal.patterns``), under the names this module has always given them.
BUCKET_NAME_PATTERN = BUCKET_NAME
KMS_KEY_ARN_PATTERN = KMS_KEY_ARN


class EndpointStageStack(StageStack):
    """One deployment stage's SageMaker endpoint, every setting a CloudFormation parameter.

    The endpoint is named ``<project name>-<project id>-<stage>`` (output ``EndpointName``)
    so Studio and the staging tests can find it. Parameters (see the template for ranges):
    ``SageMakerProjectName``, ``SageMakerProjectId``, ``StageName``, ``ModelPackageArn``,
    ``ArtifactBucketName``, ``ArtifactKmsKeyArn`` (this project's bucket and key: captured
    data), ``ModelArtifactBucketName``, ``ModelArtifactKmsKeyArn`` (where the model package's
    artifacts are read from, often another project's bucket, and the key that encrypts them;
    an empty key means they are not KMS-encrypted), ``ModelImageRepositoryName`` (the private
    ECR repository of this account and region holding the model's image, which the stack's own
    model role may then pull besides AWS's images; empty by default), ``InstanceType``, ``InstanceCount``,
    ``EnableDataCapture``, ``DataCaptureSamplingPercentage``, ``EnableAutoscaling``,
    ``MinCapacity``, ``MaxCapacity``, ``TargetInvocationsPerInstance``,
    ``TrafficRoutingType``, ``TrafficStepType``, ``TrafficStepSize``,
    ``TrafficWaitIntervalSeconds``, ``TerminationWaitSeconds``,
    ``MaximumExecutionTimeoutSeconds``, ``ErrorAlarmThreshold``, ``LatencyAlarmThresholdMs``.

    Keyword arguments (``synthesizer``, ``description``, ``stack_name``): see ``StageStack``.
    """

    DEFAULT_DESCRIPTION = (
        "SageMaker endpoint of one deployment stage of a SageMaker project (sagemaker-projects-cdk model-deploy)"
    )

    def __init__(self, scope: Optional[Construct], construct_id: str, **props: Unpack[StageStackProps]) -> None:
        super().__init__(scope, construct_id, **props)
        p = StageParameters(self)
        inputs = stage_inputs(self, p)
        project, stage, model_package_arn = inputs.project, inputs.stage, inputs.model_package_arn
        #: The stage's own key and bucket (created only when no bucket is given).
        self.storage = inputs.storage
        bucket_name, key_arn = inputs.bucket_name, inputs.key_arn

        variant, capture = endpoint_variant_and_capture(p)
        autoscaling = Autoscaling(
            enabled=p.flag("EnableAutoscaling", "Scale on invocations per instance", "true"),
            min_capacity=p.number("MinCapacity", "Fewest instances when scaling", 1, 1000, 1),
            max_capacity=p.number("MaxCapacity", "Most instances when scaling", 1, 1000, 2),
            target_invocations_per_instance=p.number(
                "TargetInvocationsPerInstance", "Invocations per instance per minute to hold", 1, 1_000_000, 70
            ),
        )
        rollout = BlueGreenRollout(
            traffic=TrafficShift(
                mode=p.choice("TrafficRoutingType", "How traffic moves to the new fleet", ["ALL_AT_ONCE", "CANARY", "LINEAR"]),
                step=TrafficStep(
                    unit=p.choice("TrafficStepType", "Unit of the canary or linear step", ["CAPACITY_PERCENT", "INSTANCE_COUNT"]),
                    value=p.number("TrafficStepSize", "Size of the canary or linear step", 1, 100, 10),
                ),
                wait_interval=Duration.seconds(
                    p.number("TrafficWaitIntervalSeconds", "Alarm watch after each traffic step", 0, 3600, 300)
                ),
            ),
            termination_wait=Duration.seconds(
                p.number("TerminationWaitSeconds", "Alarm watch before the old fleet is terminated", 0, 3600, 300)
            ),
            maximum_execution_timeout=Duration.seconds(
                p.number("MaximumExecutionTimeoutSeconds", "Longest a deployment may take", 600, 28800, 3600)
            ),
            alarms=RollbackAlarms(
                error_threshold=p.number("ErrorAlarmThreshold", "Server errors per minute that roll back", 1, 1_000_000, 1),
                latency_threshold=Duration.millis(
                    p.number("LatencyAlarmThresholdMs", "Model latency (p90, ms) that rolls back", 1, 60000, 1000)
                ),
            ),
        )

        images = stage_images(self, p)
        model_bucket, model_key = inputs.model_artifacts(stack=self)

        #: The endpoint.
        self.endpoint = ModelEndpoint(
            self,
            "Endpoint",
            model_package_arn=model_package_arn,
            endpoint_name=f"{project.project_name}-{project.project_id}-{stage}",
            # The pipeline's deployer may manage IAM under this project's path only.
            iam_path=stage_iam_path(project.project_id),
            variant=variant,
            bucket=s3.Bucket.from_bucket_name(self, "ArtifactBucket", bucket_name),
            key=kms.Key.from_key_arn(self, "ArtifactKey", key_arn),
            model_artifacts_bucket=model_bucket,
            model_artifacts_key=model_key,
            data_capture=capture,
            autoscaling=autoscaling,
            rollout=rollout,
            image_repositories=images,
            network=inputs.network,
        )
        endpoint_uses_given_role(self, inputs, self.endpoint, writes={"CaptureByExecutionRole": ["data-capture/*"]})
        endpoint_outputs(self, self.endpoint)


def endpoint_variant_and_capture(p: StageParameters) -> tuple[InstanceVariant, DataCapture]:
    """An endpoint stage's (real-time or asynchronous) instances (``InstanceType``,
    ``InstanceCount``) and data capture (``EnableDataCapture``, ``DataCaptureSamplingPercentage``)."""
    variant = InstanceVariant(
        instance_type=p.string("InstanceType", "Endpoint instance type", pattern=INSTANCE_TYPE_PATTERN, default="ml.m5.large"),
        initial_instance_count=p.number("InstanceCount", "Instances at deployment", 1, 1000, 1),
    )
    capture = DataCapture(
        enabled=p.flag("EnableDataCapture", "Capture requests and responses to the bucket", "true"),
        sampling_percentage=p.number("DataCaptureSamplingPercentage", "Percentage of requests captured", 0, 100, 100),
    )
    return variant, capture


def endpoint_uses_given_role(
    stack: Stack,
    inputs: StageInputs,
    endpoint: ModelEndpoint,
    *,
    writes: Mapping[str, Sequence[str]],
    reads: Optional[Mapping[str, Sequence[str]]] = None,
) -> None:
    """``use_given_role`` for an endpoint stage (real-time or asynchronous): the endpoint's
    model and endpoint wait for its role, which a given ``ExecutionRoleArn`` replaces."""
    use_given_role(
        stack,
        inputs.storage,
        inputs.own_role,
        inputs.execution_role_arn,
        role=endpoint.role,
        policy=endpoint.policy,
        dependents=(endpoint.model, endpoint.endpoint),
        writes=writes,
        reads=reads,
    )


def endpoint_outputs(stack: Stack, endpoint: ModelEndpoint) -> None:
    """An endpoint stage's outputs ``EndpointName`` and ``EndpointArn``."""
    CfnOutput(stack, "EndpointName", value=endpoint.endpoint.attr_endpoint_name, description="Endpoint name")
    CfnOutput(stack, "EndpointArn", value=endpoint.endpoint_arn, description="Endpoint ARN")


def _name_own_buckets(stack: Stack, storage: ArtifactBucket) -> None:
    """The stage's own buckets (another account only) get names unique to the stack and
    distinct from every other ``sagemaker-*`` bucket (SageMaker's default bucket, Studio's,
    native SageMaker Projects'): ``<prefix><stack uuid>``, the UUID being the last part of
    ``AWS::StackId`` (36 lower-case characters), so the target baseline's roles can be
    scoped to exactly these buckets. A bucket name has at most 63 characters."""
    stack_uuid = Fn.select(2, Fn.split("/", stack.stack_id))
    for bucket, prefix in (
        (storage.bucket, STAGE_DATA_BUCKET_PREFIX),
        (storage.access_logs_bucket, STAGE_LOG_BUCKET_PREFIX),
    ):
        assert len(prefix) + 36 <= 63, prefix
        cfn_bucket = bucket.node.default_child
        assert isinstance(cfn_bucket, s3.CfnBucket)
        cfn_bucket.bucket_name = Fn.join("", [prefix, stack_uuid])

def use_given_role(
    stack: Stack,
    storage: ArtifactBucket,
    own_role: CfnCondition,
    role_arn: str,
    *,
    role: iam.IRole,
    policy: iam.ManagedPolicy,
    dependents: Sequence[CfnResource],
    writes: Mapping[str, Sequence[str]],
    reads: Optional[Mapping[str, Sequence[str]]] = None,
) -> None:
    """With ``ExecutionRoleArn`` given, the model runs as that role: the stack's own role and
    its policy are not created, and the stage's own bucket and key let that role write
    what ``writes`` and ``reads`` name (a resource-policy grant in the role's account is enough);
    ``dependents`` (the model first) wait for the role."""
    cfn_role = role.node.default_child
    cfn_policy = policy.node.default_child
    assert isinstance(cfn_role, CfnResource) and isinstance(cfn_policy, CfnResource)
    for resource in (cfn_role, cfn_policy):
        resource.cfn_options.condition = own_role
    # DependsOn may not name a resource whose condition is false: the model and the endpoint
    # wait for a handle that refers to the role and policy only when they exist.
    ready = CfnWaitConditionHandle(stack, "ExecutionRoleReady")
    ready.cfn_options.metadata = {
        "Role": Fn.condition_if(own_role.logical_id, cfn_role.ref, ""),
        "Policy": Fn.condition_if(own_role.logical_id, cfn_policy.ref, ""),
    }
    # The first dependent is the model, which runs as the role.
    dependents[0].add_property_override(
        "ExecutionRoleArn", Fn.condition_if(own_role.logical_id, cfn_role.get_att("Arn"), role_arn)
    )
    for resource in dependents:
        resource.add_override("DependsOn", [ready.logical_id])

    given_role = CfnCondition(
        stack, "StageGivenExecutionRole", expression=Fn.condition_not(cast(Any, own_role))  # a condition is an expression
    )
    writer = iam.ArnPrincipal(role_arn)
    bucket_policy = storage.bucket.policy
    key = storage.encryption_key.node.default_child
    assert bucket_policy is not None and isinstance(key, kms.CfnKey)
    statements = ConditionalStatements(
        bucket_policy.node.default_child, "PolicyDocument", bucket_policy.document  # type: ignore[arg-type]  # an L1 BucketPolicy is a CfnResource
    )
    for actions, grants in ((["s3:PutObject"], writes), (["s3:GetObject"], reads or {})):
        for sid, prefixes in grants.items():
            statements.add(
                iam.PolicyStatement(
                    sid=sid,
                    principals=[writer],
                    actions=actions,
                    resources=[storage.bucket.arn_for_objects(prefix) for prefix in prefixes],
                ),
                given_role,
            )
    key_policy = ConditionalStatements(key, "KeyPolicy", key.key_policy)
    key_policy.add(
        iam.PolicyStatement(
            sid="EncryptByExecutionRole",
            principals=[writer],
            actions=["kms:GenerateDataKey", "kms:Decrypt"],
            resources=["*"],
        ),
        given_role,
    )
    # Model Monitor's jobs of the monitor stage stack run as the given role with this key as
    # VolumeKmsKeyId: SageMaker creates a grant on it for their volumes, as the role.
    key_policy.add(
        iam.PolicyStatement(
            sid="VolumeGrantByExecutionRole",
            principals=[writer],
            actions=["kms:CreateGrant"],
            resources=["*"],
            conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
        ),
        given_role,
    )


@dataclass(frozen=True)
class StageInputs:
    """What every stage template (endpoint, asynchronous, batch) declares first: the project,
    the stage, the model version, the stage's bucket and key (given, or its own in another
    account), the model role (given, or its own) and where the artifacts are read from."""

    project: ProjectIdentity
    stage: str
    model_package_arn: str
    execution_role_arn: str
    own_role: CfnCondition
    storage: ArtifactBucket
    bucket_name: str
    key_arn: str
    model_bucket_name: str
    model_key: str
    #: The private network (``PrivateVpcId``, ``PrivateSubnetIds``, ``PrivateSecurityGroupIds``; empty: none).
    network: PrivateNetwork

    def model_artifacts(self, *, stack: Stack) -> tuple[s3.IBucket, kms.IKey]:
        """The bucket and key the model package's artifacts are read from, imported into ``stack``."""
        return (
            s3.Bucket.from_bucket_name(stack, "ModelArtifactBucket", self.model_bucket_name),
            kms.Key.from_key_arn(stack, "ModelArtifactKey", self.model_key),
        )


def stage_inputs(
    stack: Stack,
    p: StageParameters,
    *,
    named: str = "endpoint",
    serve: str = "serve",
    written: str = "captured data",
    volumes: str = "endpoint's",
) -> StageInputs:
    """Declare the common parameters, conditions and the stage's own storage in ``stack``
    (the words name what the stage is, in the parameters' descriptions)."""
    project, stage = p.project_and_stage(f"Deployment stage, the {named} name's suffix")
    model_package_arn = p.string(
        "ModelPackageArn", f"Approved model package version to {serve}", pattern=MODEL_PACKAGE_ARN
    )
    given_bucket_name = p.string(
        "ArtifactBucketName",
        f"Project artifact bucket, where {written} is written; empty: a bucket this stack creates (a stage in "
        "another account)",
        pattern=f"({BUCKET_NAME_PATTERN})?",
        constraint="must be a bucket name or empty",
    )
    given_key_arn = p.string(
        "ArtifactKmsKeyArn",
        f"KMS key of the project bucket, also encrypting the {volumes} volumes; empty with an empty bucket",
        pattern=f"({KMS_KEY_ARN_PATTERN})?",
        constraint="must be a KMS key ARN or empty",
    )
    execution_role_arn = p.string(
        "ExecutionRoleArn",
        "The model's execution role; empty: a role this stack creates (in another account: the endpoint role of "
        "its target-account baseline)",
        pattern=f"({ROLE_ARN})?",
        constraint="must be an IAM role ARN or empty",
    )
    empty_bucket = Fn.condition_equals(given_bucket_name, "")
    empty_key = Fn.condition_equals(given_key_arn, "")
    CfnRule(
        stack,
        "BucketAndKeyTogether",
        assertions=[
            CfnRuleAssertion(
                assert_=Fn.condition_or(
                    Fn.condition_and(empty_bucket, empty_key),
                    Fn.condition_and(Fn.condition_not(empty_bucket), Fn.condition_not(empty_key)),
                ),
                assert_description="ArtifactBucketName and ArtifactKmsKeyArn are given together, or both left empty",
            )
        ],
    )
    own_storage = CfnCondition(stack, "StageOwnStorage", expression=empty_bucket)
    own_role = CfnCondition(stack, "StageOwnExecutionRole", expression=Fn.condition_equals(execution_role_arn, ""))
    # The stage's own key and bucket (created only when no bucket is given).
    storage = ArtifactBucket(stack, "StageStorage", build_cache_expiration_days=None)
    for child in storage.node.find_all():
        if isinstance(child, CfnResource):
            child.cfn_options.condition = own_storage
    _name_own_buckets(stack, storage)
    bucket_name = Fn.condition_if(own_storage.logical_id, storage.bucket.bucket_name, given_bucket_name).to_string()
    key_arn = Fn.condition_if(own_storage.logical_id, storage.encryption_key.key_arn, given_key_arn).to_string()
    model_bucket_name = p.string(
        "ModelArtifactBucketName",
        "Bucket holding the model package's artifacts (its ModelDataUrl): this project's bucket or the one "
        "of the project that registered the package",
        pattern=BUCKET_NAME_PATTERN,
    )
    model_key_arn = p.string(
        "ModelArtifactKmsKeyArn",
        "KMS key encrypting the model artifacts; empty when they are not KMS-encrypted (S3-managed keys)",
        pattern=f"({KMS_KEY_ARN_PATTERN})?",
        default="",
        constraint="must be a KMS key ARN or empty",
    )
    # IAM has no optional statement: without a key, the decrypt grant names the project key,
    # which the role may use already, so it grants nothing more.
    model_key_given = CfnCondition(
        stack, "ModelArtifactsKmsEncrypted", expression=Fn.condition_not(Fn.condition_equals(model_key_arn, ""))
    )
    model_key = Fn.condition_if(model_key_given.logical_id, model_key_arn, key_arn).to_string()
    return StageInputs(
        project=project,
        stage=stage,
        model_package_arn=model_package_arn,
        execution_role_arn=execution_role_arn,
        own_role=own_role,
        storage=storage,
        bucket_name=bucket_name,
        key_arn=key_arn,
        model_bucket_name=model_bucket_name,
        model_key=model_key,
        # Declared last: the parameters of the first releases keep their place.
        network=PrivateNetwork.from_parameters(stack),
    )


def stage_images(stack: Stack, p: StageParameters) -> list[ecr.IRepository]:
    """The ECR repositories a stage's model may pull from (declares ``ModelImageRepositoryName``)."""
    # The model's images: AWS's (AWS-owned repositories in per-region AWS accounts), and
    # the repository build.py names when the model package's image is in this account's
    # ECR (a project's own image). IAM has no optional statement or resource: without one,
    # its entry names AWS's first repository again, and so grants nothing more. An
    # identity policy is enough in the repository's own account, and ECR decrypts with its
    # own grant on the repository's key; a given role (another account) pulls through that
    # account's grants and the repository policy.
    images = [
        ecr.Repository.from_repository_attributes(
            stack,
            f"Images{index}",
            repository_name=name,
            repository_arn=stack.format_arn(service="ecr", account="*", resource="repository", resource_name=name),
        )
        for index, name in enumerate(sorted(DEFAULT_IMAGE_REPOSITORIES))
    ]
    image_repository = p.string(
        "ModelImageRepositoryName",
        "Private ECR repository, in this account and region, of the model package's inference image (a "
        "project's own image), which the stack's own model role may then pull; empty: AWS's images only",
        pattern=f"({ECR_REPOSITORY_NAME})?",
        default="",
        constraint="must be an ECR repository name or empty",
        max_length=256,
    )
    own_image = CfnCondition(
        stack, "ModelImageInThisAccount", expression=Fn.condition_not(Fn.condition_equals(image_repository, ""))
    )
    # First: the project's feature flags (cdk.json) minimize policies, which orders resources
    # as they render, and the checked-in template must be the same with or without them.
    images.insert(
        0,
        ecr.Repository.from_repository_attributes(
            stack,
            "ModelImage",
            repository_name=image_repository,
            repository_arn=Fn.condition_if(
                own_image.logical_id,
                stack.format_arn(service="ecr", resource="repository", resource_name=image_repository),
                images[0].repository_arn,
            ).to_string(),
        ),
    )
    return images


def synth_stage_template(
    *, security_packs: bool = True, stack_class: Optional[type[Stack]] = None, construct_id: str = "EndpointStage"
) -> dict[str, Any]:
    """Synthesize ``stack_class`` (default ``EndpointStageStack``) alone and return its template
    (no path metadata)."""
    return synth_alone(
        stack_class or EndpointStageStack,
        construct_id,
        security_packs=security_packs,
        # The stage's own access-log bucket grants S3 log delivery by bucket policy, not ACL.
        context={"@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True},
    )


def write_stage_template(path: Path = STAGE_TEMPLATE_PATH) -> Path:
    """Regenerate the checked-in stage template."""
    path.write_text(render_stage_template(synth_stage_template()), encoding="utf-8")
    return path


if __name__ == "__main__":  # pragma: no cover - the regeneration command
    written = write_stage_template(Path(sys.argv[1]) if len(sys.argv) > 1 else STAGE_TEMPLATE_PATH)
    print(f"wrote {written}")
