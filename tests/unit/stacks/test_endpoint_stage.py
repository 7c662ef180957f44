"""EndpointStageStack: the per-stage template, and the checked-in copy the deploy seed carries."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import App
from aws_cdk.assertions import Match, Template

from iam_eval import ACCOUNT, REGION, role_policy
from sagemaker_projects_cdk.compliance import add_security_packs
from sagemaker_projects_cdk.stacks.endpoint_stage import (
    REGENERATE_COMMAND,
    STAGE_TEMPLATE_PATH,
    EndpointStageStack,
    render_stage_template,
    synth_stage_template,
)
from support import REPO

STAGE_PARAMETERS = {
    "SageMakerProjectName", "SageMakerProjectId", "StageName", "ModelPackageArn", "ArtifactBucketName",
    "ArtifactKmsKeyArn", "InstanceType", "InstanceCount", "EnableDataCapture", "DataCaptureSamplingPercentage",
    "EnableAutoscaling", "MinCapacity", "MaxCapacity", "TargetInvocationsPerInstance", "TrafficRoutingType",
    "TrafficStepType", "TrafficStepSize", "TrafficWaitIntervalSeconds", "TerminationWaitSeconds",
    "MaximumExecutionTimeoutSeconds", "ErrorAlarmThreshold", "LatencyAlarmThresholdMs", "ModelArtifactBucketName",
    "ModelArtifactKmsKeyArn", "ExecutionRoleArn", "ModelImageRepositoryName",
    "PrivateVpcId", "PrivateSubnetIds", "PrivateSecurityGroupIds",
}  # fmt: skip
#: Logical ids of the template's resources: deployed stacks update in place only while they stay.
STAGE_LOGICAL_IDS = [
    "EndpointRole47E61C54", "EndpointPolicyA1BBD448", "EndpointModel0F230181", "EndpointConfig24AD0A28",
    "EndpointErrorsAlarm6803A3F1", "EndpointLatencyAlarm81CF0219", "Endpoint8024A810", "EndpointScalableTargetCFB7CBF0",
    "EndpointScalableTargetInvocationsPerInstance89968664", "ExecutionRoleReady",
    # A stage in another account: its own storage (retained, so the ids stay).
    "StageStorageKey3261DDDD", "StageStorageAccessLogs269E208D", "StageStorageAccessLogsPolicyF086AC18",
    "StageStorageBucket3206B1C6", "StageStorageBucketPolicy520F13CE",
]  # fmt: skip


@pytest.fixture(scope="module")
def endpoint_stage_template() -> dict:
    """A fresh synth, with the security packs on (a finding raises)."""
    return synth_stage_template(security_packs=True)


def test_checked_in_template_is_a_fresh_synth(endpoint_stage_template):
    assert STAGE_TEMPLATE_PATH.read_text(encoding="utf-8") == render_stage_template(endpoint_stage_template), (
        f"{STAGE_TEMPLATE_PATH.name} is stale: regenerate it with '{REGENERATE_COMMAND}' and commit it"
    )


def test_project_feature_flags_do_not_change_the_template(endpoint_stage_template):
    cdk_json = REPO / "cdk.json"
    if not cdk_json.exists():
        pytest.skip("no cdk.json")
    app = App(context=json.loads(cdk_json.read_text())["context"])
    stack = EndpointStageStack(app, "EndpointStage")
    add_security_packs(app)
    assembly = app.synth()
    assert assembly.get_stack_artifact(stack.artifact_id).template == endpoint_stage_template


def test_template_needs_no_bootstrap_and_has_no_assets_or_metadata(endpoint_stage_template):
    text = json.dumps(endpoint_stage_template)
    assert "BootstrapVersion" not in endpoint_stage_template.get("Parameters", {})
    # Its rules tie parameters together (bucket and key; the private network's); no bootstrap check.
    assert set(endpoint_stage_template.get("Rules", {})) == {"BucketAndKeyTogether", "PrivateNetworkTogether"}
    assert "CDKMetadata" not in endpoint_stage_template["Resources"]
    assert not re.search(r"AssetParameters|cdk-hnb659fds|aws:cdk:|aws:asset", text)
    # No hard-coded partition.
    assert "arn:aws:" not in text


def test_every_setting_is_a_parameter(endpoint_stage_template):
    parameters = endpoint_stage_template["Parameters"]
    assert set(parameters) == STAGE_PARAMETERS
    required = {name for name, spec in parameters.items() if "Default" not in spec}
    assert required == {
        "StageName", "ModelPackageArn", "ArtifactBucketName", "ArtifactKmsKeyArn", "ModelArtifactBucketName", "ExecutionRoleArn"
    }
    assert parameters["InstanceCount"] | {} == {
        "Type": "Number",
        "Default": 1,
        "Description": parameters["InstanceCount"]["Description"],
        "MinValue": 1,
        "MaxValue": 1000,
    }
    assert parameters["TrafficRoutingType"]["AllowedValues"] == ["ALL_AT_ONCE", "CANARY", "LINEAR"]
    assert parameters["EnableDataCapture"]["AllowedValues"] == ["true", "false"]
    assert parameters["LatencyAlarmThresholdMs"]["MaxValue"] == 60000
    pattern = parameters["ModelPackageArn"]["AllowedPattern"]
    assert re.fullmatch(pattern.strip("^$"), "arn:aws-cn:sagemaker:cn-north-1:123456789012:model-package/g-p-1/12")
    assert not re.fullmatch(pattern.strip("^$"), "arn:aws:sagemaker:eu-west-1:123456789012:model-package-group/g")


def test_model_artifact_parameters_accept_a_bucket_and_a_key_or_no_key(endpoint_stage_template):
    parameters = endpoint_stage_template["Parameters"]
    bucket = parameters["ModelArtifactBucketName"]["AllowedPattern"].strip("^$")
    # The project bucket may also be empty: a stage in another account creates its own.
    assert parameters["ArtifactBucketName"]["AllowedPattern"] == "^(" + bucket + ")?$"
    assert re.fullmatch(bucket, "sagemaker-project-p-0123456789ab") and not re.fullmatch(bucket, "Other_Bucket")
    key = parameters["ModelArtifactKmsKeyArn"]
    assert key["Default"] == ""
    pattern = key["AllowedPattern"].strip("^$")
    assert re.fullmatch(pattern, "") and re.fullmatch(pattern, "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab")
    assert not re.fullmatch(pattern, "alias/project") and not re.fullmatch(pattern, "arn:aws:kms:eu-west-1:123456789012:alias/p")
    # Empty means not KMS-encrypted: decided by a condition on the parameter.
    assert endpoint_stage_template["Conditions"]["ModelArtifactsKmsEncrypted"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ModelArtifactKmsKeyArn"}, ""]}]
    }


def _policy_statements(template: dict) -> dict[str, dict]:
    """The model role's policy statements by their first action."""
    (policy,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::ManagedPolicy"]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    by_action: dict[str, list[dict]] = {}
    for statement in statements:
        # A statement held under a condition (the private network's) counts as given.
        statement = statement["Fn::If"][1] if "Fn::If" in statement else statement
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            by_action.setdefault(action, []).append(statement)
    return by_action


#: The bucket and key captured data goes to: the project's (parameters), or the stage stack's own.
CAPTURE_BUCKET = {"Fn::If": ["StageOwnStorage", {"Ref": "StageStorageBucket3206B1C6"}, {"Ref": "ArtifactBucketName"}]}
CAPTURE_KEY = {"Fn::If": ["StageOwnStorage", {"Fn::GetAtt": ["StageStorageKey3261DDDD", "Arn"]}, {"Ref": "ArtifactKmsKeyArn"}]}


def _s3_arn(bucket_parameter: str, suffix: str = "") -> dict:
    bucket = CAPTURE_BUCKET if bucket_parameter == "ArtifactBucketName" else {"Ref": bucket_parameter}
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::", bucket, *([suffix] if suffix else [])]]}


def test_model_reads_artifacts_from_the_model_artifact_bucket_and_captures_into_the_project_bucket(endpoint_stage_template):
    by_action = _policy_statements(endpoint_stage_template)
    assert [s["Resource"] for s in by_action["s3:GetObject"]] == [_s3_arn("ModelArtifactBucketName", "/*")]
    assert [s["Resource"] for s in by_action["s3:ListBucket"]] == [_s3_arn("ModelArtifactBucketName")]
    assert [s["Resource"] for s in by_action["s3:PutObject"]] == [_s3_arn("ArtifactBucketName", "/data-capture/*")]
    # The project key encrypts captured data; the model artifact key (or, when empty, the project
    # key again) is for decrypting the artifacts through S3 only.
    project, artifacts = by_action["kms:Decrypt"]
    assert project == {"Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Effect": "Allow", "Resource": CAPTURE_KEY}
    assert artifacts == {
        "Action": "kms:Decrypt",
        "Effect": "Allow",
        "Resource": {"Fn::If": ["ModelArtifactsKmsEncrypted", {"Ref": "ModelArtifactKmsKeyArn"}, CAPTURE_KEY]},
        "Condition": {
            "StringEquals": {
                "kms:ViaService": {"Fn::Join": ["", ["s3.", {"Ref": "AWS::Region"}, ".", {"Ref": "AWS::URLSuffix"}]]}
            }
        },
    }
    # Captured data stays with the project: the endpoint configuration names the project bucket and key.
    Template.from_json(endpoint_stage_template).has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            "DataCaptureConfig": Match.object_like(
                {
                    "DestinationS3Uri": {"Fn::Join": ["", ["s3://", CAPTURE_BUCKET, "/data-capture"]]},
                    "KmsKeyId": CAPTURE_KEY,
                }
            )
        },
    )


def test_resource_logical_ids_stay(endpoint_stage_template):
    assert sorted(endpoint_stage_template["Resources"]) == sorted(STAGE_LOGICAL_IDS)


def test_endpoint_is_named_after_project_and_stage(endpoint_stage_template):
    name = {"Fn::Join": ["", [{"Ref": "SageMakerProjectName"}, "-", {"Ref": "SageMakerProjectId"}, "-", {"Ref": "StageName"}]]}
    template = Template.from_json(endpoint_stage_template)
    template.has_resource_properties("AWS::SageMaker::Endpoint", {"EndpointName": name})
    template.has_output("EndpointName", {"Value": {"Fn::GetAtt": [Match.string_like_regexp("^Endpoint"), "EndpointName"]}})
    template.has_resource_properties("AWS::CloudWatch::Alarm", {"Dimensions": Match.array_with([{"Name": "EndpointName", "Value": name}])})


def test_rollout_steps_and_volume_key_are_decided_by_conditions(endpoint_stage_template):
    template = Template.from_json(endpoint_stage_template)
    conditions = endpoint_stage_template["Conditions"]
    canary = next(k for k in conditions if "CanaryTraffic" in k)
    linear = next(k for k in conditions if "LinearTraffic" in k)
    local = next(k for k in conditions if "LocalStorage" in k)
    scaling = next(k for k in conditions if "AutoscalingEnabled" in k)
    assert conditions[canary] == {"Fn::Equals": [{"Ref": "TrafficRoutingType"}, "CANARY"]}
    step = {"Type": {"Ref": "TrafficStepType"}, "Value": {"Ref": "TrafficStepSize"}}
    template.has_resource_properties(
        "AWS::SageMaker::Endpoint",
        {
            "DeploymentConfig": {
                "BlueGreenUpdatePolicy": Match.object_like(
                    {
                        "TrafficRoutingConfiguration": {
                            "Type": {"Ref": "TrafficRoutingType"},
                            "WaitIntervalInSeconds": {"Ref": "TrafficWaitIntervalSeconds"},
                            "CanarySize": {"Fn::If": [canary, step, {"Ref": "AWS::NoValue"}]},
                            "LinearStepSize": {"Fn::If": [linear, step, {"Ref": "AWS::NoValue"}]},
                        }
                    }
                ),
                "AutoRollbackConfiguration": {"Alarms": Match.any_value()},
            }
        },
    )
    template.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {"KmsKeyId": {"Fn::If": [local, {"Ref": "AWS::NoValue"}, CAPTURE_KEY]}},
    )
    families = re.findall(r'"Fn::Equals": \[\{"Fn::Select": \[1, \{"Fn::Split": \["\.", \{"Ref": "InstanceType"\}\]\}\]\}, "([a-z0-9-]+)"\]', json.dumps(conditions[local]))
    assert {"g5", "m5d", "p4d"} <= set(families) and "m5" not in families
    for resource in endpoint_stage_template["Resources"].values():
        if resource["Type"].startswith("AWS::ApplicationAutoScaling::"):
            assert resource["Condition"] == scaling


def test_resource_inventory(endpoint_stage_template):
    types = sorted(resource["Type"] for resource in endpoint_stage_template["Resources"].values())
    assert types == [
        "AWS::ApplicationAutoScaling::ScalableTarget",
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        "AWS::CloudFormation::WaitConditionHandle",
        "AWS::CloudWatch::Alarm",
        "AWS::CloudWatch::Alarm",
        "AWS::IAM::ManagedPolicy",
        "AWS::IAM::Role",
        "AWS::KMS::Key",
        "AWS::S3::Bucket",
        "AWS::S3::Bucket",
        "AWS::S3::BucketPolicy",
        "AWS::S3::BucketPolicy",
        "AWS::SageMaker::Endpoint",
        "AWS::SageMaker::EndpointConfig",
        "AWS::SageMaker::Model",
    ]


STAGE_REQUIRED = {
    "StageName": "staging",
    "ModelPackageArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/abalone-p-0123456789ab/3",
    "ArtifactBucketName": "sagemaker-project-p-0123456789ab",
    "ArtifactKmsKeyArn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab",
    "ModelArtifactBucketName": "sagemaker-project-p-0123456789ab",
    "ExecutionRoleArn": "",
}


def test_the_own_model_role_pulls_the_named_repository_of_this_account_and_awss_images(endpoint_stage_template):
    """ModelImageRepositoryName (build.py: the model package's image is in this account's ECR)
    adds a pull of that one repository, in this account and region; empty, the role pulls AWS's
    images only. No repository pattern has a wildcard but the account of AWS's images."""
    spec = endpoint_stage_template["Parameters"]["ModelImageRepositoryName"]
    assert spec["Default"] == ""
    pattern = spec["AllowedPattern"].strip("^$")
    for good in ("", "sagemaker-p-0123456789ab-inference", "team/model.serve_1"):
        assert re.fullmatch(pattern, good), good
    for bad in ("Upper", "a*", "-a", "a/", "arn:aws:ecr:eu-west-1:123456789012:repository/a"):
        assert not re.fullmatch(pattern, bad), bad
    repository = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/sagemaker-p-0123456789ab-inference"
    aws_image = f"arn:aws:ecr:{REGION}:683313688378:repository/sagemaker-xgboost"
    pulls = ("ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage")
    for name, pulled in (("", False), ("sagemaker-p-0123456789ab-inference", True)):
        policy = role_policy(
            endpoint_stage_template, "EndpointRole47E61C54", parameters={**STAGE_REQUIRED, "ModelImageRepositoryName": name}
        )
        for action in pulls:
            assert policy.allowed(action, aws_image), (name, action)
            assert policy.allowed(action, repository) is pulled, (name, action)
            assert not policy.allowed(action, f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/sagemaker-p-0ther-inference")
            assert not policy.allowed(action, repository.replace(ACCOUNT, "210987654321"))
            assert not policy.allowed(action, repository.replace(REGION, "eu-central-1"))
        assert policy.allowed("ecr:GetAuthorizationToken", "*")
        assert not policy.allowed("ecr:PutImage", repository)
    (statement,) = _policy_statements(endpoint_stage_template)["ecr:BatchGetImage"]
    # No optional resource in IAM: without a name, its entry repeats AWS's first repository.
    optional, aws_repository = statement["Resource"]
    assert optional["Fn::If"][0] == "ModelImageInThisAccount" and optional["Fn::If"][2] == aws_repository
    assert ":repository/*" not in json.dumps(statement)


def test_a_stage_in_another_account_keeps_its_data_there_and_runs_as_the_given_role(endpoint_stage_template):
    """Empty bucket and key: the stack's own (retained) key and buckets; a given role: no role
    or policy of its own, and the stage bucket and key let that role write captured data."""
    resources = endpoint_stage_template["Resources"]
    conditions = endpoint_stage_template["Conditions"]
    assert conditions["StageOwnStorage"] == {"Fn::Equals": [{"Ref": "ArtifactBucketName"}, ""]}
    assert conditions["StageOwnExecutionRole"] == {"Fn::Equals": [{"Ref": "ExecutionRoleArn"}, ""]}
    storage = {i for i, r in resources.items() if r.get("Condition") == "StageOwnStorage"}
    assert {resources[i]["Type"] for i in storage} == {"AWS::KMS::Key", "AWS::S3::Bucket", "AWS::S3::BucketPolicy"}
    for logical_id in storage:
        if resources[logical_id]["Type"] in ("AWS::KMS::Key", "AWS::S3::Bucket"):
            assert resources[logical_id]["DeletionPolicy"] == "Retain", logical_id
    assert {i for i, r in resources.items() if r.get("Condition") == "StageOwnExecutionRole"} == {
        "EndpointRole47E61C54",
        "EndpointPolicyA1BBD448",
    }
    model = resources["EndpointModel0F230181"]
    assert model["Properties"]["ExecutionRoleArn"] == {
        "Fn::If": ["StageOwnExecutionRole", {"Fn::GetAtt": ["EndpointRole47E61C54", "Arn"]}, {"Ref": "ExecutionRoleArn"}]
    }
    # DependsOn may not name a resource whose condition is false: a handle refers to them instead.
    for logical_id in ("EndpointModel0F230181", "Endpoint8024A810"):
        assert resources[logical_id]["DependsOn"] == ["ExecutionRoleReady"]
    assert resources["ExecutionRoleReady"]["Metadata"] == {
        "Role": {"Fn::If": ["StageOwnExecutionRole", {"Ref": "EndpointRole47E61C54"}, ""]},
        "Policy": {"Fn::If": ["StageOwnExecutionRole", {"Ref": "EndpointPolicyA1BBD448"}, ""]},
    }
    given = {"Fn::If": ["StageGivenExecutionRole", Match.any_value(), {"Ref": "AWS::NoValue"}]}
    bucket_statements = resources["StageStorageBucketPolicy520F13CE"]["Properties"]["PolicyDocument"]["Statement"]
    (write,) = [s["Fn::If"][1] for s in bucket_statements if "Fn::If" in s]
    assert write["Principal"] == {"AWS": {"Ref": "ExecutionRoleArn"}} and write["Action"] == "s3:PutObject"
    key_statements = resources["StageStorageKey3261DDDD"]["Properties"]["KeyPolicy"]["Statement"]
    encrypt, grant = [s["Fn::If"][1] for s in key_statements if "Fn::If" in s]
    assert encrypt["Principal"] == {"AWS": {"Ref": "ExecutionRoleArn"}}
    assert sorted(encrypt["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    # Model Monitor's jobs run as the given role with this key as VolumeKmsKeyId: SageMaker
    # creates a grant for their volumes, as the role (for AWS resources only).
    assert grant["Principal"] == {"AWS": {"Ref": "ExecutionRoleArn"}} and grant["Action"] == "kms:CreateGrant"
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    assert given  # the shape both conditional statements have
    rule = endpoint_stage_template["Rules"]["BucketAndKeyTogether"]
    assert "ArtifactKmsKeyArn" in json.dumps(rule) and "ArtifactBucketName" in json.dumps(rule)


def test_a_stage_in_another_account_names_its_buckets_after_its_stack_uuid(endpoint_stage_template):
    """Every bucket the stage creates (its own storage only) is named <prefix><stack uuid>, a
    valid bucket name of at most 63 characters, distinct prefixes, none like SageMaker's own
    buckets (sagemaker-<region>-<account>, Studio's, native projects'): the target baseline's
    roles are scoped to exactly these prefixes."""
    from iam_eval import Resolver
    from sagemaker_projects_cdk.constructs.deploy.targets import STAGE_DATA_BUCKET_PREFIX, STAGE_LOG_BUCKET_PREFIX

    resources = endpoint_stage_template["Resources"]
    buckets = {i: r for i, r in resources.items() if r["Type"] == "AWS::S3::Bucket"}
    assert all(r.get("Condition") == "StageOwnStorage" for r in buckets.values())
    stack_id = "arn:aws:cloudformation:eu-west-1:123456789012:stack/sagemaker-churn-p-abc123def456-deploy-staging/" \
        "0a1b2c3d-4e5f-6789-abcd-ef0123456789"

    class StackResolver(Resolver):
        def pseudo(self, name: str):
            return stack_id if name == "AWS::StackId" else super().pseudo(name)

    resolver = StackResolver(endpoint_stage_template)
    names = {i: resolver.resolve(r["Properties"]["BucketName"]) for i, r in buckets.items()}
    assert names == {
        "StageStorageBucket3206B1C6": f"{STAGE_DATA_BUCKET_PREFIX}0a1b2c3d-4e5f-6789-abcd-ef0123456789",
        "StageStorageAccessLogs269E208D": f"{STAGE_LOG_BUCKET_PREFIX}0a1b2c3d-4e5f-6789-abcd-ef0123456789",
    }
    bucket_name = re.compile(r"(?!xn--)(?!sthree-)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
    for name in names.values():
        assert bucket_name.fullmatch(name) and len(name) <= 63 and ".." not in name, name
    assert STAGE_DATA_BUCKET_PREFIX != STAGE_LOG_BUCKET_PREFIX
    assert not any(p.startswith(q) for p in (STAGE_DATA_BUCKET_PREFIX, STAGE_LOG_BUCKET_PREFIX)
                   for q in ("sagemaker-eu-", "sagemaker-us-", "sagemaker-project-", "sagemaker-studio"))


def test_cfn_lint_reports_nothing_on_the_checked_in_template():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "parseable", "--", str(STAGE_TEMPLATE_PATH)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_stage_name_parameter_holds_deploy_stages_rule(endpoint_stage_template):
    import re

    from sagemaker_projects_cdk.constructs.deploy.stages import DeployStage

    parameter = endpoint_stage_template["Parameters"]["StageName"]
    assert parameter["MaxLength"] == 15
    pattern = parameter["AllowedPattern"]
    # Every name DeployStage takes passes the parameter; the hyphen-padded one the pattern alone
    # would let through is stopped by MaxLength, as DeployStage stops it.
    for name in ("staging", "prod", "pre-prod", "a" * 15):
        DeployStage(name=name)
        assert re.fullmatch(pattern.strip("^$"), name) and len(name) <= parameter["MaxLength"]
    padded = "a" + "-" * 15 + "b"
    assert re.fullmatch(pattern.strip("^$"), padded) and len(padded) > parameter["MaxLength"]


def test_checked_in_template_fits_a_create_stack_call_inline():
    """CloudFormation takes a template of at most 51,200 bytes inline (``TemplateBody``), 1 MB from
    S3. The deploy pipeline's CloudFormation action reads the file from the build artifact and
    AWS does not document which of the two it passes, so the stage template stays within the
    smaller limit (42.7 KB when the cross-account storage was added)."""
    size = STAGE_TEMPLATE_PATH.stat().st_size
    assert size <= 51_200, f"the stage template is {size} bytes: more than CloudFormation takes inline"
