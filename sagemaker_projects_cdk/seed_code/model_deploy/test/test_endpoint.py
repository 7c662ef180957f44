"""Endpoint tests of the model-deploy pipeline: does a tested stage's endpoint serve the new model well?

Runs in CodeBuild (``test/buildspec.yml``) after a tested stage's deployment (by default
staging), with boto3 only, reading the settings ``build.py`` wrote (``<stage>-test.json``). It fails the pipeline
(exit code 1, every failure listed) unless:

- the endpoint is ``InService`` and serves the model package version the build picked;
- every test row, sent alone, gets exactly one numeric prediction, and all rows sent together
  get one prediction per row;
- the 90th percentile of the per-row round trips is within ``max_latency_ms``.

Test rows are the first ``rows`` lines of the test set (CSV without header) at
``test_data_s3_uri``; the ``label_column`` (if not null) is dropped before sending.

When the stage is in another AWS account, the pipeline sets ``STAGE_ROLE_ARN`` to the role
of that account's baseline the tests assume there (its ``actions`` role): the endpoint is
described and invoked with it, while the test set is read with the build's own role in the
tooling account. Unset or empty: everything runs with the build's own role.

Other kinds of stage (the settings' ``kind``, written by ``build.py``):

- ``async``: each test row is uploaded under the endpoint's input prefix and sent with
  ``InvokeEndpointAsync``; every answer must appear at its output location (not its failure
  location) within ``timeout_seconds`` and hold one numeric prediction.
- ``batch``: the test rows are uploaded as one file under the stage's test-input prefix and the
  stage's state machine (the stack's ``StateMachineArn`` output) is started for them
  (``{"test_run": <folder>}``); the run must succeed within ``timeout_seconds`` and its output
  (``<file>.out`` under the output prefix and the run's name) hold one prediction per row.

Usage: ``python test/test_endpoint.py --config <stage>-test.json [--report test-report.json]``
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlparse

#: How the settings file must look (written by build.py), per kind.
REQUIRED_SETTINGS = ("endpoint_name", "model_package_arn", "content_type", "rows", "max_latency_ms")
QUEUE_SETTINGS = ("model_package_arn", "content_type", "rows", "timeout_seconds", "stack_name", "bucket")
ASYNC_SETTINGS = (*QUEUE_SETTINGS, "endpoint_name", "input_prefix")
BATCH_SETTINGS = (*QUEUE_SETTINGS, "test_input_prefix", "output_prefix")
#: The stage stack's own bucket, in another account (``EndpointStageStack``'s storage).
STAGE_BUCKET_LOGICAL_ID = "StageStorageBucket3206B1C6"
#: How often a queued answer or a run is looked for.
POLL_SECONDS = 10.0


class TestFailure(Exception):
    """The endpoint does not pass; the message lists why."""

    __test__ = False  # not a pytest test class


def read_rows(s3: Any, uri: Optional[str], rows: int, label_column: Optional[int]) -> list[str]:
    """The first ``rows`` non-empty CSV lines of ``uri``, without the label column."""
    if not uri:
        raise TestFailure(
            "no test data: register the model package with CustomerMetadataProperties "
            "{'TestDataS3Uri': 's3://...'} or set TEST_DATA_S3_URI for the build step"
        )
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.strip("/"):
        raise TestFailure(f"invalid test data location {uri!r}: expected s3://<bucket>/<key>")
    body = s3.get_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))["Body"]
    lines: list[str] = []
    for raw in body.iter_lines():
        line = raw.decode("utf-8").strip()
        if not line:
            continue
        if label_column is not None:
            fields = line.split(",")
            if label_column >= len(fields):
                raise TestFailure(f"test data row has {len(fields)} column(s), no label column {label_column}: {line!r}")
            line = ",".join(fields[:label_column] + fields[label_column + 1 :])
        lines.append(line)
        if len(lines) == rows:
            break
    if not lines:
        raise TestFailure(f"test data {uri} holds no rows")
    return lines


def parse_predictions(body: bytes, content_type: str) -> list[float]:
    """Numbers in a response: CSV/newline-separated text, or JSON (a list, or {'predictions': [...]})."""
    text = body.decode("utf-8").strip()
    if "json" in (content_type or ""):
        value = json.loads(text)
        if isinstance(value, dict) and "predictions" in value:
            value = value["predictions"]
        values = value if isinstance(value, list) else [value]
        flat = [v.get("score", v) if isinstance(v, dict) else v for v in values]
    else:
        flat = [part for line in text.splitlines() for part in line.split(",") if part.strip()]
    predictions = []
    for value in flat:
        number = float(value)  # ValueError for a non-numeric prediction
        if math.isnan(number) or math.isinf(number):
            raise ValueError(f"prediction {value!r} is not finite")
        predictions.append(number)
    return predictions


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1)]


def check_deployment(sagemaker: Any, endpoint_name: str, expected_package: str) -> list[str]:
    failures: list[str] = []
    endpoint = sagemaker.describe_endpoint(EndpointName=endpoint_name)
    if endpoint["EndpointStatus"] != "InService":
        failures.append(
            f"endpoint {endpoint_name} is {endpoint['EndpointStatus']}, not InService"
            + (f": {endpoint['FailureReason']}" if endpoint.get("FailureReason") else "")
        )
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    served = set()
    for variant in config["ProductionVariants"]:
        model = sagemaker.describe_model(ModelName=variant["ModelName"])
        containers = model.get("Containers") or [model.get("PrimaryContainer", {})]
        served.update(c.get("ModelPackageName") for c in containers if c.get("ModelPackageName"))
    if expected_package not in served:
        failures.append(
            f"endpoint {endpoint_name} serves {sorted(served) or 'no model package'}, not {expected_package} "
            "(did the deployment roll back?)"
        )
    return failures


#: The role to assume in the stage's account (set by the pipeline; empty: this account).
STAGE_ROLE_ARN = "STAGE_ROLE_ARN"


def stage_session(session: Any, role_arn: Optional[str], region: Optional[str] = None) -> Any:
    """A session acting in the stage's account: ``session`` itself when ``role_arn`` is empty,
    otherwise one with the credentials of ``role_arn`` assumed through ``session``."""
    if not role_arn:
        return session
    import boto3

    credentials = session.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="endpoint-tests")["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region or session.region_name,
    )


def run(settings: dict[str, Any], session: Any, stage: Any = None) -> dict[str, Any]:
    """Run every check; return the report, or raise TestFailure listing every failure.

    :param session: reads the test set (the tooling account).
    :param stage: describes and invokes the endpoint (the stage's account). Default: ``session``.
    """
    stage = stage or session
    missing = [key for key in REQUIRED_SETTINGS if key not in settings]
    if missing:
        raise TestFailure(f"settings lack {', '.join(missing)} (is this a <stage>-test.json written by build.py?)")
    name = settings["endpoint_name"]
    sagemaker = stage.client("sagemaker")
    runtime = stage.client("sagemaker-runtime")
    failures = check_deployment(sagemaker, name, settings["model_package_arn"])
    if failures:  # no point invoking an endpoint that is down or stale
        raise TestFailure("\n".join(failures))

    rows = read_rows(session.client("s3"), settings.get("test_data_s3_uri"), settings["rows"], settings.get("label_column"))
    content_type, accept = settings["content_type"], settings.get("accept", settings["content_type"])
    latencies_ms: list[float] = []
    for index, row in enumerate(rows):
        started = time.perf_counter()
        try:
            response = runtime.invoke_endpoint(EndpointName=name, ContentType=content_type, Accept=accept, Body=row.encode())
        except Exception as error:  # botocore's ClientError and connection errors alike
            failures.append(f"row {index}: invocation failed: {error}")
            continue
        latencies_ms.append((time.perf_counter() - started) * 1000)
        body = response["Body"].read()
        try:
            predictions = parse_predictions(body, response.get("ContentType", accept))
        except (ValueError, TypeError, AttributeError) as error:
            failures.append(f"row {index}: response {body[:200]!r} is not numeric predictions ({error})")
            continue
        if len(predictions) != 1:
            failures.append(f"row {index}: expected 1 prediction, got {len(predictions)}: {body[:200]!r}")

    batch = "\n".join(rows).encode()
    try:
        response = runtime.invoke_endpoint(EndpointName=name, ContentType=content_type, Accept=accept, Body=batch)
        body = response["Body"].read()
        count = len(parse_predictions(body, response.get("ContentType", accept)))
        if count != len(rows):
            failures.append(f"batch of {len(rows)} rows: expected {len(rows)} predictions, got {count}")
    except Exception as error:
        failures.append(f"batch of {len(rows)} rows: {error}")

    report = {
        "endpoint_name": name,
        "model_package_arn": settings["model_package_arn"],
        "rows": len(rows),
        "latency_ms": {
            "p50": round(percentile(latencies_ms, 0.5), 1) if latencies_ms else None,
            "p90": round(percentile(latencies_ms, 0.9), 1) if latencies_ms else None,
            "max": round(max(latencies_ms), 1) if latencies_ms else None,
        },
    }
    p90 = report["latency_ms"]["p90"]
    if p90 is not None and p90 > settings["max_latency_ms"]:
        failures.append(f"p90 latency {p90} ms is above max_latency_ms {settings['max_latency_ms']} ms")
    if failures:
        raise TestFailure("\n".join(failures))
    return report


def _missing(settings: dict[str, Any], required: tuple[str, ...]) -> None:
    missing = [key for key in required if key not in settings]
    if missing:
        raise TestFailure(f"settings lack {', '.join(missing)} (is this a <stage>-test.json written by build.py?)")


def _split(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    return parsed.netloc, parsed.path.lstrip("/")


def stage_bucket(settings: dict[str, Any], stage: Any) -> str:
    """The bucket requests and answers are in: the project's, or (a stage in another account)
    the stage stack's own, looked up there."""
    if settings.get("bucket"):
        return settings["bucket"]
    resource = stage.client("cloudformation").describe_stack_resource(
        StackName=settings["stack_name"], LogicalResourceId=STAGE_BUCKET_LOGICAL_ID
    )
    return resource["StackResourceDetail"]["PhysicalResourceId"]


def _object_exists(s3: Any, uri: str) -> bool:
    bucket, key = _split(uri)
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except Exception as error:  # botocore's ClientError: 404 until the answer is written
        if "404" in str(error) or "Not Found" in str(error) or "NoSuchKey" in str(error):
            return False
        raise
    return True


def run_async(
    settings: dict[str, Any], session: Any, stage: Any = None, *, sleep: Any = time.sleep, clock: Any = time.monotonic
) -> dict[str, Any]:
    """Submit each test row to the asynchronous endpoint and wait for its answer."""
    stage = stage or session
    _missing(settings, ASYNC_SETTINGS)
    name = settings["endpoint_name"]
    failures = check_deployment(stage.client("sagemaker"), name, settings["model_package_arn"])
    if failures:
        raise TestFailure("\n".join(failures))
    rows = read_rows(session.client("s3"), settings.get("test_data_s3_uri"), settings["rows"], settings.get("label_column"))
    s3, runtime = stage.client("s3"), stage.client("sagemaker-runtime")
    bucket = stage_bucket(settings, stage)
    run = uuid.uuid4().hex[:12]
    content_type, accept = settings["content_type"], settings.get("accept", settings["content_type"])
    pending: dict[int, tuple[str, str, float]] = {}
    for index, row in enumerate(rows):
        key = f"{settings['input_prefix']}/test-{run}/row-{index}.csv"
        s3.put_object(Bucket=bucket, Key=key, Body=row.encode())
        try:
            response = runtime.invoke_endpoint_async(
                EndpointName=name, InputLocation=f"s3://{bucket}/{key}", ContentType=content_type, Accept=accept
            )
        except Exception as error:
            failures.append(f"row {index}: submission failed: {error}")
            continue
        pending[index] = (response["OutputLocation"], response.get("FailureLocation", ""), clock())
    waits: list[float] = []
    deadline = clock() + settings["timeout_seconds"]
    while pending:
        for index, (output, failure, started) in list(pending.items()):
            if _object_exists(s3, output):
                waits.append(clock() - started)
                body = s3.get_object(Bucket=_split(output)[0], Key=_split(output)[1])["Body"].read()
                try:
                    predictions = parse_predictions(body, accept)
                except (ValueError, TypeError, AttributeError) as error:
                    failures.append(f"row {index}: answer {body[:200]!r} is not numeric predictions ({error})")
                else:
                    if len(predictions) != 1:
                        failures.append(f"row {index}: expected 1 prediction, got {len(predictions)}: {body[:200]!r}")
                del pending[index]
            elif failure and _object_exists(s3, failure):
                body = s3.get_object(Bucket=_split(failure)[0], Key=_split(failure)[1])["Body"].read()
                failures.append(f"row {index}: the endpoint failed the request: {body[:300]!r}")
                del pending[index]
        if not pending:
            break
        if clock() >= deadline:
            failures += [f"row {index}: no answer at {pending[index][0]} within {settings['timeout_seconds']} s" for index in sorted(pending)]
            break
        sleep(POLL_SECONDS)
    if failures:
        raise TestFailure("\n".join(failures))
    return {
        "kind": "async",
        "endpoint_name": name,
        "model_package_arn": settings["model_package_arn"],
        "rows": len(rows),
        "seconds_to_answer": {"p50": round(percentile(waits, 0.5), 1), "max": round(max(waits), 1)},
    }


def run_batch(
    settings: dict[str, Any], session: Any, stage: Any = None, *, sleep: Any = time.sleep, clock: Any = time.monotonic
) -> dict[str, Any]:
    """Run the stage's transform on the test rows and check one prediction comes back per row."""
    stage = stage or session
    _missing(settings, BATCH_SETTINGS)
    rows = read_rows(session.client("s3"), settings.get("test_data_s3_uri"), settings["rows"], settings.get("label_column"))
    stack = stage.client("cloudformation").describe_stacks(StackName=settings["stack_name"])["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    if "StateMachineArn" not in outputs:
        raise TestFailure(f"stack {settings['stack_name']} has no StateMachineArn output: is it a batch stage stack?")
    s3, states = stage.client("s3"), stage.client("stepfunctions")
    bucket = stage_bucket(settings, stage)
    run = f"test-{uuid.uuid4().hex[:12]}"
    s3.put_object(Bucket=bucket, Key=f"{settings['test_input_prefix']}/{run}/rows.csv", Body=("\n".join(rows) + "\n").encode())
    started = clock()
    execution = states.start_execution(stateMachineArn=outputs["StateMachineArn"], name=run, input=json.dumps({"test_run": run}))
    deadline = started + settings["timeout_seconds"]
    while True:
        described = states.describe_execution(executionArn=execution["executionArn"])
        if described["status"] != "RUNNING":
            break
        if clock() >= deadline:
            states.stop_execution(executionArn=execution["executionArn"], cause="the deploy pipeline's test timed out")
            raise TestFailure(f"the transform run {run} did not finish within {settings['timeout_seconds']} s (stopped)")
        sleep(POLL_SECONDS)
    if described["status"] != "SUCCEEDED":
        raise TestFailure(
            f"the transform run {run} ended {described['status']}: {described.get('cause') or described.get('error') or 'see its execution history'}"
        )
    key = f"{settings['output_prefix']}/{run}/rows.csv.out"
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    accept = settings.get("accept", settings["content_type"])
    try:
        count = len(parse_predictions(body, accept))
    except (ValueError, TypeError, AttributeError) as error:
        raise TestFailure(f"output s3://{bucket}/{key} is not numeric predictions ({error}): {body[:200]!r}") from error
    if count != len(rows):
        raise TestFailure(f"output s3://{bucket}/{key}: expected {len(rows)} predictions (one per row), got {count}")
    return {
        "kind": "batch",
        "stack_name": settings["stack_name"],
        "model_package_arn": settings["model_package_arn"],
        "rows": len(rows),
        "output": f"s3://{bucket}/{key}",
        "seconds": round(clock() - started, 1),
    }


#: What tests each kind of stage.
RUNNERS = {"realtime": run, "async": run_async, "batch": run_batch}


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, required=True, help="the <stage>-test.json written by build.py")
    parser.add_argument("--report", type=Path, default=Path("test-report.json"), help="where to write the report")
    args = parser.parse_args(argv)

    import boto3

    try:
        settings = json.loads(args.config.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        print(f"test_endpoint.py: cannot read {args.config}: {error}", file=sys.stderr)
        return 1
    session = boto3.session.Session(region_name=settings.get("region") or None)
    try:
        runner = RUNNERS.get(settings.get("kind", "realtime"))
        if runner is None:
            raise TestFailure(f"settings name an unknown kind {settings.get('kind')!r} (expected one of {', '.join(RUNNERS)})")
        report = runner(settings, session, stage_session(session, os.environ.get(STAGE_ROLE_ARN), settings.get("region")))
    except TestFailure as failure:
        lines = str(failure).splitlines()
        print(f"test_endpoint.py: endpoint tests FAILED for {settings.get('endpoint_name')}:", file=sys.stderr)
        print("\n".join(f"  - {line}" for line in lines), file=sys.stderr)
        args.report.write_text(json.dumps({"passed": False, "failures": lines}, indent=2) + "\n", encoding="utf-8")
        return 1
    report["passed"] = True
    args.report.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"test_endpoint.py: endpoint tests passed: {json.dumps(report)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
