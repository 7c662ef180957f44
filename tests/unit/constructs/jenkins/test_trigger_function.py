"""The VPC trigger's function against a fake Jenkins (an https server on 127.0.0.1).

The handler is invoked as Lambda invokes it for an EventBridge event; it reads the Jenkins
user and API token from Secrets Manager (moto) and POSTs to the deploy job. The fake Jenkins
records each request and answers with the statuses a test queues (201 with a queue item's
Location, as Jenkins does, by default).
"""

from __future__ import annotations

import base64
import datetime
import importlib.util
import ipaddress
import json
import ssl
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from sagemaker_projects_cdk.constructs.jenkins.trigger import FUNCTION_DIRECTORY

GROUP = "churn-p-abc123def456"
ARN = f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{GROUP}/3"
JOB = "churn-model-deploy"


def _load_handler():
    spec = importlib.util.spec_from_file_location("jenkins_trigger_index", FUNCTION_DIRECTORY / "index.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


index = _load_handler()


def _certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (what a client that trusts it verifies)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-jenkins")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "jenkins.pem", directory / "jenkins.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class FakeJenkins:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.statuses: list[int] = []


@pytest.fixture
def jenkins(tmp_path, monkeypatch) -> Iterator[tuple[FakeJenkins, str]]:
    fake = FakeJenkins()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            length = int(self.headers.get("Content-Length") or 0)
            fake.requests.append(
                {"path": self.path, "authorization": self.headers.get("Authorization"), "body": self.rfile.read(length)}
            )
            status = fake.statuses.pop(0) if fake.statuses else 201
            self.send_response(status)
            if status == 201:
                self.send_header("Location", f"{base}/queue/item/42/")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    cert, key = _certificate(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    base = f"https://127.0.0.1:{server.server_address[1]}/jenkins"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # The client trusts the fake's certificate only (urllib's default context reads SSL_CERT_FILE).
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    try:
        yield fake, base
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def environment(jenkins, monkeypatch):
    import boto3
    from moto import mock_aws

    _fake, base = jenkins
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        secret = boto3.client("secretsmanager").create_secret(
            Name="jenkins/sagemaker", SecretString=json.dumps({"username": "sagemaker-bot", "token": "11aa22bb33cc"})
        )["ARN"]
        for name, value in {"JENKINS_URL": base, "JOB_NAME": JOB, "SECRET_ARN": secret, "BACKOFF_SECONDS": "0"}.items():
            monkeypatch.setenv(name, value)
        yield secret


def approval(status: str = "Approved", arn: str = ARN) -> dict:
    """An EventBridge event as Lambda receives it (the state-change detail AWS documents)."""
    return {
        "version": "0",
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Model Package State Change",
        "detail": {"ModelPackageGroupName": GROUP, "ModelPackageArn": arn, "ModelApprovalStatus": status},
    }


def test_the_handler_starts_the_deploy_job_with_the_version_and_the_token(jenkins, environment):
    fake, base = jenkins
    result = index.handler(approval())
    (request,) = fake.requests
    path, _, query = request["path"].partition("?")
    assert path == f"/jenkins/job/{JOB}/buildWithParameters"
    assert urllib.parse.parse_qs(query) == {"MODEL_PACKAGE_ARN": [ARN]}
    assert request["authorization"] == "Basic " + base64.b64encode(b"sagemaker-bot:11aa22bb33cc").decode()
    assert result == {"queued": f"{base}/queue/item/42/", "model_package_arn": ARN}


def test_a_5xx_is_retried_until_jenkins_queues_the_build(jenkins, environment):
    fake, _base = jenkins
    fake.statuses = [503, 502]
    assert index.handler(approval())["model_package_arn"] == ARN
    assert len(fake.requests) == 3
    assert len({r["path"] for r in fake.requests}) == 1


def test_a_5xx_that_persists_raises_so_lambda_retries_and_dead_letters_the_event(jenkins, environment):
    fake, _base = jenkins
    fake.statuses = [500, 503, 500]
    with pytest.raises(index.JenkinsError, match="did not queue the build after 3 attempts: HTTP 500"):
        index.handler(approval())
    assert len(fake.requests) == 3


def test_a_refusal_is_not_retried(jenkins, environment):
    fake, _base = jenkins
    fake.statuses = [401]
    with pytest.raises(index.JenkinsError, match="Jenkins refused the build: HTTP 401"):
        index.handler(approval())
    assert len(fake.requests) == 1


def test_only_approvals_start_the_job(jenkins, environment):
    fake, _base = jenkins
    assert index.handler(approval("Rejected")) == {"ignored": "not an approved model version"}
    assert fake.requests == []


def test_an_unreachable_jenkins_is_retried_then_raised(environment, monkeypatch):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    monkeypatch.setenv("JENKINS_URL", f"https://127.0.0.1:{port}")
    slept: list[float] = []
    request = index.build_request(f"https://127.0.0.1:{port}", JOB, ARN, "u", "t")
    with pytest.raises(index.JenkinsError, match="after 3 attempts: URLError"):
        index.start_job(request, attempts=3, backoff_seconds=1, sleep=slept.append)
    assert slept == [1, 2]  # exponential backoff between attempts


def test_http_is_refused(environment, monkeypatch):
    monkeypatch.setenv("JENKINS_URL", "http://jenkins.example.com")
    with pytest.raises(index.JenkinsError, match="is not https"):
        index.handler(approval())


def test_a_secret_without_the_token_key_says_what_it_needs(jenkins, environment):
    import boto3

    boto3.client("secretsmanager").put_secret_value(SecretId=environment, SecretString=json.dumps({"username": "bot"}))
    with pytest.raises(index.JenkinsError, match="has no 'token' key: expected JSON with 'username' and 'token'"):
        index.handler(approval())
