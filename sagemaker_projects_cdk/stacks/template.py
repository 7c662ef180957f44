"""The base of every stack in ``TEMPLATES``: a template whose content can be built into any stack.

A template is published three ways from one definition: as a stack of its own
(``cdk deploy``), as a Service Catalog product and as a standalone CloudFormation file
(see ``StudioTemplates``). The last two build the same content into a
``servicecatalog.ProductStack``, so each template class exposes its content as
:meth:`TemplateStack.compose`, which its own constructor calls too. Construct ids are
relative to the stack they are built into, so the logical ids are the same both ways.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, ClassVar, Mapping

from aws_cdk import Stack

from .._internal.validation import invalid


class TemplateStack(Stack):
    """A SageMaker project template as a stack; :meth:`compose` builds its content into any stack."""

    #: The product name an administrator publishes the template under in Studio.
    TITLE: ClassVar[str]
    #: The template's CloudFormation description.
    DESCRIPTION: ClassVar[str]

    @classmethod
    def compose(cls, stack: Stack, **settings: Any) -> Any:
        """Add the template's resources, parameters and outputs to ``stack``; return its parts."""
        raise NotImplementedError

    def _adopt(self, parts: Any) -> None:
        """Expose each part :meth:`compose` returned (a dataclass) as an attribute of this stack."""
        for field in dataclasses.fields(parts):
            setattr(self, field.name, getattr(parts, field.name))

    @classmethod
    def settings(cls) -> tuple[str, ...]:
        """The keyword arguments :meth:`compose` accepts (the template's settings)."""
        parameters = inspect.signature(cls.compose).parameters.values()
        return tuple(p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY)

    @classmethod
    def check_settings(cls, settings: Mapping[str, Any]) -> None:
        """Refuse a setting :meth:`compose` does not take, naming the ones it does."""
        known = cls.settings()
        for name in settings:
            if name not in known:
                raise invalid(f"{cls.__name__} setting", name, "one of " + ", ".join(known))
