"""Build step of the model-monitor pipeline: find what each stage's endpoint serves and write the monitor stage files.

Runs in CodeBuild (``buildspec.yml``) with boto3 only. It

1. checks every stage configuration file (``<stage>-config.json``) and the environment,
   reporting every problem in one message, before any AWS call;
2. per stage, follows the stage's endpoint ``<project name>-<project id>-<stage>`` to its
   endpoint configuration (data capture: where, with which key, of what), its model and the
   model's ``PrimaryContainer.ModelPackageName``, and reads that version's
   ``DriftCheckBaselines`` from the model registry;
3. prepares the two baseline files Model Monitor cannot take as registered: one model-bias
   constraints file with the pre- and post-training bias metrics together, and the
   explainability analysis configuration with ``predictor.model_name`` set to the deployed
   model's name (the registered one cannot name a model that did not exist yet); it uploads
   them to ``s3://<ARTIFACT_BUCKET>/monitoring/<stage>/<DefinitionVersion>/``;
4. writes, into the output directory, what the pipeline's deploy actions read:

   - ``monitor-stage.template.json``: the CloudFormation template each stage deploys (copied);
   - ``<stage>-params.json``: that stage's template configuration (parameters and tags).

``DefinitionVersion`` is 8 hex characters of a SHA-256 over every parameter value that goes
into a job definition (and over the content of the two files above and of the stage
template). Reports go to ``s3://<capture bucket>/monitoring-reports/<stage>/``. Job definitions
cannot be updated, only replaced: their names carry it, so a changed definition gets a new
name and an unchanged one keeps its name.

A stage whose endpoint does not exist yet (the model-deploy pipeline has not deployed it)
does not fail the build: its parameters turn every monitor off and the build says so (run
this pipeline again once the endpoint is in service; the staging endpoint's ``InService``
event does that for staging). ``--require-endpoints`` makes a missing endpoint an error. It
exits non-zero, with a message that says what to do, when a configuration is invalid, an
endpoint captures no data (or not its requests and responses), its model was not deployed
from a model package, or the version has no baseline for a monitor that is on.

Environment: ``SAGEMAKER_PROJECT_NAME``, ``SAGEMAKER_PROJECT_ID``, ``ARTIFACT_BUCKET``,
``ARTIFACT_KMS_KEY_ARN`` (required); ``AWS_REGION`` (boto3's region); optional:

- ``MODEL_PACKAGE_GROUP_NAME``: the project's model package group; a deployed version of
  another group is reported (not an error).
- ``DEPLOY_STAGES``: the stages, comma-separated and in order (the pipeline sets it).
  Default: ``DEFAULT_STAGES``.
- ``STAGE_ACCOUNTS``, ``STAGE_ROLE_ARNS``, ``STAGE_EXECUTION_ROLE_ARNS``: per stage of
  ``DEPLOY_STAGES``, in its order and comma-separated, the AWS account the stage's endpoint
  is in, the role this build assumes there to read the endpoint, its configuration and
  model, and the role the monitoring jobs run as there (``ExecutionRoleArn``); empty entries
  (or unset) mean this account, this build's own role, and a role the stage stack creates.
  The model registry and the baseline files are always read in this account.
- ``NOTIFICATION_TOPIC_ARN``: the SNS topic the violation alarms notify (empty: none).

Usage: ``python build.py [--stages <stage> ...] [--output-dir build] [--require-endpoints]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

HERE = Path(__file__).resolve().parent
TEMPLATE_FILE = "monitor-stage.template.json"
#: The stages when neither --stages nor DEPLOY_STAGES says (the deploy pipeline's default stages).
DEFAULT_STAGES = ("staging", "prod")
DEPLOY_STAGES = "DEPLOY_STAGES"
REQUIRED_ENVIRONMENT = {
    "SAGEMAKER_PROJECT_NAME": "the SageMaker project name",
    "SAGEMAKER_PROJECT_ID": "the SageMaker project id",
    "ARTIFACT_BUCKET": "the project's artifact bucket name",
    "ARTIFACT_KMS_KEY_ARN": "the ARN of the bucket's KMS key",
}
MODEL_PACKAGE_GROUP_NAME = "MODEL_PACKAGE_GROUP_NAME"
NOTIFICATION_TOPIC_ARN = "NOTIFICATION_TOPIC_ARN"
#: Per stage, in DEPLOY_STAGES order: a stage in another account.
STAGE_ACCOUNTS = "STAGE_ACCOUNTS"
STAGE_ROLE_ARNS = "STAGE_ROLE_ARNS"
STAGE_EXECUTION_ROLE_ARNS = "STAGE_EXECUTION_ROLE_ARNS"
ACCOUNT_ID = re.compile(r"[0-9]{12}")
ROLE_ARN = re.compile(r"arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/([\w+=,.@-]+/)*[\w+=,.@-]{1,64}")
TOPIC_ARN = re.compile(r"arn:aws(-[a-z]+)*:sns:[a-z0-9-]+:[0-9]{12}:[\w-]{1,256}")
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
KMS_KEY_ARN = re.compile(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+")
NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
S3_URI = re.compile(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?")

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
PROBLEM_TYPES = ("Regression", "BinaryClassification", "MulticlassClassification")
#: Model Monitor's schedules: hourly, daily at an hour, or every N hours from an hour.
SCHEDULE = re.compile(r"cron\(0 (\*|(?P<hour>[0-9]{1,2})(?:/(?P<every>[0-9]{1,2}))?) \? \* \* \*\)")
MONITORS = ("data_quality", "model_quality", "model_bias", "explainability")
#: Each monitor's template switch.
ENABLE_PARAMETERS = {
    "data_quality": "EnableDataQuality",
    "model_quality": "EnableModelQuality",
    "model_bias": "EnableModelBias",
    "explainability": "EnableExplainability",
}
#: The monitors that compare predictions with ground truth (none without GroundTruthS3Uri).
GROUND_TRUTH_MONITORS = ("model_quality", "model_bias")
BASELINE_PARAMETERS = (
    "DataQualityBaselineStatisticsUri",
    "DataQualityBaselineConstraintsUri",
    "ModelQualityBaselineConstraintsUri",
    "ModelBiasAnalysisConfigUri",
    "ModelBiasBaselineConstraintsUri",
    "ExplainabilityAnalysisConfigUri",
    "ExplainabilityBaselineConstraintsUri",
)
#: Every parameter build.py writes besides the alarm settings (which may not reuse these names).
STANDARD_PARAMETERS = (
    frozenset(
        """
    SageMakerProjectName SageMakerProjectId StageName EndpointName DataCaptureS3Uri OutputS3Uri KmsKeyArn
    ExecutionRoleArn DefinitionVersion GroundTruthS3Uri ProblemType InferenceAttribute ProbabilityAttribute
    ProbabilityThresholdAttribute ScheduleExpression InstanceType InstanceCount VolumeSizeInGB MaxRuntimeInSeconds
    NotificationTopicArn
    """.split()
    )
    | frozenset(ENABLE_PARAMETERS.values())
    | frozenset(BASELINE_PARAMETERS)
)
#: Where the monitoring reports go in the capture bucket: ``<prefix>/<stage>/`` (not under
#: ``monitoring/``, where this build uploads baselines).
REPORTS_PREFIX = "monitoring-reports"
#: Parameters that do not go into a job definition, so not into DefinitionVersion.
NOT_IN_DEFINITION = ("DefinitionVersion", "ScheduleExpression", "NotificationTopicArn")
#: The files this build writes next to the baselines, by the parameter naming them.
MERGED_BIAS_FILE = "model-bias-constraints.json"
EXPLAINABILITY_CONFIG_FILE = "explainability-analysis-config.json"


class BuildError(Exception):
    """A problem the person running the pipeline must fix; the message says how."""


# --------------------------------------------------------------------------- config checks


class Checker:
    """Reads one stage configuration and collects every problem in it."""

    def __init__(self, source: str, config: Dict[str, Any]) -> None:
        self.source = source
        self.config = config
        self.problems: List[str] = []

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

    def unknown_keys(self, path: str, allowed: set) -> None:
        """Report keys under dotted ``path`` ("" for the top level) that are not ``allowed`` (typos)."""
        node: Any = self.config
        for part in path.split(".") if path else []:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            for key in sorted(set(node) - allowed):
                self.problem(f"{path + '.' if path else ''}{key}", f"unknown key (expected one of {', '.join(sorted(allowed))})")


def _whole(low: int, high: int) -> Tuple[Callable[[Any], bool], str]:
    return (lambda v: low <= v <= high), f"a whole number from {low} to {high}"


def _instance_type_ok(value: str) -> bool:
    match = INSTANCE_TYPE.fullmatch(value)
    return match is not None and match.group(1) in INSTANCE_FAMILIES


def schedule_period_seconds(expression: str) -> Optional[int]:
    """Seconds between two runs of a Model Monitor schedule expression, or None when it is not one."""
    match = SCHEDULE.fullmatch(expression)
    if match is None:
        return None
    if match.group("hour") is None:
        return 3600  # cron(0 * ? * * *): hourly
    hour, every = int(match.group("hour")), match.group("every")
    if hour > 23 or every is not None and not 1 <= int(every) <= 24:
        return None
    return 3600 * (int(every) if every is not None else 24)


TOP_LEVEL_KEYS = {
    "monitors",
    "schedule_expression",
    "instance_type",
    "instance_count",
    "volume_size_gb",
    "max_runtime_seconds",
    "ground_truth_s3_uri",
    "problem_type",
    "inference_attribute",
    "probability_attribute",
    "probability_threshold_attribute",
    "alarms",
}
ATTRIBUTE = re.compile(r"[^\s]{0,256}")


def check_stage_config(source: str, config: Any) -> Tuple[Optional[Dict[str, Any]], List[str]]:
    """Validate one stage configuration; return (normalized settings or None, problems)."""
    if not isinstance(config, dict):
        return None, [f"{source}: the file must hold a JSON object, found {type(config).__name__}"]
    c = Checker(source, config)
    c.unknown_keys("", TOP_LEVEL_KEYS)
    s: Dict[str, Any] = {"monitors": {}}
    c.unknown_keys("monitors", set(MONITORS))
    if c.get("monitors", "object", expected='an object {"data_quality": true, ...}') is not None:
        for monitor in MONITORS:
            s["monitors"][monitor] = c.get(f"monitors.{monitor}", "bool", expected="true or false")
    schedule = s["schedule_expression"] = c.get(
        "schedule_expression",
        "str",
        lambda v: schedule_period_seconds(v) is not None,
        "a Model Monitor schedule: 'cron(0 * ? * * *)' (hourly), 'cron(0 H ? * * *)' (daily at hour H) "
        "or 'cron(0 H/N ? * * *)' (every N hours)",
    )
    s["instance_type"] = c.get(
        "instance_type", "str", _instance_type_ok, "an instance type 'ml.<family>.<size>' of a known family, e.g. 'ml.m5.xlarge'"
    )
    s["instance_count"] = c.get("instance_count", "int", *_whole(1, 100))
    s["volume_size_gb"] = c.get("volume_size_gb", "int", *_whole(1, 16384))
    runtime = s["max_runtime_seconds"] = c.get("max_runtime_seconds", "int", *_whole(1, 86400))
    if schedule is not None and runtime is not None:
        period = schedule_period_seconds(schedule) or 0
        if runtime > period:
            c.problem(
                "max_runtime_seconds",
                f"invalid {runtime}: expected at most the schedule's period ({period} seconds for {schedule}): "
                "a monitoring job must end before the next one starts",
            )
    s["ground_truth_s3_uri"] = c.get(
        "ground_truth_s3_uri",
        "str",
        lambda v: v == "" or S3_URI.fullmatch(v) is not None,
        "an S3 prefix 's3://<bucket>/<prefix>' where ground truth labels are put, or \"\" (no model quality or bias monitor)",
    )
    problem_type = s["problem_type"] = c.get(
        "problem_type", "str", lambda v: v in PROBLEM_TYPES, "one of " + ", ".join(PROBLEM_TYPES)
    )
    for key in ("inference_attribute", "probability_attribute", "probability_threshold_attribute"):
        s[key] = c.get(key, "str", lambda v: ATTRIBUTE.fullmatch(v) is not None, 'a column index, a JSONPath or ""')
    threshold = s.get("probability_threshold_attribute")
    if threshold:
        try:
            float(threshold)
        except ValueError:
            c.problem("probability_threshold_attribute", f'invalid {threshold!r}: expected a number such as "0.5", or ""')
    if problem_type == "Regression":
        for key in ("probability_attribute", "probability_threshold_attribute"):
            if s.get(key):
                c.problem(key, f'invalid {s[key]!r}: a Regression model has no probability; expected ""')
    elif problem_type is not None and s.get("inference_attribute") == "" and s.get("probability_attribute") == "":
        c.problem(
            "inference_attribute",
            f"missing: a {problem_type} model needs inference_attribute or probability_attribute "
            "(where the predicted label or probability is in the endpoint's response)",
        )
    alarms = c.get("alarms", "object", expected="an object of alarm settings (may be empty)")
    if alarms is not None:
        for name, value in sorted(alarms.items()):
            if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", name):
                c.problem(
                    f"alarms.{name}",
                    "invalid name: expected a parameter of the monitor stage template (e.g. 'DataQualityDriftThreshold')",
                )
            elif name in STANDARD_PARAMETERS:
                c.problem(f"alarms.{name}", f"invalid name: {name} is set by other keys of this file, not an alarm setting")
            elif isinstance(value, bool) or not isinstance(value, (int, float, str)):
                c.problem(f"alarms.{name}", f"{value!r} is a {type(value).__name__}, expected a number or a string")
        s["alarms"] = {name: value for name, value in alarms.items()}
    return (s if not c.problems else None), c.problems


def read_stage_configs(config_dir: Path, stages: List[str]) -> Tuple[Dict[str, Dict[str, Any]], List[str]]:
    settings: Dict[str, Dict[str, Any]] = {}
    problems: List[str] = []
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


def network_parameters(env: Mapping[str, str], target: Mapping[str, str]) -> Dict[str, str]:
    """The private network's parameters of a stage in this account (a stage elsewhere runs as
    its given role, in its own account's network); none when there is no network."""
    if target.get("execution_role_arn") or not env.get("PRIVATE_SUBNET_IDS"):
        return {}
    return {parameter: env.get(variable, "") for variable, parameter in NETWORK_VARIABLES.items()}


def read_environment(stages: List[str], environ: Mapping[str, str]) -> Tuple[Dict[str, str], List[str]]:
    env = {name: environ.get(name, "").strip() for name in REQUIRED_ENVIRONMENT}
    env.update({name: environ.get(name, "").strip() for name in NETWORK_VARIABLES})
    problems = [f"environment: {name} is not set ({what})" for name, what in REQUIRED_ENVIRONMENT.items() if not env[name]]
    if env["ARTIFACT_BUCKET"] and not BUCKET_NAME.fullmatch(env["ARTIFACT_BUCKET"]):
        problems.append(f"environment: ARTIFACT_BUCKET {env['ARTIFACT_BUCKET']!r} is not an S3 bucket name")
    if env["ARTIFACT_KMS_KEY_ARN"] and not KMS_KEY_ARN.fullmatch(env["ARTIFACT_KMS_KEY_ARN"]):
        problems.append(
            f"environment: ARTIFACT_KMS_KEY_ARN {env['ARTIFACT_KMS_KEY_ARN']!r} is not a KMS key ARN "
            "('arn:<partition>:kms:<region>:<account>:key/<key id>'; not an alias)"
        )
    env[MODEL_PACKAGE_GROUP_NAME] = environ.get(MODEL_PACKAGE_GROUP_NAME, "").strip()
    env[NOTIFICATION_TOPIC_ARN] = environ.get(NOTIFICATION_TOPIC_ARN, "").strip()
    if env[NOTIFICATION_TOPIC_ARN] and not TOPIC_ARN.fullmatch(env[NOTIFICATION_TOPIC_ARN]):
        problems.append(
            f"environment: {NOTIFICATION_TOPIC_ARN} {env[NOTIFICATION_TOPIC_ARN]!r} is not an SNS topic ARN (or empty)"
        )
    for stage in stages:
        if not re.fullmatch(r"[a-z](-*[a-z0-9]){0,14}", stage):
            problems.append(
                f"stages: invalid stage name {stage!r}: expected 1 to 15 lower-case letters, digits and inner hyphens"
            )
            continue
        name = endpoint_name(env, stage)
        if env["SAGEMAKER_PROJECT_NAME"] and env["SAGEMAKER_PROJECT_ID"] and not NAME.fullmatch(name):
            problems.append(
                f"endpoint name {name!r} (project name, project id and stage) is invalid: expected 1 to 63 letters, digits and inner hyphens"
            )
    return env, problems


def stage_targets(stages: List[str], environ: Mapping[str, str]) -> Tuple[Dict[str, Dict[str, str]], List[str]]:
    """Per stage: its ``account``, the ``role_arn`` to read its endpoint with and the monitoring jobs'
    ``execution_role_arn`` (all empty: this account, this build's role, a role the stack creates)."""
    targets = {stage: {"account": "", "role_arn": "", "execution_role_arn": ""} for stage in stages}
    problems: List[str] = []
    for variable, key, pattern, expected in (
        (STAGE_ACCOUNTS, "account", ACCOUNT_ID, "a 12-digit account id or empty"),
        (STAGE_ROLE_ARNS, "role_arn", ROLE_ARN, "an IAM role ARN or empty"),
        (STAGE_EXECUTION_ROLE_ARNS, "execution_role_arn", ROLE_ARN, "an IAM role ARN or empty"),
    ):
        raw = environ.get(variable, "")
        if not raw.strip():
            continue
        values = [value.strip() for value in raw.split(",")]
        if len(values) != len(stages):
            problems.append(
                f"environment: {variable} has {len(values)} entries, expected one per stage of {DEPLOY_STAGES} ({', '.join(stages)})"
            )
            continue
        for stage, value in zip(stages, values):
            if value and not pattern.fullmatch(value):
                problems.append(f"environment: {variable}: stage {stage}: {value!r} is not {expected}")
            targets[stage][key] = value
    for stage, target in targets.items():
        account = target["account"]
        if not account:
            for key, variable in (("role_arn", STAGE_ROLE_ARNS), ("execution_role_arn", STAGE_EXECUTION_ROLE_ARNS)):
                if target[key]:
                    problems.append(
                        f"environment: stage {stage}: {variable} names a role but {STAGE_ACCOUNTS} names no account for it"
                    )
            continue
        for key, variable in (("role_arn", STAGE_ROLE_ARNS), ("execution_role_arn", STAGE_EXECUTION_ROLE_ARNS)):
            if not target[key]:
                problems.append(
                    f"environment: stage {stage} is in account {account} ({STAGE_ACCOUNTS}) but {variable} names no role there"
                )
            elif f":iam::{account}:" not in target[key]:
                problems.append(f"environment: stage {stage}: {variable} role {target[key]} is not in account {account}")
    return targets, problems


def stages_from(environ: Mapping[str, str]) -> List[str]:
    """The stages in ``DEPLOY_STAGES`` (comma-separated), or ``DEFAULT_STAGES`` when unset or empty."""
    stages = [stage.strip() for stage in environ.get(DEPLOY_STAGES, "").split(",") if stage.strip()]
    return stages or list(DEFAULT_STAGES)


def endpoint_name(env: Mapping[str, str], stage: str) -> str:
    """``<project name>-<project id>-<stage>``: the endpoint the model-deploy pipeline deploys the stage as."""
    return f"{env['SAGEMAKER_PROJECT_NAME']}-{env['SAGEMAKER_PROJECT_ID']}-{stage}"


# --------------------------------------------------------------------------- AWS


def stage_session(session: Any, role_arn: str, region: Optional[str]) -> Any:
    """A session acting in the stage's account: ``session`` itself when ``role_arn`` is empty,
    otherwise one with the credentials of ``role_arn`` assumed through ``session``."""
    if not role_arn:
        return session
    import boto3

    credentials = session.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="monitor-build")["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


def _error_code(error: Exception) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", type(error).__name__))


def _error_message(error: Exception) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Message", error))


class EndpointMissing(Exception):
    """The stage's endpoint does not exist (yet)."""


def resolve_endpoint(sagemaker: Any, name: str) -> Dict[str, Any]:
    """Endpoint -> endpoint configuration -> model -> ``PrimaryContainer.ModelPackageName``.

    Returns ``endpoint_arn``, ``status``, ``model_name``, ``model_package`` and ``capture``
    (the configuration's ``DataCaptureConfig``, or None). Raises EndpointMissing or BuildError.
    """
    try:
        endpoint = sagemaker.describe_endpoint(EndpointName=name)
    except Exception as error:  # botocore's ClientError, without importing botocore here
        if _error_code(error) == "ValidationException" and "could not find" in _error_message(error).lower():
            raise EndpointMissing(name) from error
        raise BuildError(
            f"cannot describe endpoint {name} (sagemaker:DescribeEndpoint): {_error_code(error)}: {_error_message(error)}"
        ) from error
    config_name = endpoint["EndpointConfigName"]
    config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    variants = config.get("ProductionVariants") or []
    models = sorted({variant["ModelName"] for variant in variants if variant.get("ModelName")})
    if len(models) != 1:
        raise BuildError(
            f"endpoint {name} (configuration {config_name}) serves {len(models)} models ({', '.join(models) or 'none'}): "
            "the monitors of this project watch an endpoint serving one model, as the model-deploy pipeline deploys it"
        )
    model = sagemaker.describe_model(ModelName=models[0])
    primary = model.get("PrimaryContainer") or {}
    package = primary.get("ModelPackageName")
    if not package:
        how = (
            "has several containers (Containers), not one PrimaryContainer"
            if model.get("Containers")
            else "was not created from a model package"
        )
        raise BuildError(
            f"model {models[0]} of endpoint {name} {how}: the monitors need the model package version it serves "
            "(PrimaryContainer.ModelPackageName) for its baselines. Deploy the stage with the model-deploy pipeline."
        )
    return {
        "endpoint_arn": endpoint.get("EndpointArn", ""),
        "status": endpoint.get("EndpointStatus", ""),
        "config_name": config_name,
        "model_name": models[0],
        "model_package": package,
        "capture": config.get("DataCaptureConfig"),
    }


def capture_problems(name: str, config_name: str, capture: Optional[Dict[str, Any]]) -> List[str]:
    """Why the monitors would find no data in what the endpoint captures ("job inputs had no data")."""
    todo = (
        'turn data capture on in the model-deploy repository\'s <stage>-config.json ("data_capture": '
        '{"enabled": true, "sampling_percentage": 100}) and deploy again, or turn this stage\'s monitors off here'
    )
    if not capture or not capture.get("EnableCapture", True) or not capture.get("DestinationS3Uri"):
        return [
            f"endpoint {name} (configuration {config_name}) captures no data, so every monitoring job would find no input: {todo}"
        ]
    problems = []
    modes = {option.get("CaptureMode") for option in capture.get("CaptureOptions") or []}
    if not {"Input", "Output"} <= modes:
        problems.append(
            f"endpoint {name} (configuration {config_name}) captures {', '.join(sorted(m for m in modes if m)) or 'nothing'}, "
            f"not both requests (Input) and responses (Output) that the monitors read: {todo}"
        )
    if capture.get("InitialSamplingPercentage", 100) == 0:
        problems.append(f"endpoint {name} (configuration {config_name}) samples 0% of its requests: {todo}")
    return problems


def key_arn(key: str, endpoint_arn: str) -> str:
    """The data capture key as an ARN: a bare key id becomes one in the endpoint's account and Region."""
    if not key or key.startswith("arn:"):
        return key
    parts = endpoint_arn.split(":")
    if len(parts) < 5 or key.startswith("alias/"):
        return key
    return f"arn:{parts[1]}:kms:{parts[3]}:{parts[4]}:key/{key}"


def s3_bucket_of(uri: str) -> str:
    return uri[len("s3://") :].split("/", 1)[0] if uri.startswith("s3://") else ""


def read_s3_json(s3: Any, uri: str, what: str) -> Any:
    bucket, _, key = uri[len("s3://") :].partition("/")
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as error:
        raise BuildError(f"cannot read {what} {uri} (s3:GetObject): {_error_code(error)}: {_error_message(error)}") from error
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise BuildError(f"{what} {uri} is not JSON: {error}") from error


def baseline_uri(baselines: Mapping[str, Any], section: str, item: str) -> str:
    return str(((baselines.get(section) or {}).get(item) or {}).get("S3Uri") or "")


#: Per monitor: (DriftCheckBaselines section, item) it needs, and the model-build check that registers it.
REQUIRED_BASELINES: Dict[str, Tuple[Tuple[str, str, str], ...]] = {
    "data_quality": (("ModelDataQuality", "Statistics", "DataQuality"), ("ModelDataQuality", "Constraints", "DataQuality")),
    "model_quality": (("ModelQuality", "Constraints", "ModelQuality"),),
    "model_bias": (("Bias", "ConfigFile", "ModelBias"), ("Bias", "PostTrainingConstraints", "ModelBias")),
    "explainability": (
        ("Explainability", "ConfigFile", "ModelExplainability"),
        ("Explainability", "Constraints", "ModelExplainability"),
    ),
}


def merge_bias_constraints(pre: Optional[Dict[str, Any]], post: Dict[str, Any], pre_uri: str, post_uri: str) -> Dict[str, Any]:
    """One model-bias baseline constraints file from the two Clarify checks' results.

    The model-build pipeline checks pre-training bias (on the data) and post-training bias
    (of the model's predictions) in two steps and registers each one's ``analysis.json``;
    a ModelBiasJobDefinition takes one constraints file, holding both sections.
    """
    if not isinstance(post, dict) or not isinstance(post.get("post_training_bias_metrics"), dict):
        raise BuildError(
            f"post-training bias constraints {post_uri} have no 'post_training_bias_metrics': not a Clarify model bias analysis"
        )
    merged: Dict[str, Any] = {"version": str(post.get("version") or "1.0")}
    if pre is not None:
        if not isinstance(pre, dict) or not isinstance(pre.get("pre_training_bias_metrics"), dict):
            raise BuildError(
                f"pre-training bias constraints {pre_uri} have no 'pre_training_bias_metrics': not a Clarify data bias analysis"
            )
        merged["pre_training_bias_metrics"] = pre["pre_training_bias_metrics"]
    merged["post_training_bias_metrics"] = post["post_training_bias_metrics"]
    return merged


def explainability_config_for(config: Any, model_name: str, uri: str, endpoint_prefix: str) -> Dict[str, Any]:
    """The registered explainability analysis configuration, run against ``model_name``.

    The model-build pipeline registers it without ``predictor.model_name``: the model it
    checked was temporary. A monitoring job's SHAP analysis serves the deployed model on a
    shadow endpoint and needs its name there; the shadow endpoint is named from
    ``endpoint_prefix`` (``<project id>-clarify``, the names the monitoring role may create).
    """
    if not isinstance(config, dict) or not isinstance((config.get("methods") or {}).get("shap"), dict):
        raise BuildError(
            f"explainability analysis configuration {uri} has no 'methods.shap' section: not a Clarify SHAP configuration"
        )
    rewritten = json.loads(json.dumps(config))
    predictor = rewritten.get("predictor")
    predictor = dict(predictor) if isinstance(predictor, dict) else {}
    predictor.pop("endpoint_name", None)  # a shadow endpoint of model_name, not an existing one
    predictor["model_name"] = model_name
    predictor["endpoint_name_prefix"] = endpoint_prefix
    predictor.setdefault("content_type", "text/csv")
    predictor.setdefault("accept_type", "text/csv")
    rewritten["predictor"] = predictor
    return rewritten


def clarify_endpoint_prefix(env: Mapping[str, str]) -> str:
    """``<project id>-clarify``: how the explainability jobs' shadow endpoints are named (as the model-build checks name theirs)."""
    return f"{env['SAGEMAKER_PROJECT_ID']}-clarify"


def canonical(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True) + "\n").encode("utf-8")


def definition_version(parameters: Mapping[str, str], files: Mapping[str, bytes], template: bytes = b"") -> str:
    """8 hex characters of a SHA-256 over what goes into the job definitions: their parameters
    (not the schedule, topic or alarm settings), the files they name and the stage template's
    content (a template change with the same parameters must rename the job definitions too:
    their names are create-only, so an update that changes them in place fails)."""
    digest = hashlib.sha256()
    for name in sorted(parameters):
        if name in STANDARD_PARAMETERS and name not in NOT_IN_DEFINITION:
            digest.update(f"{name}={parameters[name]}\n".encode())
    for name in sorted(files):
        digest.update(f"{name}:{hashlib.sha256(files[name]).hexdigest()}\n".encode())
    if template:
        digest.update(f"{TEMPLATE_FILE}:{hashlib.sha256(template).hexdigest()}\n".encode())
    return digest.hexdigest()[:8]


# --------------------------------------------------------------------------- per stage


def base_parameters(stage: str, s: Dict[str, Any], env: Mapping[str, str], target: Mapping[str, str]) -> Dict[str, str]:
    """Every parameter but the endpoint's, the baselines and DefinitionVersion (all monitors off)."""
    values: Dict[str, Any] = {
        "SageMakerProjectName": env["SAGEMAKER_PROJECT_NAME"],
        "SageMakerProjectId": env["SAGEMAKER_PROJECT_ID"],
        "StageName": stage,
        "EndpointName": endpoint_name(env, stage),
        "DataCaptureS3Uri": "",
        "OutputS3Uri": "",
        "KmsKeyArn": "",
        "ExecutionRoleArn": target.get("execution_role_arn", ""),
        **{parameter: False for parameter in ENABLE_PARAMETERS.values()},
        **{parameter: "" for parameter in BASELINE_PARAMETERS},
        "GroundTruthS3Uri": s["ground_truth_s3_uri"],
        "ProblemType": s["problem_type"],
        "InferenceAttribute": s["inference_attribute"],
        "ProbabilityAttribute": s["probability_attribute"],
        "ProbabilityThresholdAttribute": s["probability_threshold_attribute"],
        "ScheduleExpression": s["schedule_expression"],
        "InstanceType": s["instance_type"],
        "InstanceCount": s["instance_count"],
        "VolumeSizeInGB": s["volume_size_gb"],
        "MaxRuntimeInSeconds": s["max_runtime_seconds"],
        "NotificationTopicArn": env[NOTIFICATION_TOPIC_ARN],
        **s.get("alarms", {}),
        **network_parameters(env, target),
    }
    return {key: (str(value).lower() if isinstance(value, bool) else str(value)) for key, value in values.items()}


def active_monitors(s: Dict[str, Any]) -> List[str]:
    """The monitors the configuration turns on that can run (ground truth for those needing it)."""
    return [m for m in MONITORS if s["monitors"][m] and (m not in GROUND_TRUTH_MONITORS or s["ground_truth_s3_uri"])]


def plan_stage(
    stage: str,
    s: Dict[str, Any],
    env: Mapping[str, str],
    target: Mapping[str, str],
    session: Any,
    stage_sagemaker: Any,
    require_endpoint: bool,
    template: bytes = b"",
) -> Dict[str, Any]:
    """What one stage deploys: ``parameters``, the ``uploads`` (key -> bytes) and ``notes`` to print.

    Raises BuildError (with every problem of the stage) or EndpointMissing (``require_endpoint``).
    """
    parameters = base_parameters(stage, s, env, target)
    notes: List[str] = []
    for monitor in GROUND_TRUTH_MONITORS:
        if s["monitors"][monitor] and not s["ground_truth_s3_uri"]:
            notes.append(
                f"{monitor} is on in {stage}-config.json but ground_truth_s3_uri is empty: it stays off until ground truth is given"
            )
    monitors = active_monitors(s)
    if not monitors:
        notes.append("every monitor is off (in the configuration): the stage stack schedules nothing")
        return finish(stage, parameters, {}, env, notes, template)
    name = parameters["EndpointName"]
    try:
        endpoint = resolve_endpoint(stage_sagemaker, name)
    except EndpointMissing:
        message = (
            f"endpoint {name} does not exist yet (the model-deploy pipeline has not deployed stage {stage}): every monitor of "
            f"stage {stage} is off in {stage}-params.json; run this pipeline again once the endpoint is InService"
        )
        if require_endpoint:
            raise BuildError(
                f"endpoint {name} does not exist yet, and --require-endpoints makes that an error: deploy stage {stage} with the "
                "model-deploy pipeline, then run this pipeline again once the endpoint is InService"
            ) from None
        notes.append(message)
        return finish(stage, parameters, {}, env, notes, template)

    problems = capture_problems(name, endpoint["config_name"], endpoint["capture"])
    if problems:
        raise BuildError("\n".join(problems))
    capture = endpoint["capture"]
    capture_uri = str(capture["DestinationS3Uri"]).rstrip("/")
    parameters["DataCaptureS3Uri"] = capture_uri
    # Reports apart from monitoring/ (this build's baselines, maybe in the same bucket): the
    # monitoring role may write reports, never overwrite a baseline.
    parameters["OutputS3Uri"] = f"s3://{s3_bucket_of(capture_uri)}/{REPORTS_PREFIX}/{stage}/"
    parameters["KmsKeyArn"] = key_arn(str(capture.get("KmsKeyId") or ""), endpoint["endpoint_arn"])

    registry = session.client("sagemaker")
    package_name = endpoint["model_package"]
    try:
        package = registry.describe_model_package(ModelPackageName=package_name)
    except Exception as error:
        raise BuildError(
            f"cannot describe model package {package_name}, which endpoint {name} serves (sagemaker:DescribeModelPackage in this "
            f"account's registry): {_error_code(error)}: {_error_message(error)}"
        ) from error
    package_arn = package.get("ModelPackageArn", package_name)
    group = env.get(MODEL_PACKAGE_GROUP_NAME, "")
    if group and package.get("ModelPackageGroupName") and package["ModelPackageGroupName"] != group:
        notes.append(
            f"endpoint {name} serves {package_arn}, a version of group {package['ModelPackageGroupName']}, not of {group}"
        )
    baselines = package.get("DriftCheckBaselines") or {}
    missing = []
    for monitor in monitors:
        for section, item, check in REQUIRED_BASELINES[monitor]:
            if not baseline_uri(baselines, section, item):
                missing.append(
                    f"{monitor} needs DriftCheckBaselines.{section}.{item} (the model-build pipeline's {check} check registers it)"
                )
    if missing:
        raise BuildError(
            f"model package {package_arn}, which endpoint {name} serves, has no baseline for the monitors that are on:\n"
            + "\n".join(f"    {line}" for line in missing)
            + "\n    Register a version with baselines: run the model-build pipeline (its first run, or one with "
            "RegisterNew<Check>Baseline=True, registers the baselines it computes), approve that version and deploy it; "
            f"or turn those monitors off in {stage}-config.json."
        )

    s3 = session.client("s3")
    files: Dict[str, bytes] = {}
    if "data_quality" in monitors:
        parameters["DataQualityBaselineStatisticsUri"] = baseline_uri(baselines, "ModelDataQuality", "Statistics")
        parameters["DataQualityBaselineConstraintsUri"] = baseline_uri(baselines, "ModelDataQuality", "Constraints")
    if "model_quality" in monitors:
        parameters["ModelQualityBaselineConstraintsUri"] = baseline_uri(baselines, "ModelQuality", "Constraints")
    if "model_bias" in monitors:
        parameters["ModelBiasAnalysisConfigUri"] = baseline_uri(baselines, "Bias", "ConfigFile")
        pre_uri = baseline_uri(baselines, "Bias", "PreTrainingConstraints")
        post_uri = baseline_uri(baselines, "Bias", "PostTrainingConstraints")
        pre = read_s3_json(s3, pre_uri, "pre-training bias constraints") if pre_uri else None
        if pre is None:
            notes.append(
                f"{package_arn} has no pre-training bias constraints: the model bias baseline holds the post-training metrics only"
            )
        post = read_s3_json(s3, post_uri, "post-training bias constraints")
        files[MERGED_BIAS_FILE] = canonical(merge_bias_constraints(pre, post, pre_uri, post_uri))
    if "explainability" in monitors:
        config_uri = baseline_uri(baselines, "Explainability", "ConfigFile")
        config = read_s3_json(s3, config_uri, "explainability analysis configuration")
        files[EXPLAINABILITY_CONFIG_FILE] = canonical(
            explainability_config_for(config, endpoint["model_name"], config_uri, clarify_endpoint_prefix(env))
        )
        parameters["ExplainabilityBaselineConstraintsUri"] = baseline_uri(baselines, "Explainability", "Constraints")
    for monitor in monitors:
        parameters[ENABLE_PARAMETERS[monitor]] = "true"
    plan = finish(stage, parameters, files, env, notes, template)
    plan.update(model_package_arn=package_arn, model_name=endpoint["model_name"], endpoint_status=endpoint["status"])
    if endpoint["status"] != "InService":
        notes.append(
            f"endpoint {name} is {endpoint['status']}, not InService: its monitoring jobs find data once it serves requests"
        )
    return plan


def finish(
    stage: str,
    parameters: Dict[str, str],
    files: Dict[str, bytes],
    env: Mapping[str, str],
    notes: List[str],
    template: bytes = b"",
) -> Dict[str, Any]:
    """Sets DefinitionVersion and the URIs of the files this build uploads."""
    version = definition_version(parameters, files, template)
    parameters["DefinitionVersion"] = version
    prefix = f"monitoring/{stage}/{version}"
    uploads = {f"{prefix}/{name}": body for name, body in files.items()}
    if MERGED_BIAS_FILE in files:
        parameters["ModelBiasBaselineConstraintsUri"] = f"s3://{env['ARTIFACT_BUCKET']}/{prefix}/{MERGED_BIAS_FILE}"
    if EXPLAINABILITY_CONFIG_FILE in files:
        parameters["ExplainabilityAnalysisConfigUri"] = f"s3://{env['ARTIFACT_BUCKET']}/{prefix}/{EXPLAINABILITY_CONFIG_FILE}"
    return {"parameters": parameters, "uploads": uploads, "notes": notes}


# --------------------------------------------------------------------------- outputs


def check_against_template(template: Dict[str, Any], source: str, parameters: Mapping[str, str]) -> List[str]:
    """Every parameter is declared, every required one given, and each meets its constraints."""
    declared = template.get("Parameters", {})
    problems = [f"{source}: parameter {name} is not in {TEMPLATE_FILE}" for name in parameters if name not in declared]
    for name, spec in declared.items():
        if name not in parameters:
            if "Default" not in spec:
                problems.append(f"{source}: parameter {name} is required by {TEMPLATE_FILE} but not written")
            continue
        value = parameters[name]
        if "AllowedValues" in spec and value not in spec["AllowedValues"]:
            problems.append(f"{source}: parameter {name} {value!r} is not one of {spec['AllowedValues']}")
        if "AllowedPattern" in spec and re.fullmatch(spec["AllowedPattern"], value) is None:
            problems.append(f"{source}: parameter {name} {value!r} does not match {spec['AllowedPattern']}")
        if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
            problems.append(f"{source}: parameter {name} {value!r} is longer than {spec['MaxLength']} characters")
        if spec.get("Type") == "Number":
            try:
                number = float(value)
            except ValueError:
                problems.append(f"{source}: parameter {name} {value!r} is not a number")
                continue
            if "MinValue" in spec and number < float(spec["MinValue"]) or "MaxValue" in spec and number > float(spec["MaxValue"]):
                problems.append(f"{source}: parameter {name} {value} is outside {spec.get('MinValue')}..{spec.get('MaxValue')}")
    return problems


def write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _listing(headline: str, problems: List[str]) -> str:
    return headline + ":\n" + "\n".join(f"  - {problem}" for problem in problems)


def build(
    stages: List[str],
    config_dir: Path,
    output_dir: Path,
    environ: Mapping[str, str],
    session: Any = None,
    require_endpoints: bool = False,
    template_dir: Optional[Path] = None,
) -> Dict[str, Any]:
    """Do the whole build step; raise BuildError with one message on any problem (nothing written then).

    :param template_dir: where ``monitor-stage.template.json`` is. Default: ``config_dir``.
    """
    settings, problems = read_stage_configs(config_dir, stages)
    env, env_problems = read_environment(stages, environ)
    targets, target_problems = stage_targets(stages, environ)
    template_path = (template_dir or config_dir) / TEMPLATE_FILE
    template: Dict[str, Any] = {}
    template_bytes = b""
    try:
        template_bytes = template_path.read_bytes()
        template = json.loads(template_bytes.decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        problems.append(f"{TEMPLATE_FILE}: cannot be read as JSON ({error})")
    problems += env_problems + target_problems
    if problems:
        raise BuildError(_listing("the monitoring configuration is invalid; nothing was written", problems))

    import boto3  # only now: the checks above run without AWS

    session = session or boto3.session.Session()
    region = session.region_name
    plans: Dict[str, Dict[str, Any]] = {}
    for stage in stages:
        target = targets[stage]
        try:
            stage_client = (session if not target["role_arn"] else stage_session(session, target["role_arn"], region)).client(
                "sagemaker"
            )
            plans[stage] = plan_stage(
                stage, settings[stage], env, target, session, stage_client, require_endpoints, template_bytes
            )
        except BuildError as error:
            problems += [f"stage {stage}: {line}" if index == 0 else line for index, line in enumerate(str(error).splitlines())]
            continue
        except Exception as error:  # assume_role and the other calls: say which stage and why
            problems.append(f"stage {stage}: {_error_code(error)}: {_error_message(error)}")
            continue
        problems += check_against_template(template, f"{stage}-params.json", plans[stage]["parameters"])
    if problems:
        raise BuildError(_listing("the monitors cannot be set up; nothing was written", problems))

    s3 = session.client("s3")
    for plan in plans.values():
        for key, body in plan["uploads"].items():
            s3.put_object(
                Bucket=env["ARTIFACT_BUCKET"],
                Key=key,
                Body=body,
                ContentType="application/json",
                ServerSideEncryption="aws:kms",
                SSEKMSKeyId=env["ARTIFACT_KMS_KEY_ARN"],
            )
    output_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template_path, output_dir / TEMPLATE_FILE)
    outputs: Dict[str, Any] = {"stages": {}}
    for stage, plan in plans.items():
        write_json(
            output_dir / f"{stage}-params.json",
            {
                "Parameters": plan["parameters"],
                "Tags": {
                    "sagemaker:project-name": env["SAGEMAKER_PROJECT_NAME"],
                    "sagemaker:project-id": env["SAGEMAKER_PROJECT_ID"],
                    "sagemaker:deployment-stage": stage,
                },
            },
        )
        outputs["stages"][stage] = {
            "params": f"{stage}-params.json",
            "monitors": [m for m, p in ENABLE_PARAMETERS.items() if plan["parameters"][p] == "true"],
            "definition_version": plan["parameters"]["DefinitionVersion"],
            "model_package_arn": plan.get("model_package_arn", ""),
            "uploaded": [f"s3://{env['ARTIFACT_BUCKET']}/{key}" for key in plan["uploads"]],
            "notes": plan["notes"],
        }
    return outputs


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--stages", nargs="+", default=stages_from(os.environ), help="stages to write files for")
    parser.add_argument("--config-dir", type=Path, default=HERE, help="where <stage>-config.json and the template are")
    parser.add_argument("--output-dir", type=Path, default=Path("build"), help="where to write the stage files")
    parser.add_argument("--require-endpoints", action="store_true", help="a stage whose endpoint does not exist is an error")
    args = parser.parse_args(argv)
    try:
        outputs = build(args.stages, args.config_dir, args.output_dir, dict(os.environ), require_endpoints=args.require_endpoints)
    except BuildError as error:
        print(f"build.py: {error}", file=sys.stderr)
        return 1
    for stage, result in outputs["stages"].items():
        monitors = ", ".join(result["monitors"]) or "none"
        serving = f" of {result['model_package_arn']}" if result["model_package_arn"] else ""
        print(
            f"build.py: {stage}: monitors {monitors}{serving}; definition {result['definition_version']}; {args.output_dir / result['params']}"
        )
        for uri in result["uploaded"]:
            print(f"build.py: {stage}: uploaded {uri}")
        for note in result["notes"]:
            print(f"build.py: {stage}: NOTE: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
