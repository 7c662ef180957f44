"""Build the CDK app holding every template in ``TEMPLATES``, with the security packs on.

Besides one stack per template, the app holds ``StudioTemplates``: the same templates
published to SageMaker Studio (Service Catalog portfolio and S3 templates), and
``TargetAccount``: the baseline a staging or prod account deploys once per tooling account
(``TargetAccountStack``, stack name ``sagemaker-projects-target-account``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from aws_cdk import App

from .compliance import add_security_packs
from .stacks import TEMPLATES
from .stacks.target_account import TARGET_ACCOUNT_STACK_NAME, TargetAccountStack
from .studio import StudioTemplatesStack

#: The construct id (and default stack name) of the Studio publishing stack.
STUDIO_STACK_ID = "StudioTemplates"
#: The construct id of the target-account baseline (``cdk.out/TargetAccount.template.json``).
TARGET_ACCOUNT_STACK_ID = "TargetAccount"


def stack_id(template_id: str) -> str:
    """``model-build`` -> ``ModelBuild``: the construct id (and default stack name) of a template."""
    return "".join(part.capitalize() for part in template_id.split("-"))


@dataclass(frozen=True)
class StudioOptions:
    """How ``build_app`` publishes the templates to Studio (see ``StudioTemplatesStack``).

    :param principal_arns: Studio execution role ARNs. Default: the stack's
        ``StudioExecutionRoleArn`` parameter.
    :param launch_role_arn: an existing launch role. Default: a new least-privilege one.
    :param versions_directory: recorded product versions. Default: none (current only).
    :param allow_removal: template ids with recorded versions that may be unpublished.
    """

    principal_arns: Optional[Sequence[str]] = None
    launch_role_arn: Optional[str] = None
    versions_directory: Optional[Path] = None
    allow_removal: Sequence[str] = ()


def build_app(
    app: Optional[App] = None,
    *,
    templates: Optional[list[str]] = None,
    security_packs: bool = True,
    studio: Optional[StudioOptions] = StudioOptions(),
    target_account: bool = True,
) -> App:
    """Add one stack per template (all of ``TEMPLATES`` by default) to ``app``, the
    ``StudioTemplates`` stack publishing the same templates unless ``studio`` is None, and the
    target-account baseline (``TargetAccount``) unless ``target_account`` is False."""
    app = app or App()
    chosen = templates or list(TEMPLATES)
    stacks = {}
    for template_id in chosen:
        if template_id not in TEMPLATES:
            raise ValueError(f"invalid template {template_id!r}: expected one of {', '.join(TEMPLATES)}")
        stacks[template_id] = TEMPLATES[template_id](app, stack_id(template_id))
    if studio is not None:
        # Synth once: the products are these stacks' synthesized templates, not a second build.
        StudioTemplatesStack(
            app,
            STUDIO_STACK_ID,
            templates=chosen,
            principal_arns=studio.principal_arns,
            launch_role_arn=studio.launch_role_arn,
            versions_directory=studio.versions_directory,
            allow_removal=studio.allow_removal,
            template_stacks=stacks,
        )
    if target_account:
        TargetAccountStack(app, TARGET_ACCOUNT_STACK_ID, stack_name=TARGET_ACCOUNT_STACK_NAME)
    if security_packs:
        add_security_packs(app)
    return app
