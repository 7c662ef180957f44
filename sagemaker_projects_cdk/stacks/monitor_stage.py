"""The per-stage Model Monitor template that the monitor pipeline deploys.

``MonitorStageStack`` is ``ModelMonitors`` with every input a CloudFormation parameter, so the
*same* template serves every stage: the monitor pipeline deploys it once per stage (stack
``sagemaker-<project name>-<project id>-monitor-<stage>``) with that stage's parameter file
(``staging-params.json``, ``prod-params.json``) written by the monitor seed's ``build.py``.

The template reaches the monitor repository as a checked-in file,
``seed_code/model_monitor/monitor-stage.template.json``, generated from this stack::

    python -m sagemaker_projects_cdk.stacks.monitor_stage

A test fails when that file differs from a fresh synth. Like the endpoint stage it has no
asset and no bootstrap reference (``BootstraplessSynthesizer``).

Parameters (strings unless noted; empty means "none" where allowed):

- ``SageMakerProjectName``, ``SageMakerProjectId``, ``StageName``: as the endpoint stage.
- ``EndpointName``: the stage's endpoint (``<project name>-<project id>-<stage>``).
- ``DataCaptureS3Uri``: the endpoint's capture destination (the monitoring role reads it).
- ``OutputS3Uri``: where reports go (the monitor seed: ``s3://<capture bucket>/monitoring-reports/<stage>/``). Both may be empty only while every monitor is off (rule
  ``MonitorLocations``): with every ``Enable*`` ``false`` the stack creates no job, no schedule
  and no role (a stage whose endpoint does not exist yet).
- ``KmsKeyArn``: the capture bucket's key (volumes and reports too); empty: no key.
- ``ExecutionRoleArn``: the role the jobs run as; empty: the stack creates one.
- ``DefinitionVersion``: 8 lower-case hex characters, part of every job definition's name.
- ``EnableDataQuality``, ``EnableModelQuality``, ``EnableModelBias``, ``EnableExplainability``:
  ``true``/``false`` (default ``false``); a monitor that is on needs its URIs (rules).
- ``DataQualityBaselineStatisticsUri``, ``DataQualityBaselineConstraintsUri``,
  ``ModelQualityBaselineConstraintsUri``, ``ModelBiasAnalysisConfigUri``,
  ``ModelBiasBaselineConstraintsUri``, ``ExplainabilityAnalysisConfigUri``,
  ``ExplainabilityBaselineConstraintsUri``: no default (give ``""`` for a monitor that is off).
- ``GroundTruthS3Uri``: empty: no model quality and no model bias monitor.
- ``ProblemType`` (``Regression``), ``InferenceAttribute``, ``ProbabilityAttribute``,
  ``ProbabilityThresholdAttribute`` (a number or empty).
- ``ScheduleExpression`` (hourly), ``InstanceType`` (``ml.m5.xlarge``), ``InstanceCount``
  (number, 1), ``VolumeSizeInGB`` (number, 20), ``MaxRuntimeInSeconds`` (number, 3600 at most:
  an hourly schedule's period).
- ``NotificationTopicArn``: the SNS topic the alarms notify; empty: alarms without actions.
- Added beyond the contract: ``DataQualityAlarmMetricName`` (e.g.
  ``feature_baseline_drift_<feature>``; empty: no alarm), ``DataQualityAlarmThreshold``
  (default 0.1), ``ModelQualityAlarmMetricName`` (e.g. ``rmse``, ``accuracy``; empty: no
  alarm), ``ModelQualityAlarmThreshold``, ``ModelQualityAlarmComparison`` (default
  ``GreaterThanThreshold``; ``LessThanThreshold`` for accuracy-like metrics). CloudWatch alarms
  name one metric: bias and explainability metrics carry label and facet dimensions a stage
  template cannot know, so their alarms are for ``ModelMonitors`` users who know them.

Outputs: ``<Type>ScheduleName`` for each schedule that exists.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

from aws_cdk import (
    App,
    BootstraplessSynthesizer,
    CfnOutput,
    CfnParameter,
    CfnRule,
    CfnRuleAssertion,
    Fn,
    IStackSynthesizer,
    Stack,
)
from constructs import Construct

from .._internal.patterns import ENDPOINT_NAME, KMS_KEY_ARN, ROLE_ARN
from ..constructs.deploy.deployer_role import stage_iam_path
from ..constructs.deploy.stages import STAGE_NAME_PATTERN
from ..constructs.monitor import (
    HOURLY,
    PROBLEM_TYPES,
    DataQualityMonitor,
    ExplainabilityMonitor,
    ModelAttributes,
    ModelBiasMonitor,
    ModelMonitors,
    ModelQualityMonitor,
    MonitoringResources,
    ViolationAlarm,
)
from ..constructs.monitor.monitors import clarify_shadow_prefix
from ..constructs.monitor.naming import DEFINITION_VERSION_PATTERN
from ..constructs.monitor.settings import ALARM_COMPARISONS, SCHEDULE_EXPRESSION_PATTERN
from ..constructs.project.identity import PROJECT_ID_TAG, PROJECT_NAME_TAG, ProjectIdentity

STAGE_TEMPLATE_FILE = "monitor-stage.template.json"
STAGE_TEMPLATE_PATH = Path(__file__).resolve().parent.parent / "seed_code" / "model_monitor" / STAGE_TEMPLATE_FILE
REGENERATE_COMMAND = "python -m sagemaker_projects_cdk.stacks.monitor_stage"

#: An S3 URI: ``s3://<bucket>/<key>``.
S3_URI_PATTERN = r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\s]*)?"
#: An SNS topic ARN.
TOPIC_ARN_PATTERN = r"arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[a-zA-Z0-9_-]{1,256}"
#: A number (threshold), as a string.
NUMBER_PATTERN = r"-?[0-9]+(\.[0-9]+)?"
#: The monitors' switches and the URIs each needs when on.
MONITOR_PARAMETERS = {
    "DataQuality": ("EnableDataQuality", ("DataQualityBaselineStatisticsUri", "DataQualityBaselineConstraintsUri")),
    "ModelQuality": ("EnableModelQuality", ("ModelQualityBaselineConstraintsUri",)),
    "ModelBias": ("EnableModelBias", ("ModelBiasAnalysisConfigUri", "ModelBiasBaselineConstraintsUri")),
    "ModelExplainability": (
        "EnableExplainability",
        ("ExplainabilityAnalysisConfigUri", "ExplainabilityBaselineConstraintsUri"),
    ),
}


class MonitorStageStack(Stack):
    """One deployment stage's Model Monitor schedules, every setting a CloudFormation parameter
    (see the module's docstring for the list).

    :param synthesizer: Default: ``BootstraplessSynthesizer()``.
    :param description: Default: a sentence naming the template.
    :param stack_name: Default: the construct id.
    """

    def __init__(
        self,
        scope: Optional[Construct],
        construct_id: str,
        *,
        synthesizer: Optional[IStackSynthesizer] = None,
        description: Optional[str] = None,
        stack_name: Optional[str] = None,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            synthesizer=synthesizer or BootstraplessSynthesizer(),
            description=description
            or "SageMaker Model Monitor schedules of one deployment stage of a SageMaker project "
            "(sagemaker-projects-cdk build-deploy-monitor)",
            stack_name=stack_name,
            analytics_reporting=False,
        )
        project = ProjectIdentity(self, "Project")
        stage = self._string("StageName", "Deployment stage (staging, prod)", STAGE_NAME_PATTERN, max_length=15, constraint=None)
        endpoint_name = self._string("EndpointName", "The stage's endpoint, which captures input and output", ENDPOINT_NAME)
        # Both may be empty while every monitor is off (a stage whose endpoint does not exist yet).
        capture = self._string(
            "DataCaptureS3Uri",
            "The endpoint's data capture destination (s3://...); empty only with every monitor off",
            f"({S3_URI_PATTERN})?",
        )
        output = self._string(
            "OutputS3Uri", "Where monitoring reports go (s3://...); empty only with every monitor off", f"({S3_URI_PATTERN})?"
        )  # fmt: skip
        key = self._string(
            "KmsKeyArn", "KMS key of the capture bucket (volumes and reports too); empty: none", f"({KMS_KEY_ARN})?", default=""
        )
        role = self._string(
            "ExecutionRoleArn",
            "Role the monitoring jobs run as; empty: a role this stack creates (in another account: the target "
            "baseline's endpoint role)",
            f"({ROLE_ARN})?",
            default="",
        )
        version = self._string(
            "DefinitionVersion",
            "8 lower-case hex characters that change whenever a job definition does (part of its name)",
            DEFINITION_VERSION_PATTERN,
        )
        enabled = {
            monitoring_type: CfnParameter(
                self, switch, type="String", description=f"Create the {monitoring_type} monitor",
                allowed_values=["false", "true"], default="false",
            ).value_as_string
            for monitoring_type, (switch, _) in MONITOR_PARAMETERS.items()
        }  # fmt: skip
        # No default: cfn-lint checks a default against the job definitions' URI patterns, and an
        # empty one is valid only while the monitor is off (the seed's build.py writes every one).
        uris = {
            name: self._string(name, f"S3 URI of the {_words(name)}; empty when its monitor is off", f"({S3_URI_PATTERN})?")
            for _, names in MONITOR_PARAMETERS.values()
            for name in names
        }
        ground_truth = self._string(
            "GroundTruthS3Uri",
            "S3 prefix of the ground truth labels; empty: no model quality and no model bias monitor",
            f"({S3_URI_PATTERN})?",
            default="",
        )
        self._require_uris(enabled, uris, ground_truth)
        CfnRule(
            self,
            "MonitorLocations",
            assertions=[
                CfnRuleAssertion(
                    assert_=Fn.condition_or(
                        Fn.condition_and(*(Fn.condition_equals(e, "false") for e in enabled.values())),
                        Fn.condition_and(
                            Fn.condition_not(Fn.condition_equals(capture, "")), Fn.condition_not(Fn.condition_equals(output, ""))
                        ),
                    ),
                    assert_description="a monitor that is on needs DataCaptureS3Uri and OutputS3Uri",
                )
            ],
        )
        model = ModelAttributes(
            problem_type=CfnParameter(
                self, "ProblemType", type="String", description="Model quality's problem type",
                allowed_values=list(PROBLEM_TYPES), default="Regression",
            ).value_as_string,
            inference_attribute=self._string(
                "InferenceAttribute", "The prediction's column or JSON path; empty: the whole output", r"[^\s]{0,256}", default=""
            ),
            probability_attribute=self._string(
                "ProbabilityAttribute", "The probability's column or JSON path; empty: none", r"[^\s]{0,256}", default=""
            ),
            probability_threshold_attribute=self._string(
                "ProbabilityThresholdAttribute", "Probability threshold of a positive label; empty: none",
                f"({NUMBER_PATTERN})?", default="",
            ),
        )  # fmt: skip
        resources = MonitoringResources(
            schedule_expression=self._string(
                "ScheduleExpression", "When the monitors run (hourly, every N hours, daily)", SCHEDULE_EXPRESSION_PATTERN,
                default=HOURLY,
            ),
            instance_type=self._string(
                "InstanceType", "Instance type of the monitoring jobs", r"ml\.[a-z0-9-]+\.[a-z0-9]+", default="ml.m5.xlarge"
            ),
            instance_count=self._number("InstanceCount", "Instances per monitoring job", 1, 100, 1),
            volume_size_in_gb=self._number("VolumeSizeInGB", "Volume of each instance, in GB", 1, 16384, 20),
            max_runtime_in_seconds=self._number(
                # Up to a daily schedule's period; build.py checks it fits the schedule's own.
                "MaxRuntimeInSeconds", "Longest a monitoring job runs, within the schedule's period (hourly: 3600)",
                1, 86400, 3600,
            ),
        )  # fmt: skip
        alarm_threshold = self._string(
            "DataQualityAlarmThreshold", "Drift distance that raises the data quality alarm", NUMBER_PATTERN, default="0.1"
        )
        topic = self._string(
            "NotificationTopicArn", "SNS topic the drift alarms notify; empty: alarms without actions",
            f"({TOPIC_ARN_PATTERN})?", default="",
        )  # fmt: skip
        self.monitors = ModelMonitors(
            self,
            "Monitors",
            endpoint_name=endpoint_name,
            name_prefix=f"{project.project_id}-{stage}",
            tags={PROJECT_NAME_TAG: project.project_name, PROJECT_ID_TAG: project.project_id},
            clarify_endpoint_prefix=clarify_shadow_prefix(project.project_id),
            definition_version=version,
            data_capture_s3_uri=capture,
            output_s3_uri=output,
            data_quality=DataQualityMonitor(
                statistics_uri=uris["DataQualityBaselineStatisticsUri"],
                constraints_uri=uris["DataQualityBaselineConstraintsUri"],
                enabled=enabled["DataQuality"],
                alarm=ViolationAlarm(
                    metric_name=self._string(
                        "DataQualityAlarmMetricName",
                        "Data quality metric the alarm watches (feature_baseline_drift_<feature>); empty: no alarm",
                        r"[^\s]{0,255}",
                        default="",
                    ),
                    threshold=alarm_threshold,
                ),
            ),
            model_quality=ModelQualityMonitor(
                constraints_uri=uris["ModelQualityBaselineConstraintsUri"],
                enabled=enabled["ModelQuality"],
                alarm=ViolationAlarm(
                    metric_name=self._string(
                        "ModelQualityAlarmMetricName",
                        "Model quality metric the alarm watches (rmse, mae, accuracy, f1...); empty: no alarm",
                        r"[^\s]{0,255}",
                        default="",
                    ),
                    threshold=self._string(
                        "ModelQualityAlarmThreshold",
                        "Value of the model quality metric that raises the alarm",
                        NUMBER_PATTERN,
                        default="0",
                    ),
                    comparison=CfnParameter(
                        self,
                        "ModelQualityAlarmComparison",
                        type="String",
                        description="How the model quality metric compares with the threshold to raise the alarm",
                        allowed_values=list(ALARM_COMPARISONS),
                        default=ALARM_COMPARISONS[0],
                    ).value_as_string,
                ),  # fmt: skip
            ),
            model_bias=ModelBiasMonitor(
                analysis_config_uri=uris["ModelBiasAnalysisConfigUri"],
                constraints_uri=uris["ModelBiasBaselineConstraintsUri"],
                enabled=enabled["ModelBias"],
            ),
            explainability=ExplainabilityMonitor(
                analysis_config_uri=uris["ExplainabilityAnalysisConfigUri"],
                constraints_uri=uris["ExplainabilityBaselineConstraintsUri"],
                enabled=enabled["ModelExplainability"],
            ),
            ground_truth_s3_uri=ground_truth,
            model=model,
            resources=resources,
            kms_key_arn=key,
            execution_role_arn=role,
            # The pipeline's deployer may manage IAM under this project's path only.
            iam_path=stage_iam_path(project.project_id),
            notification_topic_arn=topic,
        )
        for monitoring_type, monitor in self.monitors.monitors.items():
            output_ = CfnOutput(
                self, f"{monitoring_type}ScheduleName", value=monitor.schedule_name,
                description=f"The {monitoring_type} monitoring schedule",
            )  # fmt: skip
            if monitor.condition is not None:
                output_.condition = monitor.condition

    def _string(
        self,
        name: str,
        description: str,
        pattern: str,
        *,
        default: Optional[str] = None,
        max_length: Optional[int] = None,
        constraint: Optional[str] = None,
    ) -> str:
        return CfnParameter(
            self,
            name,
            type="String",
            description=description,
            allowed_pattern=f"^{pattern}$",
            constraint_description=constraint or f"must match {pattern}",
            default=default,
            max_length=max_length,
        ).value_as_string

    def _number(self, name: str, description: str, minimum: int, maximum: int, default: int) -> Any:
        return CfnParameter(
            self,
            name,
            type="Number",
            description=f"{description} ({minimum} to {maximum})",
            min_value=minimum,
            max_value=maximum,
            default=default,
        ).value_as_number

    def _require_uris(self, enabled: dict[str, str], uris: dict[str, str], ground_truth: str) -> None:
        """A monitor that is on (and, for model quality and bias, has ground truth) has its URIs:
        CloudFormation refuses the parameters before creating anything."""
        for monitoring_type, (switch, names) in MONITOR_PARAMETERS.items():
            off = [Fn.condition_equals(enabled[monitoring_type], "false")]
            if monitoring_type in ("ModelQuality", "ModelBias"):
                off.append(Fn.condition_equals(ground_truth, ""))
            given = [Fn.condition_not(Fn.condition_equals(uris[n], "")) for n in names]
            CfnRule(
                self,
                f"{monitoring_type}Inputs",
                assertions=[
                    CfnRuleAssertion(
                        assert_=Fn.condition_or(*off, given[0] if len(given) == 1 else Fn.condition_and(*given)),
                        assert_description=f"{switch}=true needs " + " and ".join(names),
                    )
                ],
            )


def _words(name: str) -> str:
    import re

    return re.sub(r"(?<!^)(?=[A-Z])", " ", name.removesuffix("Uri")).lower()


def synth_stage_template(*, security_packs: bool = True) -> dict[str, Any]:
    """Synthesize ``MonitorStageStack`` alone and return its template (no path metadata)."""
    app = App(context={"aws:cdk:enable-path-metadata": False, "aws:cdk:version-reporting": False})
    stack = MonitorStageStack(app, "MonitorStage")
    if security_packs:
        from ..compliance import add_security_packs

        add_security_packs(app)
    assembly = app.synth()
    return assembly.get_stack_artifact(stack.artifact_id).template


def render_stage_template(template: dict[str, Any]) -> str:
    """The checked-in file's exact text."""
    return json.dumps(template, indent=1, sort_keys=False) + "\n"


def write_stage_template(path: Path = STAGE_TEMPLATE_PATH) -> Path:
    """Regenerate the checked-in stage template."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_stage_template(synth_stage_template()), encoding="utf-8")
    return path


if __name__ == "__main__":  # pragma: no cover - the regeneration command
    written = write_stage_template(Path(sys.argv[1]) if len(sys.argv) > 1 else STAGE_TEMPLATE_PATH)
    print(f"wrote {written}")
