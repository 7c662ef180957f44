"""A SageMaker project template, declared once.

A template is a :class:`Template`: its id, title and description, a frozen keyword-only
settings dataclass (a subclass of :class:`TemplateSettings` whose fields are declared with
:func:`setting`: default, documentation, validation and the CloudFormation parameter it
becomes when not given) and one function that composes it into any stack.

From that one declaration:

- its stack class (a :class:`TemplateStack` subclass naming ``TEMPLATE``) takes the settings
  as keyword arguments, beside any ``aws_cdk.Stack`` property, without listing them again:
  ``ModelBuildStack(app, "Churn", training_instance_type="ml.m5.2xlarge", env=...)``;
- Studio publishing (``sagemaker_projects_cdk.studio``) builds the same content into a
  Service Catalog product stack, with settings typed by the same dataclass;
- the user guide's settings table (docs/guide/templates.md) is rendered from the dataclass
  (:func:`settings_table`).

Construct ids are relative to the stack the content is built into, so the logical ids are
the same in every case.
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Generic, Optional, TypeVar, Union

from aws_cdk import Stack
from constructs import Construct

from .._internal.validation import invalid

#: What a setting's check is called with: the setting's name and its (resolved or token) value.
Check = Callable[[str, Any], Any]

_DOC, _PARAMETER, _CHECK = "sagemaker_projects_cdk.doc", "sagemaker_projects_cdk.parameter", "sagemaker_projects_cdk.check"


def setting(
    default: Any = dataclasses.MISSING,
    *,
    doc: str,
    parameter: Union[str, tuple[str, ...], None] = None,
    check: Optional[Check] = None,
) -> Any:
    """Declare one setting of a :class:`TemplateSettings` dataclass.

    :param default: the value when the setting is not given (``None`` for a setting that
        becomes ``parameter`` when not given).
    :param doc: what the setting is and its default as behaviour, for docstrings and the
        settings table in docs/guide/templates.md (e.g. "the branch every repository follows.
        Default: ``main``").
    :param parameter: the CloudFormation parameter (or parameters, for a grouped setting) the
        template declares when the setting is not given (its value is then chosen at
        deployment, e.g. by Studio).
    :param check: called with the setting's name and value when it is given; raises a
        ``ValueError`` naming the setting, the value and what is expected.
    """
    parameters = (parameter,) if isinstance(parameter, str) else parameter
    metadata = {_DOC: doc, _PARAMETER: parameters, _CHECK: check}
    return dataclasses.field(default=default, metadata=metadata)


@dataclass(frozen=True, kw_only=True)
class TemplateSettings:
    """The settings of a template: a frozen keyword-only dataclass that checks itself.

    Every given value is checked by its setting's ``check`` when the object is created;
    values that are CloudFormation tokens are left to CloudFormation.
    """

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            check = field.metadata.get(_CHECK)
            value = getattr(self, field.name)
            if isinstance(value, list):  # frozen means immutable: a list becomes a tuple
                value = tuple(value)
                object.__setattr__(self, field.name, value)
            if value is None and field.default is not None:
                raise invalid(field.name, value, f"a value (leave it out for the default {field.default!r})")
            if check is not None and value is not None:
                check(field.name, value)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The settings' names, in declaration order."""
        return tuple(field.name for field in dataclasses.fields(cls))

    @classmethod
    def parameters(cls) -> dict[str, tuple[str, ...]]:
        """Setting name -> the CloudFormation parameters it becomes when not given (one, or
        several for a grouped setting)."""
        return {f.name: f.metadata[_PARAMETER] for f in dataclasses.fields(cls) if f.metadata.get(_PARAMETER)}

    @classmethod
    def doc(cls, name: str) -> str:
        """A setting's documentation."""
        return next(f.metadata.get(_DOC, "") for f in dataclasses.fields(cls) if f.name == name)

    @classmethod
    def of(cls, values: Any, *, owner: str) -> Any:
        """``values`` as this class: an instance of it, or a mapping of setting names (an
        unknown name is refused, naming ``owner`` and the settings it has)."""
        if type(values) is cls:
            return values
        # Another template's settings, even a richer one, would build what it was not meant for.
        if isinstance(values, TemplateSettings):
            raise invalid(f"{owner} settings", type(values).__name__, cls.__name__)
        values = dict(values or {})
        known = cls.names()
        for name in values:
            if name not in known:
                raise invalid(f"{owner} setting", name, "one of " + ", ".join(known) + " (or an aws_cdk.Stack property)")
        return cls(**values)


SettingsT = TypeVar("SettingsT", bound=TemplateSettings)
PartsT = TypeVar("PartsT")


@dataclass(frozen=True)
class Template(Generic[SettingsT, PartsT]):
    """A template's declaration.

    :param template_id: its key in ``TEMPLATES`` (``model-build``...).
    :param title: the product name Studio shows (SageMaker's own template titles).
    :param description: the CloudFormation template's description.
    :param summary: what it creates, in a sentence (the templates table in docs/guide/templates.md).
    :param settings: its settings dataclass.
    :param compose: builds it into a stack with given settings; returns its parts.
    """

    template_id: str
    title: str
    description: str
    summary: str
    settings: type[SettingsT]
    compose: Callable[[Stack, SettingsT], PartsT]

    def build(self, stack: Stack, settings: Any = None, *, owner: Optional[str] = None) -> PartsT:
        """Compose the template into ``stack`` with ``settings`` (a settings object or a
        mapping of setting names; default: every default)."""
        return self.compose(stack, self.settings.of(settings, owner=owner or self.template_id))


#: The keyword arguments of ``aws_cdk.Stack`` (``env``, ``description``, ``synthesizer``...).
STACK_PROPERTIES = frozenset(
    name for name, p in inspect.signature(Stack.__init__).parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY
)


class TemplateStack(Stack):
    """A SageMaker project template as a stack of its own (``cdk deploy``).

    A subclass names its declaration in ``TEMPLATE``; its constructor takes the template's
    settings as keyword arguments (or a settings object as ``settings``) beside any
    ``aws_cdk.Stack`` property. What it built is ``parts``; each part is also an attribute
    (``stack.model_package_group``, ``stack.model_build``...).
    """

    #: The template's declaration.
    TEMPLATE: ClassVar[Template[Any, Any]]
    #: The product name Studio shows (``TEMPLATE.title``).
    TITLE: ClassVar[str]
    #: The template's CloudFormation description (``TEMPLATE.description``).
    DESCRIPTION: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        template = cls.__dict__.get("TEMPLATE")
        if template is None:
            return
        clash = STACK_PROPERTIES.intersection(template.settings.names())
        if clash:
            raise TypeError(f"{cls.__name__}: settings {sorted(clash)} clash with aws_cdk.Stack properties")
        cls.TITLE = template.title
        cls.DESCRIPTION = template.description
        cls.__signature__ = _signature(template.settings)  # for help() and IDEs

    def __init__(self, scope: Construct, construct_id: str, *, settings: Optional[TemplateSettings] = None, **kwargs: Any) -> None:
        owner = type(self).__name__
        stack_properties = {name: kwargs.pop(name) for name in list(kwargs) if name in STACK_PROPERTIES}
        if settings is not None and kwargs:
            raise invalid(f"{owner} settings", sorted(kwargs), "either a settings object or keyword settings, not both")
        # Checked before the stack exists: bad input leaves no half-built stack in the app.
        chosen = self.TEMPLATE.settings.of(settings if settings is not None else kwargs, owner=owner)
        stack_properties.setdefault("description", self.TEMPLATE.description)
        super().__init__(scope, construct_id, **stack_properties)
        #: The settings the template was built with.
        self.settings = chosen
        #: What the template's composition built.
        self.parts = self.TEMPLATE.compose(self, chosen)
        if dataclasses.is_dataclass(self.parts):
            for field in dataclasses.fields(self.parts):
                setattr(self, field.name, getattr(self.parts, field.name))

    @classmethod
    def compose(cls, stack: Stack, settings: Optional[TemplateSettings] = None, **keywords: Any) -> Any:
        """Build the template's content into ``stack`` (any stack, e.g. a Service Catalog
        product stack) with a settings object or keyword settings; return its parts."""
        if settings is not None and keywords:
            raise invalid(f"{cls.__name__} settings", sorted(keywords), "either a settings object or keyword settings, not both")
        return cls.TEMPLATE.build(stack, settings if settings is not None else keywords, owner=cls.__name__)


def _signature(settings: type[TemplateSettings]) -> inspect.Signature:
    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [
        inspect.Parameter("scope", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Construct),
        inspect.Parameter("construct_id", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=str),
        inspect.Parameter("settings", keyword, default=None, annotation=f"Optional[{settings.__name__}]"),
        *(inspect.Parameter(f.name, keyword, default=f.default, annotation=f.type) for f in dataclasses.fields(settings)),
        inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD, annotation="aws_cdk.Stack properties"),
    ]
    return inspect.Signature(parameters)


def settings_table(template: Template[Any, Any]) -> str:
    """The table of a template's settings in docs/guide/templates.md, rendered from its settings dataclass."""
    settings = template.settings
    parameters = settings.parameters()
    rows = ["| Setting | When not given | What it is |", "| --- | --- | --- |"]
    for field in dataclasses.fields(settings):
        if field.name in parameters:
            names = parameters[field.name]
            default = ("parameter " if len(names) == 1 else "parameters ") + ", ".join(f"`{n}`" for n in names)
        else:
            default = f"`{_default_text(field)}`"
        rows.append(f"| `{field.name}` | {default} | {field.metadata.get(_DOC, '')} |")
    return "\n".join(rows) + "\n"


def _default_text(field: dataclasses.Field[Any]) -> str:
    value = field.default
    if isinstance(value, tuple) and value:
        return ", ".join(str(item) for item in value)
    return repr(value)
