"""Starts the project's Jenkins deploy job when a model version of its group is approved.

An EventBridge rule on SageMaker's "Model Package State Change" events of this group only,
status ``Approved`` only, calls ``<jenkins_url>/job/<job_name>/buildWithParameters`` with the
version's ARN as ``MODEL_PACKAGE_ARN``, authenticated as a Jenkins user with an API token kept
in a Secrets Manager secret the user names (JSON: ``username``, ``token``):

- ``public`` (Jenkins reachable from the internet): an EventBridge API destination and
  connection (Basic authentication; CloudFormation resolves the secret with a dynamic reference,
  so the token is in no template, and EventBridge keeps it in a secret of its own). The rule's
  target retries for a day, then sends the event to the dead-letter queue.
- ``vpc`` (Jenkins reachable only inside a VPC): a function in the given subnets and security
  groups reads the secret and calls Jenkins, retrying 5xx answers and network errors; Lambda
  retries a failed asynchronous invocation twice, then sends the event to the dead-letter queue.
  The subnets need a route to Secrets Manager (a NAT gateway or an interface endpoint).

Either way failed deliveries are visible: the queue (encrypted with the project key, TLS only)
has an alarm on its messages, which the project's notification topic hears.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence, cast

from aws_cdk import ArnFormat, Duration, SecretValue, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ..._internal.logs import encrypted_log_group
from ..._internal.validation import check_choice
from ...compliance import acknowledge, acknowledge_wildcards, checkov_skip
from ..project.identity import ProjectIdentity
from ..registry.approval_rule import model_package_state_change_pattern
from .values import REACHABILITY, check_ids, check_jenkins_url, check_job_name, check_secret_arn

#: The function's code (package data).
FUNCTION_DIRECTORY = Path(__file__).parent / "trigger_function"
#: The Jenkins job parameter that carries the approved version's ARN.
MODEL_PACKAGE_PARAMETER = "MODEL_PACKAGE_ARN"
#: How long EventBridge keeps retrying a delivery (its maximum is 24 hours, 185 attempts).
MAX_EVENT_AGE = Duration.hours(24)
RETRY_ATTEMPTS = 185


def trigger_rule_name(project: ProjectIdentity) -> str:
    """``sagemaker-<project id>-jenkins-deploy`` (at most 45 characters; EventBridge allows 64)."""
    return f"sagemaker-{project.project_id}-jenkins-deploy"


def dead_letter_alarm_name(project: ProjectIdentity) -> str:
    """The alarm on the trigger's dead-letter queue (``sagemaker-<name>-<id>-jenkins-trigger-failed``)."""
    return project.resource_name("jenkins-trigger-failed")


class JenkinsDeployTrigger(Construct):
    """Starts a Jenkins job with ``MODEL_PACKAGE_ARN`` when a version of the group is approved.

    :param project: the project (names the rule and the alarm).
    :param model_package_group_name: the group whose approvals start the job (may be a token).
    :param jenkins_url: Jenkins's https address without a trailing slash (may be a token).
    :param job_name: the deploy job's name (may be a token).
    :param credentials_secret_arn: the complete ARN of the secret with ``username`` and
        ``token`` (may be a token).
    :param encryption_key: the project key: encrypts the dead-letter queue and the function's logs.
    :param reachability: ``public`` (an API destination) or ``vpc`` (a function in
        ``subnet_ids`` with ``security_group_ids``). Default: ``public``.
    :param subnet_ids: with ``vpc``: the function's subnets (a list token, or ids).
    :param security_group_ids: with ``vpc``: its security groups (a list token, or ids).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project: ProjectIdentity,
        model_package_group_name: str,
        jenkins_url: str,
        job_name: str,
        credentials_secret_arn: str,
        encryption_key: kms.IKey,
        reachability: str = "public",
        subnet_ids: Optional[Sequence[str]] = None,
        security_group_ids: Optional[Sequence[str]] = None,
    ) -> None:
        super().__init__(scope, construct_id)
        check_jenkins_url("jenkins_url", jenkins_url)
        check_job_name("job_name", job_name)
        check_secret_arn("credentials_secret_arn", credentials_secret_arn)
        check_choice("reachability", reachability, REACHABILITY)
        stack = Stack.of(self)
        rule_name = trigger_rule_name(project)
        rule_arn = stack.format_arn(
            service="events", resource="rule", resource_name=rule_name, arn_format=ArnFormat.SLASH_RESOURCE_NAME
        )

        #: Events that could not be delivered (EventBridge's or Lambda's), for 14 days.
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            queue_name=project.resource_name("jenkins-trigger-dlq"),
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=encryption_key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge(
            self.dead_letter_queue,
            "this queue is itself the dead-letter queue of the Jenkins trigger; nothing consumes it automatically",
            "AwsSolutions-SQS3",
        )
        if isinstance(encryption_key, kms.Key):
            # EventBridge sends to the encrypted queue for this rule only (named: the key
            # policy cannot refer to the rule, which refers to the queue, which refers to the key).
            encryption_key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="EventBridgeDeadLettersOfTheJenkinsTrigger",
                    principals=[iam.ServicePrincipal("events.amazonaws.com")],
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=["*"],
                    conditions={"ArnEquals": {"aws:SourceArn": rule_arn}},
                )
            )

        #: The rule: this group's versions, Approved only.
        self.rule = events.Rule(
            self,
            "Rule",
            rule_name=rule_name,
            description="Starts the project's Jenkins deploy job when a model version is approved",
            event_pattern=model_package_state_change_pattern(model_package_group_name, ("Approved",)),
        )
        endpoint = f"{jenkins_url}/job/{job_name}/buildWithParameters"
        #: The connection and API destination (``public``), else None.
        self.connection: Optional[events.Connection] = None
        self.api_destination: Optional[events.ApiDestination] = None
        #: The function (``vpc``), else None.
        self.function: Optional[lambda_.Function] = None
        if reachability == "public":
            # Resolved by CloudFormation at deployment: neither the name nor the token is in the template.
            username = SecretValue.secrets_manager(credentials_secret_arn, json_field="username").unsafe_unwrap()
            self.connection = events.Connection(
                self,
                "Connection",
                description="Jenkins API token of the SageMaker project's deploy trigger",
                authorization=events.Authorization.basic(
                    username, SecretValue.secrets_manager(credentials_secret_arn, json_field="token")
                ),
            )
            self.api_destination = events.ApiDestination(
                self,
                "Destination",
                connection=self.connection,
                endpoint=endpoint,
                http_method=events.HttpMethod.POST,
                rate_limit_per_second=1,
                description="The project's Jenkins deploy job (buildWithParameters)",
            )
            self.rule.add_target(
                targets.ApiDestination(
                    self.api_destination,
                    query_string_parameters={MODEL_PACKAGE_PARAMETER: "$.detail.ModelPackageArn"},
                    dead_letter_queue=self.dead_letter_queue,
                    retry_attempts=RETRY_ATTEMPTS,
                    max_event_age=MAX_EVENT_AGE,
                )
            )
            #: The role EventBridge invokes the API destination with (aws-cdk-lib's).
            self.events_role = cast(iam.Role, self.api_destination.node.find_child("EventsRole"))
            acknowledge(
                self.events_role.node.find_child("DefaultPolicy"),
                "aws-cdk-lib's grant of events:InvokeApiDestination on this one API destination; the inline policy "
                "belongs to this one role and is deleted with it",
                "HIPAA.Security-IAMNoInlinePolicy",
                "NIST.800.53.R5-IAMNoInlinePolicy",
            )
        else:
            if subnet_ids is None or security_group_ids is None:
                raise TypeError("JenkinsDeployTrigger: reachability 'vpc' needs subnet_ids and security_group_ids")
            if not isinstance(subnet_ids, (list, tuple)) or any(not isinstance(i, str) for i in subnet_ids):
                raise TypeError("JenkinsDeployTrigger: subnet_ids is a list of ids or a list token")
            self.function = self._function(
                project, jenkins_url, job_name, credentials_secret_arn, encryption_key, list(subnet_ids), list(security_group_ids)
            )
            self.rule.add_target(
                targets.LambdaFunction(
                    self.function,
                    dead_letter_queue=self.dead_letter_queue,
                    retry_attempts=RETRY_ATTEMPTS,
                    max_event_age=MAX_EVENT_AGE,
                )
            )

        #: Fires when an event is in the dead-letter queue (the project's topic hears it).
        self.alarm = cloudwatch.Alarm(
            self,
            "DeadLetterAlarm",
            alarm_name=dead_letter_alarm_name(project),
            alarm_description="An approved model version could not start the Jenkins deploy job; its event is in the "
            "trigger's dead-letter queue",
            metric=self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(5), statistic="Maximum"
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        acknowledge(
            self.alarm,
            "the project's notification topic hears this alarm through an EventBridge rule on its state changes "
            "(ProjectNotifications), which words the message; an alarm action would send the raw alarm twice",
            "HIPAA.Security-CloudWatchAlarmAction",
            "NIST.800.53.R5-CloudWatchAlarmAction",
        )

    def _function(
        self,
        project: ProjectIdentity,
        jenkins_url: str,
        job_name: str,
        secret_arn: str,
        encryption_key: kms.IKey,
        subnet_ids: list[str],
        security_group_ids: list[str],
    ) -> lambda_.Function:
        stack = Stack.of(self)
        for name, kind, prefix, ids in (
            ("subnet_ids", "subnet", "subnet", subnet_ids),
            ("security_group_ids", "security group", "sg", security_group_ids),
        ):
            if not any(Token.is_unresolved(i) for i in ids):
                check_ids(kind, prefix)(name, tuple(ids))
        log_group = encrypted_log_group(self, encryption_key=encryption_key)
        role = iam.Role(
            self,
            "FunctionRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Starts the SageMaker project's Jenkins deploy job from inside the VPC",
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn])
        )
        role.add_to_principal_policy(iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[secret_arn]))
        # What Lambda does with the function's role to attach it to the subnets.
        interfaces = stack.format_arn(service="ec2", resource="network-interface", resource_name="*")
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"], resources=["*"]
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "ec2:CreateNetworkInterface",
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                resources=[
                    interfaces,
                    stack.format_arn(service="ec2", resource="subnet", resource_name="*"),
                    stack.format_arn(service="ec2", resource="security-group", resource_name="*"),
                ],
            )
        )
        function = lambda_.Function(
            self,
            "Function",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler="index.handler",
            code=lambda_.Code.from_asset(str(FUNCTION_DIRECTORY), exclude=["__pycache__", "*.pyc", "__init__.py"]),
            timeout=Duration.minutes(1),
            role=role,
            log_group=log_group,
            description="Starts the SageMaker project's Jenkins deploy job for an approved model version",
            environment={"JENKINS_URL": jenkins_url, "JOB_NAME": job_name, "SECRET_ARN": secret_arn},
            dead_letter_queue=self.dead_letter_queue,
            retry_attempts=2,
            max_event_age=Duration.hours(6),
        )
        # The L2 needs an IVpc for subnets; with ids only (or tokens): the L1 property.
        cast(lambda_.CfnFunction, function.node.default_child).vpc_config = lambda_.CfnFunction.VpcConfigProperty(
            subnet_ids=subnet_ids, security_group_ids=security_group_ids
        )
        # Lambda sends failed asynchronous invocations to the encrypted queue as the function's role.
        encryption_key.grant(role, "kms:GenerateDataKey", "kms:Decrypt")
        policy = role.node.find_child("DefaultPolicy")
        function.node.add_dependency(policy)
        acknowledge_wildcards(
            policy,
            "Lambda creates and deletes the function's network interfaces, whose ids it chooses, in the subnets and "
            "security groups given; ec2:Describe* calls have no resource type",
            "*",
            interfaces,
            stack.format_arn(service="ec2", resource="subnet", resource_name="*"),
            stack.format_arn(service="ec2", resource="security-group", resource_name="*"),
        )
        acknowledge(
            policy,
            "the inline policy belongs to this one role and is deleted with it",
            "HIPAA.Security-IAMNoInlinePolicy",
            "NIST.800.53.R5-IAMNoInlinePolicy",
        )
        reason = (
            "one approved model version is one invocation; a reservation that leaves fewer than 100 unreserved "
            "executions fails the stack in accounts with a reduced concurrency quota"
        )
        acknowledge(function, reason, "HIPAA.Security-LambdaConcurrency", "NIST.800.53.R5-LambdaConcurrency")
        checkov_skip(function, "CKV_AWS_115", reason)
        return function
