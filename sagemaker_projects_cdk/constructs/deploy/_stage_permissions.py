"""Statements both stage deployer roles hold: a project's own (``deployer_role.py``) and a
target account's (``targets/deployer_role.py``).

An endpoint stage stack creates the same autoscaling and alarms wherever it is deployed; the
two roles differ only in how narrowly the ARNs are scoped (one project, or every project of
a tooling account), so the ARNs are the parameters.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam

from ...compliance import acknowledge_wildcards

AUTOSCALING_SERVICE = "sagemaker.application-autoscaling.amazonaws.com"
#: The service-linked role Application Auto Scaling uses for SageMaker variants.
AUTOSCALING_LINKED_ROLE = f"aws-service-role/{AUTOSCALING_SERVICE}/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"


#: What a stage stack's handlers do with the CloudWatch alarms the stack creates (rollback, drift).
ALARM_ACTIONS = (
    "cloudwatch:PutMetricAlarm",
    "cloudwatch:DeleteAlarms",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:TagResource",
    "cloudwatch:UntagResource",
    "cloudwatch:ListTagsForResource",
)
#: What a stage stack's handlers do with the roles the stack creates (model, monitoring).
ROLE_ACTIONS = (
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:GetRole",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
    "iam:TagRole",
    "iam:UntagRole",
    # Read and delete: the handlers list (and remove) a role's policies.
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "iam:GetRolePolicy",
    "iam:DeleteRolePolicy",
)
#: What a stage stack's handlers do with the customer-managed policies the stack creates.
POLICY_ACTIONS = (
    "iam:CreatePolicy",
    "iam:DeletePolicy",
    "iam:GetPolicy",
    "iam:CreatePolicyVersion",
    "iam:DeletePolicyVersion",
    "iam:GetPolicyVersion",
    "iam:ListPolicyVersions",
    "iam:ListEntitiesForPolicy",
)


def created_role_statements(noun: str, *, roles: str, policies: str) -> list[iam.PolicyStatement]:
    """Manage the roles a stage stack creates (``<noun>Roles``), attach its policies to them
    (``Attach<noun>Policies``, only policies of ``policies``) and manage those policies
    (``<noun>Policies``).

    :param noun: what the roles are for, in the statement ids (``Model``, ``Monitoring``).
    :param roles: the ARN pattern of the roles.
    :param policies: the ARN pattern of the policies.
    """
    return [
        iam.PolicyStatement(sid=f"{noun}Roles", actions=list(ROLE_ACTIONS), resources=[roles]),
        iam.PolicyStatement(
            sid=f"Attach{noun}Policies",
            actions=["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
            resources=[roles],
            conditions={"ArnLike": {"iam:PolicyARN": policies}},
        ),
        iam.PolicyStatement(sid=f"{noun}Policies", actions=list(POLICY_ACTIONS), resources=[policies]),
    ]


def linked_role_statements(linked_role: str) -> list[iam.PolicyStatement]:
    """Create Application Auto Scaling's service-linked role for SageMaker variants, and pass it.

    :param linked_role: the ARN of ``AUTOSCALING_LINKED_ROLE`` in the deploying account.
    """
    return [
        iam.PolicyStatement(
            sid="AutoscalingLinkedRole",
            actions=["iam:CreateServiceLinkedRole"],
            resources=[linked_role],
            conditions={"StringEquals": {"iam:AWSServiceName": AUTOSCALING_SERVICE}},
        ),
        # The scalable target names the service-linked role (RoleARN), which is how
        # CloudFormation creates it in an account that lacks it; its handler passes it.
        iam.PolicyStatement(sid="PassAutoscalingLinkedRole", actions=["iam:PassRole"], resources=[linked_role]),
    ]


def alarm_and_autoscaling_statements(
    *, alarms: str, tracking_alarms: str, scalable_targets: str
) -> list[iam.PolicyStatement]:
    """The stage stacks' rollback alarms, their target-tracking alarms and autoscaling.

    :param alarms: the ARN pattern of the stage stacks' rollback alarms.
    :param tracking_alarms: the ARN pattern of the alarms Application Auto Scaling creates for a
        target-tracking policy (``TargetTracking-endpoint/<endpoint>/variant/<variant>-...``).
    :param scalable_targets: the ARN pattern of the scalable targets.
    """
    return [
        iam.PolicyStatement(
            sid="RollbackAlarms",
            actions=list(ALARM_ACTIONS),
            resources=[alarms],
        ),
        iam.PolicyStatement(
            sid="TargetTrackingAlarms",
            actions=["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms"],
            resources=[tracking_alarms],
        ),
        iam.PolicyStatement(
            sid="Autoscaling",
            actions=[
                "application-autoscaling:RegisterScalableTarget",
                "application-autoscaling:DeregisterScalableTarget",
                "application-autoscaling:PutScalingPolicy",
                "application-autoscaling:DeleteScalingPolicy",
                "application-autoscaling:TagResource",
                "application-autoscaling:UntagResource",
                "application-autoscaling:ListTagsForResource",
            ],
            resources=[scalable_targets],
        ),
        iam.PolicyStatement(
            sid="DescribeAutoscaling",
            actions=[
                "application-autoscaling:DescribeScalableTargets",
                "application-autoscaling:DescribeScalingPolicies",
                "application-autoscaling:DescribeScheduledActions",
                # The scaling policy's handler reads metric data (no resource type).
                "cloudwatch:GetMetricData",
            ],
            resources=["*"],
        ),
    ]


def acknowledge_autoscaling_wildcards(policy: iam.ManagedPolicy, scalable_targets: str) -> None:
    """Acknowledge the wildcards of ``alarm_and_autoscaling_statements``' autoscaling statements."""
    acknowledge_wildcards(
        policy,
        "Application Auto Scaling names scalable targets with generated ids; its Describe* "
        "calls and CloudWatch's GetMetricData have no resource type",
        scalable_targets,
        "*",
    )


def async_topic_statements(*, topics: str) -> list[iam.PolicyStatement]:
    """An asynchronous stage's SNS success and error topics and their policies.

    :param topics: the ARN pattern of the stage stacks' topics (CloudFormation names them
        ``<stack name>-<logical id>-<suffix>``).
    """
    return [
        iam.PolicyStatement(
            sid="AsyncTopics",
            actions=[
                "sns:CreateTopic",
                "sns:DeleteTopic",
                "sns:GetTopicAttributes",
                "sns:SetTopicAttributes",
                "sns:TagResource",
                "sns:UntagResource",
                "sns:ListTagsForResource",
                "sns:GetDataProtectionPolicy",
                "sns:PutDataProtectionPolicy",
                # The read handler lists a topic's subscriptions (the stage template adds none).
                "sns:ListSubscriptionsByTopic",
            ],
            resources=[topics],
        )
    ]


#: What CloudFormation's handlers call for a batch stage's state machine.
BATCH_STATE_MACHINE_ACTIONS = (
    "states:CreateStateMachine",
    "states:DeleteStateMachine",
    "states:DescribeStateMachine",
    "states:UpdateStateMachine",
    "states:TagResource",
    "states:UntagResource",
    "states:ListTagsForResource",
)
#: What CloudFormation's handlers call for a batch stage's EventBridge rules.
BATCH_RULE_ACTIONS = (
    "events:PutRule",
    "events:DeleteRule",
    "events:DescribeRule",
    "events:PutTargets",
    "events:RemoveTargets",
    "events:ListTargetsByRule",
    "events:TagResource",
    "events:UntagResource",
    "events:ListTagsForResource",
)


def batch_statements(*, state_machines: str, rules: str, roles: str) -> list[iam.PolicyStatement]:
    """A batch stage's state machine, its EventBridge rules and the roles they run as.

    :param state_machines: the ARN pattern of the stage stacks' state machines.
    :param rules: the ARN pattern of their rules.
    :param roles: the ARN pattern of the roles the stage stacks create (passed to Step
        Functions and EventBridge only).
    """
    return [
        iam.PolicyStatement(
            sid="BatchStateMachines",
            actions=list(BATCH_STATE_MACHINE_ACTIONS),
            resources=[state_machines],
        ),
        iam.PolicyStatement(
            sid="BatchRules",
            actions=list(BATCH_RULE_ACTIONS),
            resources=[rules],
        ),
        iam.PolicyStatement(
            sid="PassBatchRoles",
            actions=["iam:PassRole"],
            resources=[roles],
            conditions={"StringEquals": {"iam:PassedToService": ["states.amazonaws.com", "events.amazonaws.com"]}},
        ),
    ]
