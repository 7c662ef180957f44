"""Roles that AWS services assume to run the pipelines and the endpoint may do what those services do, and not much more.

CodePipeline (``AWS::CodePipeline::Pipeline``, derived from each pipeline's declaration in the
template, per the CodePipeline user guide: "Manage the CodePipeline service role" and the
action references for CodeCommit, CodeBuild, CloudFormation and manual approval):

- the pipeline's role assumes each action's role (``sts:AssumeRole``: an action with a
  ``RoleArn`` runs with it) and reads and writes the artifact store with its key (the
  default service role policy: ``s3:GetObject``, ``s3:GetBucketVersioning``, ``s3:PutObject``);
- a CodeCommit source action: ``codecommit:GetBranch``, ``GetCommit``, ``UploadArchive``,
  ``GetUploadArchiveStatus``, ``CancelUploadArchive`` on the repository, and writes its
  output artifact (``s3:PutObject``, ``kms:GenerateDataKey`` via S3);
- a CodeConnections source action (``CodeStarSourceConnection``): ``UseConnection`` (either
  prefix) on the connection tagged ``sagemaker=true`` for its repository, and writes its
  output artifact, with an ACL (``s3:PutObject``, ``s3:PutObjectAcl``, ``kms:GenerateDataKey``
  via S3; aws/aws-cdk#13557);
- a CodeBuild action: ``codebuild:StartBuild`` and ``BatchGetBuilds`` on the project
  (``StopBuild`` when an execution is stopped);
- a CloudFormation action (``REPLACE_ON_FAILURE`` mode, or ``CREATE_UPDATE`` without the delete): reads its input artifact
  (``s3:GetObject``, ``kms:Decrypt`` via S3), ``cloudformation:DescribeStacks``,
  ``CreateStack``, ``UpdateStack``, ``DeleteStack`` (a failed stack is replaced),
  ``DescribeStackEvents`` (the failure's reason in the action's error), and
  ``iam:PassRole`` of its ``RoleArn`` to CloudFormation;
- a manual approval: nothing;
- EventBridge (``AWS::Events::Rule`` targets with a role): ``codepipeline:StartPipelineExecution``
  on the target pipeline.

The endpoint's model role (the seed's endpoint stage, ``constructs/endpoint/_policy.py``):
SageMaker pulls the model package's image (the XGBoost image, from AWS's account for the
region), reads its ``ModelDataUrl`` in the model artifact bucket (S3 decrypting with that
bucket's key), writes captured data under ``data-capture/`` (S3 encrypting with the project
key), writes the endpoint's logs and metrics, and reads the rollback alarms during a
blue/green update (``cloudwatch:DescribeAlarms``; SageMaker developer guide, deployment
guardrails: auto-rollback configuration).
"""

from __future__ import annotations

from typing import Any

import pytest
from role_checks import RoleCheck, all_templates, missing, request, role_policy_with_managed, the_one, unneeded

from call_recorder import SAMPLE_STACK_ID  # noqa: I001  (on the path once role_checks is imported)
from iam_eval import Resolver

REGION, ACCOUNT = "us-east-1", "123456789012"
#: The XGBoost image's registry account in us-east-1 (SageMaker's algorithm images).
XGBOOST_ACCOUNT = "683313688378"

CDK_READ_WRITE = "aws-cdk-lib's artifact bucket grant_read_write (pipeline and source action roles)"
CDK_READ = "aws-cdk-lib's artifact bucket grant_read (CloudFormation action roles)"
CDK_KEY = "aws-cdk-lib's grant on the artifact key, added with the bucket grant"
CDK_CFN = "aws-cdk-lib's CloudFormation action grant (stack policies, template reads and validation some modes use)"
NOT_NEEDED: dict[str, dict[str, str]] = {
    "pipeline": {
        "s3:Abort*": CDK_READ_WRITE,
        "s3:DeleteObject*": CDK_READ_WRITE,
        "s3:List*": CDK_READ_WRITE,
        "s3:PutObjectLegalHold": CDK_READ_WRITE,
        "s3:PutObjectRetention": CDK_READ_WRITE,
        "s3:PutObjectTagging": CDK_READ_WRITE,
        "s3:PutObjectVersionTagging": CDK_READ_WRITE,
        "kms:DescribeKey": CDK_KEY,
        "kms:Encrypt": CDK_KEY,
        "kms:ReEncrypt*": CDK_KEY,
    },
    "Source/CodeCommit": {
        "s3:Abort*": CDK_READ_WRITE,
        "s3:DeleteObject*": CDK_READ_WRITE,
        "s3:GetBucket*": CDK_READ_WRITE,
        "s3:GetObject*": CDK_READ_WRITE,
        "s3:List*": CDK_READ_WRITE,
        "s3:PutObjectLegalHold": CDK_READ_WRITE,
        "s3:PutObjectRetention": CDK_READ_WRITE,
        "s3:PutObjectTagging": CDK_READ_WRITE,
        "s3:PutObjectVersionTagging": CDK_READ_WRITE,
        "kms:Decrypt": CDK_KEY,
        "kms:DescribeKey": CDK_KEY,
        "kms:Encrypt": CDK_KEY,
        "kms:ReEncrypt*": CDK_KEY,
    },
    "Source/CodeStarSourceConnection": {
        "s3:Abort*": CDK_READ_WRITE,
        "s3:DeleteObject*": CDK_READ_WRITE,
        "s3:GetBucket*": CDK_READ_WRITE,
        "s3:GetObject*": CDK_READ_WRITE,
        "s3:List*": CDK_READ_WRITE,
        "s3:PutObjectLegalHold": CDK_READ_WRITE,
        "s3:PutObjectRetention": CDK_READ_WRITE,
        "s3:PutObjectTagging": CDK_READ_WRITE,
        "s3:PutObjectVersionTagging": CDK_READ_WRITE,
        "s3:PutObjectVersionAcl": "aws-cdk-lib's grant_put_acl (s3:PutObjectAcl is needed, its version twin comes with it)",
        "kms:Decrypt": CDK_KEY,
        "kms:DescribeKey": CDK_KEY,
        "kms:Encrypt": CDK_KEY,
        "kms:ReEncrypt*": CDK_KEY,
    },
    "Build/CodeBuild": {},
    "Deploy/CloudFormation": {
        "s3:GetBucket*": CDK_READ,
        "s3:List*": CDK_READ,
        "kms:DescribeKey": CDK_KEY,
        "cloudformation:GetStackPolicy": CDK_CFN,
        "cloudformation:SetStackPolicy": CDK_CFN,
        "cloudformation:GetTemplate*": CDK_CFN,
        "cloudformation:ValidateTemplate": CDK_CFN,
    },
    "Approval/Manual": {},
    "events": {},
}


@pytest.fixture(scope="module")
def templates(assembly) -> dict[str, dict]:
    return all_templates(assembly)


def _role_id(value: Any) -> str:
    assert set(value) == {"Fn::GetAtt"} and value["Fn::GetAtt"][1] == "Arn", value
    return value["Fn::GetAtt"][0]


#: Values of the build-deploy-git template's parameters that have no default.
GIT_PARAMETERS = {
    "CodeConnectionArn": f"arn:aws:codeconnections:{REGION}:{ACCOUNT}:connection/0b7e4f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
    "ModelBuildRepositoryFullName": "acme/churn-build",
    "ModelDeployRepositoryFullName": "acme/churn-deploy",
}


def _in_this_account(resolver: Resolver, value: Any) -> Any:
    """An action's role in this account: a stage elsewhere (issue 13) is an ``Fn::If`` on its
    ``<Stage>InOtherAccount`` condition, false with the templates' default (empty) targets."""
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        condition, other, same = value["Fn::If"]
        return other if resolver.condition(condition) else same
    return value


def pipeline_checks(template: dict) -> dict[str, RoleCheck]:
    """Per role id of the template's pipelines and their event rules: what CodePipeline and EventBridge do with it."""
    declared = template.get("Parameters", {})
    resolver = Resolver(template, parameters={k: v for k, v in GIT_PARAMETERS.items() if k in declared})
    resources = template["Resources"]
    checks: dict[str, RoleCheck] = {}
    for pipeline in resources.values():
        if pipeline["Type"] != "AWS::CodePipeline::Pipeline":
            continue
        properties = pipeline["Properties"]
        name = resolver.resolve(properties["Name"])
        store = resolver.resolve(properties["ArtifactStore"])
        bucket, key = store["Location"], store["EncryptionKey"]["Id"]
        via_s3 = {"kms:ViaService": f"s3.{REGION}.amazonaws.com", "kms:EncryptionContext:aws:s3:arn": f"arn:aws:s3:::{bucket}"}
        why = f"pipeline {name}"
        pipeline_role = _role_id(properties["RoleArn"])
        requests = [
            request("s3:GetBucketVersioning", f"arn:aws:s3:::{bucket}", why + " artifact store"),
            request("s3:GetObject", f"arn:aws:s3:::{bucket}/{name[:20]}/SourceArti/abc123", why + " artifact store"),
            request("s3:PutObject", f"arn:aws:s3:::{bucket}/{name[:20]}/SourceArti/abc123", why + " artifact store"),
            request("kms:Decrypt", key, why + " artifact store", via_s3),
            request("kms:GenerateDataKey", key, why + " artifact store", via_s3),
        ]
        for stage in properties["Stages"]:
            for action in stage["Actions"]:
                kind = f"{action['ActionTypeId']['Category']}/{action['ActionTypeId']['Provider']}"
                role_id = _role_id(_in_this_account(resolver, action["RoleArn"]))
                requests.append(request("sts:AssumeRole", resolver.get_att(role_id, "Arn"), f"{why} runs {action['Name']}"))
                label = f"{role_id} ({kind} action {action['Name']})"
                configuration = resolver.resolve(action.get("Configuration", {}))
                said = f"{why} action {action['Name']}"
                artifact = f"arn:aws:s3:::{bucket}/{name[:20]}/{action['Name'][:10]}/xyz789"
                if kind == "Source/CodeCommit":
                    repository = f"arn:aws:codecommit:{REGION}:{ACCOUNT}:{configuration['RepositoryName']}"
                    needed = [request(f"codecommit:{a}", repository, said) for a in ("GetBranch", "GetCommit", "UploadArchive", "GetUploadArchiveStatus", "CancelUploadArchive")]
                    needed += [request("s3:PutObject", artifact, said + " output"), request("kms:GenerateDataKey", key, said + " output", via_s3)]
                elif kind == "Source/CodeStarSourceConnection":
                    # CodePipeline uses the connection (either prefix checked) to read the branch;
                    # the connection is tagged sagemaker=true (README). Whether the request carries
                    # ProviderPermissionsRequired, and with which value, is not documented: the role
                    # must allow it with read_only, read_write, or without it.
                    connection, full_name = configuration["ConnectionArn"], configuration["FullRepositoryId"]
                    needed = [
                        request(
                            f"{service}:UseConnection",
                            connection.replace(":codeconnections:", f":{service}:"),
                            f"{said} ({permissions or 'no ProviderPermissionsRequired'})",
                            {
                                "aws:ResourceTag/sagemaker": "true",
                                f"{service}:FullRepositoryId": full_name,
                                **({f"{service}:ProviderPermissionsRequired": permissions} if permissions else {}),
                            },
                        )
                        for service in ("codeconnections", "codestar-connections")
                        for permissions in ("read_only", "read_write", None)
                    ]
                    # The output is uploaded with an ACL: without s3:PutObjectAcl the action fails
                    # "Upload to S3 failed ... Access Denied" (aws/aws-cdk#13557, fixed in #13637 by
                    # granting it always, zip or clone reference).
                    needed += [
                        request("s3:PutObject", artifact, said + " output"),
                        request("s3:PutObjectAcl", artifact, said + " output (uploaded with an ACL)"),
                        request("kms:GenerateDataKey", key, said + " output", via_s3),
                    ]
                elif kind == "Build/CodeBuild":
                    project = f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/{configuration['ProjectName']}"
                    needed = [request(f"codebuild:{a}", project, said) for a in ("StartBuild", "BatchGetBuilds", "StopBuild")]
                elif kind == "Deploy/CloudFormation":
                    mode = configuration["ActionMode"]
                    assert mode in ("REPLACE_ON_FAILURE", "CREATE_UPDATE"), configuration
                    stack = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{configuration['StackName']}/{SAMPLE_STACK_ID}"
                    calls = ("DescribeStacks", "CreateStack", "UpdateStack", "DescribeStackEvents")
                    # Replacing a failed stack deletes it first.
                    calls += ("DeleteStack",) if mode == "REPLACE_ON_FAILURE" else ()
                    needed = [request(f"cloudformation:{a}", stack, said) for a in calls]
                    needed += [
                        request("iam:PassRole", configuration["RoleArn"], said, {"iam:PassedToService": "cloudformation.amazonaws.com"}),
                        request("s3:GetObject", artifact, said + " input"),
                        request("kms:Decrypt", key, said + " input", via_s3),
                    ]
                elif kind == "Approval/Manual":
                    assert "NotificationArn" not in configuration
                    needed = []
                else:
                    raise AssertionError(f"no derivation for a {kind} action: add one")
                assert role_id not in checks, f"{role_id} serves two actions"
                checks[role_id] = RoleCheck(label, role_policy_with_managed(resolver, role_id), needed, NOT_NEEDED[kind])
        checks[pipeline_role] = RoleCheck(f"{pipeline_role} (pipeline {name})", role_policy_with_managed(resolver, pipeline_role), requests, NOT_NEEDED["pipeline"])
    for rule_id, rule in resources.items():
        if rule["Type"] != "AWS::Events::Rule":
            continue
        for target in rule["Properties"]["Targets"]:
            if "RoleArn" not in target:
                continue
            role_id = _role_id(target["RoleArn"])
            arn = resolver.resolve(target["Arn"])
            assert arn.startswith(f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:"), arn
            needed = [request("codepipeline:StartPipelineExecution", arn, f"rule {rule_id}")]
            if role_id in checks:
                needed = checks[role_id].requests + needed
            checks[role_id] = RoleCheck(f"{role_id} (EventBridge)", role_policy_with_managed(resolver, role_id), needed, NOT_NEEDED["events"])
    return checks


PIPELINE_TEMPLATES = [
    "model-build", "model-deploy", "build-deploy", "build-deploy-git", "image-build-deploy", "build-deploy-monitor",
    "studio/model-build", "studio/model-deploy", "studio/build-deploy", "studio/build-deploy-git", "studio/image-build-deploy",
    "studio/build-deploy-monitor",
]


@pytest.mark.parametrize("name", PIPELINE_TEMPLATES)
def test_the_codepipeline_and_eventbridge_roles_may_do_what_the_services_do(templates, name):
    checks = pipeline_checks(templates[name])
    labels = " ".join(c.label for c in checks.values())
    source = "Source/CodeStarSourceConnection action" if name.endswith("-git") else "Source/CodeCommit action"
    for kind in ("(pipeline ", source, "Build/CodeBuild action", "(EventBridge)"):
        assert kind in labels, labels
    assert [m for c in checks.values() for m in missing(c)] == []
    assert [u for c in checks.values() for u in unneeded(c)] == []


def test_every_pipeline_template_is_checked(templates):
    assert sorted(n for n, t in templates.items() if any(r["Type"] == "AWS::CodePipeline::Pipeline" for r in t["Resources"].values())) == sorted(PIPELINE_TEMPLATES)


# ----------------------------------------------------------------- the endpoint's model role

GROUP = "churn-p-abc123def456"
PROJECT_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/project-key"
SOURCE_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/source-key"
ENDPOINT_SCENARIOS = {
    "own bucket and key": {"ModelArtifactBucketName": "sagemaker-project-p-abc123def456", "ModelArtifactKmsKeyArn": ""},
    "source bucket and key": {"ModelArtifactBucketName": "sagemaker-project-p-0ther0project", "ModelArtifactKmsKeyArn": SOURCE_KEY},
    # image-build-deploy: the registered model runs the project's inference image (build.py names its repository).
    "the project's own image": {
        "ModelArtifactBucketName": "sagemaker-project-p-abc123def456",
        "ModelArtifactKmsKeyArn": "",
        "ModelImageRepositoryName": "sagemaker-p-abc123def456-inference",
    },
}
ENDPOINT_NOT_NEEDED = {
    "s3:ListBucket": "lets SageMaker tell a missing model artifact (404) from a denied one (403)",
}


@pytest.mark.parametrize("scenario", list(ENDPOINT_SCENARIOS))
def test_the_endpoint_model_role_may_do_what_sagemaker_does_with_it(templates, scenario):
    template = templates["endpoint-stage"]
    parameters = {
        "SageMakerProjectName": "churn",
        "SageMakerProjectId": "p-abc123def456",
        "StageName": "staging",
        "ModelPackageArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{GROUP}/3",
        "ArtifactBucketName": "sagemaker-project-p-abc123def456",
        "ArtifactKmsKeyArn": PROJECT_KEY,
        "ExecutionRoleArn": "",  # the stage's own role (in the project's account)
        **ENDPOINT_SCENARIOS[scenario],
    }
    resolver = Resolver(template, parameters=parameters, region=REGION, account=ACCOUNT)
    (role_id,) = [i for i, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role"]
    def properties(kind: str, *names: str) -> dict:
        (found,) = [r["Properties"] for r in template["Resources"].values() if r["Type"] == kind]
        return {n: resolver.resolve(found[n]) for n in names}

    endpoint = properties("AWS::SageMaker::Endpoint", "EndpointName", "DeploymentConfig")
    config = properties("AWS::SageMaker::EndpointConfig", "DataCaptureConfig")
    name = endpoint["EndpointName"]
    artifacts_bucket = parameters["ModelArtifactBucketName"]
    artifacts_key = parameters["ModelArtifactKmsKeyArn"] or PROJECT_KEY
    capture_bucket, _, capture_prefix = config["DataCaptureConfig"]["DestinationS3Uri"][len("s3://") :].partition("/")
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/{name}"
    stream = f"{group}:log-stream:AllTraffic/i-0123456789abcdef0"
    own_image = parameters.get("ModelImageRepositoryName")
    image_repository = (
        f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{own_image}"
        if own_image
        else f"arn:aws:ecr:{REGION}:{XGBOOST_ACCOUNT}:repository/sagemaker-xgboost"
    )
    requests = [
        request("ecr:GetAuthorizationToken", "*", "image"),
        *(
            request(f"ecr:{a}", image_repository, "image")
            for a in ("BatchCheckLayerAvailability", "GetDownloadUrlForLayer", "BatchGetImage")
        ),
        request("s3:GetObject", f"arn:aws:s3:::{artifacts_bucket}/{GROUP}/exec-1/train/job/output/model.tar.gz", "ModelDataUrl"),
        request("kms:Decrypt", artifacts_key, "ModelDataUrl (SSE-KMS)", {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}),
        request("s3:PutObject", f"arn:aws:s3:::{capture_bucket}/{capture_prefix}/{name}/AllTraffic/2025/01/01/00/capture.jsonl", "data capture"),
        request("kms:GenerateDataKey", config["DataCaptureConfig"]["KmsKeyId"], "data capture (SSE-KMS)", {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}),
        request("logs:CreateLogGroup", f"{group}:log-stream:", "logs"),
        request("logs:DescribeLogStreams", f"{group}:log-stream:", "logs"),
        request("logs:CreateLogStream", stream, "logs"),
        request("logs:PutLogEvents", stream, "logs"),
        request("cloudwatch:PutMetricData", "*", "metrics", {"cloudwatch:namespace": "/aws/sagemaker/Endpoints"}),
        *(
            request("cloudwatch:DescribeAlarms", f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{alarm['AlarmName']}", "auto-rollback")
            for alarm in endpoint["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
        ),
    ]
    assert config["DataCaptureConfig"]["KmsKeyId"] == PROJECT_KEY
    check = RoleCheck(f"endpoint-stage {role_id} ({scenario})", role_policy_with_managed(resolver, role_id), requests, ENDPOINT_NOT_NEEDED)
    assert missing(check) == []
    assert unneeded(check) == []
    # This account's repositories: the one named only, and none without a name.
    other_repository = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/sagemaker-p-0ther0project-inference"
    assert not check.policy.allowed("ecr:BatchGetImage", other_repository)
    assert check.policy.allowed("ecr:BatchGetImage", f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{own_image}") is bool(own_image)
    # Another bucket's objects are not readable.
    assert not check.policy.allowed("s3:GetObject", "arn:aws:s3:::another-bucket/model.tar.gz")


# ----------------------------------------------------------------- the Jenkins trigger's EventBridge role


def test_the_jenkins_trigger_role_may_invoke_its_api_destination_only(templates):
    """EventBridge calls an API destination target as the target's role: ``events:InvokeApiDestination``
    on that destination (EventBridge user guide, "API destinations": permissions)."""
    template = templates["build-deploy-jenkins"]
    role_id = the_one(template, "AWS::IAM::Role", "JenkinsTriggerDestinationEventsRole")
    destination_id = the_one(template, "AWS::Events::ApiDestination", "JenkinsTriggerDestination")
    # EventBridge names a destination <name>/<uuid> (CloudFormation generates the name).
    destination = f"arn:aws:events:{REGION}:{ACCOUNT}:api-destination/BuildDeployJenkins-Destination-1A2B3C/0b7e4f3a-1c2d-4e5f"
    resolver = Resolver(
        template,
        parameters={"SageMakerProjectName": "churn", "SageMakerProjectId": "p-abc123def456"},
        attributes={(destination_id, "Arn"): destination},
        region=REGION,
        account=ACCOUNT,
    )
    # The rule's one target is the destination, invoked as this role.
    (rule_id,) = [i for i, r in template["Resources"].items() if r["Type"] == "AWS::Events::Rule" and i.startswith("JenkinsTrigger")]
    (target,) = template["Resources"][rule_id]["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [destination_id, "Arn"]}
    assert target["RoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
    trust = template["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "events.amazonaws.com"}]
    check = RoleCheck(
        "the Jenkins trigger's EventBridge role",
        role_policy_with_managed(resolver, role_id),
        [request("events:InvokeApiDestination", destination, "EventBridge delivering an approval to Jenkins")],
    )
    assert missing(check) == []
    assert unneeded(check) == []
    assert not check.policy.allowed("events:InvokeApiDestination", destination.replace("Destination-1A2B3C", "Other-4D5E6F"))
