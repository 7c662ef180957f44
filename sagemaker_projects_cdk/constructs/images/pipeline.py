"""The image build of one image type: source -> privileged CodeBuild (docker build, push, record).

On every push to the image's repository, and every ``rebuild_every_days`` days (base images
get security patches; a rebuild picks them up), the pipeline runs the repository's
``buildspec.yml`` (``seed_code/image_build/<type>/``), which:

1. logs in to AWS's registry of the base image and to the project's registry;
2. ``docker build --pull`` with ``BASE_IMAGE_REGISTRY`` as build argument;
3. tags the image ``<commit id>-<build number>`` (ECR tags are immutable here: a scheduled
   rebuild of the same commit gets its own tag; nothing is ever tagged ``latest``) and pushes it;
4. runs ``record_image_version.py``: reads the pushed digest from ECR and creates a SageMaker
   image version for ``<repository uri>@<digest>`` (or reuses one of the newest versions that
   already names it), waits until it is ``CREATED`` and fails the build with SageMaker's reason
   otherwise.

Least privilege: push to this type's repository only (and ``DescribeImages`` there), pull of
the base image's repository in AWS's account for the Region, ``CreateImageVersion`` and
``ListImageVersions`` on this type's image and ``DescribeImageVersion`` on its versions; ``ecr:GetAuthorizationToken`` has
no resource type. Build logs are encrypted with the project key.
"""

from __future__ import annotations

from typing import Optional, Union, cast

from aws_cdk import Aws, CfnCondition, CfnMapping, CfnResource, CfnRule, Duration, Fn, Stack, Token
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..._internal.codebuild import COMPUTE_TYPES, acknowledge_pipeline_grants, default_policy, pipeline_project
from ..._internal.logs import encrypted_log_group
from ..._internal.validation import Problems, check_choice, check_range, check_whole, invalid, is_unresolved
from ...compliance import acknowledge_wildcards
from ..project.identity import ProjectIdentity
from ..sources.source import PipelineSource
from .base_images import REGISTRY_ACCOUNTS, BaseImage, base_image
from .image import SageMakerImage
from .repository import PULL_ACTIONS, ImageRepository

#: ``rebuild_every_days``: EventBridge rates are whole days here; a year at most (a base image
#: a year old has missed every patch since).
REBUILD_DAYS_RANGE = (1, 365)
#: The same as a CloudFormation ``AllowedPattern`` for a String parameter: a whole number 1-365
#: written plainly (a Number parameter would take ``1.5``, which EventBridge refuses as
#: ``rate(1.5 days)``, and ``1.0`` or ``01``, which are not ``1`` to ``Fn::Equals``).
REBUILD_DAYS_PATTERN = r"^([1-9]|[1-9][0-9]|[12][0-9][0-9]|3[0-5][0-9]|36[0-5])$"
#: What pushing to the repository takes besides pulling (ECR's push actions), and reading the
#: pushed digest back.
PUSH_ACTIONS = ("ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage")
#: The stack-level mapping of Regions to AWS's base-image registry accounts, and the rule that
#: refuses a Region it lacks.
MAPPING_ID = "SageMakerBaseImageAccounts"
REGION_RULE_ID = "SageMakerBaseImageRegion"


def base_image_account(scope: Construct) -> str:
    """The account of AWS's SageMaker base images in the stack's Region: the value when the
    Region is known, else ``Fn::FindInMap`` on ``AWS::Region`` with a template rule that refuses
    (before anything is created) a Region the mapping lacks."""
    stack = Stack.of(scope)
    if not is_unresolved(stack.region):
        if stack.region not in REGISTRY_ACCOUNTS:
            raise invalid(
                "region", stack.region, "a Region where AWS publishes SageMaker's framework images: " + ", ".join(REGISTRY_ACCOUNTS)
            )
        return REGISTRY_ACCOUNTS[stack.region]
    mapping = stack.node.try_find_child(MAPPING_ID)
    if mapping is None:
        mapping = CfnMapping(
            stack, MAPPING_ID, mapping={region: {"Account": account} for region, account in REGISTRY_ACCOUNTS.items()}
        )
        CfnRule(
            stack,
            REGION_RULE_ID,
            assertions=[
                {
                    "assert": Fn.condition_contains(list(REGISTRY_ACCOUNTS), Aws.REGION),
                    "assertDescription": "The image build needs a Region where AWS publishes SageMaker's "
                    "XGBoost images",
                }
            ],
        )
    assert isinstance(mapping, CfnMapping)
    return mapping.find_in_map(Aws.REGION, "Account")


class ImageBuildPipeline(Construct):
    """CodePipeline (V2) that builds one image type on every push and on a schedule, pushes it to
    its ECR repository and records it as a new version of its SageMaker image.

    :param project: the project (names, tags).
    :param source: where the image's Dockerfile lives (CodeCommit, or GitHub/GitLab/Bitbucket
        through CodeConnections).
    :param repository: the image type's ECR repository.
    :param image: the image type's SageMaker image (same type as ``repository``).
    :param bucket: the artifact bucket (pipeline artifacts).
    :param encryption_key: the project key; encrypts build logs and artifacts.
    :param rebuild_every_days: rebuild from the branch's newest commit every this many days,
        1-365. A token (e.g. a parameter) is allowed; it must resolve to a whole number written
        plainly (``1``, not ``1.0`` or ``01``: a String parameter with ``REBUILD_DAYS_PATTERN``
        as ``AllowedPattern``). Default: 30. None: no schedule, pushes only.
    :param compute_type: CodeBuild compute type. Default: ``BUILD_GENERAL1_SMALL`` (2 vCPUs,
        3 GB: enough for ``docker build`` of an image that adds Python packages).
    :param build_image: CodeBuild image (must run Docker). Default: ``aws/codebuild/standard:7.0``.
    :param build_timeout_minutes: 5-480. Default: 60.
    :param log_retention: how long build logs are kept. Default: one year.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project: ProjectIdentity,
        source: PipelineSource,
        repository: ImageRepository,
        image: SageMakerImage,
        bucket: s3.IBucket,
        encryption_key: kms.IKey,
        rebuild_every_days: Optional[Union[int, float, str]] = 30,
        compute_type: str = "BUILD_GENERAL1_SMALL",
        build_image: codebuild.IBuildImage = codebuild.LinuxBuildImage.STANDARD_7_0,
        build_timeout_minutes: int = 60,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
    ) -> None:
        super().__init__(scope, construct_id)
        if image.image_type != repository.image_type:
            raise invalid("image", image.image_type, f"the SageMaker image of the repository's type {repository.image_type!r}")
        problems = Problems()
        if rebuild_every_days is not None:
            check_whole(problems, "rebuild_every_days", rebuild_every_days, *REBUILD_DAYS_RANGE)
        problems.raise_if_any()
        check_choice("compute_type", compute_type, COMPUTE_TYPES)
        check_range("build_timeout_minutes", build_timeout_minutes, 5, 480)

        image_type = repository.image_type
        base = base_image(image_type)
        base_account = base_image_account(self)
        stack = Stack.of(self)
        #: The image type.
        self.image_type = image_type
        #: AWS's image the build starts from.
        self.base_image = base
        variables = {
            "IMAGE_TYPE": image_type,
            "ECR_REPOSITORY_URI": repository.repository_uri,
            "SAGEMAKER_IMAGE_NAME": image.image_name,
            "IMAGE_JOB_TYPE": base.job_type or "",
            "BASE_IMAGE_REGISTRY": f"{base_account}.dkr.ecr.{stack.region}.{stack.url_suffix}",
            "SAGEMAKER_PROJECT_NAME": project.project_name,
            "SAGEMAKER_PROJECT_ID": project.project_id,
        }
        #: The build's log group, encrypted with the project key.
        self.log_group = encrypted_log_group(self, encryption_key=encryption_key, retention=log_retention)
        #: The privileged CodeBuild project that builds, pushes and records the image.
        self.build_project = pipeline_project(
            self,
            "Build",
            description=f"Builds the project's {image_type} image, pushes it to ECR and records a SageMaker image version",
            variables=variables,
            encryption_key=encryption_key,
            log_group=self.log_group,
            compute_type=compute_type,
            build_image=build_image,
            timeout_minutes=build_timeout_minutes,
            privileged=True,
        )
        self._grant_build(repository, image, base)

        source_output = codepipeline.Artifact("SourceArtifact")
        #: The CodePipeline.
        self.pipeline = codepipeline.Pipeline(
            self,
            "Pipeline",
            pipeline_name=project.resource_name(f"{image_type}-imagebuild"),
            pipeline_type=codepipeline.PipelineType.V2,
            artifact_bucket=bucket,
            restart_execution_on_update=False,
            stages=[
                codepipeline.StageProps(stage_name="Source", actions=[source.action(output=source_output)]),
                codepipeline.StageProps(
                    stage_name="Build",
                    actions=[
                        actions.CodeBuildAction(
                            action_name="BuildPushAndRecordImage", project=self.build_project, input=source_output
                        )
                    ],
                ),
            ],
        )
        # CodePipeline starts a run when the pipeline is created: its build records a version of
        # the SageMaker image, which must exist by then ("image does not exist" otherwise).
        # Nothing else orders them (the build names the image by its name, not by a reference).
        cast(CfnResource, self.pipeline.node.default_child).add_dependency(image.image)
        #: The rebuild schedule (None without ``rebuild_every_days``).
        self.schedule_rule: Optional[events.Rule] = None
        if rebuild_every_days is not None:
            self.schedule_rule = events.Rule(
                self,
                "Schedule",
                description=f"Rebuilds the project's {image_type} image on its newest base image",
                schedule=self._rate(rebuild_every_days),
                targets=[targets.CodePipeline(self.pipeline)],
            )
        self._acknowledge_findings(bucket)

    @property
    def build_role(self) -> iam.IRole:
        """The build's role (what the role-sufficiency tests evaluate ``record_image_version.py`` against)."""
        role = self.build_project.role
        assert role is not None  # a PipelineProject always has one
        return role

    def _rate(self, days: Union[int, float, str]) -> events.Schedule:
        if not is_unresolved(days):
            assert not isinstance(days, str)  # check_whole refuses a resolved string
            return events.Schedule.rate(Duration.days(days))
        # EventBridge wants "rate(1 day)" but "rate(N days)" for more: a token needs both.
        text = Token.as_string(days)
        stack = Stack.of(self)
        resolved = stack.resolve(days)
        daily: CfnCondition
        if isinstance(resolved, dict) and set(resolved) == {"Ref"}:
            # One condition per parameter, shared by every image type's pipeline (cfn-lint W9053).
            found = stack.node.try_find_child(f"{resolved['Ref']}IsOne")
            daily = found if isinstance(found, CfnCondition) else CfnCondition(
                stack, f"{resolved['Ref']}IsOne", expression=Fn.condition_equals(text, "1")
            )
        else:
            daily = CfnCondition(self, "RebuildDaily", expression=Fn.condition_equals(text, "1"))
        return events.Schedule.expression(
            Token.as_string(Fn.condition_if(daily.logical_id, "rate(1 day)", Fn.join("", ["rate(", text, " days)"])))
        )

    def _grant_build(self, repository: ImageRepository, image: SageMakerImage, base: BaseImage) -> None:
        role = self.build_project.role
        assert role is not None  # a PipelineProject always has one
        repository.repository.grant_pull_push(role)
        repository.repository.grant(role, "ecr:DescribeImages")
        # AWS's repository in any account, as the execution role names AWS's algorithm images: the
        # account comes from a CloudFormation mapping, which policy checkers cannot resolve.
        self.base_image_repository_arn = Stack.of(self).format_arn(
            service="ecr", account="*", resource="repository", resource_name=base.repository
        )
        role.add_to_principal_policy(iam.PolicyStatement(actions=list(PULL_ACTIONS), resources=[self.base_image_repository_arn]))
        image.grant_create_version(role)
        self._image_versions_arn = image.image_versions_arn

    def _acknowledge_findings(self, bucket: s3.IBucket) -> None:
        acknowledge_pipeline_grants(
            self,
            bucket=bucket,
            reason="granted by aws-cdk-lib's CodePipeline and CodeBuild constructs: read and "
            "write pipeline artifacts in this project's bucket with its key",
        )
        build_policy = default_policy(self.build_project)
        acknowledge_wildcards(
            build_policy,
            "ecr:GetAuthorizationToken has no resource type in IAM; image versions get their numbers "
            "when the build creates them, under this project's image only; AWS publishes the base "
            "image from one account per Region (the template maps them), pull actions only",
            "*",
            self._image_versions_arn,
            self.base_image_repository_arn,
        )
        # Privileged mode (the Docker daemon that 'docker build' needs) is flagged by none of the
        # packs this library runs (cdk-nag 3.0.2's three packs, checkov's CloudFormation checks).
