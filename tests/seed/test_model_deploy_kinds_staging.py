"""The deploy pipeline's staging tests of an asynchronous and a batch stage (test/test_endpoint.py).

Asynchronous: against moto, which implements InvokeEndpointAsync (it writes the queued answer,
or failure, to S3 and returns its locations) and the endpoint descriptions. Batch: moto holds
the bucket and the stage stack (its StateMachineArn output); moto does not run Step Functions
definitions, so a stub state machine plays the transform job: it reads the test-input folder
the execution names and writes ``<file>.out`` with one prediction per line, or fails.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from types import SimpleNamespace

import boto3
import pytest
import requests
from moto import mock_aws

from model_deploy_support import SEED

REGION, ACCOUNT = "us-east-1", "123456789012"
PACKAGE = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/churn-p-abc123def456/3"
BUCKET = "sagemaker-project-p-abc123def456"
ENDPOINT = "churn-p-abc123def456-staging"
STACK = "sagemaker-churn-p-abc123def456-deploy-staging"
ROWS = ["1,2,3", "4,5,6", "7,8,9"]


def _load():
    sys.dont_write_bytecode = True
    spec = importlib.util.spec_from_file_location("model_deploy_test_endpoint", SEED / "test" / "test_endpoint.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


tests = _load()


class Clock:
    """Time that moves only when the test sleeps (no real waiting)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps = 0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.now += seconds


@pytest.fixture
def aws(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        s3 = session.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="test/test.csv", Body=("\n".join(f"0,{r}" for r in ROWS) + "\n").encode())
        yield session


def _async_settings(**changes):
    settings = {
        "kind": "async",
        "endpoint_name": ENDPOINT,
        "model_package_arn": PACKAGE,
        "content_type": "text/csv",
        "accept": "text/csv",
        "rows": 3,
        "label_column": 0,
        "timeout_seconds": 900,
        "stack_name": STACK,
        "bucket": BUCKET,
        "input_prefix": f"async-inference/{ENDPOINT}/input",
        "test_data_s3_uri": f"s3://{BUCKET}/test/test.csv",
    }
    settings.update(changes)
    return settings


def _endpoint(session, package: str = PACKAGE) -> None:
    sagemaker = session.client("sagemaker")
    sagemaker.create_model(
        ModelName="model-1",
        PrimaryContainer={"ModelPackageName": package},
        ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/sagemaker-projects/p-abc123def456/model",
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="config-1",
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": "model-1", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}],
        AsyncInferenceConfig={"OutputConfig": {"S3OutputPath": f"s3://{BUCKET}/async-inference/{ENDPOINT}/output"}},
    )
    sagemaker.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="config-1")


def _queue_answers(results: list[dict]) -> None:
    response = requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/sagemaker/async-endpoint-results",
        json={"account_id": ACCOUNT, "region": REGION, "results": results},
        timeout=10,
    )
    assert response.status_code == 201, response.text


def test_async_stage_passes_when_every_request_is_answered(aws):
    _endpoint(aws)
    _queue_answers([{"data": "0.25"}, {"data": "0.5"}, {"data": "0.75"}])
    clock = Clock()
    report = tests.run_async(_async_settings(), aws, sleep=clock.sleep, clock=clock)
    assert report["kind"] == "async" and report["rows"] == 3
    # The requests were uploaded under the endpoint's input prefix, one per row, label dropped.
    listed = aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=f"async-inference/{ENDPOINT}/input/")["Contents"]
    bodies = sorted(aws.client("s3").get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read().decode() for o in listed)
    assert bodies == sorted(ROWS)


def test_async_stage_fails_on_a_failed_request_and_on_a_non_numeric_answer(aws):
    _endpoint(aws)
    _queue_answers([{"data": "0.25"}, {"is_failure": True, "data": "model error: bad input"}, {"data": "not a number"}])
    clock = Clock()
    with pytest.raises(tests.TestFailure) as failure:
        tests.run_async(_async_settings(), aws, sleep=clock.sleep, clock=clock)
    message = str(failure.value)
    assert "row 1: the endpoint failed the request" in message and "model error" in message
    assert "row 2: answer b'not a number' is not numeric predictions" in message


def test_async_stage_fails_when_the_endpoint_serves_another_version(aws):
    _endpoint(aws, package=PACKAGE.replace("/3", "/2"))
    with pytest.raises(tests.TestFailure, match="did the deployment roll back"):
        tests.run_async(_async_settings(), aws)


class _AsyncRuntimeNeverAnswering:
    """A runtime whose answers never arrive (locations that stay empty)."""

    def invoke_endpoint_async(self, **request):
        return {"OutputLocation": f"s3://{BUCKET}/never/out", "FailureLocation": f"s3://{BUCKET}/never/failure"}


def test_async_stage_fails_when_no_answer_comes_in_time(aws):
    _endpoint(aws)
    stage = SimpleNamespace(client=lambda name: _AsyncRuntimeNeverAnswering() if name == "sagemaker-runtime" else aws.client(name))
    clock = Clock()
    with pytest.raises(tests.TestFailure, match=r"row 0: no answer at s3://.*/never/out within 60 s"):
        tests.run_async(_async_settings(timeout_seconds=60), aws, stage, sleep=clock.sleep, clock=clock)
    assert clock.sleeps == 6  # polled every 10 s until the deadline


# ----------------------------------------------------------------------------- batch


def _batch_settings(**changes):
    settings = {
        "kind": "batch",
        "model_package_arn": PACKAGE,
        "content_type": "text/csv",
        "accept": "text/csv",
        "rows": 3,
        "label_column": 0,
        "timeout_seconds": 1800,
        "stack_name": STACK,
        "bucket": BUCKET,
        "test_input_prefix": "batch-transform/staging/test-input",
        "output_prefix": "batch-transform/staging/output",
        "test_data_s3_uri": f"s3://{BUCKET}/test/test.csv",
    }
    settings.update(changes)
    return settings


MACHINE = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:TransformStateMachine-abc"


def _stage_stack(session) -> None:
    template = {
        "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {"StateMachineArn": {"Value": MACHINE}},
    }
    session.client("cloudformation").create_stack(StackName=STACK, TemplateBody=json.dumps(template))


class StubTransform:
    """Step Functions running the batch stage's state machine: the transform job reads every
    file of ``<test-input>/<test_run>/`` and writes ``<output>/<execution name>/<file>.out``."""

    def __init__(self, s3, *, answer=lambda row: "0.5", outcome: str = "SUCCEEDED", runs_for: int = 0) -> None:
        self.s3, self.answer, self.outcome, self.runs_for = s3, answer, outcome, runs_for
        self.started: list[dict] = []
        self.stopped: list[str] = []

    def start_execution(self, *, stateMachineArn, name, input):
        assert stateMachineArn == MACHINE
        self.started.append({"name": name, "input": json.loads(input)})
        folder = f"batch-transform/staging/test-input/{json.loads(input)['test_run']}/"
        for item in self.s3.list_objects_v2(Bucket=BUCKET, Prefix=folder).get("Contents", []):
            rows = self.s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read().decode().splitlines()
            out = "\n".join(self.answer(r) for r in rows if r) + "\n"
            file = item["Key"][len(folder) :]
            self.s3.put_object(Bucket=BUCKET, Key=f"batch-transform/staging/output/{name}/{file}.out", Body=out.encode())
        return {"executionArn": f"{MACHINE.replace(':stateMachine:', ':execution:')}:{name}"}

    def describe_execution(self, *, executionArn):
        if self.runs_for > 0:
            self.runs_for -= 1
            return {"status": "RUNNING"}
        return {"status": self.outcome, **({"cause": "TransformJob failed: ClientError: bad input"} if self.outcome == "FAILED" else {})}

    def stop_execution(self, *, executionArn, cause):
        self.stopped.append(executionArn)


def _stage(session, states):
    return SimpleNamespace(client=lambda name: states if name == "stepfunctions" else session.client(name))


def test_batch_stage_runs_the_rows_through_its_state_machine_and_counts_the_output_rows(aws):
    _stage_stack(aws)
    states = StubTransform(aws.client("s3"), runs_for=2)
    clock = Clock()
    report = tests.run_batch(_batch_settings(), aws, _stage(aws, states), sleep=clock.sleep, clock=clock)
    (started,) = states.started
    assert started["input"] == {"test_run": started["name"]}
    uploaded = aws.client("s3").get_object(Bucket=BUCKET, Key=f"batch-transform/staging/test-input/{started['name']}/rows.csv")
    assert uploaded["Body"].read().decode().splitlines() == ROWS  # label column dropped
    assert report["rows"] == 3 and report["output"].endswith(f"/output/{started['name']}/rows.csv.out")
    assert clock.sleeps == 2


@pytest.mark.parametrize(
    "states_kwargs, message",
    [
        ({"outcome": "FAILED"}, r"ended FAILED: TransformJob failed: ClientError: bad input"),
        ({"answer": lambda row: "0.5\n0.5"}, r"expected 3 predictions \(one per row\), got 6"),
        ({"answer": lambda row: "yes"}, r"is not numeric predictions"),
    ],
)
def test_batch_stage_fails_on_a_failed_run_or_wrong_output(aws, states_kwargs, message):
    _stage_stack(aws)
    states = StubTransform(aws.client("s3"), **states_kwargs)
    with pytest.raises(tests.TestFailure, match=message):
        tests.run_batch(_batch_settings(), aws, _stage(aws, states), sleep=Clock().sleep, clock=Clock())


def test_batch_stage_stops_a_run_that_takes_too_long(aws):
    _stage_stack(aws)
    states = StubTransform(aws.client("s3"), runs_for=1000)
    clock = Clock()
    with pytest.raises(tests.TestFailure, match=r"did not finish within 60 s \(stopped\)"):
        tests.run_batch(_batch_settings(timeout_seconds=60), aws, _stage(aws, states), sleep=clock.sleep, clock=clock)
    assert len(states.stopped) == 1


def test_batch_stage_needs_a_batch_stack(aws):
    aws.client("cloudformation").create_stack(
        StackName=STACK, TemplateBody=json.dumps({"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}})
    )
    with pytest.raises(tests.TestFailure, match="has no StateMachineArn output"):
        tests.run_batch(_batch_settings(), aws)


def test_settings_of_each_kind_are_checked(aws):
    for runner, settings in ((tests.run_async, _async_settings()), (tests.run_batch, _batch_settings())):
        settings.pop("timeout_seconds")
        with pytest.raises(tests.TestFailure, match="settings lack timeout_seconds"):
            runner(settings, aws)
    assert set(tests.RUNNERS) == {"realtime", "async", "batch"}
