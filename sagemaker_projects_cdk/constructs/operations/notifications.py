"""A project's notification topic and the EventBridge rules that tell it, in words, what happened.

Every rule turns the event into a short text (what happened, which project, which pipeline
execution or model version, where to look) with an input transformer: subscribers read a
message, not an event dump. The messages (:class:`Message`) are data, built by the functions
below from names that may be CloudFormation tokens; :class:`ProjectNotifications` turns
them into rules whose targets are the project's topic and the subscriber topics given.

Event shapes (AWS documentation, "CodePipeline events", "Events that Amazon SageMaker AI
sends to Amazon EventBridge", "CloudWatch alarm events"):

- CodePipeline: ``detail.pipeline``, ``detail.execution-id``, ``detail.state``
  (``FAILED``...), and for actions ``detail.stage``, ``detail.action``,
  ``detail.type.category`` (``Approval`` for a manual approval);
- SageMaker model packages: ``detail.ModelPackageGroupName``, ``detail.ModelPackageVersion``,
  ``detail.ModelPackageArn``, ``detail.ModelApprovalStatus``, ``detail.ModelPackageStatus``;
- SageMaker pipeline executions: ``detail.currentPipelineExecutionStatus`` (``Failed``...),
  ``detail.pipelineArn``, ``detail.pipelineExecutionArn``,
  ``detail.pipelineExecutionDisplayName``;
- CloudWatch alarms: ``detail.alarmName``, ``detail.state.value`` (``ALARM``),
  ``detail.state.reason``, ``detail.configuration.description``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from ..._internal.validation import invalid, is_unresolved
from ..project.identity import ProjectIdentity

#: A subscriber address: one ``@``, a dot in the domain, no spaces.
EMAIL_PATTERN = r"[^@\s]+@[^@\s]+\.[^@\s.]+"
#: A standard SNS topic's ARN, in any partition (EventBridge targets at most 5 per rule).
TOPIC_ARN_PATTERN = r"arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}"
#: EventBridge allows five targets per rule: the project's topic and four more.
MAX_SUBSCRIBER_TOPICS = 4


@dataclass(frozen=True)
class Message:
    """One kind of notification: which events, and the text they become.

    :param kind: a short id (``pipeline-failed``...), also the rule's construct id stem.
    :param description: the rule's description.
    :param event_pattern: the EventBridge event pattern (JSON; values may be tokens).
    :param input_paths: placeholder -> JSON path in the event (``InputPathsMap``).
    :param template: the text, with ``<placeholder>`` for each path (``InputTemplate``).
    """

    kind: str
    description: str
    event_pattern: Mapping[str, Any]
    input_paths: Mapping[str, str]
    template: str


def _lines(*lines: str) -> str:
    return "\n".join(lines)


def _project_line(project: ProjectIdentity) -> str:
    return f"Project: {project.project_name} (id {project.project_id})"


_WHERE = "Region <region>, account <account>, at <time>"
_COMMON_PATHS = {"region": "$.region", "account": "$.account", "time": "$.time"}


def pipeline_failed(project: ProjectIdentity, pipeline_names: Sequence[str]) -> Message:
    """An execution of one of the project's CodePipelines failed."""
    return Message(
        kind="pipeline-failed",
        description="Tells the project's topic when one of its CodePipeline executions fails",
        event_pattern={
            "source": ["aws.codepipeline"],
            "detail-type": ["CodePipeline Pipeline Execution State Change"],
            "detail": {"state": ["FAILED"], "pipeline": list(pipeline_names)},
        },
        input_paths={"pipeline": "$.detail.pipeline", "execution": "$.detail.execution-id", **_COMMON_PATHS},
        template=_lines(
            f"[{project.project_name}] Pipeline <pipeline> failed",
            "",
            "What: the CodePipeline <pipeline> stopped with an execution that FAILED.",
            _project_line(project),
            "Execution: <execution>",
            _WHERE,
            "See which action failed and why: https://<region>.console.aws.amazon.com/codesuite/codepipeline/"
            "pipelines/<pipeline>/executions/<execution>/timeline?region=<region>",
        ),
    )


def sagemaker_pipeline_failed(project: ProjectIdentity, pipeline_arn: str) -> Message:
    """An execution of the project's SageMaker pipeline failed (matched ignoring case:
    SageMaker lower-cases the name in the ARN)."""
    return Message(
        kind="sagemaker-pipeline-failed",
        description="Tells the project's topic when an execution of its SageMaker pipeline fails",
        event_pattern={
            "source": ["aws.sagemaker"],
            "detail-type": ["SageMaker Model Building Pipeline Execution Status Change"],
            "detail": {
                "currentPipelineExecutionStatus": ["Failed"],
                "pipelineArn": [{"equals-ignore-case": pipeline_arn}],
            },
        },
        input_paths={
            "execution": "$.detail.pipelineExecutionArn",
            "name": "$.detail.pipelineExecutionDisplayName",
            **_COMMON_PATHS,
        },
        template=_lines(
            f"[{project.project_name}] SageMaker pipeline execution <name> failed",
            "",
            "What: an execution of the project's model-building SageMaker pipeline Failed; no model version was registered by it.",
            _project_line(project),
            "Execution: <execution>",
            _WHERE,
            "See the failed step and its reason in SageMaker Studio (Pipelines), or run:",
            "aws sagemaker list-pipeline-execution-steps --region <region> --pipeline-execution-arn <execution>",
        ),
    )


def approval_waiting(project: ProjectIdentity, pipeline_name: str) -> Message:
    """A manual approval action of the deploy pipeline waits for a person."""
    return Message(
        kind="approval-waiting",
        description="Tells the project's topic when a deployment waits for a person's approval",
        event_pattern={
            "source": ["aws.codepipeline"],
            "detail-type": ["CodePipeline Action Execution State Change"],
            "detail": {"state": ["STARTED"], "type": {"category": ["Approval"]}, "pipeline": [pipeline_name]},
        },
        input_paths={
            "pipeline": "$.detail.pipeline",
            "execution": "$.detail.execution-id",
            "stage": "$.detail.stage",
            "action": "$.detail.action",
            **_COMMON_PATHS,
        },
        template=_lines(
            f"[{project.project_name}] Approval waiting in <pipeline> (stage <stage>)",
            "",
            "What: the deployment waits for a person to approve or reject it (action <action> of stage <stage>).",
            _project_line(project),
            "Execution: <execution>",
            _WHERE,
            "Review and approve or reject: https://<region>.console.aws.amazon.com/codesuite/codepipeline/"
            "pipelines/<pipeline>/view?region=<region>",
        ),
    )


def _model_package_pattern(group_name: str, statuses: Sequence[str]) -> dict[str, Any]:
    return {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Package State Change"],
        "detail": {
            "ModelPackageGroupName": [group_name],
            "ModelApprovalStatus": list(statuses),
            # A version is announced once it is complete (SageMaker sends InProgress first).
            "ModelPackageStatus": ["Completed"],
        },
    }


_MODEL_PATHS = {
    "group": "$.detail.ModelPackageGroupName",
    "version": "$.detail.ModelPackageVersion",
    "arn": "$.detail.ModelPackageArn",
    "status": "$.detail.ModelApprovalStatus",
    **_COMMON_PATHS,
}


def model_registered(project: ProjectIdentity, group_name: str) -> Message:
    """A new version in the project's group waits for a decision (PendingManualApproval)."""
    return Message(
        kind="model-registered",
        description="Tells the project's topic when a model version is registered and waits for approval",
        event_pattern=_model_package_pattern(group_name, ["PendingManualApproval"]),
        input_paths=_MODEL_PATHS,
        template=_lines(
            f"[{project.project_name}] Model version <version> of <group> registered: waiting for approval",
            "",
            "What: a model version was registered and waits for a person to approve or reject it.",
            _project_line(project),
            "Model version: <arn>",
            _WHERE,
            "Review it in SageMaker Studio (Models, registered models, <group>), then approve with:",
            "aws sagemaker update-model-package --region <region> --model-package-arn <arn> --model-approval-status Approved",
        ),
    )


def model_decided(project: ProjectIdentity, group_name: str) -> Message:
    """A version in the project's group was approved or rejected."""
    return Message(
        kind="model-decided",
        description="Tells the project's topic when a model version is approved or rejected",
        event_pattern=_model_package_pattern(group_name, ["Approved", "Rejected"]),
        input_paths=_MODEL_PATHS,
        template=_lines(
            f"[{project.project_name}] Model version <version> of <group> <status>",
            "",
            "What: a person set the version's approval status to <status>; the deploy pipeline (if any) deploys "
            "the newest approved version.",
            _project_line(project),
            "Model version: <arn>",
            _WHERE,
            "Details: aws sagemaker describe-model-package --region <region> --model-package-name <arn>",
        ),
    )


def endpoint_alarm(project: ProjectIdentity, alarm_name_prefix: str) -> Message:
    """A rollback alarm of a stage endpoint fired: SageMaker rolls back a deployment in progress.

    The stage stacks' alarms are named by CloudFormation ``<stage stack>-<logical id>-<suffix>``,
    so the prefix ``sagemaker-<name>-<id>-deploy-`` matches every stage's.
    """
    return Message(
        kind="endpoint-alarm",
        description="Tells the project's topic when an endpoint's rollback alarm fires",
        event_pattern={
            "source": ["aws.cloudwatch"],
            "detail-type": ["CloudWatch Alarm State Change"],
            "detail": {"alarmName": [{"prefix": alarm_name_prefix}], "state": {"value": ["ALARM"]}},
        },
        input_paths={
            "alarm": "$.detail.alarmName",
            "reason": "$.detail.state.reason",
            "about": "$.detail.configuration.description",
            **_COMMON_PATHS,
        },
        template=_lines(
            f"[{project.project_name}] Endpoint alarm <alarm> is in ALARM",
            "",
            "What: <about>. A deployment in progress on that endpoint is rolled back by SageMaker, and the "
            "deploy pipeline's stage fails.",
            _project_line(project),
            "Why: <reason>",
            _WHERE,
            "Alarm: https://<region>.console.aws.amazon.com/cloudwatch/home?region=<region>#alarmsV2:alarm/<alarm>",
        ),
    )


def trigger_failed(project: ProjectIdentity, alarm_name: str, what: str) -> Message:
    """The alarm on a trigger's dead-letter queue fired: an event could not start ``what``
    (e.g. "the Jenkins deploy job") and waits in the queue."""
    return Message(
        kind="trigger-failed",
        description=f"Tells the project's topic when an approval could not start {what}",
        event_pattern={
            "source": ["aws.cloudwatch"],
            "detail-type": ["CloudWatch Alarm State Change"],
            "detail": {"alarmName": [alarm_name], "state": {"value": ["ALARM"]}},
        },
        input_paths={"alarm": "$.detail.alarmName", "reason": "$.detail.state.reason", **_COMMON_PATHS},
        template=_lines(
            f"[{project.project_name}] A model approval could not start {what}",
            "",
            f"What: the approved version's event is in the trigger's dead-letter queue: {what} did not accept it "
            "(unreachable, refused the credentials, or kept failing). Start it by hand with the version's ARN, and "
            "look at the queue's message for the event.",
            _project_line(project),
            "Why: <reason>",
            _WHERE,
            "Alarm: https://<region>.console.aws.amazon.com/cloudwatch/home?region=<region>#alarmsV2:alarm/<alarm>",
        ),
    )


def check_emails(setting: str, value: Sequence[str]) -> tuple[str, ...]:
    """A tuple of email addresses (tokens are left to CloudFormation)."""
    if isinstance(value, str) or not isinstance(value, (tuple, list)):
        raise invalid(setting, value, "a tuple of email addresses, e.g. ('team@example.com',)")
    for address in value:
        if is_unresolved(address):
            continue
        if not isinstance(address, str) or re.fullmatch(EMAIL_PATTERN, address) is None:
            raise invalid(setting, address, "an email address, e.g. 'team@example.com'")
    return tuple(value)


def check_topic_arns(setting: str, value: Sequence[str]) -> tuple[str, ...]:
    """A tuple of at most four standard SNS topic ARNs (tokens are left to CloudFormation)."""
    if isinstance(value, str) or not isinstance(value, (tuple, list)):
        raise invalid(setting, value, "a tuple of SNS topic ARNs, e.g. ('arn:aws:sns:eu-west-1:111122223333:team',)")
    if len(value) > MAX_SUBSCRIBER_TOPICS:
        raise invalid(setting, value, f"at most {MAX_SUBSCRIBER_TOPICS} topics (EventBridge targets 5 per rule)")
    for arn in value:
        if is_unresolved(arn):
            continue
        if not isinstance(arn, str) or re.fullmatch(TOPIC_ARN_PATTERN, arn) is None:
            raise invalid(setting, arn, "the ARN of a standard SNS topic (arn:aws:sns:<region>:<account>:<name>)")
    return tuple(value)


def notification_topic_arn(scope: Construct, project: ProjectIdentity) -> str:
    """The ARN of the project's notification topic (``sagemaker-<name>-<id>-notifications``),
    built from its name: known before the topic exists (the monitor pipeline passes it on)."""
    return Stack.of(scope).format_arn(
        service="sns", resource=project.resource_name("notifications"), arn_format=ArnFormat.NO_RESOURCE_NAME
    )


class ProjectNotifications(Construct):
    """The project's notification topic, its subscribers, and the rules that tell it.

    :param project: the project (names the topic ``sagemaker-<name>-<id>-notifications``).
    :param encryption_key: the project key; encrypts the topic's messages. Its key policy lets
        EventBridge use it for this topic only (``kms:EncryptionContext:aws:sns:topicArn``).
    :param emails: addresses subscribed to the topic (each confirms by email). Default: none.
    :param topic_arns: existing topics (a chat integration's, a team's) every rule also
        targets, up to four; their policies must let ``events.amazonaws.com`` publish.
        Default: none.

    The topic refuses requests without TLS, and lets EventBridge publish only for rules of
    this account and region.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project: ProjectIdentity,
        encryption_key: kms.IKey,
        emails: Sequence[str] = (),
        topic_arns: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        emails = check_emails("emails", emails)
        self._topic_arns = check_topic_arns("topic_arns", topic_arns)
        self._project = project
        stack = Stack.of(self)
        topic_name = project.resource_name("notifications")
        #: The topic's ARN, built from its name (the key policy names it without a reference
        #: to the topic, which would be a cycle: the topic names the key).
        self.topic_arn = notification_topic_arn(self, project)
        self._encryption_key = encryption_key
        #: The project's notification topic.
        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=topic_name,
            display_name=f"SageMaker project {project.project_name}"[:100],
            master_key=encryption_key,
            enforce_ssl=True,
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EventBridgeRulesOfThisAccount",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="events", resource="rule", resource_name="*", arn_format=ArnFormat.SLASH_RESOURCE_NAME
                        )
                    }
                },
            )
        )
        encryption_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EventBridgePublishesToTheNotificationTopic",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": self.topic_arn}},
            )
        )
        for index, address in enumerate(emails):
            sns.Subscription(
                self, f"Email{index}", topic=self.topic, protocol=sns.SubscriptionProtocol.EMAIL, endpoint=address
            )
        #: The rules added so far, by message kind.
        self.rules: dict[str, events.CfnRule] = {}

    def allow_cloudwatch_alarms(self, account_ids: Sequence[str]) -> None:
        """Let CloudWatch alarms of ``account_ids`` (this one, the stage accounts; tokens allowed)
        publish to the topic, their alarm action (the monitor stacks' drift alarms): the topic
        policy allows ``cloudwatch.amazonaws.com`` for those source accounts, and the key policy
        lets it encrypt for this topic only."""
        accounts = list(dict.fromkeys(account_ids))
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsOfProjectAccounts",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": accounts}},
            )
        )
        self._encryption_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublishToTheNotificationTopic",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={
                    "StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": self.topic_arn, "aws:SourceAccount": accounts}
                },
            )
        )

    def notify(self, message: Message, *, construct_id: Optional[str] = None) -> events.CfnRule:
        """Add a rule sending ``message`` to the topic and the subscriber topics (the
        monitoring template adds its drift alarms' this way)."""
        construct_id = construct_id or "".join(part.title() for part in message.kind.split("-"))
        target_ids = ["ProjectTopic", *(f"Subscriber{i}" for i in range(len(self._topic_arns)))]
        transformer = events.CfnRule.InputTransformerProperty(
            input_paths_map=dict(message.input_paths), input_template=message.template
        )
        rule = events.CfnRule(
            self,
            construct_id,
            description=message.description,
            event_pattern=dict(message.event_pattern),
            state="ENABLED",
            targets=[
                events.CfnRule.TargetProperty(id=target_id, arn=arn, input_transformer=transformer)
                for target_id, arn in zip(target_ids, [self.topic.topic_arn, *self._topic_arns], strict=True)
            ],
        )
        self.rules[message.kind] = rule
        return rule
