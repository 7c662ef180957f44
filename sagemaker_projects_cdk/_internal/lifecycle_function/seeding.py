"""``Custom::SeedRepository``: on Create, push a seed into an existing repository reached through
an AWS CodeConnections connection, by a build of the project's seeding CodeBuild project, and
answer CloudFormation with the build's outcome.

Properties: ``ProjectName`` (the CodeBuild project), ``ConnectionArn``, ``FullRepositoryName``
(``owner/repo``), ``Branch``, ``SeedBucket`` and ``SeedKey`` (the zipped seed code).

Create starts one build with the repository's connection URL, branch and seed, and waits: the
build's success is the resource's; a failed, stopped or timed-out build fails it with the
build's log location. If the function would time out first it stops the build and fails,
saying where its log is. Update and Delete do nothing (the seed is applied once; pushed
commits stay in the repository). The physical id is stable (``<stack name>-<logical id>``).
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional

import boto3  # type: ignore[import-untyped]  # boto3 ships no type information

try:  # in this library (tests)
    from .index import MARGIN_MILLIS, Event, Failed, _run
except ImportError:  # in Lambda, beside index.py
    from index import MARGIN_MILLIS, Event, Failed, _run  # type: ignore[no-redef,import-not-found]  # index.py sits beside this module only in Lambda

#: Seconds between two looks at the build.
POLL_SECONDS = 10
#: The DNS suffix of AWS endpoints by partition.
_DNS_SUFFIX = {"aws-cn": "amazonaws.com.cn", "aws-iso": "c2s.ic.gov", "aws-iso-b": "sc2s.sgov.gov"}
_DONE = {"SUCCEEDED", "FAILED", "FAULT", "STOPPED", "TIMED_OUT"}


def seed(event: Event, context: Any) -> None:
    """Lambda entry point of ``Custom::SeedRepository``."""
    _run(event, context, _seed)


def _seed(event: Event, context: Any) -> str:
    if event["RequestType"] != "Create":
        return "the seed is pushed when the project is created; nothing to do"
    properties = event["ResourceProperties"]
    return run_seed_build(
        boto3.client("codebuild"),
        project_name=properties["ProjectName"],
        repository_url=connection_git_url(properties["ConnectionArn"], properties["FullRepositoryName"]),
        full_name=properties["FullRepositoryName"],
        branch=properties["Branch"],
        seed_bucket=properties["SeedBucket"],
        seed_key=properties["SeedKey"],
        remaining_millis=context.get_remaining_time_in_millis,
    )


def connection_git_url(connection_arn: str, full_name: str) -> str:
    """The connection's Git-over-HTTPS address of ``full_name``:
    ``https://<service>.<region>.<suffix>/git-http/<account>/<region>/<connection id>/<owner>/<repo>.git``,
    where ``<service>`` is the ARN's (``codeconnections`` or ``codestar-connections``)."""
    parts = connection_arn.split(":")
    if len(parts) != 6 or not parts[5].startswith("connection/"):
        raise Failed(f"invalid connection ARN {connection_arn!r}: expected arn:<partition>:codeconnections:<region>:<account>:connection/<id>")
    _arn, partition, service, region, account, resource = parts
    suffix = _DNS_SUFFIX.get(partition, "amazonaws.com")
    connection_id = resource.split("/", 1)[1]
    return f"https://{service}.{region}.{suffix}/git-http/{account}/{region}/{connection_id}/{full_name}.git"


def run_seed_build(
    codebuild: Any,
    *,
    project_name: str,
    repository_url: str,
    full_name: str,
    branch: str,
    seed_bucket: str,
    seed_key: str,
    remaining_millis: Callable[[], int],
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Start the seeding build for one repository and wait for it; return what happened or
    raise :class:`Failed` naming the build's log."""
    build = codebuild.start_build(
        projectName=project_name,
        environmentVariablesOverride=[
            {"name": "REPOSITORY_URL", "value": repository_url, "type": "PLAINTEXT"},
            {"name": "BRANCH", "value": branch, "type": "PLAINTEXT"},
            {"name": "SEED_BUCKET", "value": seed_bucket, "type": "PLAINTEXT"},
            {"name": "SEED_KEY", "value": seed_key, "type": "PLAINTEXT"},
        ],
    )["build"]
    build_id = build["id"]
    print(f"seeding {full_name} branch {branch}: build {build_id}")
    while True:
        builds = codebuild.batch_get_builds(ids=[build_id]).get("builds") or [build]
        build = builds[0]
        status = build.get("buildStatus") or "IN_PROGRESS"
        if status == "SUCCEEDED":
            return f"seeded {full_name} branch {branch} (or left it alone: see the build's log {log_location(build)})"
        if status in _DONE:
            phase = _failed_phase(build)
            raise Failed(
                f"seeding {full_name} branch {branch} failed: build {build_id} {status}"
                f"{f' in phase {phase}' if phase else ''}; its log: {log_location(build)}"
            )
        if remaining_millis() < MARGIN_MILLIS + POLL_SECONDS * 1000:
            try:
                codebuild.stop_build(id=build_id)
            except Exception as error:  # the answer to CloudFormation matters more
                print(f"could not stop build {build_id}: {error}")
            raise Failed(
                f"seeding {full_name} branch {branch}: build {build_id} still running when the function had to "
                f"answer; it was stopped; its log: {log_location(build)}"
            )
        sleep(POLL_SECONDS)


def log_location(build: dict[str, Any]) -> str:
    """Where the build's log is: its console link, else ``<group>/<stream>``, else the build id."""
    logs: dict[str, Any] = build.get("logs") or {}
    link: Optional[str] = logs.get("deepLink")
    group, stream = logs.get("groupName"), logs.get("streamName")
    where = f"CloudWatch Logs {group} {stream}" if group and stream else f"the CodeBuild console, build {build.get('id')}"
    return f"{where} ({link})" if link else where


def _failed_phase(build: dict[str, Any]) -> Optional[str]:
    for phase in build.get("phases") or []:
        if phase.get("phaseStatus") not in (None, "SUCCEEDED"):
            contexts = "; ".join(c.get("message", "") for c in phase.get("contexts") or [] if c.get("message"))
            return f"{phase.get('phaseType')}{f' ({contexts})' if contexts else ''}"
    return None
