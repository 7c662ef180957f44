"""The image constructs (issue 17's building blocks): what exists for 0-3 image types, names,
repository policies, the build role, the rule pattern, bad input and the security packs."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import pytest
from aws_cdk import CfnParameter, Environment, Stack
from aws_cdk.assertions import Template
from eventbridge_render import matches
from role_checks import RoleCheck, missing, request, unneeded

from iam_eval import Policy, Resolver, role_policy_documents
from sagemaker_projects_cdk.compliance import add_security_packs
from sagemaker_projects_cdk.constructs import (
    ArtifactBucket,
    ModelBuildPipeline,
    ModelDeployPipeline,
    ModelPackageGroup,
    ProjectIdentity,
    SeededRepository,
    seed_code_path,
)
from sagemaker_projects_cdk.constructs.images import (
    BASE_IMAGES,
    IMAGE_TYPES,
    REGISTRY_ACCOUNTS,
    ImageBuildPipeline,
    ImageRepository,
    ImageVersionRule,
    SageMakerImage,
    check_image_types,
    image_resource_name,
)
from sagemaker_projects_cdk.constructs.images.naming import (
    ECR_REPOSITORY_NAME_PATTERN,
    IMAGE_NAME_MAX_LENGTH,
    IMAGE_NAME_PATTERN,
    IMAGE_PROJECT_ID_PATTERN,
)
from sagemaker_projects_cdk.constructs.images.repository import CROSS_ACCOUNT_PULL_SID
from sagemaker_projects_cdk.constructs.project.identity import PROJECT_ID_PATTERN
from support import new_app

TARGET_ACCOUNTS = ["111111111111", "222222222222"]


@dataclass
class Built:
    stack: Stack
    repositories: list[ImageRepository]
    images: list[SageMakerImage]
    pipelines: list[ImageBuildPipeline]
    rule: Optional[ImageVersionRule]


def build(
    stack: Stack,
    types: Sequence[str],
    *,
    project_name: Optional[str] = None,
    project_id: Optional[str] = None,
    **pipeline_settings: Any,
) -> Built:
    """What the image template will compose per type, on a project's bucket and key."""
    project = ProjectIdentity(stack, "Project", project_name=project_name, project_id=project_id)
    artifacts = ArtifactBucket(stack, "Artifacts")
    built = Built(stack, [], [], [], None)
    for image_type in check_image_types("image_types", list(types)):
        name = image_type.capitalize()
        repository = ImageRepository(
            stack, f"{name}Repository", project=project, image_type=image_type, encryption_key=artifacts.encryption_key
        )
        repository.grant_pull_to_accounts(TARGET_ACCOUNTS)
        image = SageMakerImage(stack, f"{name}Image", project=project, repository=repository)
        code = SeededRepository(
            stack,
            f"{name}Code",
            repository_name=project.resource_name(f"{image_type}-image"),
            seed_directory=seed_code_path(f"image_build/{image_type}"),
            encryption_key=artifacts.encryption_key,
        )
        pipeline = ImageBuildPipeline(
            stack,
            f"{name}Build",
            project=project,
            source=code.source,
            repository=repository,
            image=image,
            bucket=artifacts.bucket,
            encryption_key=artifacts.encryption_key,
            **pipeline_settings,
        )
        built.repositories.append(repository)
        built.images.append(image)
        built.pipelines.append(pipeline)
    if built.images:
        built.rule = ImageVersionRule(stack, "NewImageVersion", images=built.images)
    return built


@pytest.fixture(scope="module")
def all_types(tmp_path_factory) -> tuple[Built, dict]:
    """Three image types, synthesized once with the three security packs on: a finding neither
    fixed nor acknowledged fails the synth."""
    app = new_app(tmp_path_factory.mktemp("images"))
    built = build(Stack(app, "Images"), IMAGE_TYPES)
    add_security_packs(app)
    assembly = app.synth()
    return built, assembly.get_stack_by_name("Images").template


def _of_type(template: dict, kind: str) -> dict[str, dict]:
    return {i: r for i, r in template["Resources"].items() if r["Type"] == kind}


@pytest.mark.parametrize("count", [0, 1, 2])
def test_each_image_type_gets_a_repository_an_image_a_pipeline_and_a_schedule(count):
    types = IMAGE_TYPES[:count]
    template = Template.from_stack(build(Stack(new_app(), "Images"), types).stack)
    template.resource_count_is("AWS::ECR::Repository", count)
    template.resource_count_is("AWS::SageMaker::Image", count)
    template.resource_count_is("AWS::CodePipeline::Pipeline", count)
    template.resource_count_is("AWS::CodeBuild::Project", count)
    template.resource_count_is("AWS::SageMaker::ImageVersion", 0)
    rules = template.find_resources("AWS::Events::Rule")
    schedules = [r for r in rules.values() if "ScheduleExpression" in r["Properties"]]
    version_rules = [r for r in rules.values() if "SageMaker Image Version State Change" in json.dumps(r)]
    assert len(schedules) == count
    assert len(version_rules) == (1 if count else 0)


def test_three_image_types_pass_the_security_packs_and_create_no_image_version(all_types):
    built, template = all_types
    assert len(_of_type(template, "AWS::ECR::Repository")) == 3
    assert len(_of_type(template, "AWS::SageMaker::Image")) == 3
    assert not _of_type(template, "AWS::SageMaker::ImageVersion")
    names = sorted(r["Properties"]["ImageName"]["Fn::Join"][1][2] for r in _of_type(template, "AWS::SageMaker::Image").values())
    assert names == ["-inference", "-processing", "-training"]
    # Each pipeline builds its own type, from its own repository, into its own repository.
    for pipeline in built.pipelines:
        variables = {
            v["Name"]: v["Value"]
            for v in template["Resources"][built.stack.get_logical_id(pipeline.build_project.node.default_child)]["Properties"][
                "Environment"
            ]["EnvironmentVariables"]
        }
        assert variables["IMAGE_TYPE"] == pipeline.image_type
        assert variables["IMAGE_JOB_TYPE"] == (BASE_IMAGES[pipeline.image_type].job_type or "")
        assert "FindInMap" in json.dumps(variables["BASE_IMAGE_REGISTRY"])


def test_only_the_image_builds_run_privileged_not_the_model_build_and_deploy_beside_them():
    """``docker build`` needs CodeBuild's privileged mode (the Docker daemon); nothing else in the
    image template's stack may have it: the model build and deploy projects share the stack."""
    stack = Stack(new_app(), "Images")
    built = build(stack, IMAGE_TYPES, project_name="churn", project_id="p-abc123def456")
    project = next(c for c in stack.node.children if isinstance(c, ProjectIdentity))
    artifacts = next(c for c in stack.node.children if isinstance(c, ArtifactBucket))
    group = ModelPackageGroup(stack, "Group", model_package_group_name=project.name_id)
    for name, construct, seed in (("ModelBuild", ModelBuildPipeline, "model_build"), ("ModelDeploy", ModelDeployPipeline, "model_deploy")):
        code = SeededRepository(
            stack, f"{name}Code", repository_name=project.resource_name(name.lower()), seed_directory=seed_code_path(seed),
            encryption_key=artifacts.encryption_key,
        )
        construct(
            stack, name, project=project, source=code.source, bucket=artifacts.bucket,
            encryption_key=artifacts.encryption_key, model_package_group=group,
        )
    template = Template.from_stack(stack).to_json()
    image_builds = {stack.get_logical_id(p.build_project.node.default_child) for p in built.pipelines}
    projects = _of_type(template, "AWS::CodeBuild::Project")
    assert len(image_builds) == 3 and len(projects) > 3
    for logical_id, resource in projects.items():
        privileged = resource["Properties"]["Environment"].get("PrivilegedMode", False)
        assert privileged is (logical_id in image_builds), (logical_id, privileged)


def test_the_repository_is_scanned_immutable_encrypted_with_the_project_key_and_retained(all_types):
    _, template = all_types
    (key_id,) = _of_type(template, "AWS::KMS::Key")
    for repository in _of_type(template, "AWS::ECR::Repository").values():
        properties = repository["Properties"]
        assert properties["ImageScanningConfiguration"] == {"ScanOnPush": True}
        assert properties["ImageTagMutability"] == "IMMUTABLE"
        assert properties["EncryptionConfiguration"] == {"EncryptionType": "KMS", "KmsKey": {"Fn::GetAtt": [key_id, "Arn"]}}
        assert repository["DeletionPolicy"] == repository["UpdateReplacePolicy"] == "Retain"
        assert "EmptyOnDelete" not in properties
        (rule,) = json.loads(properties["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
        assert rule["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 100}
        assert rule["action"] == {"type": "expire"}


def test_empty_on_delete_deletes_the_repository_with_its_images_and_max_image_count_is_the_lifecycle_count():
    stack = Stack(new_app(), "Images")
    project = ProjectIdentity(stack, "Project", project_name="churn", project_id="p-abc123def456")
    artifacts = ArtifactBucket(stack, "Artifacts")
    ImageRepository(
        stack, "Repo", project=project, image_type="training", encryption_key=artifacts.encryption_key,
        max_image_count=1, empty_on_delete=True,
    )
    (repository,) = Template.from_stack(stack).find_resources("AWS::ECR::Repository").values()
    assert repository["Properties"]["EmptyOnDelete"] is True
    assert repository["DeletionPolicy"] == "Delete"
    assert repository["Properties"]["RepositoryName"] == "sagemaker-p-abc123def456-training"
    (rule,) = json.loads(repository["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
    assert rule["selection"]["countNumber"] == 1


def test_other_accounts_may_pull_as_account_principals_and_nothing_else(all_types):
    _, template = all_types
    for repository in _of_type(template, "AWS::ECR::Repository").values():
        (statement,) = repository["Properties"]["RepositoryPolicyText"]["Statement"]
        assert statement["Sid"] == CROSS_ACCOUNT_PULL_SID
        assert statement["Effect"] == "Allow"
        assert "Resource" not in statement  # ECR refuses repository policies that name resources
        assert sorted(statement["Action"]) == ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
        principals = Resolver(template).resolve(statement["Principal"]["AWS"])
        assert principals == [f"arn:aws:iam::{a}:root" for a in TARGET_ACCOUNTS]


def test_grant_pull_to_accounts_checks_ids_takes_tokens_and_adds_nothing_for_none():
    stack = Stack(new_app(), "Images")
    project = ProjectIdentity(stack, "Project", project_name="churn", project_id="p-abc123def456")
    artifacts = ArtifactBucket(stack, "Artifacts")
    repository = ImageRepository(stack, "Repo", project=project, image_type="inference", encryption_key=artifacts.encryption_key)
    with pytest.raises(ValueError, match=r"invalid account_ids '12345': expected a 12-digit AWS account id"):
        repository.grant_pull_to_accounts(["12345"])
    with pytest.raises(ValueError, match=r"invalid account_ids '111111111111': expected a list"):
        repository.grant_pull_to_accounts("111111111111")
    repository.grant_pull_to_accounts([])
    (resource,) = Template.from_stack(stack).find_resources("AWS::ECR::Repository").values()
    assert "RepositoryPolicyText" not in resource["Properties"]

    stack = Stack(new_app(), "Images")
    project = ProjectIdentity(stack, "Project", project_name="churn", project_id="p-abc123def456")
    repository = ImageRepository(
        stack, "Repo", project=project, image_type="inference", encryption_key=ArtifactBucket(stack, "Artifacts").encryption_key
    )
    production = CfnParameter(stack, "ProductionAccount", type="String").value_as_string
    repository.grant_pull_to_accounts([production, production])
    (resource,) = Template.from_stack(stack).find_resources("AWS::ECR::Repository").values()
    (statement,) = resource["Properties"]["RepositoryPolicyText"]["Statement"]
    assert statement["Principal"] == {"AWS": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "ProductionAccount"}, ":root"]]}}


def test_the_image_role_is_trusted_by_sagemaker_only_and_may_only_read_its_repository(all_types):
    """AWS does not document what SageMaker calls with an image's role (``CreateImage``: a role that
    "enables Amazon SageMaker AI to perform tasks on your behalf"): the role may read the image a
    version names (log in, pull, look its digest up) in its own repository, and write nothing."""
    built, template = all_types
    for image in built.images:
        role_id = built.stack.get_logical_id(image.role.node.default_child)
        trust = template["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert trust == [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}}]
        resolver = Resolver(template, attributes=_repository_arns(built))
        policy = Policy(role_policy_documents(resolver, role_id))
        repository = _repository_arns(built)[(built.stack.get_logical_id(_repo_of(built, image.image_type).repository.node.default_child), "Arn")]
        check = RoleCheck(
            f"{image.image_type} image role",
            policy,
            [
                request("ecr:GetAuthorizationToken", "*", "SageMaker logs in to ECR"),
                *(request(a, repository, "SageMaker pulls a version") for a in ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability")),
                request("ecr:DescribeImages", repository, "SageMaker may check a version's digest during CreateImageVersion (undocumented)"),
            ],
        )
        assert missing(check) == [] and unneeded(check) == []
        other = repository.replace(image.image_type, "other")
        assert not policy.allowed("ecr:BatchGetImage", other) and not policy.allowed("ecr:DescribeImages", other)
        for write in ("ecr:PutImage", "ecr:BatchDeleteImage", "ecr:InitiateLayerUpload", "ecr:SetRepositoryPolicy"):
            assert not policy.allowed(write, repository), write
        image_resource = template["Resources"][built.stack.get_logical_id(image.image)]
        assert image_resource["Properties"]["ImageRoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}


def _repo_of(built: Built, image_type: str) -> ImageRepository:
    (found,) = [r for r in built.repositories if r.image_type == image_type]
    return found


def _repository_arns(built: Built) -> dict[tuple[str, str], str]:
    return {
        (built.stack.get_logical_id(r.repository.node.default_child), "Arn"): (
            f"arn:aws:ecr:us-east-1:123456789012:repository/sagemaker-p-0123456789ab-{r.image_type}"
        )
        for r in built.repositories
    }


def test_the_build_role_may_push_its_image_and_record_its_version_and_nothing_more(all_types):
    """What the seed's buildspec and record_image_version.py call with the build role, evaluated
    against its policy (tests/iam_eval.py): every call allowed, every allowed action needed."""
    built, template = all_types
    region, account = "us-east-1", "123456789012"
    for pipeline in built.pipelines:
        image_type = pipeline.image_type
        role_id = built.stack.get_logical_id(pipeline.build_role.node.default_child)
        resolver = Resolver(
            template,
            parameters={"SageMakerProjectId": "p-0123456789ab"},
            attributes=_repository_arns(built),
        )
        policy = Policy(role_policy_documents(resolver, role_id))
        repository = f"arn:aws:ecr:{region}:{account}:repository/sagemaker-p-0123456789ab-{image_type}"
        base = BASE_IMAGES[image_type]
        base_repository = f"arn:aws:ecr:{region}:{REGISTRY_ACCOUNTS[region]}:repository/{base.repository}"
        image = f"arn:aws:sagemaker:{region}:{account}:image/sagemaker-p-0123456789ab-{image_type}"
        calls = [
            request("ecr:GetAuthorizationToken", "*", "docker login (both registries)"),
            *(request(a, base_repository, "docker build --pull of the base image") for a in ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability")),
            *(
                request(a, repository, "docker push")
                for a in (
                    "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
                    "ecr:CompleteLayerUpload", "ecr:PutImage",
                )
            ),
            request("ecr:DescribeImages", repository, "record_image_version.py reads the pushed digest"),
            request("sagemaker:ListImageVersions", image, "record_image_version.py looks for a version of the same digest"),
            request("sagemaker:CreateImageVersion", image, "record_image_version.py"),
            request("sagemaker:DescribeImageVersion", image.replace(":image/", ":image-version/") + "/7", "record_image_version.py waits"),
        ]
        check = RoleCheck(
            f"{image_type} build role",
            policy,
            calls,
            not_needed={
                "logs:CreateLogGroup": "aws-cdk-lib's CodeBuild grant",
                "logs:CreateLogStream": "CodeBuild writes the build log",
                "logs:PutLogEvents": "CodeBuild writes the build log",
                "codebuild:BatchPutCodeCoverages": "aws-cdk-lib's report group grant",
                "codebuild:BatchPutTestCases": "aws-cdk-lib's report group grant",
                "codebuild:CreateReport": "aws-cdk-lib's report group grant",
                "codebuild:CreateReportGroup": "aws-cdk-lib's report group grant",
                "codebuild:UpdateReport": "aws-cdk-lib's report group grant",
                "kms:Decrypt": "CodeBuild and CodePipeline artifacts with the project key",
                "kms:DescribeKey": "CodeBuild and CodePipeline artifacts with the project key",
                "kms:Encrypt": "CodeBuild and CodePipeline artifacts with the project key",
                "kms:GenerateDataKey*": "CodeBuild and CodePipeline artifacts with the project key",
                "kms:ReEncrypt*": "CodeBuild and CodePipeline artifacts with the project key",
                "s3:GetBucket*": "the pipeline's source artifact",
                "s3:GetObject*": "the pipeline's source artifact",
                "s3:List*": "the pipeline's source artifact",
            },
        )
        assert missing(check) == []
        assert unneeded(check) == []
        # Another type's repository and image are out of reach.
        other = "training" if image_type != "training" else "inference"
        assert not policy.allowed("ecr:PutImage", repository.replace(image_type, other))
        assert not policy.allowed("sagemaker:CreateImageVersion", image.replace(image_type, other))
        actions = [pattern for pattern, _ in policy.allowed_actions()]
        assert "*" not in actions and not any(a.endswith(":*") for a in actions)


@pytest.mark.parametrize(
    ("project_name", "project_id"),
    [("a" * 26, "p" + "-0123456789abcdef12"), (None, None), ("Churn-Model", "p-abc123def456")],
    ids=["longest resolved", "parameters", "capitals in the name"],
)
def test_names_fit_ecr_sagemaker_and_codepipeline_for_the_longest_project(project_name, project_id):
    stack = Stack(new_app(), "Images")
    built = build(stack, IMAGE_TYPES, project_name=project_name, project_id=project_id)
    template = Template.from_stack(stack).to_json()
    resolver = Resolver(template, parameters={"SageMakerProjectName": "n" * 32, "SageMakerProjectId": "p-0123456789ab"} if project_name is None else {})
    if project_id is not None:
        assert len(project_id) <= 20
    for repository in _of_type(template, "AWS::ECR::Repository").values():
        name = resolver.resolve(repository["Properties"]["RepositoryName"])
        assert re.fullmatch(ECR_REPOSITORY_NAME_PATTERN, name) and 2 <= len(name) <= 256, name
    for image in _of_type(template, "AWS::SageMaker::Image").values():
        name = resolver.resolve(image["Properties"]["ImageName"])
        assert re.fullmatch(IMAGE_NAME_PATTERN, name) and len(name) <= IMAGE_NAME_MAX_LENGTH, name
        assert name == name.lower()  # as SageMaker writes it in ARNs
        display = resolver.resolve(image["Properties"]["ImageDisplayName"])
        assert 1 <= len(display) <= 128
    for pipeline in _of_type(template, "AWS::CodePipeline::Pipeline").values():
        name = resolver.resolve(pipeline["Properties"]["Name"])
        assert re.fullmatch(r"[A-Za-z0-9.@\-_]{1,100}", name), name
    assert len(built.images) == 3


def test_a_project_id_no_image_name_can_hold_is_refused_naming_the_setting():
    stack = Stack(new_app(), "Images")
    project = ProjectIdentity(stack, "Project", project_name="churn", project_id="p--abc")
    with pytest.raises(ValueError, match=r"invalid project_id 'p--abc': expected lower-case letters and digits with single hyphens"):
        image_resource_name(project, "training")


def test_a_project_id_parameter_with_consecutive_hyphens_is_refused_by_cloudformation_in_a_stack_with_images():
    """The resolved case fails at synth (above); the parameter's AllowedPattern refuses ``--`` before
    CloudFormation creates anything, and still takes every id Studio generates and the default."""
    stack = Stack(new_app(), "Images")
    build(stack, ["training"])
    parameter = Template.from_stack(stack).to_json()["Parameters"]["SageMakerProjectId"]
    assert parameter["AllowedPattern"] == IMAGE_PROJECT_ID_PATTERN
    assert "single hyphens" in parameter["ConstraintDescription"]

    def allowed(value: str) -> bool:  # CloudFormation matches the whole value
        return re.fullmatch(parameter["AllowedPattern"], value) is not None

    for good in (parameter["Default"], "p-abc123def456", "p-0a1b2c3d4e5f", "abc"):
        assert allowed(good), good
        assert re.fullmatch(IMAGE_NAME_PATTERN, f"sagemaker-{good}-inference") and re.fullmatch(ECR_REPOSITORY_NAME_PATTERN, f"sagemaker-{good}-inference")
    for bad in ("p--abc123def4", "p-abc--def", "-p", "p-", "P-ABC123DEF456"):
        assert not allowed(bad), bad
        # Anchored at both ends like the template's other patterns: a checker that matches a
        # prefix (re.match, JavaScript's test) refuses it too.
        assert re.match(parameter["AllowedPattern"], bad) is None, bad
    # A stack without images keeps ProjectIdentity's own pattern.
    stack = Stack(new_app(), "NoImages")
    ProjectIdentity(stack, "Project")
    assert Template.from_stack(stack).to_json()["Parameters"]["SageMakerProjectId"]["AllowedPattern"] == PROJECT_ID_PATTERN


def test_bad_input_is_refused_naming_the_setting():
    stack = Stack(new_app(), "Images")
    project = ProjectIdentity(stack, "Project", project_name="churn", project_id="p-abc123def456")
    artifacts = ArtifactBucket(stack, "Artifacts")
    key = artifacts.encryption_key
    with pytest.raises(ValueError, match=r"invalid image_type 'serving': expected one of 'processing', 'training', 'inference'"):
        ImageRepository(stack, "Bad", project=project, image_type="serving", encryption_key=key)
    with pytest.raises(ValueError, match=r"invalid image_types \['training', 'training'\]: expected distinct image types"):
        check_image_types("image_types", ["training", "training"])
    with pytest.raises(ValueError, match=r"invalid image_types 'training': expected a list"):
        check_image_types("image_types", "training")
    with pytest.raises(ValueError, match=r"invalid max_image_count 0: expected a whole number from 1 to 10000"):
        ImageRepository(stack, "Zero", project=project, image_type="training", encryption_key=key, max_image_count=0)
    with pytest.raises(ValueError, match=r"invalid empty_on_delete 'yes': expected True or False"):
        ImageRepository(stack, "Yes", project=project, image_type="training", encryption_key=key, empty_on_delete="yes")  # type: ignore[arg-type]  # the wrong type on purpose
    repository = ImageRepository(stack, "Repo", project=project, image_type="training", encryption_key=key)
    image = SageMakerImage(stack, "Image", project=project, repository=repository)
    code = SeededRepository(stack, "Code", repository_name="code", seed_directory=seed_code_path("image_build/training"))
    settings = dict(project=project, source=code.source, repository=repository, image=image, bucket=artifacts.bucket, encryption_key=key)
    for days in (0, 366, 2.5):
        with pytest.raises(ValueError, match=rf"invalid rebuild_every_days {days!r}: expected a whole number from 1 to 365"):
            ImageBuildPipeline(stack, f"Days{days}".replace(".", ""), rebuild_every_days=days, **settings)
    other = ImageRepository(stack, "Other", project=project, image_type="inference", encryption_key=key)
    with pytest.raises(ValueError, match=r"invalid image 'training': expected the SageMaker image of the repository's type 'inference'"):
        ImageBuildPipeline(stack, "Mismatch", **{**settings, "repository": other})
    with pytest.raises(ValueError, match=r"invalid statuses \['READY'\]: expected one or more distinct of CREATING, CREATED"):
        ImageVersionRule(stack, "Rule", images=[image], statuses=["READY"])
    with pytest.raises(ValueError, match=r"invalid images \[\]: expected one or more SageMakerImage"):
        ImageVersionRule(stack, "NoImages", images=[])


def test_the_rebuild_schedule_takes_days_a_parameter_or_none():
    stack = Stack(new_app(), "Images")
    build(stack, ["training"], rebuild_every_days=1)
    template = Template.from_stack(stack)
    assert [r["Properties"]["ScheduleExpression"] for r in template.find_resources("AWS::Events::Rule").values() if "ScheduleExpression" in r["Properties"]] == ["rate(1 day)"]

    stack = Stack(new_app(), "Images")
    days = CfnParameter(stack, "RebuildDays", type="Number", min_value=1, max_value=365, default=7).value_as_number
    built = build(stack, ["training"], rebuild_every_days=days)
    template = Template.from_stack(stack).to_json()
    rule = template["Resources"][stack.get_logical_id(built.pipelines[0].schedule_rule.node.default_child)]
    for value, expected in (("1", "rate(1 day)"), ("7", "rate(7 days)"), ("365", "rate(365 days)")):
        assert Resolver(template, parameters={"RebuildDays": value}).resolve(rule["Properties"]["ScheduleExpression"]) == expected

    stack = Stack(new_app(), "Images")
    built = build(stack, ["training"], rebuild_every_days=None)
    assert built.pipelines[0].schedule_rule is None
    assert not [r for r in Template.from_stack(stack).find_resources("AWS::Events::Rule").values() if "ScheduleExpression" in r["Properties"]]


def test_the_base_image_registry_is_the_regions_and_a_region_without_one_is_refused():
    stack = Stack(new_app(), "Images", env=Environment(account="123456789012", region="eu-west-1"))
    built = build(stack, ["inference"], project_name="churn", project_id="p-abc123def456")
    template = Template.from_stack(stack).to_json()
    (project,) = _of_type(template, "AWS::CodeBuild::Project").values()
    variables = {v["Name"]: v["Value"] for v in project["Properties"]["Environment"]["EnvironmentVariables"]}
    assert Resolver(template).resolve(variables["BASE_IMAGE_REGISTRY"]) == "141502667606.dkr.ecr.eu-west-1.amazonaws.com"
    assert "Mappings" not in template and "SageMakerBaseImageRegion" not in template.get("Rules", {})
    assert built.pipelines[0].base_image.reference == "sagemaker-xgboost:3.2-0"

    stack = Stack(new_app(), "Far", env=Environment(account="123456789012", region="xx-nowhere-1"))
    with pytest.raises(ValueError, match=r"invalid region 'xx-nowhere-1': expected a Region where AWS publishes SageMaker's framework images"):
        build(stack, ["inference"], project_name="churn", project_id="p-abc123def456")


def test_an_environment_agnostic_stack_maps_every_region_and_refuses_others_before_creating_anything(all_types):
    _, template = all_types
    mapping = template["Mappings"]["SageMakerBaseImageAccounts"]
    assert {region: value["Account"] for region, value in mapping.items()} == REGISTRY_ACCOUNTS
    (assertion,) = template["Rules"]["SageMakerBaseImageRegion"]["Assertions"]
    assert assertion["Assert"] == {"Fn::Contains": [sorted(REGISTRY_ACCOUNTS), {"Ref": "AWS::Region"}]}
    for region in ("eu-west-1", "us-gov-west-1", "cn-north-1"):
        registry = Resolver(template, region=region, partition="aws-cn" if region.startswith("cn-") else "aws").resolve(
            {"Fn::FindInMap": ["SageMakerBaseImageAccounts", {"Ref": "AWS::Region"}, "Account"]}
        )
        assert registry == REGISTRY_ACCOUNTS[region]


def _event(image_arn: str, status: str) -> dict:
    """The "SageMaker Image Version State Change" event as the SageMaker Developer Guide shows it."""
    return {
        "version": "0",
        "id": "07fc4615-ebd7-15fc-1746-243411f09f04",
        "detail-type": "SageMaker Image Version State Change",
        "source": "aws.sagemaker",
        "account": "123456789012",
        "time": "2021-04-29T01:29:59Z",
        "region": "us-east-1",
        "resources": [image_arn.replace(":image/", ":image-version/") + "/3"],
        "detail": {
            "ImageArn": image_arn,
            "ImageVersionArn": image_arn.replace(":image/", ":image-version/") + "/3",
            "ImageVersionStatus": status,
            "Version": 3.0,
            "Tags": {},
        },
    }


def test_the_rule_fires_for_a_created_version_of_the_projects_images_in_either_spelling(all_types):
    built, template = all_types
    assert built.rule is not None
    rule = template["Resources"][built.stack.get_logical_id(built.rule.rule.node.default_child)]
    pattern = Resolver(template, parameters={"SageMakerProjectId": "p-0123456789ab"}).resolve(rule["Properties"]["EventPattern"])
    ours = [f"arn:aws:sagemaker:us-east-1:123456789012:image/sagemaker-p-0123456789ab-{t}" for t in IMAGE_TYPES]
    for arn in ours:
        for status in ("CREATED", "Created", "created"):
            assert matches(pattern, _event(arn, status)), (arn, status)
        for status in ("CREATING", "Creating", "CREATE_FAILED", "DELETING", "Deleted"):
            assert not matches(pattern, _event(arn, status)), (arn, status)
    # Another project's image, and the same name in another account, do not fire it.
    assert not matches(pattern, _event("arn:aws:sagemaker:us-east-1:123456789012:image/sagemaker-p-999999999999-training", "CREATED"))
    assert not matches(pattern, _event(ours[0].replace("123456789012", "210987654321"), "CREATED"))


def test_failure_statuses_are_matched_in_the_api_and_the_capitalised_spelling():
    stack = Stack(new_app(), "Images")
    built = build(stack, ["processing"], project_name="churn", project_id="p-abc123def456")
    rule = ImageVersionRule(stack, "Failed", images=built.images, statuses=["create_failed"])
    template = Template.from_stack(stack).to_json()
    pattern = Resolver(template).resolve(template["Resources"][stack.get_logical_id(rule.rule.node.default_child)]["Properties"]["EventPattern"])
    assert pattern["detail"]["ImageVersionStatus"] == [{"equals-ignore-case": "CREATE_FAILED"}, {"equals-ignore-case": "CreateFailed"}]
    arn = "arn:aws:sagemaker:us-east-1:123456789012:image/sagemaker-p-abc123def456-processing"
    for status in ("CREATE_FAILED", "CreateFailed", "createFailed"):
        assert matches(pattern, _event(arn, status))
    assert not matches(pattern, _event(arn, "CREATED"))


def test_the_chain_docstring_names_every_piece():
    from sagemaker_projects_cdk.constructs import images

    doc = images.__doc__ or ""
    for name in ("ImageRepository", "SageMakerImage", "ImageBuildPipeline", "ImageVersionRule", "grant_pull_to_accounts", "grant_read_versions"):
        assert name in doc
    assert "image -> model build -> deploy" in doc


def test_checkov_reports_nothing_unacknowledged_on_the_image_constructs(all_types, tmp_path):
    from test_checkov import run_checkov

    _, template = all_types
    path = tmp_path / "images.template.json"
    path.write_text(json.dumps(template))
    reports = run_checkov([path], cwd=tmp_path)
    failed = [(c["check_id"], c["resource"]) for report in reports for c in report.get("results", {}).get("failed_checks", [])]
    assert failed == []
    passed = {c["check_id"] for report in reports for c in report.get("results", {}).get("passed_checks", [])}
    assert passed  # checkov did read the template

