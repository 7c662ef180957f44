"""Build the CDK app holding every template in ``TEMPLATES``, with the security packs on."""

from __future__ import annotations

from typing import Optional

from aws_cdk import App

from .compliance import add_security_packs
from .stacks import TEMPLATES


def stack_id(template_id: str) -> str:
    """``model-build`` -> ``ModelBuild``: the construct id (and default stack name) of a template."""
    return "".join(part.capitalize() for part in template_id.split("-"))


def build_app(app: Optional[App] = None, *, templates: Optional[list[str]] = None, security_packs: bool = True) -> App:
    """Add one stack per template (all of ``TEMPLATES`` by default) to ``app``."""
    app = app or App()
    for template_id in templates or list(TEMPLATES):
        if template_id not in TEMPLATES:
            raise ValueError(f"invalid template {template_id!r}: expected one of {', '.join(TEMPLATES)}")
        TEMPLATES[template_id](app, stack_id(template_id))
    if security_packs:
        add_security_packs(app)
    return app
