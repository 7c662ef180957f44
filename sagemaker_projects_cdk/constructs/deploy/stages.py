"""Deployment stages as data: the ordered list the deploy pipeline and the deploy seed code follow.

A model travels through the stages in order. Each stage deploys the endpoint stage template
as the stack ``sagemaker-<name>-<id>-deploy-<stage>`` (endpoint ``<name>-<id>-<stage>``),
optionally runs the seed's endpoint tests against it, and may require a person's approval
before it is deployed. ``DEFAULT_STAGES`` is today's flow: staging (tested), then a manual
approval, then prod, whose deployments are recorded as change events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from ..._internal.patterns import ACCOUNT_ID, REGION
from ..._internal.validation import check_pattern, invalid

#: Stage names: lower-case letters, digits and inner hyphens, 1-15 characters (they end the
#: endpoint and stack names, and must match the stage template's ``StageName`` parameter).
STAGE_NAME_PATTERN = r"[a-z](-*[a-z0-9]){0,14}"


@dataclass(frozen=True, kw_only=True)
class DeployStage:
    """One deployment stage.

    :param name: the stage's name, e.g. ``staging``; names the stack, the endpoint, the
        pipeline stage (``Deploy<Name>``) and the seed's ``<name>-config.json``.
    :param approval: a person approves in the pipeline before this stage is deployed.
        Default: False.
    :param test: run the seed's endpoint tests (``test/buildspec.yml``) after deploying;
        the stage's config needs a ``smoke_test`` block. Default: False.
    :param replace_on_failure: a stage stack in a failed state (``ROLLBACK_COMPLETE`` after a
        failed first deployment, but also ``UPDATE_ROLLBACK_FAILED``) is deleted and created
        again by the next deployment. Keep it off where an endpoint serves live traffic: a
        failed rollback would then take the endpoint down until the new one is in service.
        Default: True.
    :param change_record: after this stage is deployed, the pipeline puts a change record on
        the account's default event bus (source ``sagemaker-projects-cdk``, detail-type
        ``SageMaker Project Model Deployment``: the version deployed, the one it replaced, who
        approved it and when) for a ticketing or change-management integration.
        Default: None, meaning only the pipeline's last stage (production) records one.
    :param account: the AWS account the stage deploys into (12 digits, or a token such as a
        template parameter; empty means this account). Another account runs the target-account
        baseline (``TargetAccountStack``) first: the pipeline deploys the stage with its roles.
        Default: the pipeline's own account.
    :param region: the region the stage deploys into (a region name or a token; empty means
        this region). Only the pipeline's own region is supported so far: CodePipeline needs an
        artifact bucket and key in every region it deploys to, which one template cannot create
        (the deploy pipeline refuses another region, naming this setting). Default: the
        pipeline's own region.
    """

    name: str
    approval: bool = False
    test: bool = False
    replace_on_failure: bool = True
    change_record: Optional[bool] = None
    account: Optional[str] = None
    region: Optional[str] = None

    def __post_init__(self) -> None:
        expected = "1 to 15 lower-case letters, digits and inner hyphens"
        check_pattern("stage name", self.name, STAGE_NAME_PATTERN, expected)
        if len(self.name) > 15:
            raise invalid("stage name", self.name, expected)
        if self.change_record is not None and not isinstance(self.change_record, bool):
            raise invalid(f"stage {self.name!r} change_record", self.change_record, "True, False or None (only the last stage)")
        if self.account is not None:
            check_pattern(f"stage {self.name!r} account", self.account, f"|{ACCOUNT_ID}", "a 12-digit AWS account id or '' (this account)")
        if self.region is not None:
            check_pattern(f"stage {self.name!r} region", self.region, f"|{REGION}", "an AWS region name such as 'eu-west-1' or '' (this region)")

    def __str__(self) -> str:
        """``staging (tested)``, ``prod (after approval)``: the stage in a sentence."""
        marks = [mark for mark, on in (("after approval", self.approval), ("tested", self.test)) if on]
        return self.name + (f" ({', '.join(marks)})" if marks else "")

    @property
    def title(self) -> str:
        """``staging`` -> ``Staging``, ``pre-prod`` -> ``PreProd``: used in action and construct ids."""
        return "".join(part.capitalize() for part in self.name.split("-"))


#: Today's flow: deploy and test staging, a person approves, deploy prod. A failed staging
#: stack is replaced by the next deployment; a failed prod stack waits for a person (delete it
#: if its first deployment failed, see the deploy seed's README). Prod, the last stage, records
#: a change event on each deployment (``change_record`` left to its default).
DEFAULT_STAGES: tuple[DeployStage, ...] = (
    DeployStage(name="staging", test=True),
    DeployStage(name="prod", approval=True, replace_on_failure=False),
)


def check_stages(stages: Sequence[DeployStage]) -> tuple[DeployStage, ...]:
    """At least one stage, each a ``DeployStage``, names distinct."""
    expected = "one or more DeployStage with distinct names (and distinct titles: 'a-b' and 'a--b' are both 'AB')"
    if isinstance(stages, DeployStage) or not isinstance(stages, (list, tuple)):
        raise invalid("stages", stages, "a tuple of " + expected)
    stages = tuple(stages)
    if not stages or not all(isinstance(stage, DeployStage) for stage in stages):
        raise invalid("stages", list(stages), expected)
    names = [stage.name for stage in stages]
    if len(set(names)) != len(names) or len({stage.title for stage in stages}) != len(names):
        raise invalid("stages", names, expected)
    return stages


def records_change(stage: DeployStage, stages: Sequence[DeployStage]) -> bool:
    """Whether ``stage`` puts a change record after its deployment: its ``change_record``, or
    when that is None, whether it is the last of ``stages``."""
    return stage.change_record if stage.change_record is not None else stage.name == stages[-1].name
