"""The roles of the custom-resource functions may make every call their function makes, and not much more.

- The lifecycle functions (``Custom::StageTeardown``, ``Custom::RetainedResourceCheck``): their
  handlers (``_internal/lifecycle_function/index.py``) run in moto on the events CloudFormation
  sends them (Create, Update, Delete; with and without the resources in the way), with the
  properties each template gives the custom resource, and every recorded call
  (``call_recorder``) is evaluated against the function's role in that template.
- The data set copy (``Custom::ProjectDataset``) and the Studio S3 templates
  (``Custom::StudioS3Template``): ``AwsCustomResource`` calls whose parameters are in the
  template; what IAM authorizes for them follows from the S3 API reference (CopyObject: read
  the source, with its tags unless replaced; write the destination, with its tags; S3 asks
  KMS to decrypt an SSE-KMS source and to generate a data key for an SSE-KMS destination).
- aws-cdk-lib's bucket deployment of the product templates' assets (``Custom::CDKBucketDeployment``):
  its function copies each source object with ``aws s3 cp`` and ``aws s3 sync`` (``Extract``
  false: the object as is, under its own name) into the destination bucket.

Every function also writes its logs (Lambda's runtime, with the function's role). Each
role's allowed actions that nothing needs are listed below with their reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest
from role_checks import (  # first: puts tests/seed (call_recorder) on the path
    RoleCheck,
    all_templates,
    function_log_requests,
    function_of_role,
    missing,
    request,
    role_policy_with_managed,
    the_one,
    unneeded,
)

from call_recorder import IamRequest, copy_object_requests, iam_requests, install, read_calls  # noqa: E402  (isort: after role_checks)
from iam_eval import Policy, Resolver, role_policy_documents  # noqa: E402
from sagemaker_projects_cdk.stacks import TEMPLATES  # noqa: E402
from support import moto_environment

REGION, ACCOUNT = "us-east-1", "123456789012"


@pytest.fixture(scope="module")
def templates(assembly) -> dict[str, dict]:
    return all_templates(assembly)


def having(resource_type: str) -> list[str]:
    """Names of the templates that have a resource of ``resource_type`` (for parametrizing)."""
    return [name for name, types in TYPES_BY_TEMPLATE.items() if resource_type in types]


#: Which custom resource types each template has (checked against the templates below).
TYPES_BY_TEMPLATE = {
    "model-build": {"Custom::RetainedResourceCheck", "Custom::ProjectDataset"},
    "model-deploy": {"Custom::RetainedResourceCheck", "Custom::StageTeardown"},
    "build-deploy": {"Custom::RetainedResourceCheck", "Custom::ProjectDataset", "Custom::StageTeardown"},
    "build-deploy-git": {
        "Custom::RetainedResourceCheck", "Custom::ProjectDataset", "Custom::StageTeardown", "Custom::SeedRepository",
    },
    "image-build-deploy": {"Custom::RetainedResourceCheck", "Custom::ProjectDataset", "Custom::StageTeardown"},
    "build-deploy-jenkins": {
        "Custom::RetainedResourceCheck", "Custom::ProjectDataset", "Custom::StageTeardown", "Custom::SeedRepository",
    },
    "build-deploy-monitor": {"Custom::RetainedResourceCheck", "Custom::ProjectDataset", "Custom::StageTeardown"},
    "studio/model-build": {"Custom::RetainedResourceCheck", "Custom::ProjectDataset"},
    "studio/model-deploy": {"Custom::RetainedResourceCheck", "Custom::StageTeardown"},
    "studio/build-deploy": {"Custom::RetainedResourceCheck", "Custom::ProjectDataset", "Custom::StageTeardown"},
    "studio/build-deploy-git": {
        "Custom::RetainedResourceCheck", "Custom::ProjectDataset", "Custom::StageTeardown", "Custom::SeedRepository",
    },
    "studio/image-build-deploy": {"Custom::RetainedResourceCheck", "Custom::ProjectDataset", "Custom::StageTeardown"},
    "studio/build-deploy-jenkins": {
        "Custom::RetainedResourceCheck", "Custom::ProjectDataset", "Custom::StageTeardown", "Custom::SeedRepository",
    },
    "studio/build-deploy-monitor": {"Custom::RetainedResourceCheck", "Custom::ProjectDataset", "Custom::StageTeardown"},
    "studio": {"Custom::StudioS3Template", "Custom::CDKBucketDeployment"},
}


def test_the_parametrized_templates_are_the_ones_with_the_custom_resources(templates):
    found = {
        name: {r["Type"] for r in template["Resources"].values() if r["Type"].startswith("Custom::")}
        for name, template in templates.items()
    }
    assert {name: types for name, types in found.items() if types} == TYPES_BY_TEMPLATE


def custom_resource(template: dict, resource_type: str, prefix: str = "") -> str:
    """The one custom resource of ``resource_type`` whose logical id starts with ``prefix``."""
    (found,) = [i for i, r in template["Resources"].items() if r["Type"] == resource_type and i.startswith(prefix)]
    return found


def role_of(template: dict, resource_id: str) -> tuple[str, str]:
    """(function, role) of the custom resource ``resource_id``: its service token's function."""
    token = template["Resources"][resource_id]["Properties"]["ServiceToken"]
    function_id = token["Fn::GetAtt"][0]
    role = template["Resources"][function_id]["Properties"]["Role"]
    return function_id, role["Fn::GetAtt"][0]


# ----------------------------------------------------------------- lifecycle functions

#: Allowed actions of the lifecycle roles that no call needs, and why.
LIFECYCLE_NOT_NEEDED: dict[str, str] = {}


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 900_000


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[Any]:
    from moto import mock_aws

    from sagemaker_projects_cdk._internal.lifecycle_function import index

    moto_environment(monkeypatch, tmp_path, REGION)
    monkeypatch.setattr(index, "POLL_SECONDS", 0)
    sent: list[dict] = []
    monkeypatch.setattr(index, "send", lambda url, body: sent.append(json.loads(body)))
    with mock_aws():
        yield sent


def lifecycle_event(request_type: str, resource_id: str, properties: dict, old: dict | None = None) -> dict:
    event = {
        "RequestType": request_type,
        "ResponseURL": "https://cloudformation-custom-resource-response.example/signed",
        # The stack holding the resource, as the Resolver spells AWS::StackId.
        "StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/SampleStack/00000000-0000-0000-0000-000000000000",
        "RequestId": "request-1",
        "LogicalResourceId": resource_id,
        "ResourceType": "Custom::Lifecycle",
        "ResourceProperties": properties,
    }
    if request_type != "Create":
        event["PhysicalResourceId"] = f"project-{resource_id}"
    if old is not None:
        event["OldResourceProperties"] = old
    return event


def run_lifecycle(template: dict, resource_type: str, log_dir, prepare, *, prefix: str = "") -> tuple[list[RoleCheck], list[dict]]:
    """Run the function of ``resource_type``'s custom resource as CloudFormation would, and
    record its calls: Create and Delete with nothing in the way, then (``prepare`` puts the
    named resources in place) with everything in the way, then an Update to a renamed project
    (``SageMakerProjectName`` changed: CloudFormation updates the role's policy first, as the
    custom resource depends on the role). One check per parameter set."""
    import boto3

    from sagemaker_projects_cdk._internal.lifecycle_function import index

    resource_id = custom_resource(template, resource_type, prefix)
    function_id, role_id = role_of(template, resource_id)
    handler = getattr(index, template["Resources"][function_id]["Properties"]["Handler"].split(".")[1])
    default = Resolver(template)
    renamed = Resolver(template, parameters={"SageMakerProjectName": "renamed"})
    old, new = (r.resolve(template["Resources"][resource_id]["Properties"]) for r in (default, renamed))
    assert old != new
    checks, calls = [], []
    for number, (resolver, events) in enumerate(
        [
            (default, lambda: [lifecycle_event("Create", resource_id, old), lifecycle_event("Delete", resource_id, old)]),
            (default, lambda: [lifecycle_event("Create", resource_id, old), lifecycle_event("Delete", resource_id, old)]),
            (renamed, lambda: [lifecycle_event("Update", resource_id, new, old=old), lifecycle_event("Delete", resource_id, new)]),
        ]
    ):
        if number == 1:
            prepare(boto3, old)  # not recorded: the scene, not the function's calls
        log = log_dir / f"calls-{number}.jsonl"
        uninstall = install(log)
        try:
            for event in events():
                handler(event, Context())
        finally:
            uninstall()
        requests = [r for call in read_calls(log) for r in iam_requests(call, ACCOUNT)]
        requests += function_log_requests(resolver, function_id)
        policy = Policy(role_policy_documents(resolver, role_id))
        checks.append(RoleCheck(f"{role_id} ({resource_type}, scene {number})", policy, requests, LIFECYCLE_NOT_NEEDED))
        calls += read_calls(log)
    return checks, calls


def together(checks: list[RoleCheck]) -> RoleCheck:
    """The requests of checks of the same policy (the scenes of one parameter set), as one check."""
    assert all(c.policy is checks[0].policy or c.policy.sources == checks[0].policy.sources for c in checks)
    return RoleCheck(checks[0].label, checks[0].policy, [r for c in checks for r in c.requests], checks[0].not_needed)


def _stage_stacks(boto3: Any, properties: dict) -> None:
    cfn = boto3.client("cloudformation", region_name=REGION)
    for stage in properties["Stages"]:
        assert stage["AssumeRoleArn"] == "", "default parameters: every stage in this account"
        name = stage["StackName"]
        cfn.create_stack(StackName=name, TemplateBody=json.dumps({"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}))


def _retained(boto3: Any, properties: dict) -> None:
    for name in properties["RepositoryNames"]:
        boto3.client("codecommit", region_name=REGION).create_repository(repositoryName=name)
    for name in properties.get("ImageRepositoryNames", []):
        boto3.client("ecr", region_name=REGION).create_repository(repositoryName=name)
    if properties.get("ModelPackageGroupName"):
        boto3.client("sagemaker", region_name=REGION).create_model_package_group(
            ModelPackageGroupName=properties["ModelPackageGroupName"]
        )


#: Each stage teardown: (template, logical id prefix). The monitoring template has two: its
#: monitor stage stacks' (deleted first) and its endpoint stage stacks'.
TEARDOWNS = [
    (name, prefix)
    for name in having("Custom::StageTeardown")
    for prefix in (("StageTeardown", "MonitorTeardown") if name.endswith("build-deploy-monitor") else ("StageTeardown",))
]


@pytest.mark.parametrize(("name", "prefix"), TEARDOWNS)
def test_the_stage_teardown_role_may_make_every_call_of_its_function(templates, name, prefix, aws, tmp_path, monkeypatch):
    from sagemaker_projects_cdk._internal.lifecycle_function import index

    # moto cannot hold the project stack mid-deletion: the function still asks (a recorded
    # DescribeStacks of its own stack), and is told the project is being deleted.
    real = index.project_stack_status
    monkeypatch.setattr(index, "project_stack_status", lambda cfn, stack_id: real(cfn, stack_id) and "DELETE_IN_PROGRESS")
    checks, calls = run_lifecycle(templates[name], "Custom::StageTeardown", tmp_path, _stage_stacks, prefix=prefix)
    assert {r["Status"] for r in aws} == {"SUCCESS"}, aws
    assert {(c["operation"], "error" in c) for c in calls} == {("DescribeStacks", False), ("DescribeStacks", True), ("DeleteStack", False)}
    # The stacks are deleted with the deployer role, passed to CloudFormation.
    assert all(c["params"].get("RoleARN") for c in calls if c["operation"] == "DeleteStack"), calls
    assert [m for check in checks for m in missing(check)] == []
    assert unneeded(together(checks[:2])) == []


@pytest.mark.parametrize("name", having("Custom::RetainedResourceCheck"))
def test_the_retained_resource_check_role_may_make_every_call_of_its_function(templates, name, aws, tmp_path):
    checks, calls = run_lifecycle(templates[name], "Custom::RetainedResourceCheck", tmp_path, _retained)
    # Nothing in the way: success; everything in the way: the Create fails saying so; renamed: success.
    assert [r["Status"] for r in aws] == ["SUCCESS", "SUCCESS", "FAILED", "SUCCESS", "SUCCESS", "SUCCESS"], aws
    operations = {c["operation"] for c in calls}
    properties = templates[name]["Resources"][custom_resource(templates[name], "Custom::RetainedResourceCheck")]["Properties"]
    # A template on a Git host through a connection creates no CodeCommit repository to check.
    assert ("GetRepository" in operations) == bool(properties.get("RepositoryNames"))
    checks_group = "ModelPackageGroupName" in properties
    assert ("DescribeModelPackageGroup" in operations) == checks_group
    # The image template's ECR repositories (retained by default) are checked too.
    assert ("DescribeRepositories" in operations) == name.endswith("image-build-deploy")
    assert bool(properties.get("ImageRepositoryNames")) == name.endswith("image-build-deploy")
    assert [m for check in checks for m in missing(check)] == []
    assert unneeded(together(checks[:2])) == []


# ----------------------------------------------------------------- AwsCustomResource copies


def sdk_calls(resolver: Resolver, resource_id: str) -> dict[str, dict]:
    """The AwsCustomResource's calls by request type (``Create``, ``Update``, ``Delete``), resolved."""
    properties = resolver.resources[resource_id]["Properties"]
    return {kind: json.loads(resolver.resolve(properties[kind])) for kind in ("Create", "Update", "Delete") if kind in properties}


def sdk_call_requests(call: dict, *, source_key: str | None) -> list[IamRequest]:
    """IAM requests of one AwsCustomResource S3 call, for both encryption contexts S3 may use
    (the object's ARN; the bucket's, with S3 Bucket Keys)."""
    assert call["service"] == "S3", call
    parameters = call["parameters"]
    if call["action"] == "copyObject":
        return [
            r
            for bucket_keys in (False, True)
            for r in copy_object_requests(parameters, REGION, ACCOUNT, source_key=source_key, bucket_keys=bucket_keys, call="S3 copyObject")
        ]
    if call["action"] == "deleteObject":
        return [request("s3:DeleteObject", f"arn:aws:s3:::{parameters['Bucket']}/{parameters['Key']}", "S3 deleteObject")]
    raise AssertionError(f"no IAM mapping for {call}")


DATASET_NOT_NEEDED: dict[str, str] = {}
#: Keys the asset bucket may encrypt the data set with: none (SSE-S3, the CDK bootstrap default)
#: or a key of the account (``cdk bootstrap --bootstrap-customer-key``, the Studio template bucket).
ASSET_KEYS = {"SSE-S3": None, "SSE-KMS": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/asset-bucket-key"}


@pytest.mark.parametrize("encryption", list(ASSET_KEYS))
@pytest.mark.parametrize("name", having("Custom::ProjectDataset"))
def test_the_data_set_copy_role_may_copy_the_data_set(templates, name, encryption):
    template = templates[name]
    resolver = Resolver(template)
    resource_id = custom_resource(template, "Custom::ProjectDataset")
    role_id = the_one(template, "AWS::IAM::Role", "DatasetRole")
    function_id = function_of_role(template, role_id)
    calls = sdk_calls(resolver, resource_id)
    assert set(calls) == {"Create", "Update"} and calls["Create"] == calls["Update"]
    requests = sdk_call_requests(calls["Create"], source_key=ASSET_KEYS[encryption]) + function_log_requests(resolver, function_id)
    # The copy is encrypted with the project key.
    assert {r.resource for r in requests if r.action == "kms:GenerateDataKey"} == {resolver.get_att(the_one(template, "AWS::KMS::Key", "ArtifactsKey"), "Arn")}
    check = RoleCheck(
        f"{name} {role_id}",
        Policy(role_policy_documents(resolver, role_id)),
        requests,
        {**DATASET_NOT_NEEDED, "kms:Decrypt": "the data set asset is not KMS-encrypted here"} if encryption == "SSE-S3" else DATASET_NOT_NEEDED,
    )
    assert missing(check) == []
    assert unneeded(check) == []


S3_TEMPLATES_NOT_NEEDED = {
    "kms:Decrypt": "S3 asks for it only for multipart uploads and copies of SSE-KMS sources: the template files "
    "are read from the CDK asset bucket (SSE-S3 by default; with --bootstrap-customer-key the bootstrap key's "
    "own policy lets principals of the account decrypt through S3)",
}


def test_the_s3_templates_role_may_copy_tag_and_delete_every_template(templates):
    template = templates["studio"]
    resolver = Resolver(template)
    role_id = the_one(template, "AWS::IAM::Role", "StudioS3TemplatesRole")
    function_id = function_of_role(template, role_id)
    resources = [i for i, r in template["Resources"].items() if r["Type"] == "Custom::StudioS3Template"]
    assert len(resources) == len(TEMPLATES)
    requests = function_log_requests(resolver, function_id)
    for resource_id in resources:
        calls = sdk_calls(resolver, resource_id)
        assert set(calls) == {"Create", "Update", "Delete"}
        for call in calls.values():
            requests += sdk_call_requests(call, source_key=None)
    assert {r.action for r in requests} >= {"s3:GetObject", "s3:PutObject", "s3:PutObjectTagging", "kms:GenerateDataKey", "s3:DeleteObject"}
    # The tags are replaced: the source's tags are not read.
    assert "s3:GetObjectTagging" not in {r.action for r in requests}
    check = RoleCheck(f"studio {role_id}", role_policy_with_managed(resolver, role_id), requests, S3_TEMPLATES_NOT_NEEDED)
    assert missing(check) == []
    assert unneeded(check) == []


CDK_BUCKET_DEPLOYMENT = "aws-cdk-lib's BucketDeployment grants (source read, destination read-write with its key)"
BUCKET_DEPLOYMENT_NOT_NEEDED = {
    "logs:CreateLogGroup": "AWSLambdaBasicExecutionRole (aws-cdk-lib's): the stack creates the function's log group",
    "s3:GetBucket*": CDK_BUCKET_DEPLOYMENT,
    "s3:Abort*": CDK_BUCKET_DEPLOYMENT + "; multipart uploads of files over 8 MB",
    "s3:DeleteObject*": CDK_BUCKET_DEPLOYMENT + "; only with Prune, which is off",
    "s3:PutObjectLegalHold": CDK_BUCKET_DEPLOYMENT,
    "s3:PutObjectRetention": CDK_BUCKET_DEPLOYMENT,
    "s3:PutObjectTagging": CDK_BUCKET_DEPLOYMENT,
    "s3:PutObjectVersionTagging": CDK_BUCKET_DEPLOYMENT,
    "kms:Decrypt": CDK_BUCKET_DEPLOYMENT + "; multipart uploads of files over 8 MB",
    "kms:DescribeKey": CDK_BUCKET_DEPLOYMENT,
    "kms:Encrypt": CDK_BUCKET_DEPLOYMENT,
    "kms:ReEncrypt*": CDK_BUCKET_DEPLOYMENT,
}


def test_the_bucket_deployment_role_may_copy_every_product_asset(templates):
    template = templates["studio"]
    resolver = Resolver(template)
    resource_id = custom_resource(template, "Custom::CDKBucketDeployment")
    function_id, role_id = role_of(template, resource_id)
    properties = resolver.resolve(template["Resources"][resource_id]["Properties"])
    assert properties["Extract"] is False and properties["Prune"] is False and "DestinationBucketKeyPrefix" not in properties
    destination = properties["DestinationBucketName"]
    key_arn = resolver.get_att(the_one(template, "AWS::KMS::Key", "StudioBucketKey"), "Arn")
    requests = function_log_requests(resolver, function_id)
    for bucket, key in zip(properties["SourceBucketNames"], properties["SourceObjectKeys"], strict=True):
        why = f"aws s3 cp s3://{bucket}/{key}, aws s3 sync to s3://{destination}"
        requests += [
            request("s3:GetObject", f"arn:aws:s3:::{bucket}/{key}", why),
            request("s3:ListBucket", f"arn:aws:s3:::{bucket}", why + " (S3 answers 404, not 403, for a missing source)"),
            request("s3:ListBucket", f"arn:aws:s3:::{destination}", why),
            request("s3:PutObject", f"arn:aws:s3:::{destination}/{key}", why),
            request(
                "kms:GenerateDataKey",
                key_arn,
                why + " (the bucket's default encryption)",
                {"kms:ViaService": f"s3.{REGION}.amazonaws.com", "kms:EncryptionContext:aws:s3:arn": f"arn:aws:s3:::{destination}"},
            ),
        ]
    check = RoleCheck(f"studio {role_id}", role_policy_with_managed(resolver, role_id), requests, BUCKET_DEPLOYMENT_NOT_NEEDED)
    assert missing(check) == []
    assert unneeded(check) == []


# ----------------------------------------------------------------- repository seeding

CONNECTION_ID = "0b7e4f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
GIT_PARAMETERS = {
    "CodeConnectionArn": f"arn:aws:codeconnections:{REGION}:{ACCOUNT}:connection/{CONNECTION_ID}",
    "ModelBuildRepositoryFullName": "acme/churn-build",
    "ModelDeployRepositoryFullName": "acme/churn-deploy",
}


def _git_resolver(template: dict) -> Resolver:
    declared = template.get("Parameters", {})
    return Resolver(template, parameters={k: v for k, v in GIT_PARAMETERS.items() if k in declared})


@pytest.mark.parametrize("name", having("Custom::SeedRepository"))
def test_the_seeding_handler_role_may_start_wait_for_and_stop_the_build(templates, name):
    from sagemaker_projects_cdk._internal.lifecycle_function import seeding

    template = templates[name]
    resolver = _git_resolver(template)
    seeds = [i for i, r in template["Resources"].items() if r["Type"] == "Custom::SeedRepository"]
    assert len(seeds) == 2  # the model-build and model-deploy repositories
    function_id, role_id = role_of(template, seeds[0])
    project = resolver.resolve(template["Resources"][seeds[0]]["Properties"]["ProjectName"])
    project_arn = f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/{project}"
    # What seeding.run_seed_build calls (StopBuild when it must answer before the build ends).
    calls = {"start_build": "StartBuild", "batch_get_builds": "BatchGetBuilds", "stop_build": "StopBuild"}
    assert all(f"codebuild.{method}(" in Path(seeding.__file__).read_text() for method in calls)
    requests = [request(f"codebuild:{op}", project_arn, f"seeding.run_seed_build {op}") for op in calls.values()]
    requests += function_log_requests(resolver, function_id)
    check = RoleCheck(f"{name} {role_id}", Policy(role_policy_documents(resolver, role_id)), requests)
    assert missing(check) == []
    assert unneeded(check) == []


#: What the seeding build's role holds that the build does not call, and why.
SEED_BUILD_NOT_NEEDED = {
    **dict.fromkeys(
        ["s3:GetBucket*", "s3:List*"],
        "aws-cdk-lib's grant for the project's S3 source (the script's asset object)",
    ),
    **dict.fromkeys(
        ["kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
        "aws-cdk-lib's grant of the project key for build artifacts (the build has none)",
    ),
    "codebuild:CreateReportGroup": "aws-cdk-lib lets every CodeBuild project write test reports",
    "codebuild:CreateReport": "aws-cdk-lib lets every CodeBuild project write test reports",
    "codebuild:UpdateReport": "aws-cdk-lib lets every CodeBuild project write test reports",
    "codebuild:BatchPutTestCases": "aws-cdk-lib lets every CodeBuild project write test reports",
    "codebuild:BatchPutCodeCoverages": "aws-cdk-lib lets every CodeBuild project write test reports",
    "logs:CreateLogGroup": "aws-cdk-lib's CodeBuild logging grant (the log group exists)",
}


@pytest.mark.parametrize("name", having("Custom::SeedRepository"))
def test_the_seeding_build_role_may_read_the_seeds_and_push_through_the_connection(templates, name):
    template = templates[name]
    resolver = _git_resolver(template)
    (project_id,) = [i for i, r in template["Resources"].items() if r["Type"] == "AWS::CodeBuild::Project" and i.startswith("RepositorySeeder")]
    project = template["Resources"][project_id]["Properties"]
    role_id = project["ServiceRole"]["Fn::GetAtt"][0]
    connection = GIT_PARAMETERS["CodeConnectionArn"]
    requests: list[IamRequest] = []
    # CodeBuild: the S3 source (the script), then the build's log stream.
    source = resolver.resolve(project["Source"]["Location"])
    requests.append(request("s3:GetObject", f"arn:aws:s3:::{source}", "CodeBuild S3 source"))
    group = resolver.resolve(project["LogsConfig"]["CloudWatchLogs"]["GroupName"])
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        requests.append(request(action, f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:log-stream:seed/x", "CodeBuild logs"))
    for seed_id in (i for i, r in template["Resources"].items() if r["Type"] == "Custom::SeedRepository"):
        properties = resolver.resolve(template["Resources"][seed_id]["Properties"])
        seed_object = f"arn:aws:s3:::{properties['SeedBucket']}/{properties['SeedKey']}"
        requests.append(request("s3:GetObject", seed_object, "aws s3 cp of the seed"))
        # An SSE-KMS asset bucket (cdk bootstrap --bootstrap-customer-key): S3 decrypts as the caller.
        requests.append(
            request(
                "kms:Decrypt",
                f"arn:aws:kms:{REGION}:{ACCOUNT}:key/asset-bucket-key",
                "aws s3 cp of the seed (SSE-KMS)",
                {"kms:ViaService": f"s3.{REGION}.amazonaws.com", "kms:EncryptionContext:aws:s3:arn": seed_object},
            )
        )
        full_name = properties["FullRepositoryName"]
        # git fetch and push through the connection: UseConnection for each provider action,
        # with either prefix, on the connection tagged sagemaker=true.
        for service in ("codeconnections", "codestar-connections"):
            for action, permissions in (("GitPull", "read_only"), ("GitPush", "read_write")):
                requests.append(
                    request(
                        f"{service}:UseConnection",
                        connection.replace(":codeconnections:", f":{service}:"),
                        f"git {action} of {full_name}",
                        {
                            "aws:ResourceTag/sagemaker": "true",
                            f"{service}:FullRepositoryId": full_name,
                            f"{service}:ProviderAction": [action],
                            f"{service}:ProviderPermissionsRequired": permissions,
                        },
                    )
                )
        # A connection not tagged sagemaker=true, or another repository: refused.
        policy = Policy(role_policy_documents(resolver, role_id))
        assert not policy.allowed("codeconnections:UseConnection", connection, {"aws:ResourceTag/sagemaker": "false"})
        assert not policy.allowed(
            "codeconnections:UseConnection", connection,
            {"aws:ResourceTag/sagemaker": "true", "codeconnections:FullRepositoryId": "acme/other"},
        )
    check = RoleCheck(f"{name} {role_id}", Policy(role_policy_documents(resolver, role_id)), requests, SEED_BUILD_NOT_NEEDED)
    assert missing(check) == []
    assert unneeded(check) == [], "\n".join(unneeded(check))
