"""Helpers for the model-deploy seed tests: a local moto server, the seed scripts, a model registry.

Not a conftest: plain functions the test modules wrap in their own (prefixed) fixtures.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import shutil
import subprocess
import sys
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Iterator

import boto3

SEED = Path(__file__).resolve().parents[2] / "sagemaker_projects_cdk" / "seed_code" / "model_deploy"
REGION = "us-east-1"
ACCOUNT = "123456789012"
#: The deploy project's own artifact bucket (ARTIFACT_BUCKET) in these tests.
PROJECT_BUCKET = "sagemaker-project-p-abc123def456"
_names = itertools.count(1)


def unique(prefix: str) -> str:
    """A fresh name, so tests sharing one server never see each other's resources."""
    return f"{prefix}{next(_names)}"


def load_build_module() -> ModuleType:
    """``seed_code/model_deploy/build.py`` as a module (no bytecode is written into the seed)."""
    sys.dont_write_bytecode = True
    spec = importlib.util.spec_from_file_location("model_deploy_build", SEED / "build.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def copy_seed(destination: Path) -> Path:
    """The deploy seed's configs and template, copied so a test can break them."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in ("staging-config.json", "prod-config.json", "endpoint-stage.template.json"):
        shutil.copyfile(SEED / name, destination / name)
    return destination


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on 127.0.0.1 with a free port and empty backends; yields its URL.

    moto keeps its backends in the process, shared by every server a pytest worker starts: a
    module's leftovers (an EventBridge rule whose target type moto cannot deliver to, such as a
    batch stage's Step Functions target, makes every later PutEvents fail with a 500) would
    reach the next module's server. So each server starts from a reset, and resets on exit."""
    import urllib.request

    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server._server.server_address  # the port the OS picked
    url = f"http://{host}:{port}"

    def reset() -> None:
        urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=30).close()

    reset()
    try:
        yield url
    finally:
        try:
            reset()
        finally:
            server.stop()


def aws_environment(url: str, **extra: str) -> dict[str, str]:
    """The environment of a seed script talking to the moto server with dummy credentials."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_")
        and key not in ("MODEL_PACKAGE_GROUP_NAME", "MODEL_PACKAGE_ARN", "TEST_DATA_S3_URI", "MODEL_ARTIFACT_BUCKET", "MODEL_ARTIFACT_KMS_KEY_ARN")
    }
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_ENDPOINT_URL=url,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(extra)
    return env


def client(url: str, service: str):
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def run_script(
    script: Path, args: list[str], env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-B", str(script), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def register_versions(
    sagemaker,
    group: str,
    statuses: list[str],
    *,
    metadata: dict[str, str] | None = None,
    artifact_bucket: str = PROJECT_BUCKET,
    image: str = f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:1.7-1",
) -> list[str]:
    """Register one version per status (oldest first) in ``group``; returns their ARNs.

    Their model data is ``s3://<artifact_bucket>/<group>/model.tar.gz``; their image ``image``
    (default: AWS's XGBoost image).
    """
    sagemaker.create_model_package_group(ModelPackageGroupName=group)
    arns = []
    for status in statuses:
        kwargs = {"CustomerMetadataProperties": metadata} if metadata else {}
        arns.append(
            sagemaker.create_model_package(
                ModelPackageGroupName=group,
                ModelApprovalStatus=status,
                InferenceSpecification={
                    "Containers": [
                        {
                            "Image": image,
                            "ModelDataUrl": f"s3://{artifact_bucket}/{group}/model.tar.gz",
                        }
                    ],
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedResponseMIMETypes": ["text/csv"],
                    "SupportedRealtimeInferenceInstanceTypes": [
                        "ml.t2.medium",
                        "ml.m5.large",
                        "ml.m5.xlarge",
                    ],
                },
                **kwargs,
            )["ModelPackageArn"]
        )
    return arns


def queue_endpoint_results(url: str, bodies: list[str], content_type: str = "text/csv", account: str = ACCOUNT) -> None:
    """What moto's sagemaker-runtime returns to the next invocations in ``account``, in order."""
    request = urllib.request.Request(
        f"{url}/moto-api/static/sagemaker/endpoint-results",
        data=json.dumps(
            {
                "account_id": account,
                "region": REGION,
                "results": [{"Body": body, "ContentType": content_type} for body in bodies],
            }
        ).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 201


def load_change_record_module() -> ModuleType:
    """``seed_code/model_deploy/change/change_record.py`` as a module."""
    sys.dont_write_bytecode = True
    spec = importlib.util.spec_from_file_location("model_deploy_change_record", SEED / "change" / "change_record.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def change_event_queue(url: str, name: str) -> str:
    """An SQS queue that an EventBridge rule on moto's default bus fills with the change
    records (source and detail-type as the README's forwarding rule matches them); its URL."""
    sqs, events = client(url, "sqs"), client(url, "events")
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["sagemaker-projects-cdk"], "detail-type": ["SageMaker Project Model Deployment"]}
    events.put_rule(Name=name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn}])
    return queue_url


def received_events(url: str, queue_url: str) -> list[dict]:
    """The events delivered to ``queue_url`` so far (removed from it)."""
    sqs = client(url, "sqs")
    found = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", []):
        found += [json.loads(m["Body"]) for m in batch]
        for m in batch:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    return found
