"""Build step of the model-deploy pipeline: pick the model version and write the stage files.

Runs in CodeBuild (``buildspec.yml``) with boto3 only. It

1. checks every stage configuration file (``<stage>-config.json``) and the environment,
   reporting every problem in one message;
2. finds the newest *approved* version in the project's model package group (or the version
   ``MODEL_PACKAGE_ARN`` names, which must be an approved version of that group), and checks
   that its model artifacts are in the bucket the endpoint may read them from;
3. writes, into the output directory, what the pipeline's later actions read:

   - ``endpoint-stage.template.json``: the CloudFormation template each stage deploys;
   - ``<stage>-params.json``: that stage's template configuration (parameters and tags);
   - ``<stage>-test.json``: the endpoint tests' settings, for a stage whose configuration has
     a ``smoke_test`` block;
   - ``<stage>-change.json``: for a stage whose deployments are recorded as change events
     (``CHANGE_RECORD_STAGES``), the stage's stack and endpoint and the version deployed,
     which ``change/change_record.py`` reads before the deployment (the version the stage
     serves then) and puts on the event bus after it.

It exits non-zero, with a message that says what to do, when a configuration is invalid,
no version is approved, or the approved version's artifacts are in another bucket.

Environment: ``MODEL_PACKAGE_GROUP_NAME``, ``SAGEMAKER_PROJECT_NAME``,
``SAGEMAKER_PROJECT_ID``, ``ARTIFACT_BUCKET``, ``ARTIFACT_KMS_KEY_ARN`` (required);
``AWS_REGION`` (boto3's region); optional:

- ``MODEL_ARTIFACT_BUCKET``: the bucket holding the model packages' artifacts, when the group
  is another project's (its bucket). Default: ``ARTIFACT_BUCKET``.
- ``MODEL_ARTIFACT_KMS_KEY_ARN``: the KMS key encrypting them. Default: ``ARTIFACT_KMS_KEY_ARN``
  when the artifacts are in ``ARTIFACT_BUCKET``; otherwise none (empty: the objects are not
  KMS-encrypted).
- ``TEST_DATA_S3_URI``: the endpoint tests' data, overriding the model package's
  ``TestDataS3Uri`` metadata.
- ``MODEL_PACKAGE_ARN``: the model version to deploy instead of the newest approved one (a
  job started by the approval of that version passes it, e.g. Jenkins's deploy job). It must
  be a version of ``MODEL_PACKAGE_GROUP_NAME`` and Approved; unset or empty: the newest
  approved version.
- ``DEPLOY_STAGES``: the deployment stages, comma-separated and in order, as the pipeline
  deploys them (the pipeline sets it). Default: ``DEFAULT_STAGES``.
- ``TESTED_STAGES``: the stages the pipeline tests after deploying them (the pipeline sets
  it); each needs a ``smoke_test`` block in its configuration. Default: none checked.
- ``CHANGE_RECORD_STAGES``: the stages whose deployments the pipeline records as change
  events (the pipeline sets it). Default: none.
- ``STAGE_ACCOUNTS`` and ``STAGE_EXECUTION_ROLE_ARNS``: per stage of ``DEPLOY_STAGES``, in
  its order and comma-separated, the AWS account the stage deploys into and the model role
  its endpoint runs as there (the target-account baseline's endpoint role); empty entries (or
  unset) mean this account and a role the stage stack creates. A stage in another account
  keeps its captured data there: its parameters leave ``ArtifactBucketName`` and
  ``ArtifactKmsKeyArn`` empty (the stage stack creates its own bucket and key) and name the
  role in ``ExecutionRoleArn``; the model version and its artifacts are still read from this
  account's registry and bucket.

When the version's inference image is in a private ECR repository of this account and region
(a project's own image, e.g. the image-build-deploy template's), each stage in this account
names that repository in ``ModelImageRepositoryName``: the stage stack's own model role may then
pull it (it pulls AWS's images in any case). A stage in another account leaves it empty: its
role pulls through that account's grants and the repository policy.

Usage: ``python build.py [--stages <stage> ...] [--output-dir build]`` (``--stages`` wins over
``DEPLOY_STAGES``)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

HERE = Path(__file__).resolve().parent
TEMPLATE_FILE = "endpoint-stage.template.json"
#: How a stage serves (its configuration's ``kind``) and the template each kind deploys. The
#: pipeline deploys ``TEMPLATE_FILE`` for every stage: build.py writes the kind's template there.
KIND_TEMPLATES = {
    "realtime": TEMPLATE_FILE,
    "async": "async-stage.template.json",
    "batch": "batch-stage.template.json",
}
SPLIT_TYPES = ("None", "Line", "RecordIO", "TFRecord")
JOIN_SOURCES = ("None", "Input")
BATCH_STRATEGIES = ("MultiRecord", "SingleRecord")
#: An EventBridge schedule expression (``BatchTransform``'s ``SCHEDULE_EXPRESSION``; a test keeps them equal).
SCHEDULE_EXPRESSION = re.compile(
    r"rate\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\)"
    r"|cron\([0-9*/,-]+ [0-9*/,-]+ (\? [0-9A-Za-z*/,-]+ [0-9A-Za-z*/,L#-]+|[0-9*/,LW-]+ [0-9A-Za-z*/,-]+ \?) [0-9*/,-]+\)"
)
MIME_TYPE = re.compile(r"[\w.+-]+/[\w.+-]+")
#: The stages when neither --stages nor DEPLOY_STAGES says (the pipeline's default stages).
DEFAULT_STAGES = ("staging", "prod")
DEPLOY_STAGES = "DEPLOY_STAGES"
#: The stages the pipeline tests after deploying them, comma-separated (set by the pipeline).
TESTED_STAGES = "TESTED_STAGES"
#: The stages whose deployments the pipeline records as change events (set by the pipeline).
CHANGE_RECORD_STAGES = "CHANGE_RECORD_STAGES"
REQUIRED_ENVIRONMENT = {
    "MODEL_PACKAGE_GROUP_NAME": "the project's model package group",
    "SAGEMAKER_PROJECT_NAME": "the SageMaker project name",
    "SAGEMAKER_PROJECT_ID": "the SageMaker project id",
    "ARTIFACT_BUCKET": "the project's artifact bucket name",
    "ARTIFACT_KMS_KEY_ARN": "the ARN of the bucket's KMS key",
}
#: Per stage, in DEPLOY_STAGES order: the account and the model role of a stage in another account.
STAGE_ACCOUNTS = "STAGE_ACCOUNTS"
STAGE_EXECUTION_ROLE_ARNS = "STAGE_EXECUTION_ROLE_ARNS"
ACCOUNT_ID = re.compile(r"[0-9]{12}")
#: The target-account baseline's endpoint role (``constructs/deploy/targets.py``); its
#: ``transform`` and ``trigger`` roles have the same path and name but for the last word.
#: ``tooling`` is the tooling account the baseline was deployed for (this pipeline's account).
BASELINE_ENDPOINT_ROLE = re.compile(
    r"(arn:aws(?:-[a-z]+)*:iam::[0-9]{12}:role/(?:[\w+=,.@-]+/)*sagemaker-projects-(?P<tooling>[0-9]{12})-)endpoint"
)
ROLE_ARN = re.compile(r"arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/([\w+=,.@-]+/)*[\w+=,.@-]{1,64}")
#: Optional: where the model packages' artifacts are, when not in ARTIFACT_BUCKET.
MODEL_ARTIFACT_BUCKET = "MODEL_ARTIFACT_BUCKET"
MODEL_ARTIFACT_KMS_KEY_ARN = "MODEL_ARTIFACT_KMS_KEY_ARN"
#: Optional: the model version to deploy (default: the newest approved version of the group).
MODEL_PACKAGE_ARN = "MODEL_PACKAGE_ARN"
#: ``arn:<partition>:sagemaker:<region>:<account>:model-package/<group>/<version>``: a version
#: of a model package group (SageMaker keeps the group's case in model package ARNs).
VERSIONED_PACKAGE_ARN = re.compile(r"arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:model-package/([a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62})/([0-9]+)")
#: What the stage template accepts (``EndpointStageStack``'s patterns).
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
KMS_KEY_ARN = re.compile(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:(?P<account>[0-9]{12}):key/[a-zA-Z0-9-]+")
#: S3 locations as ``https://`` URLs: virtual-hosted (``<bucket>.s3[.-<region>].amazonaws.com``)
#: and path style (``s3[.-<region>].amazonaws.com/<bucket>``).
S3_VIRTUAL_HOST = re.compile(r"https://([a-z0-9][a-z0-9.-]*[a-z0-9])\.s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?(?:/.*)?")
S3_PATH_STYLE = re.compile(r"https://s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?/([^/]+)(?:/.*)?")

#: A private ECR image: ``<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:<tag>|@<digest>]``.
ECR_IMAGE = re.compile(r"([0-9]{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/([a-z0-9._/-]+?)(?::[\w.-]+|@sha256:[0-9a-f]{64})?")
#: The stage template's parameter naming that repository (``EndpointStageStack``).
IMAGE_REPOSITORY_PARAMETER = "ModelImageRepositoryName"

#: SageMaker instance families (the library's ``_validation.INSTANCE_FAMILIES``; a test keeps
#: the two lists equal).
INSTANCE_FAMILIES = frozenset(
    """
    t2 t3 m4 m5 m5d m6i m6id m7i m6g m6gd m7g c4 c5 c5d c5n c6i c6id c6in c7i c6g c6gd c6gn c7g
    r5 r5d r6i r6id r7i r6g r6gd r7g r8g x1 z1d g4dn g5 g6 g6e gr6 g7e p2 p3 p3dn p4d p4de p5
    p5e p5en p6-b200 inf1 inf2 trn1 trn1n trn2
    """.split()
)
INSTANCE_TYPE = re.compile(r"ml\.([a-z0-9-]+)\.(?:nano|micro|small|medium|large|xlarge|[0-9]+xlarge)")
NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
TRAFFIC_MODES = ("ALL_AT_ONCE", "CANARY", "LINEAR")
STEP_TYPES = ("CAPACITY_PERCENT", "INSTANCE_COUNT")
TEST_DATA_METADATA_KEY = "TestDataS3Uri"


class BuildError(Exception):
    """A problem the person running the pipeline must fix; the message says how."""


# --------------------------------------------------------------------------- config checks


class Checker:
    """Reads one stage configuration and collects every problem in it."""

    def __init__(self, source: str, config: dict[str, Any]) -> None:
        self.source = source
        self.config = config
        self.problems: list[str] = []

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{self.source}: {key}: {message}")

    def get(self, key: str, kind: str, rule: Callable[[Any], bool] = lambda _: True, expected: str = "") -> Any:
        """The value at dotted ``key``, checked for type ``kind`` (str, int, number, bool, object) and ``rule``."""
        node: Any = self.config
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                self.problem(key, f"missing (expected {expected or kind})")
                return None
            node = node[part]
        type_ok = {
            "str": isinstance(node, str),
            "int": isinstance(node, int) and not isinstance(node, bool),
            "number": isinstance(node, (int, float)) and not isinstance(node, bool),
            "bool": isinstance(node, bool),
            "object": isinstance(node, dict),
        }[kind]
        if not type_ok:
            self.problem(key, f"{node!r} is a {type(node).__name__}, expected {expected or kind}")
            return None
        if not rule(node):
            self.problem(key, f"invalid {node!r}: expected {expected}")
            return None
        return node

    def unknown_keys(self, path: str, allowed: set[str]) -> None:
        """Report keys under dotted ``path`` ("" for the top level) that are not ``allowed`` (typos)."""
        node: Any = self.config
        for part in path.split(".") if path else []:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            for key in sorted(set(node) - allowed):
                self.problem(f"{path + '.' if path else ''}{key}", f"unknown key (expected one of {', '.join(sorted(allowed))})")


def _whole(low: int, high: int) -> tuple[Callable[[Any], bool], str]:
    return (lambda v: low <= v <= high), f"a whole number from {low} to {high}"


def _instance_type_ok(value: str) -> bool:
    match = INSTANCE_TYPE.fullmatch(value)
    return match is not None and match.group(1) in INSTANCE_FAMILIES


TOP_LEVEL_KEYS = {"kind", "instance_type", "instance_count", "data_capture", "autoscaling", "rollout", "alarms", "smoke_test"}
ASYNC_KEYS = {"kind", "instance_type", "instance_count", "max_concurrent_invocations_per_instance", "data_capture", "autoscaling", "smoke_test"}
BATCH_KEYS = {
    "kind", "instance_type", "instance_count", "max_payload_mb", "split_type", "join_source", "batch_strategy",
    "content_type", "schedule", "smoke_test",
}  # fmt: skip


def check_stage_config(source: str, config: Any) -> tuple[Optional[dict[str, Any]], list[str]]:
    """Validate one stage configuration; return (normalized settings or None, problems)."""
    if not isinstance(config, dict):
        return None, [f"{source}: the file must hold a JSON object, found {type(config).__name__}"]
    kind = config.get("kind", "realtime")
    if kind not in KIND_TEMPLATES:
        expected = ", ".join(repr(k) for k in KIND_TEMPLATES)
        return None, [f"{source}: kind: invalid {kind!r}: expected one of {expected} (default 'realtime')"]
    if kind == "async":
        return check_async_config(source, config)
    if kind == "batch":
        return check_batch_config(source, config)
    c = Checker(source, config)
    c.unknown_keys("", TOP_LEVEL_KEYS)
    s: dict[str, Any] = {"kind": "realtime"}
    s["instance_type"] = c.get(
        "instance_type", "str", _instance_type_ok, "an instance type 'ml.<family>.<size>' of a known family, e.g. 'ml.m5.large'"
    )
    s["instance_count"] = c.get("instance_count", "int", *_whole(1, 1000))

    _data_capture(c, s)

    c.unknown_keys("autoscaling", {"enabled", "min_capacity", "max_capacity", "target_invocations_per_instance"})
    if c.get("autoscaling", "object") is not None:
        s["scaling_enabled"] = c.get("autoscaling.enabled", "bool")
        s["min_capacity"] = c.get("autoscaling.min_capacity", "int", *_whole(1, 1000))
        s["max_capacity"] = c.get("autoscaling.max_capacity", "int", *_whole(1, 1000))
        s["target_invocations"] = c.get(
            "autoscaling.target_invocations_per_instance", "number", lambda v: 1 <= v <= 1_000_000, "a number from 1 to 1000000"
        )
        low, high, count = s["min_capacity"], s["max_capacity"], s["instance_count"]
        if None not in (low, high) and high < low:
            c.problem("autoscaling.max_capacity", f"invalid {high}: expected at least min_capacity ({low})")
        elif s["scaling_enabled"] and None not in (low, high, count) and not low <= count <= high:
            c.problem("instance_count", f"invalid {count}: expected between autoscaling min_capacity ({low}) and max_capacity ({high})")

    c.unknown_keys(
        "rollout", {"traffic", "step", "wait_interval_seconds", "termination_wait_seconds", "maximum_execution_timeout_seconds"}
    )
    if c.get("rollout", "object") is not None:
        mode = s["traffic"] = c.get("rollout.traffic", "str", lambda v: v in TRAFFIC_MODES, "one of " + ", ".join(TRAFFIC_MODES))
        s["wait"] = c.get("rollout.wait_interval_seconds", "int", *_whole(0, 3600))
        s["termination_wait"] = c.get("rollout.termination_wait_seconds", "int", *_whole(0, 3600))
        s["timeout"] = c.get("rollout.maximum_execution_timeout_seconds", "int", *_whole(600, 28800))
        step = config["rollout"].get("step")
        s["step_type"], s["step_size"] = "CAPACITY_PERCENT", 10  # the template's defaults, unused
        if mode == "ALL_AT_ONCE" and step is not None:
            c.problem("rollout.step", "not allowed with ALL_AT_ONCE (a step applies to CANARY and LINEAR)")
        elif mode in ("CANARY", "LINEAR"):
            c.unknown_keys("rollout.step", {"type", "size"})
            if c.get("rollout.step", "object", expected="an object {\"type\": ..., \"size\": ...}") is not None:
                step_type = c.get("rollout.step.type", "str", lambda v: v in STEP_TYPES, "one of " + ", ".join(STEP_TYPES))
                size = c.get("rollout.step.size", "int", *_whole(1, 1000))
                _check_step(c, mode, step_type, size, s["instance_count"])
                if step_type is not None and size is not None:
                    s["step_type"], s["step_size"] = step_type, size
        waits = (s["wait"], s["termination_wait"], s["timeout"])
        if None not in waits and mode is not None:
            steps = 1
            if mode == "LINEAR" and s["step_type"] == "CAPACITY_PERCENT":
                steps = -(-100 // s["step_size"])
            if s["timeout"] <= s["wait"] * steps + s["termination_wait"]:
                c.problem(
                    "rollout.maximum_execution_timeout_seconds",
                    f"invalid {s['timeout']}: expected more than the waits it covers "
                    f"({steps} x wait_interval_seconds + termination_wait_seconds = {s['wait'] * steps + s['termination_wait']})",
                )

    c.unknown_keys("alarms", {"error_threshold", "latency_threshold_ms"})
    if c.get("alarms", "object") is not None:
        s["error_threshold"] = c.get("alarms.error_threshold", "int", *_whole(1, 1_000_000))
        s["latency_threshold_ms"] = c.get("alarms.latency_threshold_ms", "int", *_whole(1, 60000))

    if "smoke_test" in config:
        c.unknown_keys("smoke_test", {"rows", "max_latency_ms", "label_column"})
        if c.get("smoke_test", "object") is not None:
            label = config["smoke_test"].get("label_column")
            if label is not None and (isinstance(label, bool) or not isinstance(label, int) or label < 0):
                c.problem("smoke_test.label_column", f"invalid {label!r}: expected a column index (0 for the first) or null")
            s["smoke_test"] = {
                "rows": c.get("smoke_test.rows", "int", *_whole(1, 1000)),
                "max_latency_ms": c.get("smoke_test.max_latency_ms", "int", *_whole(1, 60000)),
                "label_column": label,
            }
    return (s if not c.problems else None), c.problems


def _data_capture(c: Checker, s: dict[str, Any]) -> None:
    c.unknown_keys("data_capture", {"enabled", "sampling_percentage"})
    if c.get("data_capture", "object") is not None:
        s["capture_enabled"] = c.get("data_capture.enabled", "bool")
        s["capture_percentage"] = c.get("data_capture.sampling_percentage", "int", *_whole(0, 100))


def _queue_smoke_test(c: Checker, config: dict[str, Any], s: dict[str, Any]) -> None:
    """An asynchronous or batch stage's test: ``rows`` sent, the answers awaited ``timeout_seconds``."""
    if "smoke_test" not in config:
        return
    c.unknown_keys("smoke_test", {"rows", "timeout_seconds", "label_column"})
    if c.get("smoke_test", "object") is not None:
        label = config["smoke_test"].get("label_column")
        if label is not None and (isinstance(label, bool) or not isinstance(label, int) or label < 0):
            c.problem("smoke_test.label_column", f"invalid {label!r}: expected a column index (0 for the first) or null")
        s["smoke_test"] = {
            "rows": c.get("smoke_test.rows", "int", *_whole(1, 1000)),
            "timeout_seconds": c.get("smoke_test.timeout_seconds", "int", *_whole(60, 7200)),
            "label_column": label,
        }


def check_async_config(source: str, config: dict[str, Any]) -> tuple[Optional[dict[str, Any]], list[str]]:
    """An asynchronous endpoint stage (``"kind": "async"``)."""
    c = Checker(source, config)
    c.unknown_keys("", ASYNC_KEYS)
    s: dict[str, Any] = {"kind": "async"}
    s["instance_type"] = c.get(
        "instance_type", "str", _instance_type_ok, "an instance type 'ml.<family>.<size>' of a known family, e.g. 'ml.m5.large'"
    )
    s["instance_count"] = c.get("instance_count", "int", *_whole(1, 1000))
    s["max_concurrency"] = c.get("max_concurrent_invocations_per_instance", "int", *_whole(1, 1000))
    _data_capture(c, s)
    c.unknown_keys("autoscaling", {"enabled", "min_capacity", "max_capacity", "target_backlog_per_instance"})
    if c.get("autoscaling", "object") is not None:
        s["scaling_enabled"] = c.get("autoscaling.enabled", "bool")
        s["min_capacity"] = c.get("autoscaling.min_capacity", "int", *_whole(0, 1000))
        s["max_capacity"] = c.get("autoscaling.max_capacity", "int", *_whole(1, 1000))
        s["target_backlog"] = c.get(
            "autoscaling.target_backlog_per_instance", "number", lambda v: 1 <= v <= 1_000_000, "a number from 1 to 1000000"
        )
        low, high, count = s["min_capacity"], s["max_capacity"], s["instance_count"]
        if None not in (low, high) and high < low:
            c.problem("autoscaling.max_capacity", f"invalid {high}: expected at least min_capacity ({low})")
        elif s["scaling_enabled"] and None not in (high, count) and count > high:
            c.problem("instance_count", f"invalid {count}: expected at most autoscaling max_capacity ({high})")
    _queue_smoke_test(c, config, s)
    return (s if not c.problems else None), c.problems


def check_batch_config(source: str, config: dict[str, Any]) -> tuple[Optional[dict[str, Any]], list[str]]:
    """A batch transform stage (``"kind": "batch"``)."""
    c = Checker(source, config)
    c.unknown_keys("", BATCH_KEYS)
    s: dict[str, Any] = {"kind": "batch"}
    s["instance_type"] = c.get(
        "instance_type", "str", _instance_type_ok, "an instance type 'ml.<family>.<size>' of a known family, e.g. 'ml.m5.large'"
    )
    s["instance_count"] = c.get("instance_count", "int", *_whole(1, 100))
    s["max_payload_mb"] = c.get("max_payload_mb", "int", *_whole(0, 100))
    s["split_type"] = c.get("split_type", "str", lambda v: v in SPLIT_TYPES, "one of " + ", ".join(SPLIT_TYPES))
    s["join_source"] = c.get("join_source", "str", lambda v: v in JOIN_SOURCES, "one of " + ", ".join(JOIN_SOURCES))
    s["batch_strategy"] = c.get("batch_strategy", "str", lambda v: v in BATCH_STRATEGIES, "one of " + ", ".join(BATCH_STRATEGIES))
    s["content_type"] = c.get("content_type", "str", lambda v: MIME_TYPE.fullmatch(v) is not None, "a MIME type such as 'text/csv'")
    s["schedule"] = c.get(
        "schedule",
        "str",
        lambda v: v == "" or SCHEDULE_EXPRESSION.fullmatch(v) is not None,
        "a schedule expression such as 'rate(1 day)' or 'cron(0 2 * * ? *)', or '' for runs after deployments only",
    )
    _queue_smoke_test(c, config, s)
    return (s if not c.problems else None), c.problems


def _check_step(c: Checker, mode: str, step_type: Optional[str], size: Optional[int], count: Optional[int]) -> None:
    if step_type is None or size is None:
        return
    if step_type == "CAPACITY_PERCENT":
        if mode == "CANARY" and size > 50:
            c.problem("rollout.step.size", f"invalid {size}%: expected a canary of at most 50% of the fleet")
        if mode == "LINEAR" and not 10 <= size <= 50:
            c.problem("rollout.step.size", f"invalid {size}%: expected linear steps of 10% to 50% of the fleet")
    elif count is not None:
        if mode == "CANARY" and size * 2 > count:
            c.problem(
                "rollout.step.size",
                f"invalid {size} instance(s): expected a canary of at most 50% of instance_count ({count}); "
                "raise instance_count or use ALL_AT_ONCE",
            )
        if mode == "LINEAR" and not (size * 10 >= count and size * 2 <= count):
            c.problem("rollout.step.size", f"invalid {size} instance(s): expected 10% to 50% of instance_count ({count})")


def read_stage_configs(config_dir: Path, stages: list[str]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    settings: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for stage in stages:
        path = config_dir / f"{stage}-config.json"
        if not path.is_file():
            problems.append(f"{path.name}: missing (every stage needs a '<stage>-config.json' file)")
            continue
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            problems.append(f"{path.name}: not valid JSON: {error}")
            continue
        stage_settings, stage_problems = check_stage_config(path.name, config)
        problems += stage_problems
        if stage_settings is not None:
            settings[stage] = stage_settings
    return settings, problems


#: The project's private network, as CodeBuild names it (empty: none), by stage template parameter.
NETWORK_VARIABLES = {
    "PRIVATE_VPC_ID": "PrivateVpcId",
    "PRIVATE_SUBNET_IDS": "PrivateSubnetIds",
    "PRIVATE_SECURITY_GROUP_IDS": "PrivateSecurityGroupIds",
}


def network_parameters(env: Mapping[str, str], elsewhere: bool) -> dict[str, str]:
    """The private network's parameters: a stage in this account runs in the project's subnets;
    empty for a stage in another account (its subnets would be that account's) or without one."""
    if elsewhere or not env.get("PRIVATE_SUBNET_IDS"):
        return {parameter: "" for parameter in NETWORK_VARIABLES.values()}
    return {parameter: env.get(variable, "") for variable, parameter in NETWORK_VARIABLES.items()}


def read_environment(stages: list[str], environ: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    env = {name: environ.get(name, "").strip() for name in REQUIRED_ENVIRONMENT}
    env.update({name: environ.get(name, "").strip() for name in NETWORK_VARIABLES})
    problems = [
        f"environment: {name} is not set ({what})" for name, what in REQUIRED_ENVIRONMENT.items() if not env[name]
    ]
    # Unset or empty: the project's bucket, and with it the project's key.
    env[MODEL_ARTIFACT_BUCKET] = environ.get(MODEL_ARTIFACT_BUCKET, "").strip() or env["ARTIFACT_BUCKET"]
    env[MODEL_ARTIFACT_KMS_KEY_ARN] = environ.get(MODEL_ARTIFACT_KMS_KEY_ARN, "").strip() or (
        env["ARTIFACT_KMS_KEY_ARN"] if env[MODEL_ARTIFACT_BUCKET] == env["ARTIFACT_BUCKET"] else ""
    )
    if env[MODEL_ARTIFACT_BUCKET] and not BUCKET_NAME.fullmatch(env[MODEL_ARTIFACT_BUCKET]):
        problems.append(
            f"environment: {MODEL_ARTIFACT_BUCKET} {env[MODEL_ARTIFACT_BUCKET]!r} is not an S3 bucket name "
            "(3 to 63 lower-case letters, digits, dots and hyphens)"
        )
    if env[MODEL_ARTIFACT_KMS_KEY_ARN] and not KMS_KEY_ARN.fullmatch(env[MODEL_ARTIFACT_KMS_KEY_ARN]):
        problems.append(
            f"environment: {MODEL_ARTIFACT_KMS_KEY_ARN} {env[MODEL_ARTIFACT_KMS_KEY_ARN]!r} is not a KMS key ARN "
            "('arn:<partition>:kms:<region>:<account>:key/<key id>'; not an alias); leave it empty when the "
            "model artifacts are not KMS-encrypted"
        )
    env[MODEL_PACKAGE_ARN] = environ.get(MODEL_PACKAGE_ARN, "").strip()
    if env[MODEL_PACKAGE_ARN]:
        match = VERSIONED_PACKAGE_ARN.fullmatch(env[MODEL_PACKAGE_ARN])
        if match is None:
            problems.append(
                f"environment: {MODEL_PACKAGE_ARN} {env[MODEL_PACKAGE_ARN]!r} is not the ARN of a model package version "
                "('arn:<partition>:sagemaker:<region>:<account>:model-package/<group>/<version>'); leave it empty to "
                "deploy the newest approved version"
            )
        elif env["MODEL_PACKAGE_GROUP_NAME"] and match.group(1) != env["MODEL_PACKAGE_GROUP_NAME"]:
            problems.append(
                f"environment: {MODEL_PACKAGE_ARN} {env[MODEL_PACKAGE_ARN]!r} is a version of model package group "
                f"{match.group(1)!r}, not of this project's group {env['MODEL_PACKAGE_GROUP_NAME']!r} "
                "(MODEL_PACKAGE_GROUP_NAME)"
            )
    for stage in stages:
        if not re.fullmatch(r"[a-z](-*[a-z0-9]){0,14}", stage):
            problems.append(f"stages: invalid stage name {stage!r}: expected 1 to 15 lower-case letters, digits and inner hyphens")
            continue
        name = f"{env['SAGEMAKER_PROJECT_NAME']}-{env['SAGEMAKER_PROJECT_ID']}-{stage}"
        if env["SAGEMAKER_PROJECT_NAME"] and env["SAGEMAKER_PROJECT_ID"] and not NAME.fullmatch(name):
            problems.append(
                f"endpoint name {name!r} (project name, project id and stage) is invalid: "
                "expected 1 to 63 letters, digits and inner hyphens; use a shorter stage name"
            )
    return env, problems


# --------------------------------------------------------------------------- model registry


def newest_approved_package(sagemaker: Any, group: str, region: str) -> dict[str, Any]:
    """The newest Approved version of ``group``, described; BuildError when there is none."""
    try:
        sagemaker.describe_model_package_group(ModelPackageGroupName=group)
    except sagemaker.exceptions.ClientError as error:
        raise BuildError(
            f"model package group {group!r} was not found in region {region} ({error.response['Error']['Message']}). "
            "Run the model-build pipeline first: it creates the group and registers model versions."
        ) from error
    approved = sagemaker.list_model_packages(
        ModelPackageGroupName=group,
        ModelApprovalStatus="Approved",
        ModelPackageType="Versioned",
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=1,
    )["ModelPackageSummaryList"]
    if not approved:
        counts: dict[str, int] = {}
        for page in sagemaker.get_paginator("list_model_packages").paginate(ModelPackageGroupName=group):
            for summary in page["ModelPackageSummaryList"]:
                status = summary.get("ModelApprovalStatus", "Unknown")
                counts[status] = counts.get(status, 0) + 1
        found = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no versions at all"
        raise BuildError(
            f"no approved model package in model package group {group!r} (region {region}); found {found}. "
            "Approve a version in SageMaker Studio (Models > Model registry > the version > Update status > Approved) "
            "or with 'aws sagemaker update-model-package --model-package-arn <arn> --model-approval-status Approved'; "
            "the approval starts this pipeline again."
        )
    return sagemaker.describe_model_package(ModelPackageName=approved[0]["ModelPackageArn"])


def requested_package(sagemaker: Any, group: str, arn: str, region: str) -> dict[str, Any]:
    """Version ``arn`` (``MODEL_PACKAGE_ARN``, a version of ``group``: ``read_environment``
    checked its name), described, when it exists and is Approved; BuildError otherwise."""
    try:
        package = sagemaker.describe_model_package(ModelPackageName=arn)
    except sagemaker.exceptions.ClientError as error:
        raise BuildError(
            f"model package {arn} ({MODEL_PACKAGE_ARN}) was not found in region {region} "
            f"({error.response['Error']['Message']}); pass the ARN of an approved version of model package group "
            f"{group!r}, or leave {MODEL_PACKAGE_ARN} empty to deploy the newest approved version."
        ) from error
    status = package.get("ModelApprovalStatus", "Unknown")
    if status != "Approved":
        raise BuildError(
            f"model package {arn} ({MODEL_PACKAGE_ARN}) is {status}, not Approved; only approved versions are "
            "deployed. Approve it in SageMaker Studio (Models > Model registry > the version > Update status > "
            f"Approved) or with 'aws sagemaker update-model-package --model-package-arn {arn} "
            "--model-approval-status Approved'."
        )
    return package


def stage_stack_name(env: Mapping[str, str], stage: str) -> str:
    """``sagemaker-<project>-<id>-deploy-<stage>``: the stack the pipeline deploys the stage as."""
    return f"sagemaker-{env['SAGEMAKER_PROJECT_NAME']}-{env['SAGEMAKER_PROJECT_ID']}-deploy-{stage}"


def s3_bucket_of(url: str) -> Optional[str]:
    """The bucket of an S3 location (``s3://`` or ``https://``), or None when it is not one."""
    if url.startswith("s3://"):
        return url[len("s3://") :].split("/", 1)[0] or None
    match = S3_VIRTUAL_HOST.fullmatch(url) or S3_PATH_STYLE.fullmatch(url)
    return match.group(1) if match else None


def model_data_locations(package: dict[str, Any]) -> list[str]:
    """Every S3 location the package's containers load model data from."""
    locations = []
    for container in package.get("InferenceSpecification", {}).get("Containers", []):
        sources = [container.get("ModelDataSource"), *(container.get("AdditionalModelDataSources") or [])]
        locations += [container["ModelDataUrl"]] if container.get("ModelDataUrl") else []
        locations += [s["S3DataSource"]["S3Uri"] for s in sources if s and s.get("S3DataSource", {}).get("S3Uri")]
    return locations


def check_model_artifacts(package: dict[str, Any], env: dict[str, str]) -> None:
    """The package's model data is all in MODEL_ARTIFACT_BUCKET, the one bucket the endpoint may read."""
    readable = env[MODEL_ARTIFACT_BUCKET]
    elsewhere = {url: s3_bucket_of(url) for url in model_data_locations(package) if s3_bucket_of(url) != readable}
    if not elsewhere:
        return
    buckets = sorted({bucket for bucket in elsewhere.values() if bucket})
    where = (
        f"bucket{'s' if len(buckets) > 1 else ''} {', '.join(repr(b) for b in buckets)}"
        if buckets
        else "a location that is not in S3"
    )
    if len(buckets) == 1 and all(elsewhere.values()):
        todo = (
            f"Set the model-deploy template's source model artifact bucket ({MODEL_ARTIFACT_BUCKET} of this build "
            f"step) to {buckets[0]!r} and its KMS key ({MODEL_ARTIFACT_KMS_KEY_ARN}) to the key that encrypts that "
            "bucket, empty when its objects are not KMS-encrypted; then run this pipeline again (Release change)."
        )
    else:
        todo = (
            "An endpoint reads model artifacts from one S3 bucket: register a version whose artifacts are all in "
            f"one bucket and set the model-deploy template's source model artifact bucket ({MODEL_ARTIFACT_BUCKET} "
            "of this build step) to it."
        )
    raise BuildError(
        f"model package {package['ModelPackageArn']} has its model artifacts in {where} "
        f"({', '.join(sorted(elsewhere))}), but this project's endpoints read model artifacts only from bucket "
        f"{readable!r}, so SageMaker could not load the model. {todo}"
    )


def own_image_repository(package: dict[str, Any]) -> str:
    """The private ECR repository, in the package's own account and region (this account's
    registry), holding the package's inference image; "" when its images are elsewhere (AWS's,
    which the stage's model role pulls already).

    Raises:
        BuildError: its containers' images are in several of this account's repositories (the
            stage template lets the model role pull one).
    """
    _, _, _, region, account, _ = package["ModelPackageArn"].split(":", 5)
    names = set()
    for container in package.get("InferenceSpecification", {}).get("Containers", []):
        match = ECR_IMAGE.fullmatch(container.get("Image", ""))
        if match and match.group(1) == account and match.group(2) == region:
            names.add(match.group(3))
    if len(names) > 1:
        raise BuildError(
            f"model package {package['ModelPackageArn']} runs images of {len(names)} ECR repositories of this "
            f"account ({', '.join(sorted(names))}), but the stage template lets the endpoint's model role pull "
            "one: register a version whose containers' images are in one repository of this account (or AWS's)"
        )
    return names.pop() if names else ""


# --------------------------------------------------------------------------- outputs


def stage_targets(environ: Mapping[str, str]) -> tuple[dict[str, dict[str, str]], list[str]]:
    """Per stage of ``DEPLOY_STAGES``: its ``account`` and ``execution_role_arn`` (empty: this
    account, the stage stack's own role), from ``STAGE_ACCOUNTS`` and ``STAGE_EXECUTION_ROLE_ARNS``."""
    stages = stages_from(environ)
    targets = {stage: {"account": "", "execution_role_arn": ""} for stage in stages}
    problems: list[str] = []
    for variable, key, pattern, expected in (
        (STAGE_ACCOUNTS, "account", ACCOUNT_ID, "a 12-digit account id or empty"),
        (STAGE_EXECUTION_ROLE_ARNS, "execution_role_arn", ROLE_ARN, "an IAM role ARN or empty"),
    ):
        raw = environ.get(variable, "")
        if not raw.strip():
            continue
        values = [value.strip() for value in raw.split(",")]
        if len(values) != len(stages):
            problems.append(f"environment: {variable} has {len(values)} entries, expected one per stage of {DEPLOY_STAGES} ({', '.join(stages)})")
            continue
        for stage, value in zip(stages, values):
            if value and not pattern.fullmatch(value):
                problems.append(f"environment: {variable}: stage {stage}: {value!r} is not {expected}")
            targets[stage][key] = value
    for stage, target in targets.items():
        if bool(target["account"]) != bool(target["execution_role_arn"]):
            problems.append(f"environment: stage {stage}: {STAGE_ACCOUNTS} and {STAGE_EXECUTION_ROLE_ARNS} are given together or not at all")
        elif target["account"] and f":iam::{target['account']}:" not in target["execution_role_arn"]:
            problems.append(f"environment: stage {stage}: the execution role {target['execution_role_arn']} is not in account {target['account']}")
    return targets, problems


def stage_parameters(
    stage: str,
    s: dict[str, Any],
    env: dict[str, str],
    package_arn: str,
    target: Optional[Mapping[str, str]] = None,
    image_repository: str = "",
) -> dict[str, str]:
    """The template's parameters for one stage (CloudFormation wants strings); ``target`` is
    the stage's account and role (see ``stage_targets``; default: this account);
    ``image_repository`` the model's image repository in this account (``own_image_repository``),
    which only a stage in this account names."""
    elsewhere = bool(target and target.get("account"))
    values: dict[str, Any] = {
        "SageMakerProjectName": env["SAGEMAKER_PROJECT_NAME"],
        "SageMakerProjectId": env["SAGEMAKER_PROJECT_ID"],
        "StageName": stage,
        "ModelPackageArn": package_arn,
        # A stage in another account captures data into a bucket and key of its own stack.
        "ArtifactBucketName": "" if elsewhere else env["ARTIFACT_BUCKET"],
        "ArtifactKmsKeyArn": "" if elsewhere else env["ARTIFACT_KMS_KEY_ARN"],
        "ExecutionRoleArn": target["execution_role_arn"] if target and elsewhere else "",
        # The stage stack's own model role pulls the model's image from this account's repository.
        IMAGE_REPOSITORY_PARAMETER: "" if elsewhere else image_repository,
        "ModelArtifactBucketName": env[MODEL_ARTIFACT_BUCKET],
        "ModelArtifactKmsKeyArn": env[MODEL_ARTIFACT_KMS_KEY_ARN],
        **_kind_parameters(s),
        **network_parameters(env, elsewhere),
    }
    if s.get("kind") == "batch":
        # A batch stage in another account: its state machine and rules run as the baseline's roles.
        match = BASELINE_ENDPOINT_ROLE.fullmatch(values["ExecutionRoleArn"])
        values["StateMachineRoleArn"] = f"{match.group(1)}transform" if match else ""
        values["TriggerRoleArn"] = f"{match.group(1)}trigger" if match else ""
    return {key: (str(value).lower() if isinstance(value, bool) else str(value)) for key, value in values.items()}


def _kind_parameters(s: dict[str, Any]) -> dict[str, Any]:
    """The parameters of the stage's kind (its template's own)."""
    kind = s.get("kind", "realtime")
    if kind == "async":
        return {
            "InstanceType": s["instance_type"],
            "InstanceCount": s["instance_count"],
            "MaxConcurrentInvocationsPerInstance": s["max_concurrency"],
            "EnableDataCapture": s["capture_enabled"],
            "DataCaptureSamplingPercentage": s["capture_percentage"],
            "EnableAutoscaling": s["scaling_enabled"],
            "MinCapacity": s["min_capacity"],
            "MaxCapacity": s["max_capacity"],
            "TargetBacklogPerInstance": s["target_backlog"],
        }
    if kind == "batch":
        return {
            "InstanceType": s["instance_type"],
            "InstanceCount": s["instance_count"],
            "MaxPayloadInMB": s["max_payload_mb"],
            "SplitType": s["split_type"],
            "JoinSource": s["join_source"],
            "BatchStrategy": s["batch_strategy"],
            "ContentType": s["content_type"],
            "Schedule": s["schedule"],
        }
    return {
        "InstanceType": s["instance_type"],
        "InstanceCount": s["instance_count"],
        "EnableDataCapture": s["capture_enabled"],
        "DataCaptureSamplingPercentage": s["capture_percentage"],
        "EnableAutoscaling": s["scaling_enabled"],
        "MinCapacity": s["min_capacity"],
        "MaxCapacity": s["max_capacity"],
        "TargetInvocationsPerInstance": s["target_invocations"],
        "TrafficRoutingType": s["traffic"],
        "TrafficStepType": s["step_type"],
        "TrafficStepSize": s["step_size"],
        "TrafficWaitIntervalSeconds": s["wait"],
        "TerminationWaitSeconds": s["termination_wait"],
        "MaximumExecutionTimeoutSeconds": s["timeout"],
        "ErrorAlarmThreshold": s["error_threshold"],
        "LatencyAlarmThresholdMs": s["latency_threshold_ms"],
    }


def check_against_template(
    template: dict[str, Any], source: str, parameters: dict[str, str], template_file: str = TEMPLATE_FILE
) -> list[str]:
    """Every parameter is declared, every required one given, and each meets its constraints."""
    declared = template.get("Parameters", {})
    problems = [f"{source}: parameter {name} is not in {template_file}" for name in parameters if name not in declared]
    for name, spec in declared.items():
        if name not in parameters:
            if "Default" not in spec:
                problems.append(f"{source}: parameter {name} is required by {template_file} but not written")
            continue
        value = parameters[name]
        if "AllowedValues" in spec and value not in spec["AllowedValues"]:
            problems.append(f"{source}: parameter {name} {value!r} is not one of {spec['AllowedValues']}")
        if "AllowedPattern" in spec and re.fullmatch(spec["AllowedPattern"].strip("^$"), value) is None:
            problems.append(f"{source}: parameter {name} {value!r} does not match {spec['AllowedPattern']}")
        if spec.get("Type") == "Number":
            number = float(value)
            if "MinValue" in spec and number < float(spec["MinValue"]) or "MaxValue" in spec and number > float(spec["MaxValue"]):
                problems.append(f"{source}: parameter {name} {value} is outside {spec.get('MinValue')}..{spec.get('MaxValue')}")
    return problems


def smoke_test_settings(
    stage: str,
    s: dict[str, Any],
    env: dict[str, str],
    package: dict[str, Any],
    region: str,
    environ: dict[str, str],
    target: Optional[Mapping[str, str]] = None,
) -> dict[str, Any]:
    spec = package.get("InferenceSpecification", {})
    metadata = package.get("CustomerMetadataProperties", {}) or {}
    endpoint_name = f"{env['SAGEMAKER_PROJECT_NAME']}-{env['SAGEMAKER_PROJECT_ID']}-{stage}"
    kind = s.get("kind", "realtime")
    # Where the test writes its requests and reads the answers (a stage in this account: the
    # project bucket; in another account the stack's own bucket, which the test finds there).
    queue: dict[str, Any] = {}
    if kind in ("async", "batch"):
        elsewhere = bool(target and target.get("account"))
        queue = {"stack_name": stage_stack_name(env, stage), "bucket": "" if elsewhere else env["ARTIFACT_BUCKET"]}
    if kind == "async":
        queue["input_prefix"] = f"async-inference/{endpoint_name}/input"
    elif kind == "batch":
        queue["test_input_prefix"] = f"batch-transform/{stage}/test-input"
        queue["output_prefix"] = f"batch-transform/{stage}/output"
    return {
        # A real-time stage's settings stay as they were (the test's default kind).
        **({"kind": kind} if kind != "realtime" else {}),
        **queue,
        "endpoint_name": endpoint_name,
        "region": region,
        "model_package_arn": package["ModelPackageArn"],
        "content_type": (spec.get("SupportedContentTypes") or ["text/csv"])[0],
        "accept": (spec.get("SupportedResponseMIMETypes") or ["text/csv"])[0],
        "test_data_s3_uri": environ.get("TEST_DATA_S3_URI") or metadata.get(TEST_DATA_METADATA_KEY),
        **s["smoke_test"],
    }


def write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def build(stages: list[str], config_dir: Path, output_dir: Path, environ: dict[str, str], session: Any = None) -> dict[str, Any]:
    """Do the whole build step; raise BuildError with one message on any problem."""
    settings, problems = read_stage_configs(config_dir, stages)
    problems += untested_stage_problems(stages, settings, environ)
    env, env_problems = read_environment(stages, environ)
    targets, target_problems = stage_targets(environ)
    env_problems += target_problems
    kinds = {stage: settings[stage].get("kind", "realtime") for stage in stages if stage in settings}
    kind = next(iter(kinds.values()), "realtime")
    if len(set(kinds.values())) > 1:
        problems.append(
            "kind: the pipeline deploys one stage template to every stage, so every stage serves the same way; found "
            + ", ".join(f"{stage}: {k}" for stage, k in kinds.items())
        )
    for stage, stage_kind in kinds.items():
        role_arn = targets.get(stage, {}).get("execution_role_arn", "")
        if stage_kind == "batch" and role_arn and BASELINE_ENDPOINT_ROLE.fullmatch(role_arn) is None:
            problems.append(
                f"{stage}-config.json: kind: a batch stage in another account runs its state machine and rules as the "
                "target-account baseline's 'transform' and 'trigger' roles, named like its 'endpoint' role "
                f"(sagemaker-projects-<tooling account>-endpoint); {STAGE_EXECUTION_ROLE_ARNS} names {role_arn}, which "
                "is not one: deploy the target-account baseline there and name its endpoint role"
            )
    # A baseline's roles serve the tooling account it was deployed for (its deployer passes only
    # its own roles): this pipeline's account is the project key's (ARTIFACT_KMS_KEY_ARN).
    key = KMS_KEY_ARN.fullmatch(environ.get("ARTIFACT_KMS_KEY_ARN", "").strip())
    for stage, target in targets.items():
        baseline = BASELINE_ENDPOINT_ROLE.fullmatch(target["execution_role_arn"])
        if key and baseline and baseline.group("tooling") != key.group("account"):
            tooling = key.group("account")
            problems.append(
                f"environment: {STAGE_EXECUTION_ROLE_ARNS}: stage {stage}: {target['execution_role_arn']} is the endpoint "
                f"role of a target-account baseline for tooling account {baseline.group('tooling')}, but this pipeline's "
                f"tooling account is {tooling} (ARTIFACT_KMS_KEY_ARN's): name the role of the baseline deployed there "
                f"for {tooling} (sagemaker-projects-{tooling}-endpoint)"
            )
    template_file = KIND_TEMPLATES[kind]
    template_path = config_dir / template_file
    try:
        template = json.loads(template_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        template = None
        problems.append(f"{template_file}: cannot be read as JSON ({error})")
    problems += env_problems
    if problems:
        raise BuildError(_listing("the deployment configuration is invalid; nothing was written", problems))

    import boto3  # only now: the checks above run without AWS

    session = session or boto3.session.Session()
    region = session.region_name
    sagemaker = session.client("sagemaker")
    where = region or "(none set: set AWS_REGION)"
    if env[MODEL_PACKAGE_ARN]:
        package = requested_package(sagemaker, env["MODEL_PACKAGE_GROUP_NAME"], env[MODEL_PACKAGE_ARN], where)
    else:
        package = newest_approved_package(sagemaker, env["MODEL_PACKAGE_GROUP_NAME"], where)
    package_arn = package["ModelPackageArn"]
    check_model_artifacts(package, env)
    image_repository = own_image_repository(package)
    # Batch transforms run on the package's transform instance types, endpoints on its real-time ones.
    supported_key, use = (
        ("SupportedTransformInstanceTypes", "batch transform")
        if kind == "batch"
        else ("SupportedRealtimeInferenceInstanceTypes", "real-time inference")
    )
    supported = package.get("InferenceSpecification", {}).get(supported_key) or []
    for stage in stages:
        if supported and settings[stage]["instance_type"] not in supported:
            problems.append(
                f"{stage}-config.json: instance_type {settings[stage]['instance_type']!r} is not one that "
                f"{package_arn} supports for {use} ({', '.join(supported)})"
            )

    recorded = {stage.strip() for stage in environ.get(CHANGE_RECORD_STAGES, "").split(",") if stage.strip()}
    changes = {
        stage: {
            "stage": stage,
            "stack_name": stage_stack_name(env, stage),
            "endpoint_name": f"{env['SAGEMAKER_PROJECT_NAME']}-{env['SAGEMAKER_PROJECT_ID']}-{stage}",
            "model_package_arn": package_arn,
        }
        for stage in stages
        if stage in recorded
    }

    outputs: dict[str, Any] = {"stages": {}}
    parameter_files: dict[str, dict[str, Any]] = {}
    for stage in stages:
        parameters = stage_parameters(stage, settings[stage], env, package_arn, targets.get(stage), image_repository)
        for network_parameter in NETWORK_VARIABLES.values():
            if network_parameter not in template.get("Parameters", {}) and parameters.pop(network_parameter):
                # A stage template from before the private network.
                problems.append(
                    f"{template_file}: has no parameter {network_parameter}, so the {stage} stage could not run in the "
                    "project's private network: replace it with the one of the current sagemaker-projects-cdk "
                    "model-deploy seed"
                )
        if "ExecutionRoleArn" not in template.get("Parameters", {}) and not parameters["ExecutionRoleArn"]:
            del parameters["ExecutionRoleArn"]  # a stage template from before stages in other accounts
        for name in ("StateMachineRoleArn", "TriggerRoleArn"):
            if name in parameters and name not in template.get("Parameters", {}):
                role = parameters.pop(name)  # a batch stage template from before batch stages in other accounts
                if role:
                    problems.append(
                        f"{TEMPLATE_FILE}: has no parameter {name}, so the {stage} batch stage in another account "
                        f"could not run as the target-account baseline's role {role} (the stack would create roles "
                        f"there, which the baseline's deployer may not): replace {TEMPLATE_FILE} with the one of the "
                        "current sagemaker-projects-cdk model-deploy seed"
                    )
        if IMAGE_REPOSITORY_PARAMETER not in template.get("Parameters", {}):
            if parameters.pop(IMAGE_REPOSITORY_PARAMETER):  # a stage template from before projects' own images
                problems.append(
                    f"{TEMPLATE_FILE}: has no parameter {IMAGE_REPOSITORY_PARAMETER}, so the {stage} endpoint's model "
                    f"role could not pull {package_arn}'s image from this account's ECR repository "
                    f"{image_repository!r}: replace {TEMPLATE_FILE} with the one of the current sagemaker-projects-cdk "
                    "model-deploy seed"
                )
        problems += check_against_template(template, f"{stage}-params.json", parameters, template_file)
        parameter_files[stage] = {
            "Parameters": parameters,
            "Tags": {
                "sagemaker:project-name": env["SAGEMAKER_PROJECT_NAME"],
                "sagemaker:project-id": env["SAGEMAKER_PROJECT_ID"],
                "sagemaker:deployment-stage": stage,
            },
        }
    if problems:
        raise BuildError(_listing("the parameters do not fit the template; nothing was written", problems))

    output_dir.mkdir(parents=True, exist_ok=True)
    # The pipeline deploys TEMPLATE_FILE: the stages' kind's template, under that name.
    shutil.copyfile(template_path, output_dir / TEMPLATE_FILE)
    for stage in stages:
        write_json(output_dir / f"{stage}-params.json", parameter_files[stage])
        outputs["stages"][stage] = {"params": f"{stage}-params.json"}
        if "smoke_test" in settings[stage]:
            write_json(output_dir / f"{stage}-test.json", smoke_test_settings(stage, settings[stage], env, package, region, environ, targets.get(stage)))
            outputs["stages"][stage]["test"] = f"{stage}-test.json"
        if stage in changes:
            write_json(output_dir / f"{stage}-change.json", changes[stage])
            outputs["stages"][stage]["change"] = f"{stage}-change.json"
    outputs["model_package_arn"] = package_arn
    return outputs


def untested_stage_problems(stages: list[str], settings: dict[str, dict[str, Any]], environ: Mapping[str, str]) -> list[str]:
    """A stage the pipeline tests (``TESTED_STAGES``) whose configuration has no ``smoke_test``
    block would deploy, then fail its test step: refuse it before anything is deployed."""
    tested = {stage.strip() for stage in environ.get(TESTED_STAGES, "").split(",") if stage.strip()}
    return [
        f"{stage}-config.json: smoke_test: missing (the pipeline tests stage {stage!r} after deploying it)"
        for stage in stages
        if stage in tested and stage in settings and "smoke_test" not in settings[stage]
    ]


def stages_from(environ: Mapping[str, str]) -> list[str]:
    """The stages in ``DEPLOY_STAGES`` (comma-separated), or ``DEFAULT_STAGES`` when unset or empty."""
    stages = [stage.strip() for stage in environ.get(DEPLOY_STAGES, "").split(",") if stage.strip()]
    return stages or list(DEFAULT_STAGES)


def _listing(headline: str, problems: list[str]) -> str:
    return headline + ":\n" + "\n".join(f"  - {problem}" for problem in problems)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stages", nargs="+", default=stages_from(os.environ), help="stages to write files for")
    parser.add_argument("--config-dir", type=Path, default=HERE, help="where <stage>-config.json and the template are")
    parser.add_argument("--output-dir", type=Path, default=Path("build"), help="where to write the stage files")
    args = parser.parse_args(argv)
    try:
        outputs = build(args.stages, args.config_dir, args.output_dir, dict(os.environ))
    except BuildError as error:
        print(f"build.py: {error}", file=sys.stderr)
        return 1
    print(f"build.py: deploying {outputs['model_package_arn']}")
    for stage, files in outputs["stages"].items():
        print(f"build.py: {stage}: " + ", ".join(str(args.output_dir / name) for name in files.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
