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

import sys
from pathlib import Path
from typing import Any, Optional, Unpack

from aws_cdk import (
    CfnOutput,
    CfnRule,
    CfnRuleAssertion,
    Fn,
)
from constructs import Construct

from .._internal.patterns import ENDPOINT_NAME, KMS_KEY_ARN, ROLE_ARN
from ..constructs.deploy.deployer_role import stage_iam_path
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
from ..constructs.network import PrivateNetwork
from ..constructs.project.identity import PROJECT_ID_TAG, PROJECT_NAME_TAG
from ._stage_parameters import (
    INSTANCE_TYPE_PATTERN,
    StageParameters,
    StageStack,
    StageStackProps,
    render_compact_stage_template,
    synth_alone,
)

STAGE_TEMPLATE_FILE = "monitor-stage.template.json"
#: The checked-in file's exact text (compact: indented, it would be past 51,200 bytes).
render_stage_template = render_compact_stage_template
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


class MonitorStageStack(StageStack):
    """One deployment stage's Model Monitor schedules, every setting a CloudFormation parameter
    (see the module's docstring for the list).

    Keyword arguments (``synthesizer``, ``description``, ``stack_name``): see ``StageStack``.
    """

    DEFAULT_DESCRIPTION = (
        "SageMaker Model Monitor schedules of one deployment stage of a SageMaker project "
        "(sagemaker-projects-cdk build-deploy-monitor)"
    )

    def __init__(self, scope: Optional[Construct], construct_id: str, **props: Unpack[StageStackProps]) -> None:
        super().__init__(scope, construct_id, **props)
        p = StageParameters(self)
        project, stage = p.project_and_stage("Deployment stage (staging, prod)")
        endpoint_name = p.string("EndpointName", "The stage's endpoint, which captures input and output", pattern=ENDPOINT_NAME)
        # Both may be empty while every monitor is off (a stage whose endpoint does not exist yet).
        capture = p.string(
            "DataCaptureS3Uri",
            "The endpoint's data capture destination (s3://...); empty only with every monitor off",
            pattern=f"({S3_URI_PATTERN})?",
        )
        output = p.string(
            "OutputS3Uri", "Where monitoring reports go (s3://...); empty only with every monitor off", pattern=f"({S3_URI_PATTERN})?"
        )  # fmt: skip
        key = p.string(
            "KmsKeyArn", "KMS key of the capture bucket (volumes and reports too); empty: none", pattern=f"({KMS_KEY_ARN})?", default=""
        )
        role = p.string(
            "ExecutionRoleArn",
            "Role the monitoring jobs run as; empty: a role this stack creates (in another account: the target "
            "baseline's endpoint role)",
            pattern=f"({ROLE_ARN})?",
            default="",
        )
        version = p.string(
            "DefinitionVersion",
            "8 lower-case hex characters that change whenever a job definition does (part of its name)",
            pattern=DEFINITION_VERSION_PATTERN,
        )
        enabled = {
            monitoring_type: p.flag(switch, f"Create the {monitoring_type} monitor", "false")
            for monitoring_type, (switch, _) in MONITOR_PARAMETERS.items()
        }  # fmt: skip
        # No default: cfn-lint checks a default against the job definitions' URI patterns, and an
        # empty one is valid only while the monitor is off (the seed's build.py writes every one).
        uris = {
            name: p.string(name, f"S3 URI of the {_words(name)}; empty when its monitor is off", pattern=f"({S3_URI_PATTERN})?")
            for _, names in MONITOR_PARAMETERS.values()
            for name in names
        }
        ground_truth = p.string(
            "GroundTruthS3Uri",
            "S3 prefix of the ground truth labels; empty: no model quality and no model bias monitor",
            pattern=f"({S3_URI_PATTERN})?",
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
            # The first, Regression, by default.
            problem_type=p.choice("ProblemType", "Model quality's problem type", list(PROBLEM_TYPES)),
            inference_attribute=p.string(
                "InferenceAttribute", "The prediction's column or JSON path; empty: the whole output", pattern=r"[^\s]{0,256}", default=""
            ),
            probability_attribute=p.string(
                "ProbabilityAttribute", "The probability's column or JSON path; empty: none", pattern=r"[^\s]{0,256}", default=""
            ),
            probability_threshold_attribute=p.string(
                "ProbabilityThresholdAttribute", "Probability threshold of a positive label; empty: none",
                pattern=f"({NUMBER_PATTERN})?", default="",
            ),
        )  # fmt: skip
        resources = MonitoringResources(
            schedule_expression=p.string(
                "ScheduleExpression", "When the monitors run (hourly, every N hours, daily)", pattern=SCHEDULE_EXPRESSION_PATTERN,
                default=HOURLY,
            ),
            instance_type=p.string(
                "InstanceType", "Instance type of the monitoring jobs", pattern=INSTANCE_TYPE_PATTERN, default="ml.m5.xlarge"
            ),
            instance_count=p.number("InstanceCount", "Instances per monitoring job", 1, 100, 1),
            volume_size_in_gb=p.number("VolumeSizeInGB", "Volume of each instance, in GB", 1, 16384, 20),
            max_runtime_in_seconds=p.number(
                # Up to a daily schedule's period; build.py checks it fits the schedule's own.
                "MaxRuntimeInSeconds", "Longest a monitoring job runs, within the schedule's period (hourly: 3600)",
                1, 86400, 3600,
            ),
        )  # fmt: skip
        alarm_threshold = p.string(
            "DataQualityAlarmThreshold", "Drift distance that raises the data quality alarm", pattern=NUMBER_PATTERN, default="0.1"
        )
        topic = p.string(
            "NotificationTopicArn", "SNS topic the drift alarms notify; empty: alarms without actions",
            pattern=f"({TOPIC_ARN_PATTERN})?", default="",
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
                    metric_name=p.string(
                        "DataQualityAlarmMetricName",
                        "Data quality metric the alarm watches (feature_baseline_drift_<feature>); empty: no alarm",
                        pattern=r"[^\s]{0,255}",
                        default="",
                    ),
                    threshold=alarm_threshold,
                ),
            ),
            model_quality=ModelQualityMonitor(
                constraints_uri=uris["ModelQualityBaselineConstraintsUri"],
                enabled=enabled["ModelQuality"],
                alarm=ViolationAlarm(
                    metric_name=p.string(
                        "ModelQualityAlarmMetricName",
                        "Model quality metric the alarm watches (rmse, mae, accuracy, f1...); empty: no alarm",
                        pattern=r"[^\s]{0,255}",
                        default="",
                    ),
                    threshold=p.string(
                        "ModelQualityAlarmThreshold",
                        "Value of the model quality metric that raises the alarm",
                        pattern=NUMBER_PATTERN,
                        default="0",
                    ),
                    comparison=p.choice(
                        "ModelQualityAlarmComparison",
                        "How the model quality metric compares with the threshold to raise the alarm",
                        list(ALARM_COMPARISONS),
                    ),
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
            network=PrivateNetwork.from_parameters(self),
        )
        for monitoring_type, monitor in self.monitors.monitors.items():
            output_ = CfnOutput(
                self, f"{monitoring_type}ScheduleName", value=monitor.schedule_name,
                description=f"The {monitoring_type} monitoring schedule",
            )  # fmt: skip
            if monitor.condition is not None:
                output_.condition = monitor.condition

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
    return synth_alone(MonitorStageStack, "MonitorStage", security_packs=security_packs)


def write_stage_template(path: Path = STAGE_TEMPLATE_PATH) -> Path:
    """Regenerate the checked-in stage template."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_stage_template(synth_stage_template()), encoding="utf-8")
    return path


if __name__ == "__main__":  # pragma: no cover - the regeneration command
    written = write_stage_template(Path(sys.argv[1]) if len(sys.argv) > 1 else STAGE_TEMPLATE_PATH)
    print(f"wrote {written}")
