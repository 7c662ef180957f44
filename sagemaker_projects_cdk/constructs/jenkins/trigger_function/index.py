"""Starts the project's Jenkins deploy job for an approved model version (EventBridge event).

Environment: ``JENKINS_URL`` (https, no trailing slash), ``JOB_NAME``, ``SECRET_ARN`` (a
Secrets Manager secret whose JSON has ``username`` and ``token``: a Jenkins user and one of
its API tokens), and optionally ``ATTEMPTS`` (default 3) and ``BACKOFF_SECONDS`` (default 2).

``POST <JENKINS_URL>/job/<JOB_NAME>/buildWithParameters?MODEL_PACKAGE_ARN=<arn>`` with
Basic authentication (an API token needs no CSRF crumb). A 5xx answer or a network error is
retried with exponential backoff; when the attempts are spent, or Jenkins refuses the request
(4xx), the function raises: Lambda retries the asynchronous invocation and then sends the
event to the dead-letter queue, whose alarm tells the project's topic.
"""

from __future__ import annotations

import base64
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable, Optional

#: How long one HTTP request may take.
REQUEST_TIMEOUT_SECONDS = 10


class JenkinsError(Exception):
    """Jenkins did not queue the build."""


def _credentials(secret_arn: str) -> tuple[str, str]:
    import boto3  # type: ignore[import-untyped]  # in the Lambda runtime; no type information

    value = boto3.client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"]
    secret = json.loads(value)
    try:
        return secret["username"], secret["token"]
    except KeyError as missing:
        raise JenkinsError(f"secret {secret_arn} has no {missing} key: expected JSON with 'username' and 'token'") from None


def build_request(jenkins_url: str, job_name: str, model_package_arn: str, username: str, token: str) -> urllib.request.Request:
    """The request that queues the job with the model package ARN as its parameter."""
    query = urllib.parse.urlencode({"MODEL_PACKAGE_ARN": model_package_arn})
    url = f"{jenkins_url.rstrip('/')}/job/{urllib.parse.quote(job_name, safe='')}/buildWithParameters?{query}"
    basic = base64.b64encode(f"{username}:{token}".encode()).decode()
    return urllib.request.Request(url, data=b"", method="POST", headers={"Authorization": f"Basic {basic}"})


def start_job(
    request: urllib.request.Request,
    *,
    attempts: int = 3,
    backoff_seconds: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Send ``request`` until Jenkins queues the build; return the queue item's location."""
    last: Optional[str] = None
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:  # noqa: S310 (https only)
                return response.headers.get("Location", "")
        except urllib.error.HTTPError as error:
            if error.code < 500:
                raise JenkinsError(f"Jenkins refused the build: HTTP {error.code} {error.reason}") from None
            last = f"HTTP {error.code} {error.reason}"
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            last = f"{type(error).__name__}: {getattr(error, 'reason', error)}"
        print(f"attempt {attempt} of {attempts} failed: {last}")
        if attempt < attempts:
            sleep(backoff_seconds * 2 ** (attempt - 1))
    raise JenkinsError(f"Jenkins did not queue the build after {attempts} attempts: {last}")


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, str]:
    detail = event.get("detail") or {}
    arn = detail.get("ModelPackageArn")
    if not arn or detail.get("ModelApprovalStatus") != "Approved":
        # The rule sends approvals only; anything else is not this function's to act on.
        print(f"ignored: not an approved model version ({json.dumps(detail)[:500]})")
        return {"ignored": "not an approved model version"}
    url, job = os.environ["JENKINS_URL"], os.environ["JOB_NAME"]
    if not url.startswith("https://"):
        raise JenkinsError(f"JENKINS_URL {url!r} is not https")
    username, token = _credentials(os.environ["SECRET_ARN"])
    request = build_request(url, job, arn, username, token)
    location = start_job(
        request,
        attempts=int(os.environ.get("ATTEMPTS", "3")),
        backoff_seconds=float(os.environ.get("BACKOFF_SECONDS", "2")),
    )
    print(f"queued {job} for {arn}: {location}")
    return {"queued": location, "model_package_arn": arn}
