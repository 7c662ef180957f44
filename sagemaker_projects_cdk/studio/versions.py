"""Versions of a Service Catalog product built from a product stack: a new one for every changed template.

Service Catalog keeps a product's provisioning artifacts (versions) only as long as the
product lists them; a SageMaker project can be updated only to a version that still exists.
``ProductVersions`` makes the list from two sources:

- the *current* template, the product stack as synthesized now. Its version name is
  ``v<N>-<12 hex>``: the hex digits are the start of the template's SHA-256, so a template
  that changes gets a new name (a new version) and one that does not keeps its name;
- *recorded* versions, one file per version in a directory you commit
  (``<directory>/v<N>-<hex>.template.json``): every one stays published, from its file,
  uploaded under its content hash exactly as the product stack uploads its template, so a
  version keeps the URL it had while it was current (CloudFormation sees no change to it).

When the directory is given and ``record`` is on (the default), a synth that finds a
current template not yet recorded writes it there as the next ``v<N>``, as
``servicecatalog.ProductStackHistory`` does with its snapshots. Commit the directory after
deploying: the next deployment then still lists that version. Delete a file to withdraw a
version (projects on it can no longer be updated to it).

The list is computed (again) when the parent stack's template is written, after the product
stack's own template (aws-cdk-lib writes child stacks first), so the name comes from the
exact text Service Catalog receives.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import jsii
from aws_cdk import FileAssetPackaging, IAnyProducer, IResolveContext, Lazy, Stack, Stage
from aws_cdk import aws_servicecatalog as servicecatalog
from constructs import Construct

from .._internal.validation import invalid
from .synthesized import SynthesizedTemplateProduct

VERSION_FILE_PATTERN = re.compile(r"v([1-9][0-9]*)-([0-9a-f]{12})\.template\.json")
DIGEST_LENGTH = 12
#: The current version's name before the product stack is synthesized (never in a template).
PENDING = "pending-synthesis"


def template_digest(text: str) -> str:
    """The 12 hex digits that name a template's version."""
    return hashlib.sha256(text.encode()).hexdigest()[:DIGEST_LENGTH]


@dataclass(frozen=True)
class RecordedVersion:
    """A version recorded in the directory."""

    number: int
    digest: str
    path: Path

    @property
    def name(self) -> str:
        return f"v{self.number}-{self.digest}"


def recorded_versions(directory: Optional[Path]) -> list[RecordedVersion]:
    """The versions recorded in ``directory``, oldest first; none if it does not exist."""
    if directory is None or not directory.exists():
        return []
    if not directory.is_dir():
        raise invalid("versions directory", str(directory), "a folder")
    versions = []
    for path in sorted(directory.iterdir()):
        if path.name.startswith("."):
            continue
        match = VERSION_FILE_PATTERN.fullmatch(path.name)
        if match is None:
            raise invalid("version file", str(path), "a file named v<N>-<12 hex digits>.template.json")
        if template_digest(path.read_text(encoding="utf-8")) != match.group(2):
            raise invalid("version file", str(path), f"content whose SHA-256 starts with {match.group(2)} (its name)")
        versions.append(RecordedVersion(int(match.group(1)), match.group(2), path))
    versions.sort(key=lambda v: v.number)
    numbers = [v.number for v in versions]
    if len(set(numbers)) != len(numbers):
        raise invalid("versions directory", str(directory), "one file per version number")
    return versions


class ProductVersions(Construct):
    """Sets ``product``'s versions: the recorded ones in ``directory`` and the current ``product_stack``.

    :param product: the product whose versions this sets (built with the current version).
    :param product_stack: the product stack the current version is synthesized from, or the
        ``SynthesizedTemplateProduct`` that writes it from its template stack.
    :param directory: the folder of recorded versions of this product. Default: none
        recorded (only the current version is published, so a changed template replaces
        the previous version).
    :param record: write a current template that is not yet recorded into ``directory``
        at synth. Default: True.
    :param description: the description of the current version. Default: none.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        product: servicecatalog.CloudFormationProduct,
        product_stack: servicecatalog.ProductStack | SynthesizedTemplateProduct,
        directory: Optional[Path | str] = None,
        record: bool = True,
        description: Optional[str] = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._product_stack = product_stack
        self._directory = Path(directory) if directory is not None else None
        self._record = record and self._directory is not None
        self._description = description
        #: The versions recorded when the app was built, oldest first.
        self.recorded: list[RecordedVersion] = recorded_versions(self._directory)
        # Each recorded file is uploaded as the product stack uploads its template (the content's
        # SHA-256 is the key), so a version keeps the exact URL it had when it was current.
        synthesizer = Stack.of(self).synthesizer
        self._urls = {
            version.name: synthesizer.add_file_asset(
                file_name=str(version.path.resolve()),
                packaging=FileAssetPackaging.FILE,
                source_hash=hashlib.sha256(version.path.read_bytes()).hexdigest(),
                display_name=f"{product_stack.node.path} {version.name}",
            ).http_url
            for version in self.recorded
        }
        self._current_url = (
            product_stack.template_url
            if isinstance(product_stack, SynthesizedTemplateProduct)
            else servicecatalog.CloudFormationTemplate.from_product_stack(product_stack).bind(self).http_url
        )
        product.node.default_child.add_property_override(  # type: ignore[union-attr]  # the product's CfnCloudFormationProduct
            "ProvisioningArtifactParameters", Lazy.uncached_any(_Producer(self))
        )

    def current_template_path(self) -> Path:
        """Where the product stack's template is written in the cloud assembly."""
        stage = Stage.of(self._product_stack)
        if stage is None:  # a product stack always sits in an app
            raise ValueError(f"invalid product stack {self._product_stack.node.path!r}: expected one inside a CDK app")
        return Path(stage.outdir) / self._product_stack.template_file

    def current_name(self) -> str:
        """The current version's name; ``PENDING`` until the product stack is synthesized."""
        return self._current(record=False)[0]

    def _current(self, *, record: bool, preparing: bool = False) -> tuple[str, Optional[RecordedVersion]]:
        if preparing:  # before synthesis: a file there is a previous synth's
            return PENDING, None
        if isinstance(self._product_stack, SynthesizedTemplateProduct) and self._product_stack.synthesize_template() is None:
            return PENDING, None  # written inside synthesis only, never from an earlier run's file
        path = self.current_template_path()
        if not path.exists():
            # aws-cdk-lib also resolves every property before synthesis (to find references);
            # the name is only known once the product stack's template is written.
            return PENDING, None
        text = path.read_text(encoding="utf-8")
        digest = template_digest(text)
        same = next((v for v in self.recorded if v.digest == digest), None)
        if same is not None:
            return same.name, same
        number = max((v.number for v in self.recorded), default=0) + 1
        name = f"v{number}-{digest}"
        if record and self._record:
            assert self._directory is not None
            self._directory.mkdir(parents=True, exist_ok=True)
            target = self._directory / f"{name}.template.json"
            if not target.exists():
                target.write_text(text, encoding="utf-8")
        return name, None

    def artifacts(self, *, preparing: bool = False) -> list[dict[str, Any]]:
        """``ProvisioningArtifactParameters``: every recorded version, then the current one
        (``preparing``: aws-cdk-lib's resolution before synthesis, which records nothing)."""
        current, same = self._current(record=not preparing, preparing=preparing)
        artifacts = [
            {
                "Name": version.name,
                "Description": "Earlier version, kept so that projects created from it can still be updated",
                "DisableTemplateValidation": False,
                "Info": {"LoadTemplateFromURL": self._urls[version.name]},
            }
            for version in self.recorded
            if version is not same
        ]
        # The current version: the same URL as its recorded file would have (same content).
        entry: dict[str, Any] = {
            "Name": current,
            "DisableTemplateValidation": False,
            "Info": {"LoadTemplateFromURL": self._current_url},
        }
        if self._description:
            entry["Description"] = self._description
        artifacts.append(entry)
        return artifacts


@jsii.implements(IAnyProducer)
class _Producer:
    def __init__(self, versions: ProductVersions) -> None:
        self._versions = versions

    def produce(self, context: IResolveContext) -> Any:
        return self._versions.artifacts(preparing=context.preparing)
