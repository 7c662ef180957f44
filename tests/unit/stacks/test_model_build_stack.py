"""The model-build template: what it creates and how it is scoped (tests/test_gates.py pins its logical ids)."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Capture, Match, Template

from sagemaker_projects_cdk.stacks import ModelBuildStack
from support import new_app


@pytest.fixture(scope="module")
def template(assembly) -> Template:
    """The template as `cdk synth` writes it: no project name or id given (Studio's case)."""
    return Template.from_json(assembly.templates["model-build"])


@pytest.fixture(scope="module")
def named() -> Template:
    """The template for `cdk deploy` with plain strings."""
    app = new_app()
    stack = ModelBuildStack(app, "Named", project_name="churn", project_id="p-abc123def456", branch="dev")
    return Template.from_stack(stack)


def test_declares_the_project_parameters_as_studio_passes_them(template):
    params = template.to_json()["Parameters"]
    assert params["SageMakerProjectName"] == {
        "Type": "String",
        "Default": "ModelBuild",
        "Description": "Name of the project",
        "MinLength": 1,
        "MaxLength": 32,
        "AllowedPattern": "^[a-zA-Z](-*[a-zA-Z0-9])*",
    }
    # Studio's ids: "p-" and 12 characters, lower case (SageMaker lower-cases names in ARNs).
    assert params["SageMakerProjectId"]["MaxLength"] == 14
    assert params["SageMakerProjectId"]["AllowedPattern"] == "^[a-z0-9](-*[a-z0-9])*"
    assert params["SageMakerProjectId"]["Default"].startswith("p-")


def test_no_project_parameters_when_names_are_given(named):
    assert "SageMakerProjectName" not in named.to_json().get("Parameters", {})
    named.has_resource_properties(
        "AWS::SageMaker::ModelPackageGroup", {"ModelPackageGroupName": "churn-p-abc123def456"}
    )
    named.has_resource_properties(
        "AWS::CodeCommit::Repository",
        {"RepositoryName": "sagemaker-churn-p-abc123def456-modelbuild", "Code": {"BranchName": "dev", "S3": Match.any_value()}},
    )


def test_every_resource_is_tagged_with_the_project(named):
    for resource_type in ("AWS::S3::Bucket", "AWS::KMS::Key", "AWS::CodeBuild::Project", "AWS::CodePipeline::Pipeline", "AWS::IAM::Role"):
        for resource in named.find_resources(resource_type).values():
            tags = {t["Key"]: t["Value"] for t in resource["Properties"]["Tags"]}
            assert tags["sagemaker:project-name"] == "churn"
            assert tags["sagemaker:project-id"] == "p-abc123def456"


def test_artifact_bucket_is_encrypted_private_versioned_logged_and_retained(template):
    key = Capture()
    template.has_resource(
        "AWS::S3::Bucket",
        {
            "Properties": Match.object_like(
                {
                    "BucketEncryption": {
                        "ServerSideEncryptionConfiguration": [
                            {
                                "BucketKeyEnabled": True,
                                "ServerSideEncryptionByDefault": {"KMSMasterKeyID": {"Fn::GetAtt": [key, "Arn"]}, "SSEAlgorithm": "aws:kms"},
                            }
                        ]
                    },
                    "PublicAccessBlockConfiguration": {
                        "BlockPublicAcls": True,
                        "BlockPublicPolicy": True,
                        "IgnorePublicAcls": True,
                        "RestrictPublicBuckets": True,
                    },
                    "VersioningConfiguration": {"Status": "Enabled"},
                    "LoggingConfiguration": Match.object_like({"LogFilePrefix": "artifact-bucket/"}),
                    "LifecycleConfiguration": {
                        # Plus the build cache's own rule (codebuild-cache/ copies expire), added on purpose.
                        "Rules": Match.array_with(
                            [
                                Match.object_like({"NoncurrentVersionExpiration": {"NoncurrentDays": 90}, "Status": "Enabled"}),
                                Match.object_like({"Prefix": "codebuild-cache/", "Status": "Enabled"}),
                            ]
                        )
                    },
                }
            ),
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )
    template.has_resource("AWS::KMS::Key", {"Properties": Match.object_like({"EnableKeyRotation": True}), "DeletionPolicy": "Retain"})
    assert key.as_string() in template.find_resources("AWS::KMS::Key")
    # SSL only, on both buckets.
    policies = template.find_resources("AWS::S3::BucketPolicy")
    assert len(policies) == 2
    for policy in policies.values():
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
        )


def test_pipeline_is_v2_and_builds_with_a_current_image_and_encrypted_logs(template):
    template.has_resource_properties(
        "AWS::CodePipeline::Pipeline",
        {
            "PipelineType": "V2",
            # Explicit (V2's default): a burst of starts runs the current execution and the newest one.
            "ExecutionMode": "SUPERSEDED",
            "Name": {"Fn::Join": ["", ["sagemaker-", {"Ref": "SageMakerProjectName"}, "-", {"Ref": "SageMakerProjectId"}, "-modelbuild"]]},
            "ArtifactStore": Match.object_like({"EncryptionKey": Match.object_like({"Type": "KMS"})}),
            "Stages": [Match.object_like({"Name": "Source"}), Match.object_like({"Name": "Build"})],
        },
    )
    log_group = Capture()
    template.has_resource_properties(
        "AWS::CodeBuild::Project",
        {
            "Environment": Match.object_like(
                {"Image": "aws/codebuild/standard:7.0", "ComputeType": "BUILD_GENERAL1_SMALL", "PrivilegedMode": False}
            ),
            "EncryptionKey": Match.any_value(),
            "LogsConfig": {"CloudWatchLogs": {"GroupName": {"Ref": log_group}, "Status": "ENABLED"}},
            "TimeoutInMinutes": 120,
        },
    )
    logs = template.find_resources("AWS::Logs::LogGroup")[log_group.as_string()]
    assert "KmsKeyId" in logs["Properties"] and logs["DeletionPolicy"] == "Retain"


def test_build_gets_the_sagemaker_pipeline_contract_as_environment(template):
    project = template.find_resources("AWS::CodeBuild::Project")
    (build,) = project.values()
    env = {v["Name"]: v["Value"] for v in build["Properties"]["Environment"]["EnvironmentVariables"]}
    assert set(env) >= {
        "SAGEMAKER_PROJECT_NAME",
        "SAGEMAKER_PROJECT_ID",
        "SAGEMAKER_PIPELINE_NAME",
        "MODEL_PACKAGE_GROUP_NAME",
        "SAGEMAKER_PIPELINE_ROLE_ARN",
        "ARTIFACT_BUCKET",
        "ARTIFACT_KMS_KEY_ARN",
        "INPUT_DATA_URL",
        "PROCESSING_INSTANCE_TYPE",
        "TRAINING_INSTANCE_TYPE",
    }
    assert env["TRAINING_INSTANCE_TYPE"] == "ml.m5.xlarge"
    # The data set is read from the project's own bucket.
    url = env["INPUT_DATA_URL"]["Fn::Join"][1]
    assert url[0] == "s3://" and "Ref" in url[1] and url[2] == "/datasets/abalone/abalone.csv"


def test_dataset_is_copied_into_the_project_bucket_encrypted_and_kept(template):
    (copy,) = template.find_resources("Custom::ProjectDataset").values()
    # One CopyObject into datasets/abalone/abalone.csv of the project bucket, with the project key.
    rendered = json.dumps(copy["Properties"]["Create"])
    assert "copyObject" in rendered and "datasets/abalone/abalone.csv" in rendered and "aws:kms" in rendered
    assert "Delete" not in copy["Properties"]  # deleting the stack keeps the data
    # The copier reads only the one asset object and writes only the one key.
    (policy,) = [
        p
        for name, p in template.find_resources("AWS::IAM::Policy").items()
        if name.startswith("DatasetRoleDefaultPolicy")
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    put = next(s for s in statements if s["Action"] == "s3:PutObject")
    assert put["Resource"]["Fn::Join"][1][-1] == "/datasets/abalone/abalone.csv"
    get = next(s for s in statements if "s3:GetObject" in s["Action"])
    assert get["Resource"]["Fn::Join"][1][-1].endswith(".csv")


def _execution_policy(template: Template) -> dict:
    """The SageMaker execution role's own managed policy; the only other managed policies are the
    private network's (EC2 network-interface permissions, added on purpose under PrivateNetworkOn)."""
    policies = template.find_resources("AWS::IAM::ManagedPolicy")
    network = {k: p for k, p in policies.items() if "PrivateNetworkPolicy" in k}
    assert all(p.get("Condition") == "PrivateNetworkOn" for p in network.values()), network.keys()
    assert all(
        a.startswith("ec2:")
        for p in network.values()
        for st in p["Properties"]["PolicyDocument"]["Statement"]
        for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])
    )
    (policy,) = [p for k, p in policies.items() if k not in network]
    return policy


def test_sagemaker_role_is_least_privilege(template):
    template.has_resource_properties(
        "AWS::IAM::Role",
        {"AssumeRolePolicyDocument": Match.object_like({"Statement": [Match.object_like({"Principal": {"Service": "sagemaker.amazonaws.com"}})]})},
    )
    roles = template.find_resources("AWS::IAM::Role")
    for role in roles.values():
        for arn in role["Properties"].get("ManagedPolicyArns", []):
            assert "AmazonSageMakerFullAccess" not in str(arn)
    policy = _execution_policy(template)
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    jobs = next(s for s in statements if "sagemaker:CreateTrainingJob" in s["Action"])
    assert jobs["Resource"] == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":sagemaker:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":training-job/",
                {"Ref": "SageMakerProjectId"},
                "-*",
            ],
        ]
    }
    pass_role = next(s for s in statements if s["Action"] == "iam:PassRole")
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


def test_resolved_names_scope_jobs_to_the_project_id(named):
    policy = _execution_policy(named)
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    jobs = next(s for s in statements if "sagemaker:CreateProcessingJob" in s["Action"])
    # Jobs are named '<id>-<job>-<suffix>': a job name (63 characters) has no room for the name too.
    assert jobs["Resource"]["Fn::Join"][1][-1] == ":processing-job/p-abc123def456-*"


def test_mixed_case_names_give_both_spellings():
    app = new_app()
    template = Template.from_stack(ModelBuildStack(app, "Mixed", project_name="Churn", project_id="p-abc123def456"))
    policy = _execution_policy(template)
    jobs = next(s for s in policy["Properties"]["PolicyDocument"]["Statement"] if "sagemaker:CreateProcessingJob" in s["Action"])
    # Job names start with the id, which is lower case: one spelling.
    assert jobs["Resource"]["Fn::Join"][1][-1] == ":processing-job/p-abc123def456-*"
    # The SageMaker pipeline is named '<name>-<id>': both spellings.
    starts = [
        s
        for p in template.find_resources("AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if "sagemaker:StartPipelineExecution" in s["Action"]
    ]
    (start,) = starts
    assert [r["Fn::Join"][1][-1] for r in start["Resource"]] == [
        ":pipeline/Churn-p-abc123def456",
        ":pipeline/churn-p-abc123def456",
    ]
