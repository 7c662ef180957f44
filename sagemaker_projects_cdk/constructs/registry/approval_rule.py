"""An EventBridge rule that fires when a model version in a project's group is approved or rejected."""

from __future__ import annotations

from typing import Optional, Sequence

from aws_cdk import aws_events as events
from constructs import Construct

from ..._internal.validation import invalid

#: The approval statuses of a model package (ModelApprovalStatus).
APPROVAL_STATUSES = ("Approved", "Rejected", "PendingManualApproval")


def model_package_state_change_pattern(
    model_package_group_name: str, statuses: Sequence[str] = ("Approved", "Rejected")
) -> events.EventPattern:
    """SageMaker's "Model Package State Change" events of one group with the given statuses."""
    return events.EventPattern(
        source=["aws.sagemaker"],
        detail_type=["SageMaker Model Package State Change"],
        detail={
            "ModelPackageGroupName": [model_package_group_name],
            "ModelApprovalStatus": list(statuses),
        },
    )


class ModelApprovalRule(Construct):
    """Starts ``targets`` when a model version of the group changes to one of ``statuses``.

    :param model_package_group_name: the project's group (may be a token).
    :param statuses: which approval statuses fire the rule. Default: Approved and Rejected
        (a rejection re-deploys the newest version still approved).
    :param targets: what the rule starts, e.g. ``aws_events_targets.CodePipeline(pipeline)``.
        Default: none; add some with ``rule.add_target``.
    :param description: Default: a sentence naming the group.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model_package_group_name: str,
        statuses: Sequence[str] = ("Approved", "Rejected"),
        targets: Sequence[events.IRuleTarget] = (),
        description: Optional[str] = None,
    ) -> None:
        super().__init__(scope, construct_id)
        statuses = list(statuses)
        unknown = [s for s in statuses if s not in APPROVAL_STATUSES]
        if not statuses or unknown or len(set(statuses)) != len(statuses):
            raise invalid("statuses", statuses, "one or more distinct of " + ", ".join(APPROVAL_STATUSES))
        #: The event pattern (also handy for tests that route sample events).
        self.event_pattern = model_package_state_change_pattern(model_package_group_name, statuses)
        #: The EventBridge rule.
        self.rule = events.Rule(
            self,
            "Rule",
            description=description or "Deploys the newest approved model when a model version's approval changes",
            event_pattern=self.event_pattern,
            targets=list(targets),
        )
