#!/usr/bin/env python3
"""Build the API reference (HTML, by pdoc) from the package's docstrings: ``make docs``, or
``.venv/bin/python tests/api_reference.py [OUTDIR]`` (default: site/).

Every public module is documented: the package, ``app``, ``compliance``, ``constructs`` and
its subpackages, ``stacks`` and ``studio`` (a module or package whose name starts with ``_``
is private). ``seed_code`` is not: it is the code a project's repositories start with, a
program of its own (it imports the SageMaker Python SDK), not this library's API; nor is a
Lambda function's handler package (``*_function``), the code a construct ships as an asset.

A settings dataclass shows its defaults in its signature, and ends with the table of its
settings (the README's: default or CloudFormation parameter, and each setting's ``doc``).

Any warning while the reference is built fails the build, with exit status 1: an annotation
pdoc cannot resolve, a module that fails to import, or any other warning raised meanwhile (an
import-time ``DeprecationWarning`` of a dependency too: not a docstring problem, but one to
see). pdoc itself leaves a cross-reference it cannot resolve as plain text, without a warning,
so the build checks those that name this package (``:class:`~sagemaker_projects_cdk.x.Y```,
``:func:``, ``:meth:``..., and ````sagemaker_projects_cdk.x```` literals): each must import.
tests/test_docs.py runs this script, so a broken reference fails ``make test``.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import pkgutil
import re
import shutil
import sys
import types
import typing
import warnings
from importlib import import_module
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = "sagemaker_projects_cdk"
DEFAULT_OUTDIR = REPO / "site"
#: Not the library's API: the seed code stands alone (see the module docstring).
EXCLUDED = (f"{PACKAGE}.seed_code",)
#: A Lambda function's code (``jenkins/trigger_function``): an asset the construct ships, run by
#: Lambda, not called by the library's users.
_HANDLER = "_function"


def public_modules() -> list[str]:
    """Every module of the package that is public: no ``_`` name in its path, not excluded."""
    package = import_module(PACKAGE)
    names = [PACKAGE]
    for info in pkgutil.walk_packages(package.__path__, f"{PACKAGE}.", onerror=_raise):
        parts = info.name.split(".")
        if any(part.startswith("_") or part.endswith(_HANDLER) for part in parts) or info.name.startswith(EXCLUDED):
            continue
        names.append(info.name)
    return sorted(names)


def _raise(name: str) -> None:
    raise ImportError(f"cannot import {name}")


def _ours(obj: object) -> bool:
    module = getattr(obj, "__module__", None)
    return isinstance(module, str) and module.split(".")[0] == PACKAGE


def _own_members_only(pdoc_doc) -> None:
    """A class's members are those that this package defines: members inherited from
    aws-cdk-lib's ``Stack``, ``constructs.Construct`` or jsii are not listed again (the class's
    bases are named; their own references document them). pdoc would otherwise read the
    source of every base (aws-cdk-lib's is one 45,000-line module) for most of a build's
    time, and warn on their annotations, which name modules that only aws-cdk-lib's
    ``TYPE_CHECKING`` imports define."""
    every_base = pdoc_doc.Class._bases.func

    def own_bases(self) -> tuple[type, ...]:
        return tuple(cls for cls in every_base(self) if _ours(cls) or cls is object)

    bases = functools.cached_property(own_bases)
    bases.__set_name__(pdoc_doc.Class, "_bases")
    pdoc_doc.Class._bases = bases


def _resolve_dataclass_annotations(names: list[str]) -> None:
    """A dataclass's ``__init__`` annotations as types, not strings.

    With ``from __future__ import annotations`` a generated ``__init__`` keeps each field's
    annotation as a string, and pdoc evaluates them in the module of the class, not of the
    base class that declared the field (``Optional[ConnectionSource]`` of a settings base
    class is then "not defined"). ``typing.get_type_hints`` evaluates each field where it was
    declared; an annotation that does not resolve there fails the build."""
    seen: set[type] = set()
    for name in names:
        for obj in vars(import_module(name)).values():
            if not (isinstance(obj, type) and dataclasses.is_dataclass(obj)) or obj in seen:
                continue
            seen.add(obj)
            if not _ours(obj):
                continue
            hints = typing.get_type_hints(obj)
            init = obj.__init__
            init.__annotations__ = {key: hints.get(key, value) for key, value in init.__annotations__.items()}


def _settings_tables(modules: dict) -> None:
    """A settings dataclass's documentation ends with the table of its settings (the README's
    table: each setting's default, or the CloudFormation parameter it becomes when not given,
    and its ``doc``), inherited settings included; each field declared by the class itself
    gets its ``doc`` as its docstring."""
    if not any(name.split(".")[0] == PACKAGE for name in modules):
        return  # another module alone (the warning probe of tests/test_docs.py): no aws-cdk-lib import
    from sagemaker_projects_cdk.stacks.template import TemplateSettings, settings_table

    for module in modules.values():
        for member in module.flattened_own_members:
            cls = getattr(member, "obj", None)
            if member.kind != "class" or not (isinstance(cls, type) and issubclass(cls, TemplateSettings)):
                continue
            if dataclasses.fields(cls):
                table = settings_table(types.SimpleNamespace(settings=cls))  # reads .settings only
                # pdoc's docstrings are cached properties: set the value it would compute.
                member.docstring = f"{member.docstring}\n\nSettings:\n\n{table}"
            for field in dataclasses.fields(cls):
                variable = member.members.get(field.name)
                if variable is not None and not variable.docstring:
                    variable.docstring = cls.doc(field.name)


#: A cross-reference to this package: a Sphinx role's target or a double-backquoted dotted name.
_CROSS_REFERENCE = re.compile(rf"(?::[a-z]+:`~?|``)({PACKAGE}(?:\.\w+)*)`")


def _resolves(target: str) -> bool:
    """``target`` (``package.module.Class.member``) names something that exists."""
    parts = target.split(".")
    for length in range(len(parts), 0, -1):
        try:
            obj: object = import_module(".".join(parts[:length]))
        except ImportError:
            continue
        for attribute in parts[length:]:
            if not hasattr(obj, attribute):
                return False
            obj = getattr(obj, attribute)
        return True
    return False


def _broken_cross_references(modules: dict) -> list[str]:
    """Cross-references to this package, in every documented docstring, that do not resolve."""
    broken = []
    for module in modules.values():
        for doc in (module, *module.flattened_own_members):
            for target in _CROSS_REFERENCE.findall(doc.docstring or ""):
                if not _resolves(target):
                    broken.append(f"BrokenReference: {doc.fullname} names {target}, which does not exist")
    return sorted(set(broken))


def build(outdir: Path, modules: tuple[str, ...] = ()) -> list[str]:
    """Write the reference into ``outdir`` (emptied first); returns the warnings given.
    ``modules``: these instead of the package's public modules (tests/test_docs.py builds a
    broken one to see the build fail)."""
    # jsii starts Node.js when aws_cdk is imported: pdoc refuses subprocesses on import unless told.
    os.environ["PDOC_ALLOW_EXEC"] = "1"
    node = Path(sys.executable).parent / "node"
    if node.exists():
        os.environ.setdefault("JSII_NODE", str(node))
    import pdoc.doc
    import pdoc.render

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        names = list(modules) or public_modules()
        _own_members_only(pdoc.doc)
        _resolve_dataclass_annotations(names)
        pdoc.render.configure(
            docformat="restructuredtext",
            footer_text=f"{PACKAGE} {import_module(PACKAGE).__version__}",
            # The source is on the repository; rendering it here would triple the build time.
            show_source=False,
        )
        modules = {name: pdoc.doc.Module(import_module(name)) for name in names}
        _settings_tables(modules)
        if outdir.exists():
            shutil.rmtree(outdir)
        outdir.mkdir(parents=True)
        for module in modules.values():
            page = outdir / f"{module.fullname.replace('.', '/')}.html"
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(pdoc.render.html_module(module, modules))
        (outdir / "index.html").write_text(pdoc.render.html_index(modules) or "")
        search = pdoc.render.search_index(modules)
        if search:
            (outdir / "search.js").write_text(search)
    found = [f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in caught]
    return found + _broken_cross_references(modules)


def main(argv: list[str]) -> int:
    """``[OUTDIR [MODULE...]]``: the reference into OUTDIR (default site/); of MODULEs if given."""
    outdir = Path(argv[0]).resolve() if argv else DEFAULT_OUTDIR
    sys.path.insert(0, str(REPO))  # this checkout's package, not whichever one the venv installed
    sys.dont_write_bytecode = True
    problems = build(outdir, tuple(argv[1:]))
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    if problems:
        print(
            f"the API reference has {len(problems)} warning(s): fix the docstrings, annotations or cross-references named above"
            " (a dependency's warning at import: raise its pin, or filter that warning where the package imports it)",
            file=sys.stderr,
        )
        return 1
    print(f"wrote the API reference into {outdir} ({len(list(outdir.rglob('*.html')))} pages)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
