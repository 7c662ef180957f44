"""The roles that run seed code may make every AWS call the code makes, and not much more.

Each scenario runs seed code as its CodeBuild project runs it, with the environment the
synthesized template gives that project (resolved with concrete parameter values), against
moto, recording every AWS API call (``call_recorder``). Each call's IAM requests (action,
resource ARN, context, and what AWS does on the caller's behalf, such as ``kms:Decrypt`` via
S3) are then evaluated against the project role's policies in that template
(``iam_eval``): moto enforces no IAM, so this is what a real account would check.

The other way round, every action a role's policies allow must be needed by a recorded call
or be listed in ``NOT_CALLED_BY_THE_SEED`` with the reason it is there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
from botocore.stub import Stubber

from call_recorder import IamRequest, iam_requests, install, read_calls, recording_env
from iam_eval import Policy, Resolver, action_matches, role_policy_documents
from model_deploy_support import (
    ACCOUNT,
    REGION,
    SEED,
    aws_environment,
    client,
    load_change_record_module,
    moto_server,
    queue_endpoint_results,
    register_versions,
    run_script,
)
from support import moto_environment

PROJECT, PROJECT_ID = "churn", "p-abc123def456"
PROJECT_BUCKET = f"sagemaker-project-{PROJECT_ID}"
#: The registering (model-build) project of a standalone model-deploy project.
SOURCE_BUCKET, SOURCE_GROUP = "sagemaker-project-p-0ther0project", "abalone-p-0ther0project"
TEST_ROWS = [f"{label},{i}.5,{i}.25,0.{i}" for i, label in enumerate([3, 7, 9, 11, 4, 6, 8, 10, 12, 5], start=1)]

#: Actions a role's policies allow that no recorded call needs, by role, with the reason.
#: A listed action the recorded calls do need fails the test too (the list must stay true).
CDK_CODEBUILD = "aws-cdk-lib's CodeBuild project grant: CodeBuild itself writes the build's logs and test reports"
CDK_KEY = "aws-cdk-lib's grant on the project key (encrypt/decrypt for artifacts and logs), added with the bucket grant"
CDK_BUCKET_RW = "aws-cdk-lib's bucket.grant_read_write: CodeBuild reads the source and writes the output artifact"
CDK_BUCKET_READ = "aws-cdk-lib's bucket.grant_read: CodeBuild reads the input artifact"
_CODEBUILD = {
    "logs:CreateLogGroup": CDK_CODEBUILD,
    "logs:CreateLogStream": CDK_CODEBUILD,
    "logs:PutLogEvents": CDK_CODEBUILD,
    "codebuild:BatchPutCodeCoverages": CDK_CODEBUILD,
    "codebuild:BatchPutTestCases": CDK_CODEBUILD,
    "codebuild:CreateReport": CDK_CODEBUILD,
    "codebuild:CreateReportGroup": CDK_CODEBUILD,
    "codebuild:UpdateReport": CDK_CODEBUILD,
    "kms:DescribeKey": CDK_KEY,
    "kms:Encrypt": CDK_KEY,
    "kms:ReEncrypt*": CDK_KEY,
}
_READ_WRITE = {
    "s3:Abort*": CDK_BUCKET_RW,
    "s3:DeleteObject*": CDK_BUCKET_RW,
    "s3:GetBucket*": CDK_BUCKET_RW,
    "s3:List*": CDK_BUCKET_RW,
    "s3:PutObjectLegalHold": CDK_BUCKET_RW,
    "s3:PutObjectRetention": CDK_BUCKET_RW,
    "s3:PutObjectTagging": CDK_BUCKET_RW,
    "s3:PutObjectVersionTagging": CDK_BUCKET_RW,
}
#: The staging tests of an asynchronous or a batch stage (test_endpoint.py's run_async and
#: run_batch, tested in test_model_deploy_kinds_staging.py); these scenarios deploy real-time stages.
_QUEUE_TESTS = dict.fromkeys(
    [
        "sagemaker:InvokeEndpointAsync",
        "s3:PutObject",
        "kms:GenerateDataKey",
        "states:StartExecution",
        "states:DescribeExecution",
        "states:StopExecution",
        "cloudformation:DescribeStacks",
        "cloudformation:DescribeStackResource",
    ],
    "an asynchronous or batch stage's staging test (run_async, run_batch); these scenarios test a real-time stage",
)

NOT_CALLED_BY_THE_SEED: dict[str, dict[str, str]] = {
    "deploy build": {
        **_CODEBUILD,
        **_READ_WRITE,
        "kms:GenerateDataKey*": CDK_KEY,
        "s3:GetObject*": CDK_BUCKET_RW,
        "s3:PutObject": CDK_BUCKET_RW,
        "kms:Decrypt": CDK_KEY,
    },
    "deploy test": {
        **_CODEBUILD,
        "kms:GenerateDataKey*": CDK_KEY,
        "s3:GetBucket*": CDK_BUCKET_READ,
        "s3:List*": CDK_BUCKET_READ,
        **_QUEUE_TESTS,
    },
    "deploy change record": {
        **_CODEBUILD,
        "kms:Decrypt": CDK_KEY,
        "kms:GenerateDataKey*": CDK_KEY,
        "s3:GetObject*": CDK_BUCKET_READ,
        "s3:GetBucket*": CDK_BUCKET_READ,
        "s3:List*": CDK_BUCKET_READ,
    },
    "model build": {
        # s3:GetObject* and kms:Decrypt (aws-cdk-lib's grants) cover run_pipeline's HeadObject
        # on the input data set (its version is recorded as lineage).
        **_CODEBUILD,
        **_READ_WRITE,
        "sagemaker:DescribePipeline": "run_pipeline does not call it; kept for a person debugging the build",
        "sagemaker:ListPipelineExecutionSteps": "run_pipeline lists the failed steps only when an execution fails",
        "sagemaker:StopPipelineExecution": "not called by the seed; lets a build stop its own execution",
    },
}


#: The Jenkins template's parameters without defaults (sample values).
JENKINS_PARAMETERS = {
    "CodeConnectionArn": "arn:aws:codeconnections:us-east-1:123456789012:connection/0b7e4f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
    "ModelBuildRepositoryFullName": "acme/churn-build",
    "ModelDeployRepositoryFullName": "acme/churn-deploy",
    "JenkinsUrl": "https://jenkins.example.com",
    "JenkinsCredentialsSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:jenkins/sagemaker-AbCdEf",
    "JenkinsPrincipalRoleArn": "arn:aws:iam::123456789012:role/jenkins-controller",
}
#: The model build's environment variable -> the Jenkins template's output the seed job reads it from.
JENKINS_OUTPUTS = {
    "SAGEMAKER_PROJECT_NAME": "ProjectName",
    "SAGEMAKER_PROJECT_ID": "ProjectId",
    "SAGEMAKER_PIPELINE_NAME": "SageMakerPipelineName",
    "SAGEMAKER_PIPELINE_ROLE_ARN": "SageMakerPipelineRoleArn",
    "MODEL_PACKAGE_GROUP_NAME": "ModelPackageGroupName",
    "ARTIFACT_BUCKET": "ArtifactBucketName",
    "ARTIFACT_KMS_KEY_ARN": "ArtifactKmsKeyArn",
    "INPUT_DATA_URL": "DatasetS3Url",
    "PROCESSING_INSTANCE_TYPE": "ProcessingInstanceType",
    "TRAINING_INSTANCE_TYPE": "TrainingInstanceType",
}


def codebuild_project(template: dict, prefix: str) -> tuple[str, str]:
    """(project logical id, its role's logical id) of the one CodeBuild project named ``prefix...``."""
    (project_id,) = [
        i for i, r in template["Resources"].items() if r["Type"] == "AWS::CodeBuild::Project" and i.startswith(prefix)
    ]
    role = template["Resources"][project_id]["Properties"]["ServiceRole"]
    assert set(role) == {"Fn::GetAtt"} and role["Fn::GetAtt"][1] == "Arn", role
    return project_id, role["Fn::GetAtt"][0]


def codebuild_environment(resolver: Resolver, project_id: str) -> dict[str, str]:
    """The environment variables the template gives the CodeBuild project, resolved."""
    variables = resolver.resolve(resolver.resources[project_id]["Properties"]["Environment"].get("EnvironmentVariables", []))
    assert all(v.get("Type", "PLAINTEXT") == "PLAINTEXT" for v in variables)
    return {v["Name"]: v["Value"] for v in variables}


def logical_id(template: dict, kind: str, prefix: str) -> str:
    (found,) = [i for i, r in template["Resources"].items() if r["Type"] == kind and i.startswith(prefix)]
    return found


@dataclass(frozen=True)
class RoleRun:
    """What one role's code asked of IAM in one scenario."""

    label: str  # e.g. "model-deploy ModelDeployTestStagingRole... (CodeBuild ModelDeployTestStaging...)"
    kind: str  # a key of NOT_CALLED_BY_THE_SEED
    policy: Policy
    requests: list[IamRequest]
    #: Further actions no call of this scenario needs (by action), with the reason.
    also_not_called: tuple[tuple[str, str], ...] = ()


def missing_permissions(run: RoleRun) -> list[str]:
    return [
        f"{run.label} may not {r.action} on {r.resource} (needed by {r.call}; context {dict(r.context)})"
        for r in run.requests
        if not run.policy.allowed(r.action, r.resource, r.context)
    ]


def unneeded_grants(run: RoleRun) -> list[str]:
    listed = {**(JENKINS_NOT_CALLED if run.kind == "jenkins" else NOT_CALLED_BY_THE_SEED[run.kind]), **dict(run.also_not_called)}
    problems = []
    for pattern, statement in run.policy.allowed_actions():
        needed = any(action_matches(pattern, r.action) for r in run.requests)
        if not needed and pattern not in listed:
            problems.append(f"{run.label} allows {pattern} ({statement.source}), which no recorded call needs")
        if needed and pattern in listed:
            problems.append(f"{run.label}: {pattern} is listed as not called by the seed, but a recorded call needs it")
    return problems


def _role_run(
    template_id: str, template: dict, resolver: Resolver, prefix: str, kind: str, requests: list[IamRequest], also_not_called=()
) -> RoleRun:
    project_id, role_id = codebuild_project(template, prefix)
    return RoleRun(
        f"{template_id} role {role_id} (CodeBuild project {project_id})",
        kind,
        Policy(role_policy_documents(resolver, role_id)),
        requests,
        tuple(also_not_called),
    )


# ----------------------------------------------------------------- model deploy: build and endpoint tests


@dataclass(frozen=True)
class DeployScenario:
    template_id: str
    parameters: dict[str, str]
    #: Where the model artifacts and the test set are, and the key encrypting them (None: the project's).
    data_bucket: str
    data_key: str | None  # "project", "source" or None (not KMS-encrypted)
    #: Actions the staging test role has that this scenario's calls do not need, with the reason.
    test_role_not_called: tuple[tuple[str, str], ...] = ()

    @property
    def group(self) -> str:
        return self.parameters.get("SourceModelPackageGroupName", f"{PROJECT}-{PROJECT_ID}")


DEPLOY_SCENARIOS = {
    "build-deploy": DeployScenario("build-deploy", {}, PROJECT_BUCKET, "project"),
    "model-deploy, own bucket": DeployScenario(
        "model-deploy", {"SourceModelPackageGroupName": f"own-{PROJECT_ID}"}, PROJECT_BUCKET, "project"
    ),
    "model-deploy, source bucket and key": DeployScenario(
        "model-deploy",
        {"SourceModelPackageGroupName": SOURCE_GROUP, "SourceModelArtifactBucketName": SOURCE_BUCKET, "SourceModelArtifactKmsKeyArn": "<source key>"},
        SOURCE_BUCKET,
        "source",
    ),
    "model-deploy, source bucket not KMS-encrypted": DeployScenario(
        "model-deploy",
        {"SourceModelPackageGroupName": f"sse-{SOURCE_GROUP}", "SourceModelArtifactBucketName": f"{SOURCE_BUCKET}-sse"},
        f"{SOURCE_BUCKET}-sse",
        None,
        (("kms:Decrypt", "the test set is not KMS-encrypted here; the project key grant is aws-cdk-lib's (artifacts)"),),
    ),
}


def _resource_tags(sagemaker: Any) -> dict[str, dict[str, str]]:
    """Tags of every SageMaker endpoint, endpoint configuration and model in moto, by ARN (lower case)."""
    arns = [e["EndpointArn"] for e in sagemaker.list_endpoints()["Endpoints"]]
    arns += [c["EndpointConfigArn"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]]
    arns += [m["ModelArn"] for m in sagemaker.list_models()["Models"]]
    return {arn.lower(): {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=arn)["Tags"]} for arn in arns}


def _requests(log: Path, tags: dict[str, dict[str, str]], rename: Callable[[str], str] = str) -> list[IamRequest]:
    found = []
    for call in read_calls(log):
        for request in iam_requests(call, ACCOUNT):
            context = dict(request.context)
            for key, value in tags.get(request.resource.lower(), {}).items():
                context[f"aws:ResourceTag/{key}"] = value
            found.append(IamRequest(request.action, rename(request.resource), context, request.call))
    assert found, f"no AWS call recorded in {log}"
    return found


@pytest.fixture(scope="module")
def deploy_runs(assembly, tmp_path_factory) -> dict[str, tuple[RoleRun, RoleRun, RoleRun]]:
    """Per scenario: the deploy build role's, the staging test role's and the prod change-record
    role's recorded requests."""
    runs = {}
    with moto_server() as url:
        s3, kms, sagemaker, cfn = (client(url, s) for s in ("s3", "kms", "sagemaker", "cloudformation"))
        project_key = kms.create_key(Description="project key")["KeyMetadata"]["Arn"]
        source_key = kms.create_key(Description="the registering project's key")["KeyMetadata"]["Arn"]
        for bucket in (PROJECT_BUCKET, SOURCE_BUCKET, f"{SOURCE_BUCKET}-sse"):
            s3.create_bucket(Bucket=bucket)
        for number, (name, scenario) in enumerate(DEPLOY_SCENARIOS.items()):
            template = assembly.templates[scenario.template_id]
            parameters = {"SageMakerProjectName": PROJECT, "SageMakerProjectId": f"{PROJECT_ID}", **scenario.parameters}
            parameters = {k: source_key if v == "<source key>" else v for k, v in parameters.items()}
            resolver = Resolver(
                template,
                parameters=parameters,
                physical_ids={logical_id(template, "AWS::S3::Bucket", "ArtifactsBucket"): PROJECT_BUCKET},
                attributes={(logical_id(template, "AWS::KMS::Key", "ArtifactsKey"), "Arn"): project_key},
                region=REGION,
                account=ACCOUNT,
            )
            work = tmp_path_factory.mktemp(f"deploy-{number}")
            data_key = {"project": project_key, "source": source_key, None: None}[scenario.data_key]
            test_data = f"{scenario.group}/run-1/test/test.csv"
            encryption = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": data_key} if data_key else {}
            s3.put_object(Bucket=scenario.data_bucket, Key=test_data, Body="\n".join(TEST_ROWS).encode() + b"\n", **encryption)
            register_versions(
                sagemaker,
                scenario.group,
                ["Approved"],
                metadata={"TestDataS3Uri": f"s3://{scenario.data_bucket}/{test_data}"},
                artifact_bucket=scenario.data_bucket,
            )

            build_project, _ = codebuild_project(template, "ModelDeployBuild")
            build_env = aws_environment(url, **codebuild_environment(resolver, build_project))
            out, build_log = work / "build", work / "build-calls.jsonl"
            built = run_script(SEED / "build.py", ["--output-dir", str(out)], recording_env(build_env, build_log))
            assert built.returncode == 0, built.stderr

            # CloudFormation deploys the stage (moto names the endpoint itself).
            config = json.loads((out / "staging-params.json").read_text())
            stack_name = f"{scenario.template_id}-{number}-deploy-staging"
            cfn.create_stack(
                StackName=stack_name,
                TemplateBody=(out / "endpoint-stage.template.json").read_text(),
                Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in config["Parameters"].items()],
                Tags=[{"Key": k, "Value": v} for k, v in config["Tags"].items()],
                Capabilities=["CAPABILITY_IAM"],
            )
            outputs = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=stack_name)["Stacks"][0]["Outputs"]}
            settings = json.loads((out / "staging-test.json").read_text())
            intended, served = settings["endpoint_name"], outputs["EndpointName"]
            (work / "staging-test.json").write_text(json.dumps({**settings, "endpoint_name": served}))
            queue_endpoint_results(url, [f"{i}.25" for i in range(len(TEST_ROWS))] + ["\n".join(["7.5"] * len(TEST_ROWS))])

            test_project, _ = codebuild_project(template, "ModelDeployTestStaging")
            test_env = aws_environment(url, **codebuild_environment(resolver, test_project))
            test_log = work / "test-calls.jsonl"
            tested = run_script(
                SEED / "test" / "test_endpoint.py",
                ["--config", str(work / "staging-test.json"), "--report", str(work / "report.json")],
                recording_env(test_env, test_log),
            )
            assert tested.returncode == 0, tested.stderr

            # The prod change record, in this process: moto has no ListActionExecutions, so the
            # CodePipeline client is stubbed for that call (recorded all the same).
            record_project, _ = codebuild_project(template, "ModelDeployRecordChangeProd")
            record_env = {
                **codebuild_environment(resolver, record_project),
                "PIPELINE_EXECUTION_ID": "0b8f4a2e-1c3d-4e5f-8a9b-0c1d2e3f4a5b",  # the action's variable
            }
            record_log = work / "change-calls.jsonl"
            codepipeline = client(url, "codepipeline")
            stubber = Stubber(codepipeline)
            stubber.add_response("list_action_executions", {"actionExecutionDetails": []})
            change_record = load_change_record_module()
            uninstall = install(record_log)
            with stubber:
                try:
                    # Both steps of the project: the snapshot right before prod's deployment,
                    # the record right after it.
                    previous = change_record.snapshot(out / "prod-change.json", record_env, client(url, "cloudformation"))
                    record_env["PREVIOUS_MODEL_PACKAGE_ARN"] = previous
                    change_record.record(out / "prod-change.json", record_env, codepipeline, client(url, "events"))
                finally:
                    uninstall()

            tags = _resource_tags(sagemaker)
            endpoint_arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/"
            # The ARN of the endpoint CloudFormation creates from EndpointName.
            renames = {endpoint_arn + served.lower(): endpoint_arn + intended.lower()}

            runs[name] = (
                _role_run(scenario.template_id, template, resolver, "ModelDeployBuild", "deploy build", _requests(build_log, tags)),
                _role_run(
                    scenario.template_id,
                    template,
                    resolver,
                    "ModelDeployTestStaging",
                    "deploy test",
                    _requests(test_log, tags, lambda arn, renames=renames: renames.get(arn, arn)),
                    scenario.test_role_not_called,
                ),
                _role_run(
                    scenario.template_id, template, resolver, "ModelDeployRecordChangeProd", "deploy change record", _requests(record_log, {})
                ),
            )
    return runs


pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Tried to parse AWS.*not supported by moto:UserWarning"),
]


@pytest.mark.parametrize("scenario", list(DEPLOY_SCENARIOS))
def test_the_deploy_build_role_may_make_every_call_of_build_py(deploy_runs, scenario):
    build, _, _ = deploy_runs[scenario]
    assert {r.action for r in build.requests} >= {"sagemaker:ListModelPackages", "sagemaker:DescribeModelPackage"}
    # The version prod serves before the deployment is read by the change record's snapshot.
    assert "cloudformation:DescribeStacks" not in {r.action for r in build.requests}
    assert missing_permissions(build) == []
    assert unneeded_grants(build) == []


@pytest.mark.parametrize("scenario", list(DEPLOY_SCENARIOS))
def test_the_staging_test_role_may_make_every_call_of_test_endpoint_py(deploy_runs, scenario):
    _, test, _ = deploy_runs[scenario]
    assert {r.action for r in test.requests} >= {"sagemaker:InvokeEndpoint", "s3:GetObject"}
    assert missing_permissions(test) == []
    assert unneeded_grants(test) == []


@pytest.mark.parametrize("scenario", list(DEPLOY_SCENARIOS))
def test_the_change_record_role_may_make_every_call_of_change_record_py(deploy_runs, scenario):
    _, _, record = deploy_runs[scenario]
    assert {r.action for r in record.requests} == {
        "cloudformation:DescribeStacks",  # the snapshot: the version prod serves before the deployment
        "codepipeline:ListActionExecutions",
        "events:PutEvents",
    }
    assert missing_permissions(record) == []
    assert unneeded_grants(record) == []
    # Only the change event, only on the default bus: another source or detail-type, or another bus, is refused.
    (put,) = [r for r in record.requests if r.action == "events:PutEvents"]
    assert put.context == {"events:source": "sagemaker-projects-cdk", "events:detail-type": "SageMaker Project Model Deployment"}
    assert not record.policy.allowed(put.action, put.resource, {**put.context, "events:source": "aws.sagemaker"})
    assert not record.policy.allowed(put.action, put.resource, {**put.context, "events:detail-type": "Other"})
    assert not record.policy.allowed(put.action, put.resource.replace("event-bus/default", "event-bus/other"), put.context)
    (listed,) = [r for r in record.requests if r.action == "codepipeline:ListActionExecutions"]
    assert not record.policy.allowed(listed.action, listed.resource.replace("-modeldeploy", "-modelbuild"))


def test_a_standalone_deploy_projects_tests_read_the_source_projects_test_data(deploy_runs):
    _, test, _ = deploy_runs["model-deploy, source bucket and key"]
    reads = {(r.action, r.resource) for r in test.requests if r.action in ("s3:GetObject", "kms:Decrypt")}
    assert ("s3:GetObject", f"arn:aws:s3:::{SOURCE_BUCKET}/{SOURCE_GROUP}/run-1/test/test.csv") in reads
    (decrypt,) = [r for r in test.requests if r.action == "kms:Decrypt"]
    assert decrypt.context["kms:ViaService"] == f"s3.{REGION}.amazonaws.com"
    assert test.policy.allowed(decrypt.action, decrypt.resource, decrypt.context)
    # Only through S3: the same key used directly is not the test role's.
    assert not test.policy.allowed("kms:Decrypt", decrypt.resource, {"kms:ViaService": f"sqs.{REGION}.amazonaws.com"})
    assert not test.policy.allowed("kms:Decrypt", decrypt.resource)
    # Nothing of a third bucket.
    assert not test.policy.allowed("s3:GetObject", "arn:aws:s3:::another-project/run-1/test/test.csv")


# ----------------------------------------------------------------- model build: run_pipeline


#: The region the model build runs in (the SageMaker SDK's images are looked up for it).
BUILD_REGION = "eu-west-1"


def _record_run_pipeline(template: dict, monkeypatch, tmp_path) -> tuple[list[IamRequest], Resolver]:
    """run_pipeline's IAM requests, run twice as the CodeBuild project of ``template`` runs it
    (create, then update and start with an approved version), and the resolver used."""
    import boto3
    from moto import mock_aws

    from pipelines import run_pipeline

    region = BUILD_REGION
    moto_environment(monkeypatch, tmp_path, region)
    log = tmp_path / "calls.jsonl"
    with mock_aws():
        key_arn = boto3.client("kms", region_name=region).create_key()["KeyMetadata"]["Arn"]
        s3 = boto3.client("s3", region_name=region)
        s3.create_bucket(Bucket=PROJECT_BUCKET, CreateBucketConfiguration={"LocationConstraint": region})
        s3.put_bucket_versioning(Bucket=PROJECT_BUCKET, VersioningConfiguration={"Status": "Enabled"})
        resolver = Resolver(
            template,
            parameters={"SageMakerProjectName": "abalone", "SageMakerProjectId": PROJECT_ID},
            physical_ids={logical_id(template, "AWS::S3::Bucket", "ArtifactsBucket"): PROJECT_BUCKET},
            attributes={(logical_id(template, "AWS::KMS::Key", "ArtifactsKey"), "Arn"): key_arn},
            region=region,
            account=ACCOUNT,
        )
        project_id, _ = codebuild_project(template, "ModelBuild")
        environ = {**codebuild_environment(resolver, project_id), "AWS_REGION": region, "CODEBUILD_RESOLVED_SOURCE_VERSION": "4f2a9c1d" * 5}
        # The data set as the stack copies it: encrypted with the project key.
        bucket, key = environ["INPUT_DATA_URL"].removeprefix("s3://").split("/", 1)
        s3.put_object(Bucket=bucket, Key=key, Body=b"M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,15\n", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn)
        uninstall = install(log)
        try:
            # The first build creates the pipeline (no approved version: checks skipped); the
            # second updates it and reads the baselines of the version approved in between.
            assert run_pipeline.main(["--poll-seconds", "0"], environ=environ) == 0
        finally:
            uninstall()
        sagemaker = boto3.client("sagemaker", region_name=region)
        group = environ["MODEL_PACKAGE_GROUP_NAME"]
        sagemaker.create_model_package_group(ModelPackageGroupName=group)
        version = sagemaker.create_model_package(
            ModelPackageGroupName=group,
            InferenceSpecification={
                "Containers": [{"Image": "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:3.2-0"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        )["ModelPackageArn"]
        sagemaker.update_model_package(ModelPackageArn=version, ModelApprovalStatus="Approved")
        uninstall = install(log)
        try:
            assert run_pipeline.main(["--poll-seconds", "0"], environ=environ) == 0
        finally:
            uninstall()
    return [r for call in read_calls(log) for r in iam_requests(call, ACCOUNT)], resolver


@pytest.mark.seed
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore:Running within a PipelineSession:UserWarning")
@pytest.mark.parametrize("template_id", ["model-build", "build-deploy"])
def test_the_model_build_role_may_make_every_call_of_run_pipeline(assembly, template_id, monkeypatch, tmp_path):
    template = assembly.templates[template_id]
    requests, resolver = _record_run_pipeline(template, monkeypatch, tmp_path)
    run = _role_run(template_id, template, resolver, "ModelBuild", "model build", requests)
    assert {r.action for r in requests} >= {
        "sagemaker:CreatePipeline",
        "sagemaker:UpdatePipeline",
        "iam:PassRole",
        "kms:GenerateDataKey",
        "sagemaker:ListModelPackages",
        "sagemaker:DescribeModelPackage",
    }
    assert missing_permissions(run) == []
    assert unneeded_grants(run) == []


# ----------------------------------------------------------------- build-deploy-jenkins: the Jenkins role

#: The Jenkins role's actions that neither the seed's scripts nor the stage deployments call, and why.
JENKINS_NOT_CALLED = {
    **_READ_WRITE,
    "kms:Encrypt": CDK_KEY,
    "kms:ReEncrypt*": CDK_KEY,
    "kms:DescribeKey": CDK_KEY,
    "sagemaker:DescribePipeline": NOT_CALLED_BY_THE_SEED["model build"]["sagemaker:DescribePipeline"],
    "sagemaker:ListPipelineExecutionSteps": NOT_CALLED_BY_THE_SEED["model build"]["sagemaker:ListPipelineExecutionSteps"],
    "sagemaker:StopPipelineExecution": NOT_CALLED_BY_THE_SEED["model build"]["sagemaker:StopPipelineExecution"],
    # The same queue-test statements as build-deploy's test project (stage_queue_test_statements).
    **{action: reason for action, reason in _QUEUE_TESTS.items() if action not in ("s3:PutObject", "kms:GenerateDataKey", "cloudformation:DescribeStacks")},
}
#: ``aws cloudformation deploy --role-arn <deployer> ...`` of one stage stack: what the CLI calls.
STAGE_DEPLOY_ACTIONS = (
    "cloudformation:DescribeStacks",  # does the stack exist (CREATE or UPDATE change set), and the waiter
    "cloudformation:CreateChangeSet",
    "cloudformation:DescribeChangeSet",  # the change set waiter
    "cloudformation:ExecuteChangeSet",
)


def _stage_deploy_requests(resolver: Resolver, template: dict) -> list[IamRequest]:
    deployer = resolver.resolve({"Fn::GetAtt": [logical_id(template, "AWS::IAM::Role", "ModelDeployDeployerRole"), "Arn"]})
    found = []
    for stage in ("staging", "prod"):
        stack = f"arn:aws:cloudformation:{resolver.region}:{ACCOUNT}:stack/sagemaker-{PROJECT}-{PROJECT_ID}-deploy-{stage}/4f2a9c1d-0b8f-4a2e-9c3d-1e2f3a4b5c6d"
        why = f"aws cloudformation deploy of the {stage} stack"
        found += [IamRequest(action, stack, {}, why) for action in STAGE_DEPLOY_ACTIONS]
        found.append(IamRequest("iam:PassRole", deployer, {"iam:PassedToService": "cloudformation.amazonaws.com"}, why + " (--role-arn)"))
        if stage == "staging":
            # A staging stack whose creation failed (ROLLBACK_COMPLETE) is deleted first, as the deployer.
            replace = f"aws cloudformation delete-stack of the failed {stage} stack"
            found.append(IamRequest("cloudformation:DeleteStack", stack, {}, replace))
            found.append(IamRequest("iam:PassRole", deployer, {"iam:PassedToService": "cloudformation.amazonaws.com"}, replace))
    return found


@pytest.mark.seed
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore:Running within a PipelineSession:UserWarning")
def test_the_jenkins_role_may_make_every_call_of_the_jenkinsfiles(assembly, deploy_runs, monkeypatch, tmp_path):
    """The Jenkinsfiles run the same entry points with the same values as build-deploy's CodeBuild
    projects (the seed job fills them from the stack's outputs): run_pipeline (the model build),
    build.py and test_endpoint.py (the deployment), and aws cloudformation deploy of each stage
    stack as the deployer role. The Jenkins role must allow every recorded call; no more than them
    but the grants listed in JENKINS_NOT_CALLED."""
    jenkins, build_deploy = assembly.templates["build-deploy-jenkins"], assembly.templates["build-deploy"]
    role_id = logical_id(jenkins, "AWS::IAM::Role", "JenkinsRole")

    # The model build, with build-deploy's model-build environment (the same project, region, bucket and key).
    build_requests, build_resolver = _record_run_pipeline(build_deploy, monkeypatch, tmp_path)
    key_arn = build_resolver.attributes[(logical_id(build_deploy, "AWS::KMS::Key", "ArtifactsKey"), "Arn")]
    resolved = Resolver(
        jenkins,
        parameters={**JENKINS_PARAMETERS, "SageMakerProjectName": "abalone", "SageMakerProjectId": PROJECT_ID},
        physical_ids={logical_id(jenkins, "AWS::S3::Bucket", "ArtifactsBucket"): PROJECT_BUCKET},
        attributes={(logical_id(jenkins, "AWS::KMS::Key", "ArtifactsKey"), "Arn"): key_arn},
        region=BUILD_REGION,
        account=ACCOUNT,
    )
    # What the seed job gives the model build is what CodeBuild's environment holds in build-deploy.
    environment = codebuild_environment(build_resolver, codebuild_project(build_deploy, "ModelBuild")[0])
    for variable, output in JENKINS_OUTPUTS.items():
        assert resolved.resolve(jenkins["Outputs"][output]["Value"]) == environment[variable], (variable, output)
    build_policy = Policy(role_policy_documents(resolved, role_id))

    # The deployment: build-deploy's recorded build.py and staging tests (same project, bucket and key).
    build, test, _ = deploy_runs["build-deploy"]
    deploy_key = next(r.resource for r in build.requests + test.requests if r.action.startswith("kms:"))
    deploy_resolver = Resolver(
        jenkins,
        parameters={**JENKINS_PARAMETERS, "SageMakerProjectName": PROJECT, "SageMakerProjectId": PROJECT_ID},
        physical_ids={logical_id(jenkins, "AWS::S3::Bucket", "ArtifactsBucket"): PROJECT_BUCKET},
        attributes={(logical_id(jenkins, "AWS::KMS::Key", "ArtifactsKey"), "Arn"): deploy_key},
        region=REGION,
        account=ACCOUNT,
    )
    deploy_requests = build.requests + test.requests + _stage_deploy_requests(deploy_resolver, jenkins)
    deploy_policy = Policy(role_policy_documents(deploy_resolver, role_id))

    runs = [
        RoleRun(f"build-deploy-jenkins role {role_id} (model build)", "jenkins", build_policy, build_requests),
        RoleRun(f"build-deploy-jenkins role {role_id} (deployment)", "jenkins", deploy_policy, deploy_requests),
    ]
    problems = [m for run in runs for m in missing_permissions(run)]
    assert problems == [], "\n".join(problems)
    # Unneeded: an action neither run needs (each run's policy is the same role, resolved per region).
    all_requests = build_requests + deploy_requests
    combined = RoleRun(f"build-deploy-jenkins role {role_id}", "jenkins", deploy_policy, all_requests)
    problems = unneeded_grants(combined)
    assert problems == [], "\n".join(problems)
    # Scoped to this project: not another project's pipeline, stage stacks or deployer role.
    assert not deploy_policy.allowed(
        "cloudformation:ExecuteChangeSet", f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/sagemaker-other-p-0ther0project-deploy-prod/x"
    )
    assert not build_policy.allowed("sagemaker:StartPipelineExecution", f"arn:aws:sagemaker:{BUILD_REGION}:{ACCOUNT}:pipeline/other-p-0ther0project")
    (pass_deployer,) = [r for r in deploy_requests if r.action == "iam:PassRole"][:1]
    assert not deploy_policy.allowed("iam:PassRole", pass_deployer.resource, {"iam:PassedToService": "sagemaker.amazonaws.com"})
    # Prod waits for a person: its stack is never deleted by Jenkins.
    prod = next(r.resource for r in deploy_requests if r.resource.endswith("-deploy-prod/4f2a9c1d-0b8f-4a2e-9c3d-1e2f3a4b5c6d"))
    assert not deploy_policy.allowed("cloudformation:DeleteStack", prod)


def test_the_source_test_data_grants_exist_only_for_a_given_bucket_and_key(assembly):
    template = assembly.templates["model-deploy"]
    _, role_id = codebuild_project(template, "ModelDeployTestStaging")
    extra = "SourceTestData"

    def grants(**parameters: str) -> list[str]:
        resolver = Resolver(template, parameters=parameters)
        return sorted(s.name.split(extra)[1].rstrip("0123456789ABCDEF") for s in role_policy_documents(resolver, role_id) if extra in s.name)

    # Empty (the defaults): this project's bucket, not KMS-encrypted: no grant and so no empty ARN.
    assert grants() == []
    assert grants(SourceModelArtifactBucketName=SOURCE_BUCKET) == ["Read"]
    assert grants(SourceModelArtifactBucketName=SOURCE_BUCKET, SourceModelArtifactKmsKeyArn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k") == ["Decrypt", "Read"]
    # build-deploy tests its own project's models: nothing more than its own bucket.
    build_deploy = assembly.templates["build-deploy"]
    assert not [i for i in build_deploy["Resources"] if extra in i]
    # Its only conditions decide whether a stage is in another account (issue 13).
    assert all("InOtherAccount" in c for c in build_deploy.get("Conditions", {}) if c != "PrivateNetworkOn")
