"""The roles of the image template (image-build-deploy), standalone and as a Studio product.

- The roles it shares with build-deploy hold the same policies there (resolved with the same
  parameters), so build-deploy's checks (tests/seed/test_role_sufficiency.py, the deployer's
  schema check) cover them here too.
- Each image type's SageMaker image role may read its own repository only; each image build
  role may do what the buildspec and ``record_image_version.py`` do (docker login, pull of
  AWS's base image, push, read the digest, record the version), evaluated with iam_eval.
"""

from __future__ import annotations

import re

import pytest
from role_checks import RoleCheck, all_templates, missing, request, role_policy_with_managed, roles, unneeded

from iam_eval import Resolver
from sagemaker_projects_cdk.constructs.images import BASE_IMAGES, IMAGE_TYPES, REGISTRY_ACCOUNTS

REGION, ACCOUNT = "us-east-1", "123456789012"
PROJECT_ID = "p-0123456789ab"
PARAMETERS = {"SageMakerProjectName": "churn", "SageMakerProjectId": PROJECT_ID}
#: The build-deploy roles whose policies the image template must not change.
SHARED = re.compile(
    r"(ModelBuildRole|ModelDeployBuildRole|ModelDeployTestStagingRole|ModelDeployRecordChangeProdRole|ModelDeployDeployerRole)[0-9A-F]{8}"
)
NAMES = ["image-build-deploy", "studio/image-build-deploy"]


@pytest.fixture(scope="module")
def templates(assembly) -> dict[str, dict]:
    return all_templates(assembly)


def _resolver(template: dict) -> Resolver:
    repositories = {
        (logical_id, "Arn"): f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/sagemaker-{PROJECT_ID}-{image_type}"
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::ECR::Repository"
        for image_type in IMAGE_TYPES
        if logical_id.startswith(image_type.capitalize())
    }
    return Resolver(template, parameters=PARAMETERS, attributes=repositories, region=REGION, account=ACCOUNT)


def _role(template: dict, pattern: str) -> str:
    (found,) = [r for r in roles(template) if re.fullmatch(pattern + r"[0-9A-F]{8}", r)]
    return found


@pytest.mark.parametrize("name", NAMES)
def test_the_build_deploy_roles_have_build_deploys_policies_in_the_image_template(templates, name):
    images, build_deploy = templates[name], templates[name.replace("image-build-deploy", "build-deploy")]
    shared = [r for r in roles(images) if SHARED.fullmatch(r)]
    assert len(shared) == 5, shared
    for role_id in shared:
        assert role_id in roles(build_deploy), role_id
        here = role_policy_with_managed(_resolver(images), role_id)
        there = role_policy_with_managed(_resolver(build_deploy), role_id)
        assert [_without_image_grants(s.document) for s in here.sources] == [s.document for s in there.sources], role_id


def _without_image_grants(document: dict) -> dict:
    """The document less what the image template adds to the model build's role (reading the
    project's image versions; checked by test_the_model_build_may_use_the_processing_and_training_images)."""
    statements = [
        s for s in document["Statement"]
        if not any(":image/" in r or ":image-version/" in r for r in _list(s.get("Resource")))
    ]
    return {**document, "Statement": statements}


def _list(value: object) -> list:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("name", NAMES)
def test_the_model_build_may_use_the_projects_images(templates, name):
    """run_pipeline reads the newest version of the processing, training and inference images,
    and the execution role pulls them: the jobs the SageMaker pipeline starts run the
    processing and training images, and the models it creates (batch transform, Clarify) and
    registers run the inference image."""
    template = templates[name]
    resolver = _resolver(template)
    build = role_policy_with_managed(resolver, _role(template, "ModelBuildRole"))
    execution = role_policy_with_managed(resolver, _role(template, "ModelBuildExecutionRole"))
    for image_type in IMAGE_TYPES:
        image = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:image/sagemaker-{PROJECT_ID}-{image_type}"
        version = image.replace(":image/", ":image-version/") + "/3"
        repository = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/sagemaker-{PROJECT_ID}-{image_type}"
        assert build.allowed("sagemaker:ListImageVersions", image), image_type
        assert build.allowed("sagemaker:DescribeImageVersion", version), image_type
        assert not build.allowed("sagemaker:CreateImageVersion", image)
        for action in ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"):
            assert execution.allowed(action, repository), (image_type, action)
        assert not execution.allowed("ecr:PutImage", repository)
    assert execution.allowed("ecr:GetAuthorizationToken", "*")
    variables = {
        v["Name"]: v["Value"]
        for v in template["Resources"][_build_project(template)]["Properties"]["Environment"]["EnvironmentVariables"]
    }
    resolved = resolver.resolve(variables["SAGEMAKER_IMAGE_NAMES"])
    assert resolved == ",".join(f"{t}=sagemaker-{PROJECT_ID}-{t}" for t in ("processing", "training", "inference"))


def _build_project(template: dict) -> str:
    (found,) = [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::CodeBuild::Project" and re.fullmatch(r"ModelBuild[0-9A-F]{8}", logical_id)
    ]
    return found


@pytest.mark.parametrize("name", NAMES)
def test_the_image_roles_may_read_their_repository_only(templates, name):
    template = templates[name]
    resolver = _resolver(template)
    for image_type in IMAGE_TYPES:
        role_id = _role(template, f"{image_type.capitalize()}ImageRole")
        trust = template["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert trust == [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}}]
        policy = role_policy_with_managed(resolver, role_id)
        repository = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/sagemaker-{PROJECT_ID}-{image_type}"
        check = RoleCheck(
            f"{name} {role_id}",
            policy,
            [
                request("ecr:GetAuthorizationToken", "*", "SageMaker logs in to ECR"),
                *(
                    request(a, repository, "SageMaker pulls a version")
                    for a in ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability")
                ),
                request("ecr:DescribeImages", repository, "SageMaker may check a version's digest (undocumented)"),
            ],
        )
        assert missing(check) == [] and unneeded(check) == []
        other = repository.replace(image_type, "other")
        assert not policy.allowed("ecr:BatchGetImage", other)


#: What aws-cdk-lib's CodeBuild and CodePipeline constructs grant every build role.
BUILD_NOT_NEEDED = {
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
}


@pytest.mark.parametrize("name", NAMES)
def test_the_image_build_roles_may_push_and_record_their_image(templates, name):
    template = templates[name]
    resolver = _resolver(template)
    for image_type in IMAGE_TYPES:
        role_id = _role(template, f"{image_type.capitalize()}ImageBuildRole")
        policy = role_policy_with_managed(resolver, role_id)
        repository = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/sagemaker-{PROJECT_ID}-{image_type}"
        base_repository = f"arn:aws:ecr:{REGION}:{REGISTRY_ACCOUNTS[REGION]}:repository/{BASE_IMAGES[image_type].repository}"
        image = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:image/sagemaker-{PROJECT_ID}-{image_type}"
        calls = [
            request("ecr:GetAuthorizationToken", "*", "docker login (both registries)"),
            *(
                request(a, base_repository, "docker build --pull of the base image")
                for a in ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability")
            ),
            *(
                request(a, repository, "docker push")
                for a in (
                    "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
                    "ecr:CompleteLayerUpload", "ecr:PutImage",
                )
            ),
            request("ecr:DescribeImages", repository, "record_image_version.py reads the pushed digest"),
            request("sagemaker:ListImageVersions", image, "record_image_version.py looks for a version of the digest"),
            request("sagemaker:CreateImageVersion", image, "record_image_version.py"),
            request("sagemaker:DescribeImageVersion", image.replace(":image/", ":image-version/") + "/7", "it waits"),
        ]
        check = RoleCheck(f"{name} {role_id}", policy, calls, BUILD_NOT_NEEDED)
        assert missing(check) == []
        assert unneeded(check) == []
        other = "training" if image_type != "training" else "inference"
        assert not policy.allowed("ecr:PutImage", repository.replace(image_type, other))
        assert not policy.allowed("sagemaker:CreateImageVersion", image.replace(image_type, other))
