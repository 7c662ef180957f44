"""What every per-stage template (endpoint, asynchronous, batch, monitor) shares: a stack with
no bootstrap reference, its CloudFormation parameter declarations, the project and stage
parameters, and synthesizing the stack alone into the checked-in file's text."""

from __future__ import annotations

import json
from typing import Any, ClassVar, Mapping, Optional, TypedDict

from aws_cdk import App, BootstraplessSynthesizer, CfnParameter, IStackSynthesizer, Stack
from constructs import Construct
from typing_extensions import Unpack

from ..constructs.deploy.stages import STAGE_NAME_PATTERN
from ..constructs.project.identity import ProjectIdentity

#: A SageMaker instance type (``ml.<family>.<size>``).
INSTANCE_TYPE_PATTERN = r"ml\.[a-z0-9-]+\.[a-z0-9]+"


class StageStackProps(TypedDict, total=False):
    """A stage stack's optional keyword arguments (see ``StageStack``)."""

    synthesizer: Optional[IStackSynthesizer]
    description: Optional[str]
    stack_name: Optional[str]


class StageStack(Stack):
    """A stage template's stack: no bootstrap version parameter or rule (it must not use
    assets), no analytics.

    :param synthesizer: Default: ``BootstraplessSynthesizer()``.
    :param description: Default: the class's ``DEFAULT_DESCRIPTION``, a sentence naming the template.
    :param stack_name: Default: the construct id.
    """

    DEFAULT_DESCRIPTION: ClassVar[str]

    def __init__(
        self,
        scope: Optional[Construct],
        construct_id: str,
        **props: Unpack[StageStackProps],
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            synthesizer=props.get("synthesizer") or BootstraplessSynthesizer(),
            description=props.get("description") or self.DEFAULT_DESCRIPTION,
            stack_name=props.get("stack_name"),
            analytics_reporting=False,
        )


class StageParameters:
    """Declares a stage stack's parameters with their constraints."""

    def __init__(self, stack: Stack) -> None:
        self._stack = stack

    def string(
        self,
        name: str,
        description: str,
        *,
        pattern: str,
        default: Optional[str] = None,
        constraint: Optional[str] = None,
        max_length: Optional[int] = None,
    ) -> str:
        return CfnParameter(
            self._stack,
            name,
            type="String",
            description=description,
            allowed_pattern=f"^{pattern}$",
            constraint_description=constraint or f"must match {pattern}",
            default=default,
            max_length=max_length,
        ).value_as_string

    def choice(self, name: str, description: str, values: list[str]) -> str:
        """One of ``values``, the first by default."""
        return CfnParameter(
            self._stack, name, type="String", description=description, allowed_values=values, default=values[0]
        ).value_as_string

    def flag(self, name: str, description: str, default: str) -> str:
        """``"true"`` or ``"false"``, ``default`` by default."""
        return self.choice(name, description, [default, "false" if default == "true" else "true"])

    def number(self, name: str, description: str, minimum: float, maximum: float, default: float) -> Any:
        return CfnParameter(
            self._stack,
            name,
            type="Number",
            description=f"{description} ({minimum} to {maximum})",
            min_value=minimum,
            max_value=maximum,
            default=default,
        ).value_as_number

    def project_and_stage(self, stage_description: str) -> tuple[ProjectIdentity, str]:
        """The project (``SageMakerProjectName``, ``SageMakerProjectId``) and ``StageName``."""
        project = ProjectIdentity(self._stack, "Project")
        # DeployStage's rule: the pattern alone allows more than 15 characters through hyphens.
        stage = self.string("StageName", stage_description, pattern=STAGE_NAME_PATTERN, max_length=15)
        return project, stage


def synth_alone(
    stack_class: type[Stack],
    construct_id: str,
    *,
    security_packs: bool = True,
    context: Optional[Mapping[str, Any]] = None,
) -> dict[str, Any]:
    """Synthesize ``stack_class`` alone (no path metadata, no version reporting, ``context``
    besides) and return its template."""
    app = App(context={"aws:cdk:enable-path-metadata": False, "aws:cdk:version-reporting": False, **(context or {})})
    stack = stack_class(app, construct_id)
    if security_packs:
        from ..compliance import add_security_packs

        add_security_packs(app)
    assembly = app.synth()
    return assembly.get_stack_artifact(stack.artifact_id).template


def render_stage_template(template: dict[str, Any]) -> str:
    """A checked-in stage file's exact text."""
    return json.dumps(template, indent=1, sort_keys=False) + "\n"


def render_compact_stage_template(template: dict[str, Any]) -> str:
    """A checked-in stage file's exact text, one JSON token a line and unindented: for a
    template whose indentation alone would take it past the 51,200 bytes CloudFormation takes
    inline (CodePipeline's CloudFormation action and ``aws cloudformation deploy`` without an
    S3 bucket pass the template inline)."""
    return json.dumps(template, indent=0, sort_keys=False) + "\n"
