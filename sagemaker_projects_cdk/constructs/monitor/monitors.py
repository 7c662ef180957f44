"""``ModelMonitors``: SageMaker Model Monitor's four monitors of one endpoint.

For each monitor that is on, a job definition (``AWS::SageMaker::*JobDefinition``) and a
``AWS::SageMaker::MonitoringSchedule`` that runs it on the endpoint's captured data; an
optional CloudWatch alarm per monitor on one of the metrics it publishes; and, unless a role is
given, the role the monitoring jobs run as. Model quality and model bias compare predictions
with ground truth, so they exist only when a ground truth S3 prefix is given.

Every setting may be a token (the stage template's parameters): what depends on a token is
decided at deployment by a CloudFormation condition (which monitors exist, the KMS key, the
role, the alarm actions) and is absent, never empty (``AWS::NoValue``), when off.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Union, cast

from aws_cdk import ArnFormat, Aws, CfnCondition, CfnResource, CfnWaitConditionHandle, Fn, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from ..._internal.resource_policy import ConditionalStatements
from ..._internal.validation import (
    Problems,
    check_choice,
    check_instance_type,
    check_pattern,
    check_whole,
    is_unresolved,
)
from ...compliance import acknowledge, wildcard_finding
from ..network import PrivateNetwork, grant_network_in_policy
from .images import ANALYZER, CLARIFY, image_uri
from .naming import check_definition_version, check_name_prefix, job_definition_name, schedule_name
from .settings import (
    ALARM_COMPARISONS,
    HOURLY,
    PROBLEM_TYPES,
    SCHEDULE_EXPRESSION_PATTERN,
    DataQualityMonitor,
    ExplainabilityMonitor,
    ModelAttributes,
    ModelBiasMonitor,
    ModelQualityMonitor,
    MonitoringResources,
    Switch,
    ViolationAlarm,
)

#: Where the monitors' metrics go, by monitoring type (real-time endpoints).
METRIC_NAMESPACES = {
    "DataQuality": "aws/sagemaker/Endpoints/data-metrics",
    "ModelQuality": "aws/sagemaker/Endpoints/model-metrics",
    "ModelBias": "aws/sagemaker/Endpoints/bias-metrics",
    "ModelExplainability": "aws/sagemaker/Endpoints/explainability-metrics",
}
#: The containers' environment: the analyzer and Clarify publish the violation metrics the
#: alarms watch only when told to (the SageMaker Python SDK always sets it; AWS's container
#: contract example shows it "Disabled").
CONTAINER_ENVIRONMENT = {"publish_cloudwatch_metrics": "Enabled"}
#: Where inside the job's container the endpoint's captured data and ground truth are put.
ENDPOINT_INPUT_PATH = "/opt/ml/processing/input/endpoint"
GROUND_TRUTH_PATH = "/opt/ml/processing/groundtruth"
OUTPUT_PATH = "/opt/ml/processing/output"
#: The log group of SageMaker processing jobs (monitoring executions are processing jobs).
PROCESSING_LOG_GROUP = "/aws/sagemaker/ProcessingJobs"
#: How the shadow endpoints Clarify creates for explainability (and their configurations) end
#: their prefix: the analysis configuration's ``predictor.endpoint_name_prefix`` is
#: ``<project id>-clarify`` (the monitor seed's build.py writes it), so the roles allow
#: ``<project id>-clarify*`` (lower case: SageMaker lower-cases endpoint names in ARNs).
CLARIFY_SHADOW_SUFFIX = "-clarify"


def clarify_shadow_prefix(project_id: str) -> str:
    """``<project id>-clarify``: the explainability jobs' shadow endpoint name prefix."""
    return f"{project_id}{CLARIFY_SHADOW_SUFFIX}"



def clarify_shadow_statement(resources: list[str]) -> iam.PolicyStatement:
    """Run Clarify's temporary shadow endpoints (an explainability job's), ``resources``
    being the endpoints and endpoint configurations named with the shadow prefix
    (:func:`clarify_shadow_prefix`)."""
    return iam.PolicyStatement(
        sid="ClarifyShadowEndpoint",
        actions=[
            "sagemaker:CreateEndpointConfig",
            "sagemaker:DescribeEndpointConfig",
            "sagemaker:CreateEndpoint",
            "sagemaker:DescribeEndpoint",
            "sagemaker:InvokeEndpoint",
            "sagemaker:DeleteEndpoint",
            "sagemaker:DeleteEndpointConfig",
        ],
        resources=resources,
    )


def job_log_and_metric_statements(logs: str, *, sid_prefix: str = "") -> list[iam.PolicyStatement]:
    """Monitoring jobs write their logs (``logs``: the streams' ARN pattern) and their metrics
    (``<sid_prefix>Logs``, ``<sid_prefix>Metrics``)."""
    return [
        iam.PolicyStatement(
            sid=f"{sid_prefix}Logs",
            actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            resources=[logs],
        ),
        iam.PolicyStatement(
            sid=f"{sid_prefix}Metrics",
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],
            # The docs write the namespaces with and without a leading slash.
            conditions={"StringLike": {"cloudwatch:namespace": ["aws/sagemaker/Endpoints/*", "/aws/sagemaker/Endpoints/*"]}},
        ),
    ]


#: A condition (deployment decides), or a constant.
_On = Union[bool, CfnCondition]


@dataclass(frozen=True)
class Monitor:
    """One monitor as created: its type, job definition, schedule, alarm and the condition under
    which they exist (None: always)."""

    monitoring_type: str
    job_definition: CfnResource
    schedule: sagemaker.CfnMonitoringSchedule
    schedule_name: str
    condition: Optional[CfnCondition]
    alarm: Optional[cloudwatch.CfnAlarm]


class ModelMonitors(Construct):
    """The monitors of one SageMaker endpoint.

    :param endpoint_name: the monitored endpoint (it must capture input and output).
    :param name_prefix: how schedule and job definition names begin (``<project id>-<stage>``
        in the stage template; 1 to 39 letters, digits and inner hyphens, see ``naming``).
    :param definition_version: 8 lower-case hex characters that change whenever a job
        definition's inputs do (definitions are replaced, never updated, and the replacement
        needs a new name).
    :param data_capture_s3_uri: the endpoint's ``DataCaptureConfig.DestinationS3Uri`` (the role reads it).
    :param output_s3_uri: where the monitoring reports go.
    :param data_quality: Default: none.
    :param model_quality: Default: none.
    :param model_bias: Default: none.
    :param explainability: Default: none.
    :param ground_truth_s3_uri: the S3 prefix of the ground truth labels; empty or None: model
        quality and model bias are not created. Default: None.
    :param model: Default: ``ModelAttributes()`` (regression, whole output).
    :param resources: Default: ``MonitoringResources()`` (hourly, one ``ml.m5.xlarge``, 20 GB).
    :param kms_key_arn: the key of the capture bucket, used for volumes and reports too; empty
        or None: none (S3-managed keys). Default: None.
    :param execution_role_arn: the role the jobs run as; empty or None: the construct creates
        one (``role``). Default: None.
    :param iam_path: the path of the created role and policy. Default: ``/``.
    :param notification_topic_arn: the SNS topic the alarms notify; empty or None: alarms without
        actions. Default: None.
    :param clarify_endpoint_prefix: the ``predictor.endpoint_name_prefix`` of the explainability
        analysis configuration: the role may create and use shadow endpoints (and their
        configurations) whose names begin with it. Default: ``sagemaker-clarify``.
    :param network: the private network (``PrivateNetwork``) the monitoring jobs run in (no
        network isolation: Clarify's jobs call the endpoint); the created role may create their
        network interfaces there. Default: none.
    :param tags: tags of the job definitions (an L1 SageMaker job definition is not taggable by
        ``Tags.of``; the schedules, alarms and role get the stack's tags). Default: none.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint_name: str,
        name_prefix: str,
        definition_version: str,
        data_capture_s3_uri: str,
        output_s3_uri: str,
        data_quality: Optional[DataQualityMonitor] = None,
        model_quality: Optional[ModelQualityMonitor] = None,
        model_bias: Optional[ModelBiasMonitor] = None,
        explainability: Optional[ExplainabilityMonitor] = None,
        ground_truth_s3_uri: Optional[str] = None,
        model: Optional[ModelAttributes] = None,
        resources: Optional[MonitoringResources] = None,
        kms_key_arn: Optional[str] = None,
        execution_role_arn: Optional[str] = None,
        iam_path: Optional[str] = None,
        notification_topic_arn: Optional[str] = None,
        tags: Optional[Mapping[str, str]] = None,
        clarify_endpoint_prefix: Optional[str] = None,
        network: Optional[PrivateNetwork] = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._network = network
        prefix = clarify_endpoint_prefix or "sagemaker-clarify"
        self._clarify_prefix = prefix if is_unresolved(prefix) else prefix.lower()
        self._model = model or ModelAttributes()
        self._resources = resources or MonitoringResources()
        self._tags = dict(tags or {})
        _check(
            endpoint_name=endpoint_name,
            name_prefix=name_prefix,
            definition_version=definition_version,
            uris={
                "data_capture_s3_uri": data_capture_s3_uri,
                "output_s3_uri": output_s3_uri,
                "ground_truth_s3_uri": ground_truth_s3_uri or "",
                **_monitor_uris(data_quality, model_quality, model_bias, explainability),
            },
            model=self._model,
            resources=self._resources,
            kms_key_arn=kms_key_arn,
            alarms={
                name: m.alarm
                for name, m in (
                    ("data_quality", data_quality),
                    ("model_quality", model_quality),
                    ("model_bias", model_bias),
                    ("explainability", explainability),
                )
                if m is not None and m.alarm is not None
            },
        )
        self.endpoint_name = endpoint_name
        self._prefix = name_prefix
        self._version = definition_version
        self._output_s3_uri = output_s3_uri

        ground_truth = self._given("GroundTruthGiven", ground_truth_s3_uri)
        self._ground_truth_s3_uri = ground_truth_s3_uri or ""
        self._key_given = self._given("KmsKeyGiven", kms_key_arn)
        self._key_arn = kms_key_arn or ""
        self._topic_given = self._given("NotificationTopicGiven", notification_topic_arn)
        self._topic_arn = notification_topic_arn or ""

        # Which monitors exist: their switch, and ground truth for model quality and bias.
        switches: dict[str, _On] = {
            "DataQuality": self._switch("DataQualityOn", data_quality),
            "ModelQuality": self._all("ModelQualityOn", self._switch("ModelQualityEnabled", model_quality), ground_truth),
            "ModelBias": self._all("ModelBiasOn", self._switch("ModelBiasEnabled", model_bias), ground_truth),
            "ModelExplainability": self._switch("ExplainabilityOn", explainability),
        }
        #: The monitors' conditions (a bool when decided at synth).
        self.switches = switches

        self.role: Optional[iam.Role] = None
        self.policy: Optional[iam.ManagedPolicy] = None
        self.role_arn = self._execution_role(
            execution_role_arn, iam_path, switches, data_quality, model_bias, explainability, model_quality, data_capture_s3_uri
        )

        #: The monitors created (those whose switch is not False), by monitoring type.
        self.monitors: dict[str, Monitor] = {}
        if data_quality is not None and switches["DataQuality"] is not False:
            self._add("DataQuality", switches["DataQuality"], self._data_quality(data_quality), data_quality.alarm)
        if model_quality is not None and switches["ModelQuality"] is not False:
            self._add("ModelQuality", switches["ModelQuality"], self._model_quality(model_quality), model_quality.alarm)
        if model_bias is not None and switches["ModelBias"] is not False:
            self._add("ModelBias", switches["ModelBias"], self._model_bias(model_bias), model_bias.alarm)
        if explainability is not None and switches["ModelExplainability"] is not False:
            self._add(
                "ModelExplainability",
                switches["ModelExplainability"],
                self._explainability(explainability),
                explainability.alarm,
            )

    # ------------------------------------------------------------------ conditions

    def _given(self, condition_id: str, value: Optional[str]) -> _On:
        """Whether an optional string is given: False for None or "", a condition for a token."""
        if value is None or value == "":
            return False
        if is_unresolved(value):
            existing = self.node.try_find_child(condition_id)
            if isinstance(existing, CfnCondition):
                return existing
            return CfnCondition(self, condition_id, expression=Fn.condition_not(Fn.condition_equals(value, "")))
        return True

    def _switch(self, condition_id: str, monitor: Optional[Any]) -> _On:
        if monitor is None:
            return False
        enabled: Switch = monitor.enabled
        if isinstance(enabled, bool):
            return enabled
        if is_unresolved(enabled):
            return CfnCondition(self, condition_id, expression=Fn.condition_equals(enabled, "true"))
        return check_choice(f"{condition_id} enabled", enabled, ("true", "false")) == "true"

    def _all(self, condition_id: str, *parts: _On) -> _On:
        if any(p is False for p in parts):
            return False
        conditions = [p for p in parts if isinstance(p, CfnCondition)]
        if not conditions:
            return True
        if len(conditions) == 1:
            return conditions[0]
        return CfnCondition(self, condition_id, expression=Fn.condition_and(*cast(list[Any], conditions)))

    @staticmethod
    def _optional(properties: dict[str, Any], key: str, on: _On, value: Any) -> dict[str, Any]:
        """``properties`` with ``key``: ``value`` when ``on``, ``Fn::If`` on a condition, absent when off."""
        if on is not False:
            properties[key] = ModelMonitors._if(on, value)
        return properties

    @staticmethod
    def _if(on: _On, value: Any, otherwise: Any = Aws.NO_VALUE) -> Any:
        if isinstance(on, CfnCondition):
            return Fn.condition_if(on.logical_id, value, otherwise)
        return value if on else otherwise

    # ------------------------------------------------------------------ job definitions

    def _cluster(self) -> dict[str, Any]:
        cluster = {
            "InstanceCount": self._resources.instance_count,
            "InstanceType": self._resources.instance_type,
            "VolumeSizeInGB": self._resources.volume_size_in_gb,
        }
        return {"ClusterConfig": self._optional(cluster, "VolumeKmsKeyId", self._key_given, self._key_arn)}

    def _output(self) -> dict[str, Any]:
        return self._optional({}, "KmsKeyId", self._key_given, self._key_arn) | {
            "MonitoringOutputs": [
                {"S3Output": {"LocalPath": OUTPUT_PATH, "S3Uri": self._output_s3_uri, "S3UploadMode": "EndOfJob"}}
            ],
        }

    def _endpoint_input(self, *, predictions: bool) -> dict[str, Any]:
        endpoint: dict[str, Any] = {"EndpointName": self.endpoint_name, "LocalPath": ENDPOINT_INPUT_PATH}
        if predictions:
            model = self._model
            for key, value in (
                ("InferenceAttribute", model.inference_attribute),
                ("ProbabilityAttribute", model.probability_attribute),
                ("ProbabilityThresholdAttribute", model.probability_threshold_attribute),
            ):
                given = self._given(f"{key}Given", value if isinstance(value, str) else str(value))
                if given is not False:
                    endpoint[key] = self._if(given, value)
        return endpoint

    def _common(self, monitoring_type: str) -> dict[str, Any]:
        return {
            "JobDefinitionName": job_definition_name(self._prefix, monitoring_type, self._version),
            "JobResources": self._cluster(),
            "RoleArn": self.role_arn,
            "StoppingCondition": {"MaxRuntimeInSeconds": self._resources.max_runtime_in_seconds},
            # Job traffic between instances is encrypted (the jobs run one instance by default).
            "NetworkConfig": self._network_config(),
        }

    def _network_config(self) -> Any:
        """Encrypted traffic between instances; in the private network's subnets when there is
        one, without network isolation: Clarify's jobs call the endpoint (or its shadow)."""
        encrypted = {"EnableInterContainerTrafficEncryption": True}
        if self._network is None:
            return encrypted
        network = self._network
        return network.when(
            {
                **encrypted,
                "EnableNetworkIsolation": False,
                "VpcConfig": {"Subnets": list(network.subnet_ids), "SecurityGroupIds": list(network.security_group_ids)},
            },
            encrypted,
        )

    def _definition(self, construct_id: str, monitoring_type: str, parts: dict[str, Any]) -> CfnResource:
        """One job definition: the common properties and the monitor's own (``parts``, by the
        suffix of their property name: ``AppSpecification``...), written as CloudFormation names them."""
        properties = self._common(monitoring_type)
        parts["AppSpecification"] = {**parts["AppSpecification"], "Environment": dict(CONTAINER_ENVIRONMENT)}
        prefix = "ModelExplainability" if monitoring_type == "ModelExplainability" else monitoring_type
        properties.update({f"{prefix}{part}": value for part, value in parts.items()})
        if self._tags:
            properties["Tags"] = [{"Key": k, "Value": v} for k, v in self._tags.items()]
        definition = CfnResource(self, construct_id, type=f"AWS::SageMaker::{monitoring_type}JobDefinition", properties=properties)
        if self._network is not None:
            self._network.acknowledge_empty_defaults(definition)
        return definition

    def _data_quality(self, monitor: DataQualityMonitor) -> CfnResource:
        return self._definition(
            "DataQualityJobDefinition",
            "DataQuality",
            {
                "AppSpecification": {"ImageUri": image_uri(self, ANALYZER)},
                "BaselineConfig": {
                    "ConstraintsResource": {"S3Uri": monitor.constraints_uri},
                    "StatisticsResource": {"S3Uri": monitor.statistics_uri},
                },
                "JobInput": {"EndpointInput": self._endpoint_input(predictions=False)},
                "JobOutputConfig": self._output(),
            },
        )

    def _model_quality(self, monitor: ModelQualityMonitor) -> CfnResource:
        return self._definition(
            "ModelQualityJobDefinition",
            "ModelQuality",
            {
                "AppSpecification": {"ImageUri": image_uri(self, ANALYZER), "ProblemType": self._model.problem_type},
                "BaselineConfig": {"ConstraintsResource": {"S3Uri": monitor.constraints_uri}},
                "JobInput": {
                    "EndpointInput": self._endpoint_input(predictions=True),
                    "GroundTruthS3Input": {"S3Uri": self._ground_truth_s3_uri},
                },
                "JobOutputConfig": self._output(),
            },
        )

    def _model_bias(self, monitor: ModelBiasMonitor) -> CfnResource:
        return self._definition(
            "ModelBiasJobDefinition",
            "ModelBias",
            {
                "AppSpecification": {"ImageUri": image_uri(self, CLARIFY), "ConfigUri": monitor.analysis_config_uri},
                "BaselineConfig": {"ConstraintsResource": {"S3Uri": monitor.constraints_uri}},
                "JobInput": {
                    "EndpointInput": self._endpoint_input(predictions=True),
                    "GroundTruthS3Input": {"S3Uri": self._ground_truth_s3_uri},
                },
                "JobOutputConfig": self._output(),
            },
        )

    def _explainability(self, monitor: ExplainabilityMonitor) -> CfnResource:
        return self._definition(
            "ExplainabilityJobDefinition",
            "ModelExplainability",
            {
                "AppSpecification": {"ImageUri": image_uri(self, CLARIFY), "ConfigUri": monitor.analysis_config_uri},
                "BaselineConfig": {"ConstraintsResource": {"S3Uri": monitor.constraints_uri}},
                "JobInput": {"EndpointInput": self._endpoint_input(predictions=False)},
                "JobOutputConfig": self._output(),
            },
        )

    def _add(self, monitoring_type: str, on: _On, definition: CfnResource, alarm: Optional[ViolationAlarm]) -> None:
        condition = on if isinstance(on, CfnCondition) else None
        name = schedule_name(self._prefix, monitoring_type)
        schedule = sagemaker.CfnMonitoringSchedule(
            self,
            f"{monitoring_type}Schedule",
            monitoring_schedule_name=name,
            endpoint_name=self.endpoint_name,
            monitoring_schedule_config=sagemaker.CfnMonitoringSchedule.MonitoringScheduleConfigProperty(
                monitoring_job_definition_name=job_definition_name(self._prefix, monitoring_type, self._version),
                monitoring_type=monitoring_type,
                schedule_config=sagemaker.CfnMonitoringSchedule.ScheduleConfigProperty(
                    schedule_expression=self._resources.schedule_expression
                ),
            ),
        )
        # The schedule names its definition by name: CloudFormation must create it first.
        schedule.node.add_dependency(definition)
        if self._role_ready is not None:
            definition.add_override("DependsOn", [self._role_ready])
            acknowledge(
                definition,
                "RoleArn is Fn::If on the condition that the role parameter is empty: the stack's role then, "
                "else the given ARN; the validator also evaluates the branch not taken with the empty default",
                "CloudFormation-Validate::E1156",
                "CloudFormation-Validate::F3031",
                "CloudFormation-Validate::F3033",
            )
        if monitoring_type in ("ModelQuality", "ModelBias") and isinstance(
            self._given("ProbabilityThresholdAttributeGiven", str(self._model.probability_threshold_attribute)), CfnCondition
        ):
            acknowledge(
                definition,
                "ProbabilityThresholdAttribute is AWS::NoValue when its parameter is empty (condition "
                "ProbabilityThresholdAttributeGiven); the validator evaluates the branch not taken",
                "CloudFormation-Validate::F3012",
            )
        cfn_alarm = self._alarm(monitoring_type, name, on, alarm) if alarm is not None else None
        for resource in (definition, schedule):
            if resource is not None and condition is not None:
                resource.cfn_options.condition = condition
        self.monitors[monitoring_type] = Monitor(monitoring_type, definition, schedule, name, condition, cfn_alarm)

    def _alarm(self, monitoring_type: str, name: str, on: _On, alarm: ViolationAlarm) -> Optional[cloudwatch.CfnAlarm]:
        metric_given = self._given(f"{monitoring_type}AlarmMetricGiven", alarm.metric_name)
        if metric_given is False:
            return None
        condition = self._all(f"{monitoring_type}AlarmOn", on, metric_given)
        dimensions = {"Endpoint": self.endpoint_name, "MonitoringSchedule": name, **alarm.dimensions}
        actions = self._if(self._topic_given, [self._topic_arn])
        cfn_alarm = cloudwatch.CfnAlarm(
            self,
            f"{monitoring_type}Alarm",
            alarm_description=(
                f"SageMaker Model Monitor {monitoring_type} of endpoint {self.endpoint_name}: "
                f"{alarm.metric_name} {alarm.comparison} {alarm.threshold}"
            ),
            namespace=METRIC_NAMESPACES[monitoring_type],
            metric_name=alarm.metric_name,
            dimensions=[cloudwatch.CfnAlarm.DimensionProperty(name=k, value=v) for k, v in dimensions.items()],
            statistic="Maximum",
            # A monitor publishes once per run; an hour covers the most frequent schedule.
            period=3600,
            evaluation_periods=alarm.evaluation_periods,
            threshold=Token.as_number(alarm.threshold) if isinstance(alarm.threshold, str) else alarm.threshold,
            comparison_operator=alarm.comparison,
            # No run, no metric: a monitor that does not run is not drift.
            treat_missing_data="notBreaching",
        )
        if actions is not Aws.NO_VALUE:
            cfn_alarm.add_property_override("AlarmActions", actions)
            acknowledge(
                cfn_alarm,
                "the alarm notifies the topic NotificationTopicArn names; with none given (a library user's "
                "choice) it still shows its state in CloudWatch",
                "HIPAA.Security-CloudWatchAlarmAction",
                "NIST.800.53.R5-CloudWatchAlarmAction",
            )
            acknowledge(
                cfn_alarm,
                "the actions are AWS::NoValue when the topic is empty (condition NotificationTopicGiven); the "
                "validator evaluates the branch not taken with the empty default",
                "CloudFormation-Validate::F3033",
            )
            cfn_alarm.add_property_override("OKActions", actions)
        if isinstance(condition, CfnCondition):
            cfn_alarm.cfn_options.condition = condition
        return cfn_alarm if condition is not False else None

    # ------------------------------------------------------------------ the role

    _role_ready: Optional[str] = None

    def _execution_role(
        self,
        role_arn: Optional[str],
        iam_path: Optional[str],
        switches: dict[str, _On],
        data_quality: Optional[DataQualityMonitor],
        model_bias: Optional[ModelBiasMonitor],
        explainability: Optional[ExplainabilityMonitor],
        model_quality: Optional[ModelQualityMonitor],
        capture_uri: str,
    ) -> str:
        own = self._given("ExecutionRoleGiven", role_arn)
        if own is True:
            assert role_arn is not None
            return role_arn
        # A role only for monitors that may exist, and only when none is given.
        any_on = self._any("AnyMonitorOn", *switches.values())
        if any_on is False:
            self._role_ready = None
            return ""
        not_given: _On = True
        if isinstance(own, CfnCondition):
            not_given = CfnCondition(self, "NoRoleGiven", expression=Fn.condition_not(cast(Any, own)))
        create = self._all("CreateRole", not_given, any_on)
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            path=iam_path,
            description=f"SageMaker Model Monitor jobs of endpoint {self.endpoint_name}",
        )
        policy = iam.ManagedPolicy(self, "Policy", path=iam_path, roles=[role], document=self._role_document(capture_uri))
        conditional = ConditionalStatements(
            policy.node.default_child,  # type: ignore[arg-type]  # an L1 ManagedPolicy is a CfnResource
            "PolicyDocument",
            policy.document,
        )
        self._conditional_grants(conditional, switches, data_quality, model_quality, model_bias, explainability)
        if self._network is not None:
            grant_network_in_policy(policy, self._network, conditional)
        acknowledge(
            policy,
            "Model Monitor reads the endpoint's captured data under its capture prefix (hour folders SageMaker "
            "creates), writes reports under the output prefix and logs to SageMaker's processing job log group "
            "(streams named after each generated job); cloudwatch:PutMetricData has no resource type and is "
            "limited to SageMaker's endpoint metric namespaces by condition",
            *(_wildcard_finding(policy, arn) for arn in self._wildcards),
        )
        self.role, self.policy = role, policy
        if isinstance(create, CfnCondition):
            for resource in (role.node.default_child, policy.node.default_child):
                assert isinstance(resource, CfnResource)
                resource.cfn_options.condition = create
            self._role_ready = self._ready_handle(create, role, policy)
            if isinstance(not_given, CfnCondition):
                # Where a job definition exists some monitor is on: no role given means this one.
                return Fn.condition_if(not_given.logical_id, role.role_arn, role_arn).to_string()
            return role.role_arn
        self._role_ready = None
        return role.role_arn

    def _ready_handle(self, create: CfnCondition, role: iam.Role, policy: iam.ManagedPolicy) -> str:
        """DependsOn may not name a resource whose condition is false: job definitions wait for a
        handle that refers to the role and policy only when they exist."""
        ready = CfnWaitConditionHandle(self, "RoleReady")
        role_l1, policy_l1 = role.node.default_child, policy.node.default_child
        assert isinstance(role_l1, CfnResource) and isinstance(policy_l1, CfnResource)
        ready.cfn_options.metadata = {
            "Role": Fn.condition_if(create.logical_id, role_l1.ref, ""),
            "Policy": Fn.condition_if(create.logical_id, policy_l1.ref, ""),
        }
        return Stack.of(self).resolve(ready.logical_id)

    def _role_document(self, capture_uri: str) -> iam.PolicyDocument:
        stack = Stack.of(self)
        # Either may be empty (a token) while every monitor is off: the role does not exist then.
        capture = s3_object_arn(capture_uri, "*", optional=True)
        output = s3_object_arn(self._output_s3_uri, "*", optional=True)
        logs = stack.format_arn(
            service="logs", resource="log-group", resource_name=f"{PROCESSING_LOG_GROUP}:*", arn_format=_COLON
        )
        capture_bucket = s3_bucket_arn(capture_uri, optional=True)
        self._wildcards = [capture, output, logs, capture_bucket, "*"]
        return iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(sid="ReadCapturedData", actions=["s3:GetObject"], resources=[capture]),
                # Listing finds the captured hour folders (ListBucket is granted on buckets).
                iam.PolicyStatement(sid="ListCapturedData", actions=["s3:ListBucket"], resources=[capture_bucket]),
                iam.PolicyStatement(sid="WriteReports", actions=["s3:PutObject"], resources=[output]),
                *job_log_and_metric_statements(logs),
            ]
        )

    def _conditional_grants(
        self,
        conditional: ConditionalStatements,
        switches: dict[str, _On],
        data_quality: Optional[DataQualityMonitor],
        model_quality: Optional[ModelQualityMonitor],
        model_bias: Optional[ModelBiasMonitor],
        explainability: Optional[ExplainabilityMonitor],
    ) -> None:
        """Grants that exist only while what needs them does: baselines, ground truth, the key,
        Clarify's shadow endpoint."""

        def add(statement: iam.PolicyStatement, on: _On) -> None:
            if on is not False:
                conditional.add(statement, on if isinstance(on, CfnCondition) else None)

        baselines = [
            (switches["DataQuality"], data_quality, ("statistics_uri", "constraints_uri")),
            (switches["ModelQuality"], model_quality, ("constraints_uri",)),
            (switches["ModelBias"], model_bias, ("analysis_config_uri", "constraints_uri")),
            (switches["ModelExplainability"], explainability, ("analysis_config_uri", "constraints_uri")),
        ]
        for (on, monitor, fields), monitoring_type in zip(baselines, METRIC_NAMESPACES, strict=True):
            if monitor is not None:
                add(
                    iam.PolicyStatement(
                        sid=f"Read{monitoring_type}Baseline",
                        actions=["s3:GetObject"],
                        resources=[s3_object_arn(getattr(monitor, f), optional=True) for f in fields],
                    ),
                    on,
                )
        ground_truth_on = self._any("GroundTruthRead", switches["ModelQuality"], switches["ModelBias"])
        if ground_truth_on is not False:
            add(
                iam.PolicyStatement(
                    sid="ReadGroundTruth",
                    actions=["s3:GetObject"],
                    resources=[s3_object_arn(self._ground_truth_s3_uri, "*", optional=True)],
                ),
                ground_truth_on,
            )
            add(
                iam.PolicyStatement(
                    sid="ListGroundTruth",
                    actions=["s3:ListBucket"],
                    resources=[s3_bucket_arn(self._ground_truth_s3_uri, optional=True)],
                ),
                ground_truth_on,
            )
        add(
            iam.PolicyStatement(sid="UseKey", actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[self._key_arn]),
            self._key_given,
        )
        # VolumeKmsKeyId: SageMaker creates a grant on the key for the job's volumes, as the role.
        add(
            iam.PolicyStatement(
                sid="VolumeKeyGrant",
                actions=["kms:CreateGrant"],
                resources=[self._key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            ),
            self._key_given,
        )
        if explainability is not None:
            stack = Stack.of(self)
            shadow = [
                stack.format_arn(service="sagemaker", resource=kind, resource_name=f"{self._clarify_prefix}*", arn_format=_SLASH)
                for kind in ("endpoint", "endpoint-config")
            ]
            add(clarify_shadow_statement(shadow), switches["ModelExplainability"])
            self._wildcards.extend(shadow)

    def _any(self, condition_id: str, *parts: _On) -> _On:
        if any(p is True for p in parts):
            return True
        conditions = [p for p in parts if isinstance(p, CfnCondition)]
        if not conditions:
            return False
        if len(conditions) == 1:
            return conditions[0]
        return CfnCondition(self, condition_id, expression=Fn.condition_or(*cast(list[Any], conditions)))

    # ------------------------------------------------------------------ public helpers

    @property
    def schedule_names(self) -> dict[str, str]:
        """The schedules' names by monitoring type (those that may exist)."""
        return {t: m.schedule_name for t, m in self.monitors.items()}


_COLON = ArnFormat.COLON_RESOURCE_NAME
_SLASH = ArnFormat.SLASH_RESOURCE_NAME


def _s3_path(uri: str, *, optional: bool) -> str:
    """``bucket/key`` of ``s3://bucket/key``. An ``optional`` token is written so that an empty
    value still evaluates (``Fn::Select`` on ``"<uri>s3://"`` split at ``s3://``): the grants of a
    monitor that is off name its empty URI inside an ``Fn::If`` branch CloudFormation does not take."""
    if not is_unresolved(uri):
        return uri[len("s3://") :] if uri.startswith("s3://") else uri
    if optional:
        return Fn.select(1, Fn.split("s3://", Fn.join("", [uri, "s3://"])))
    return Fn.select(1, Fn.split("s3://", uri))


def s3_object_arn(uri: str, suffix: str = "", *, optional: bool = False) -> str:
    """The ARN of the S3 object (or, with ``suffix`` ``*``, objects under the prefix) ``uri`` names."""
    return Fn.join("", ["arn:", Aws.PARTITION, ":s3:::", _s3_path(uri, optional=optional), suffix])


def s3_bucket_arn(uri: str, *, optional: bool = False) -> str:
    """The ARN of the bucket ``uri`` names."""
    if not is_unresolved(uri):
        return f"arn:{Aws.PARTITION}:s3:::{_s3_path(uri, optional=False).split('/', 1)[0]}"
    return Fn.join("", ["arn:", Aws.PARTITION, ":s3:::", Fn.select(0, Fn.split("/", _s3_path(uri, optional=optional)))])


def _wildcard_finding(scope: Construct, arn: str) -> str:
    """cdk-nag's finding id for a wildcard ``arn``: ``Ref`` printed as ``<X>``, other functions
    inside a join as JSON (``compliance.nag_resource`` for the forms it knows)."""
    resolved = Stack.of(scope).resolve(arn)
    if isinstance(resolved, dict) and "Fn::Join" in resolved:
        separator, parts = resolved["Fn::Join"]
        rendered = separator.join(
            p if isinstance(p, str) else f"<{p['Ref']}>" if set(p) == {"Ref"} else json.dumps(p, separators=(",", ":"))
            for p in parts
        )
        return f"AwsSolutions-IAM5[Resource::{rendered}]"
    return wildcard_finding(scope, arn)


_S3_URI = r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?"


def _monitor_uris(*monitors: Optional[Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for monitor in monitors:
        if monitor is None:
            continue
        name = {
            DataQualityMonitor: "data_quality",
            ModelQualityMonitor: "model_quality",
            ModelBiasMonitor: "model_bias",
            ExplainabilityMonitor: "explainability",
        }[type(monitor)]
        for field_name in ("statistics_uri", "constraints_uri", "analysis_config_uri"):
            if hasattr(monitor, field_name):
                found[f"{name}.{field_name}"] = getattr(monitor, field_name)
    return found


def _check(
    *,
    endpoint_name: str,
    name_prefix: str,
    definition_version: str,
    uris: dict[str, str],
    model: ModelAttributes,
    resources: MonitoringResources,
    kms_key_arn: Optional[str],
    alarms: dict[str, ViolationAlarm],
) -> None:
    from ..._internal.patterns import ENDPOINT_NAME, KMS_KEY_ARN

    problems = Problems()
    problems.check(check_pattern, "endpoint_name", endpoint_name, ENDPOINT_NAME, "1 to 63 letters, digits and inner hyphens")
    problems.check(check_name_prefix, "name_prefix", name_prefix)
    problems.check(check_definition_version, "definition_version", definition_version)
    for setting, uri in uris.items():
        if uri != "" or setting != "ground_truth_s3_uri":
            problems.check(check_pattern, setting, uri, _S3_URI, "an S3 URI 's3://<bucket>/<key>'")
    if kms_key_arn:
        problems.check(check_pattern, "kms_key_arn", kms_key_arn, KMS_KEY_ARN, "a KMS key ARN (not an alias)")
    problems.check(check_choice, "model.problem_type", model.problem_type, PROBLEM_TYPES)
    threshold = model.probability_threshold_attribute
    if not is_unresolved(threshold) and threshold != "":
        try:
            float(threshold)
        except (TypeError, ValueError):
            problems.add("model.probability_threshold_attribute", threshold, "a number, or empty")
    problems.check(
        check_pattern,
        "resources.schedule_expression",
        resources.schedule_expression,
        SCHEDULE_EXPRESSION_PATTERN,
        f"a SageMaker monitoring schedule such as {HOURLY!r} (hourly) or 'cron(0 0 ? * * *)' (daily)",
    )
    problems.check(check_instance_type, "resources.instance_type", resources.instance_type)
    check_whole(problems, "resources.instance_count", resources.instance_count, 1, 100)
    check_whole(problems, "resources.volume_size_in_gb", resources.volume_size_in_gb, 1, 16384)
    longest = schedule_period_seconds(resources.schedule_expression)
    check_whole(problems, "resources.max_runtime_in_seconds", resources.max_runtime_in_seconds, 1, longest)
    for name, alarm in alarms.items():
        problems.check(check_choice, f"{name}.alarm.comparison", alarm.comparison, ALARM_COMPARISONS)
        check_whole(problems, f"{name}.alarm.evaluation_periods", alarm.evaluation_periods, 1, 24)
        if not is_unresolved(alarm.threshold):
            try:
                float(alarm.threshold)
            except (TypeError, ValueError):
                problems.add(f"{name}.alarm.threshold", alarm.threshold, "a number")
    problems.raise_if_any()


def schedule_period_seconds(expression: str) -> int:
    """The period of a resolved schedule expression (``SCHEDULE_EXPRESSION_PATTERN``); a token
    counts as hourly, the shortest period SageMaker allows."""
    match = re.fullmatch(SCHEDULE_EXPRESSION_PATTERN, expression) if not is_unresolved(expression) else None
    if match is None:
        return 3600
    hours = match.group(1)
    if hours == "*":
        return 3600
    if "/" in hours:
        return 3600 * max(1, int(hours.split("/")[1]))
    return 86400
