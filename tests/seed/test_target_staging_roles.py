"""The target account's ``actions`` role may make every call the staging tests of an
asynchronous and a batch stage make there (``test/test_endpoint.py``, ``STAGE_ROLE_ARN``).

The tests run against moto (in this process) as they run for a stage in another account: the
settings name no bucket, so the stage stack's own bucket is looked up
(``DescribeStackResource``), requests and answers are SSE-KMS with the stage's own key, and the
endpoint, the key and the stack carry the project's tag. Every call is recorded
(``call_recorder``) and evaluated against the baseline's actions role (``iam_eval``); moto's
answers, which it writes to a bucket of its own, are evaluated where SageMaker writes them. The test
set is read with the build's own role in the tooling account (not the actions role): those
calls are left out. moto does not run Step Functions: the batch run is played by a stub whose
calls are recorded as botocore would record them.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import boto3
import pytest
import requests
from moto import mock_aws
from moto.s3.models import s3_backends
from moto.utilities.utils import get_partition
from role_checks import role_policy_with_managed
from test_model_deploy_kinds_staging import Clock, StubTransform, tests

from call_recorder import _write, iam_requests, install, read_calls
from iam_eval import Resolver

REGION, ACCOUNT, TOOLING = "us-east-1", "123456789012", "111111111111"
PROJECT_ID = "p-abc123def456"
TAGGED = {"aws:ResourceTag/sagemaker:project-id": PROJECT_ID}
STACK = f"sagemaker-churn-{PROJECT_ID}-deploy-staging"
STAGE_BUCKET = "sagemaker-projects-stage-0a1b2c3d-4e5f-6789-abcd-ef0123456789"
#: The test set, read with the build's own role in the tooling account.
TOOLING_BUCKET = f"sagemaker-project-{PROJECT_ID}"
ENDPOINT = f"churn-{PROJECT_ID}-staging"
ROWS = ["1,2,3", "4,5,6", "7,8,9"]


@pytest.fixture(scope="module")
def actions_policy():
    from aws_cdk import App

    from sagemaker_projects_cdk.stacks import TargetAccountStack

    app = App()
    stack = TargetAccountStack(app, "TargetAccount")
    template = app.synth().get_stack_artifact(stack.artifact_id).template
    resolver = Resolver(template, parameters={"ToolingAccountId": TOOLING}, region=REGION, account=ACCOUNT)
    (role_id,) = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role" and k.startswith("ActionsRole")]
    return role_policy_with_managed(resolver, role_id)


@pytest.fixture
def stage(monkeypatch, tmp_path):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        s3, kms = session.client("s3"), session.client("kms")
        s3.create_bucket(Bucket=TOOLING_BUCKET)
        s3.put_object(Bucket=TOOLING_BUCKET, Key="test/test.csv", Body=("\n".join(f"0,{r}" for r in ROWS) + "\n").encode())
        key = kms.create_key(Description="the stage's own key", Tags=[{"TagKey": "sagemaker:project-id", "TagValue": PROJECT_ID}])
        key_arn = key["KeyMetadata"]["Arn"]
        template = {
            "Resources": {"StageStorageBucket3206B1C6": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": STAGE_BUCKET}}},
            "Outputs": {"StateMachineArn": {"Value": MACHINE}},
        }
        session.client("cloudformation").create_stack(StackName=STACK, TemplateBody=json.dumps(template))
        s3.put_bucket_encryption(
            Bucket=STAGE_BUCKET,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}}]
            },
        )
        yield SimpleNamespace(session=session, key_arn=key_arn, log=tmp_path / "calls.jsonl")


MACHINE = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{PROJECT_ID}-staging-transform"


class RecordedTransform(StubTransform):
    """``StubTransform`` in the stage bucket, each of the test's calls recorded as botocore's would be."""

    def __init__(self, log, key_arn: str) -> None:
        super().__init__(None)
        self.log = log
        #: The stage's own key: the transform job writes its output SSE-KMS with it (``KmsKeyId``).
        self.key_arn = key_arn

    def _record(self, operation: str, params: dict) -> None:
        _write(self.log, {"service": "stepfunctions", "operation": operation, "region": REGION, "params": params, "response": {}})

    def start_execution(self, *, stateMachineArn, name, input):
        self._record("StartExecution", {"stateMachineArn": stateMachineArn, "name": name, "input": input})
        # The transform job reads and writes as the model's role, not the test's: straight in moto's backend.
        backend = s3_backends[ACCOUNT][get_partition(REGION)]
        rows_key = f"batch-transform/staging/test-input/{json.loads(input)['test_run']}/rows.csv"
        rows = backend.get_object(STAGE_BUCKET, rows_key).value.decode().splitlines()
        out = "\n".join("0.5" for r in rows if r) + "\n"
        backend.put_object(
            STAGE_BUCKET,
            f"batch-transform/staging/output/{name}/rows.csv.out",
            out.encode(),
            encryption="aws:kms",
            kms_key_id=self.key_arn,
        )
        return {"executionArn": f"{MACHINE.replace(':stateMachine:', ':execution:')}:{name}"}

    def describe_execution(self, *, executionArn):
        self._record("DescribeExecution", {"executionArn": executionArn})
        return {"status": "SUCCEEDED"}

    def stop_execution(self, *, executionArn, cause):
        self._record("StopExecution", {"executionArn": executionArn, "cause": cause})


def _iam_requests(log, key_arn: str) -> list:
    """The recorded calls as IAM requests of the actions role: the test set's reads (the build's
    own role) left out; resources' tags as the request context; a ``HeadObject`` that found no
    object asks for ``s3:ListBucket`` too (without it S3 answers 403, not 404, and the test could
    not tell an answer not written yet from a denied one)."""
    found = []
    for call in read_calls(log):
        if call["service"] == "s3" and call["params"].get("Bucket") == TOOLING_BUCKET:
            continue
        if call["service"] == "stepfunctions":
            arn = call["params"].get("stateMachineArn") or call["params"]["executionArn"]
            found.append((f"states:{call['operation']}", arn, {}))
            continue
        if call["service"] == "cloudformation" and call["operation"] == "DescribeStackResource":
            found.append(("cloudformation:DescribeStackResource", f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/0a1b", {}))
            continue
        if call["service"] == "sagemaker-runtime" and call["operation"] == "InvokeEndpointAsync":
            found.append(("sagemaker:InvokeEndpointAsync", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{ENDPOINT}", {}))
            continue
        if call["service"] == "s3" and call["operation"] == "HeadObject" and call.get("error"):
            found.append(("s3:ListBucket", f"arn:aws:s3:::{call['params']['Bucket']}", {}))
        for request in iam_requests(call, ACCOUNT):
            found.append((request.action, request.resource, dict(request.context)))
    requests_ = []
    for action, resource, context in found:
        resource = _as_sagemaker_writes_it(resource)
        if resource.startswith("arn:aws:s3:::"):
            context["aws:ResourceAccount"] = ACCOUNT
        if resource == key_arn or action.startswith("sagemaker:"):
            context.update(TAGGED)
        requests_.append((action, resource, context))
    return requests_


def _as_sagemaker_writes_it(resource: str) -> str:
    """moto writes an asynchronous answer (or failure) to a bucket of its own,
    ``sagemaker-output-<uuid>/<key>``, ignoring ``AsyncInferenceConfig.OutputConfig``; SageMaker
    writes it under the endpoint's ``S3OutputPath`` (``S3FailurePath``): evaluate it there."""
    prefix = "arn:aws:s3:::sagemaker-output-"
    if not resource.startswith(prefix) or "/" not in resource:
        return resource
    key = resource.split("/", 1)[1]
    folder = "failure" if "error" in key or "failure" in key else "output"
    return f"arn:aws:s3:::{STAGE_BUCKET}/async-inference/{ENDPOINT}/{folder}/{key}"


def _denied(policy, requests_) -> list[str]:
    return [f"{a} on {r} ({c})" for a, r, c in requests_ if not policy.allowed(a, r, c)]


def _async_endpoint(session) -> None:
    sagemaker = session.client("sagemaker")
    sagemaker.create_model(
        ModelName="model-1",
        PrimaryContainer={"ModelPackageName": PACKAGE},
        ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/sagemaker-projects-cdk/sagemaker-projects-{TOOLING}-endpoint",
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="config-1",
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": "model-1", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}],
        AsyncInferenceConfig={"OutputConfig": {"S3OutputPath": f"s3://{STAGE_BUCKET}/async-inference/{ENDPOINT}/output"}},
    )
    sagemaker.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="config-1")


PACKAGE = f"arn:aws:sagemaker:{REGION}:{TOOLING}:model-package/churn-{PROJECT_ID}/3"
COMMON = {
    "model_package_arn": PACKAGE, "content_type": "text/csv", "accept": "text/csv", "rows": 3, "label_column": 0,
    "stack_name": STACK, "bucket": "", "test_data_s3_uri": f"s3://{TOOLING_BUCKET}/test/test.csv",
}  # fmt: skip


def test_the_actions_role_may_make_every_call_of_the_async_staging_test(stage, actions_policy):
    _async_endpoint(stage.session)
    response = requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/sagemaker/async-endpoint-results",
        json={"account_id": ACCOUNT, "region": REGION, "results": [{"data": "0.5"}] * len(ROWS)},
        timeout=10,
    )
    assert response.status_code == 201
    settings = {**COMMON, "kind": "async", "endpoint_name": ENDPOINT, "timeout_seconds": 900,
                "input_prefix": f"async-inference/{ENDPOINT}/input"}  # fmt: skip
    clock = Clock()
    uninstall = install(stage.log)
    try:
        report = tests.run_async(settings, stage.session, sleep=clock.sleep, clock=clock)
    finally:
        uninstall()
    assert report["rows"] == 3
    recorded = _iam_requests(stage.log, stage.key_arn)
    actions = {a for a, _, _ in recorded}
    assert {
        "cloudformation:DescribeStackResource", "sagemaker:DescribeEndpoint", "sagemaker:InvokeEndpointAsync",
        "s3:PutObject", "kms:GenerateDataKey", "s3:GetObject",
    } <= actions  # fmt: skip
    # The requests went to the stage stack's own bucket, which the test looked up.
    assert {r for a, r, _ in recorded if a == "s3:PutObject"} == {
        f"arn:aws:s3:::{STAGE_BUCKET}/{k['Key']}"
        for k in stage.session.client("s3").list_objects_v2(Bucket=STAGE_BUCKET, Prefix=f"async-inference/{ENDPOINT}/input/")["Contents"]
    }
    assert _denied(actions_policy, recorded) == []


def test_the_actions_role_may_make_every_call_of_the_batch_staging_test(stage, actions_policy):
    states = RecordedTransform(stage.log, stage.key_arn)
    runner = SimpleNamespace(client=lambda name: states if name == "stepfunctions" else stage.session.client(name))
    settings = {**COMMON, "kind": "batch", "timeout_seconds": 1800, "test_input_prefix": "batch-transform/staging/test-input",
                "output_prefix": "batch-transform/staging/output"}  # fmt: skip
    clock = Clock()
    uninstall = install(stage.log)
    try:
        report = tests.run_batch(settings, stage.session, runner, sleep=clock.sleep, clock=clock)
    finally:
        uninstall()
    assert report["rows"] == 3 and report["output"].startswith(f"s3://{STAGE_BUCKET}/batch-transform/staging/output/")
    recorded = _iam_requests(stage.log, stage.key_arn)
    actions = {a for a, _, _ in recorded}
    assert {
        "cloudformation:DescribeStacks", "cloudformation:DescribeStackResource", "s3:PutObject", "kms:GenerateDataKey",
        "states:StartExecution", "states:DescribeExecution", "s3:GetObject", "kms:Decrypt",
    } <= actions  # fmt: skip
    # The answers were read through S3 with the stage's key (the transform writes them SSE-KMS).
    assert {r for a, r, _ in recorded if a == "kms:Decrypt"} == {stage.key_arn}
    assert _denied(actions_policy, recorded) == []


def test_the_batch_staging_test_stops_a_run_the_actions_role_may_stop(stage, actions_policy):
    """A run that outlives the test's timeout is stopped, with the actions role."""

    class Endless(RecordedTransform):
        def describe_execution(self, *, executionArn):
            super().describe_execution(executionArn=executionArn)
            return {"status": "RUNNING"}

    states = Endless(stage.log, stage.key_arn)
    runner = SimpleNamespace(client=lambda name: states if name == "stepfunctions" else stage.session.client(name))
    settings = {**COMMON, "kind": "batch", "timeout_seconds": 60, "test_input_prefix": "batch-transform/staging/test-input",
                "output_prefix": "batch-transform/staging/output"}  # fmt: skip
    clock = Clock()
    uninstall = install(stage.log)
    try:
        with pytest.raises(tests.TestFailure, match="did not finish within 60 s"):
            tests.run_batch(settings, stage.session, runner, sleep=clock.sleep, clock=clock)
    finally:
        uninstall()
    recorded = _iam_requests(stage.log, stage.key_arn)
    assert "states:StopExecution" in {a for a, _, _ in recorded}
    assert _denied(actions_policy, recorded) == []
