"""A template stack's synthesized template, published as a Service Catalog product template: synth once.

``TemplateProductStack`` builds a template a second time, into a ``servicecatalog.ProductStack``.
When the app already holds the template's stack (``build_app`` builds one per template, with
the template's default settings), ``SynthesizedTemplateProduct`` publishes that stack's
template instead: the same content, constructed, checked by the security packs and rendered
once. At synth, after the template stack's template is written (aws-cdk-lib synthesizes the
app's stacks in the order they were added, and the template stack comes first), it writes
``<unique id>.product.template.json`` from it with what a product stack does differently:

- the file assets (seed code, data set, function code) are read from the template bucket,
  where a ``BucketDeployment`` copies them from the CDK asset bucket at deployment, exactly as
  ``ProductStack`` does (same keys, the asset's content hash); the template bucket's name
  replaces the CDK asset bucket's wherever the template names it;
- no CDK bootstrap: the ``BootstrapVersion`` parameter and the ``CheckBootstrapVersion`` rule go.

Nothing else changes, so the product and the stack have the same logical ids. The file is
written as aws-cdk-lib writes a stack's template (JSON indented by one space; a
``ProductStack`` indents by two, which made the largest product template 41% of
CloudFormation's 1 MB instead of 30%), and uploaded as a file asset of the parent stack under
its SHA-256.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Optional

import jsii
from aws_cdk import Aspects, FileAssetPackaging, IAspect, IResolveContext, IStringProducer, Lazy, Names, Resource, Stack, Stage
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct, IConstruct

from .._internal.validation import invalid
from ..stacks.template import Template, TemplateStack

#: What the template stack's synthesizer adds for the CDK bootstrap, which a product does without.
BOOTSTRAP_PARAMETER = "BootstrapVersion"
BOOTSTRAP_RULE = "CheckBootstrapVersion"
#: The construct id of the copy that ``ProductStack`` adds to the asset bucket (the same one here).
DEPLOYMENT_ID = "ProductAssetsDeployment"
#: The current template's URL before synthesis (aws-cdk-lib resolves every property once before).
PENDING_URL = "https://s3.pending-synthesis/template.json"


class SynthesizedTemplateProduct(Construct):
    """Publishes ``stack``'s synthesized template as a product template (no second construction).

    :param stack: a template stack of the same app, added to it before this construct's stack.
    :param asset_bucket: where the template's file assets are copied to (by name), as for
        ``servicecatalog.ProductStack``.
    :param memory_limit: the copy function's memory (MiB). Default: 512 (the largest asset is
        aws-cdk-lib's 22 MB AWS CLI layer).

    Attributes: ``stack``, ``template`` (its declaration), ``template_file`` (the file name in
    the cloud assembly) and ``template_url`` (where the deployment uploads it).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stack: TemplateStack,
        asset_bucket: s3.IBucket,
        memory_limit: int = 512,
    ) -> None:
        super().__init__(scope, construct_id)
        parent = Stack.of(self)
        if Stage.of(stack) is not Stage.of(parent) or not _synthesized_before(stack, parent):
            raise invalid(
                "template stack",
                stack.node.path,
                f"a stack of the same app as {parent.node.path!r}, added to it before that stack (so it is synthesized first)",
            )
        #: The template stack whose template this publishes.
        self.stack = stack
        #: The template's declaration.
        self.template: Template[Any, Any] = stack.TEMPLATE
        #: The product template's file name in the cloud assembly (as a ``ProductStack`` names it).
        self.template_file = f"{Names.unique_id(self)}.product.template.json"
        self._asset_bucket = asset_bucket
        self._url: Optional[str] = None
        self._synthesizing = False
        self._stack_bucket: Any = None
        #: The asset hashes this copies into the template bucket, in the order the stack made them.
        self.asset_hashes: list[str] = []
        for asset in (c for c in stack.node.find_all() if isinstance(c, s3_assets.Asset)):
            self._copy_asset(asset, memory_limit)
        #: The product template's URL (an asset of this construct's stack), known at synth.
        self.template_url: str = Lazy.uncached_string(_UrlProducer(self))
        Aspects.of(self).add(_SynthesisStart(self))

    def _copy_asset(self, asset: s3_assets.Asset, memory_limit: int) -> None:
        """Publish ``asset`` with the parent stack too and copy it into the template bucket, as
        ``ProductStack``'s synthesizer does for each asset of a product stack."""
        # Imported here: the module loads aws-cdk-lib's 21 MB AWS CLI layer package.
        from aws_cdk import aws_s3_deployment as s3_deployment

        if self._stack_bucket is None:
            self._stack_bucket = self.stack.resolve(asset.s3_bucket_name)
        parent = Stack.of(self)
        location = parent.synthesizer.add_file_asset(
            file_name=asset.asset_path,
            packaging=FileAssetPackaging.FILE if asset.is_file else FileAssetPackaging.ZIP_DIRECTORY,
            source_hash=asset.asset_hash,
            deploy_time=True,
            display_name=f"{self.node.path} {asset.node.path}",
        )
        source_bucket = self.node.try_find_child("ParentAssetBucket") or s3.Bucket.from_bucket_name(
            self, "ParentAssetBucket", location.bucket_name
        )
        source = s3_deployment.Source.bucket(source_bucket, location.object_key)  # type: ignore[arg-type]  # an s3.IBucket
        deployment = self._asset_bucket.node.try_find_child(DEPLOYMENT_ID)
        if deployment is None:
            deployment = s3_deployment.BucketDeployment(
                self._asset_bucket,  # type: ignore[arg-type]  # an s3.IBucket is a construct
                DEPLOYMENT_ID,
                sources=[source],
                destination_bucket=self._asset_bucket,
                extract=False,
                prune=False,
                retain_on_delete=True,
                memory_limit=memory_limit,
                output_object_keys=False,
            )
        deployment.add_source(source)  # type: ignore[attr-defined]  # the BucketDeployment (ProductStack adds the first twice too)
        self.asset_hashes.append(asset.asset_hash)

    def _bucket_name(self) -> Any:
        """The template bucket's name as the product template writes it (what ``ProductStack`` writes)."""
        parent = Stack.of(self)
        if Resource.is_owned_resource(self._asset_bucket):
            return parent.resolve(self._asset_bucket.node.default_child.bucket_name)  # type: ignore[union-attr]  # a CfnBucket
        return parent.resolve(self._asset_bucket.bucket_name)

    def start_synthesis(self) -> None:
        """Called when the app's synthesis starts (aspects run first): from now on the template
        stack's template file is the one this synthesis writes. A file left there by an earlier
        synthesis (a stale ``cdk.out``) is removed, so it is never read as this run's."""
        if self._synthesizing:
            return
        self._synthesizing = True
        outdir = Path(Stage.of(self).outdir)  # type: ignore[union-attr]  # checked in __init__
        for name in (self.stack.template_file, self.template_file):
            (outdir / name).unlink(missing_ok=True)

    def synthesize_template(self) -> Optional[Path]:
        """Write the product template from the template stack's, once, inside synthesis after the
        template stack's template is written; ``None`` before then (nothing is read or written)."""
        outdir = Path(Stage.of(self).outdir)  # type: ignore[union-attr]  # checked in __init__
        target = outdir / self.template_file
        if self._url is not None:
            return target
        source = outdir / self.stack.template_file
        if not self._synthesizing or not source.exists():
            return None
        self._check_assets(outdir)
        template = json.loads(source.read_text(encoding="utf-8"))
        text = json.dumps(self._product(template), indent=1, ensure_ascii=False)
        target.write_text(text, encoding="utf-8")
        self._url = Stack.of(self).synthesizer.add_file_asset(
            file_name=self.template_file,
            packaging=FileAssetPackaging.FILE,
            source_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            display_name=f"{self.node.path} Template",
        ).http_url
        return target

    def _check_assets(self, outdir: Path) -> None:
        """Every file asset the stack's synthesizer published is one copied here (no image assets)."""
        manifest_path = outdir / f"{self.stack.artifact_id}.assets.json"
        manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {}
        published = {
            key for key, entry in manifest.get("files", {}).items() if entry["source"].get("path") != self.stack.template_file
        }
        if manifest.get("dockerImages") or published - set(self.asset_hashes):
            raise invalid(
                "template stack",
                self.stack.node.path,
                "file assets made by aws_s3_assets.Asset only (a product template can copy those), found "
                + ", ".join(sorted(published - set(self.asset_hashes)) or ["container image assets"]),
            )

    def _product(self, template: dict[str, Any]) -> dict[str, Any]:
        parameters = template.get("Parameters", {})
        parameters.pop(BOOTSTRAP_PARAMETER, None)
        if "Parameters" in template and not parameters:
            del template["Parameters"]
        rules = template.get("Rules", {})
        rules.pop(BOOTSTRAP_RULE, None)
        if "Rules" in template and not rules:
            del template["Rules"]
        if self._stack_bucket is None:
            return template
        replaced = _replace(template, self._stack_bucket, self._bucket_name())
        text = json.dumps(replaced)
        # The bucket as a whole value, and its name inside a longer string (an ARN, a pinned
        # account's bucket name, the ``cdk-<qualifier>-assets-`` prefix of an Fn::Sub).
        needles = [json.dumps(self._stack_bucket)] + [name.split("${")[0] for name in _names(self._stack_bucket)]
        if any(needle and needle in text for needle in needles):
            raise invalid("template stack", self.stack.node.path, "a template that names the CDK asset bucket only as its assets' bucket")
        return replaced

    def current_url(self, *, preparing: bool) -> str:
        """The product template's URL; writes the template on the first call at synth, after the
        template stack's; ``PENDING_URL`` before then."""
        if preparing or self.synthesize_template() is None:
            return PENDING_URL
        assert self._url is not None
        return self._url


@jsii.implements(IAspect)
class _SynthesisStart:
    """Tells the product that synthesis has started (aspects are invoked at the start of synth)."""

    def __init__(self, product: SynthesizedTemplateProduct) -> None:
        self._product = product

    def visit(self, node: IConstruct) -> None:
        if node is self._product:
            self._product.start_synthesis()


@jsii.implements(IStringProducer)
class _UrlProducer:
    def __init__(self, product: SynthesizedTemplateProduct) -> None:
        self._product = product

    def produce(self, context: IResolveContext) -> Optional[str]:
        return self._product.current_url(preparing=context.preparing)


def _names(value: Any) -> list[str]:
    """The literal strings of a resolved bucket name (not what ``Ref`` or ``Fn::GetAtt`` name),
    at least 8 characters long (a ``Fn::Join``'s delimiter and short parts are no evidence)."""
    if isinstance(value, str):
        return [value] if len(value.split("${")[0]) >= 8 else []
    if isinstance(value, dict):
        return [name for key, item in value.items() if key not in ("Ref", "Fn::GetAtt") for name in _names(item)]
    if isinstance(value, list):
        return [name for item in value for name in _names(item)]
    return []


def _replace(value: Any, old: Any, new: Any) -> Any:
    """``value`` (JSON) with every part equal to ``old`` replaced by ``new``; a ``Fn::Join`` that
    held ``old`` is made minimal again, as aws-cdk-lib renders joins (nested joins with the same
    delimiter spliced in, adjacent strings concatenated, a join of one value that value)."""
    if value == old:
        return new
    if isinstance(value, dict):
        if list(value) == ["Fn::Join"] and isinstance(value["Fn::Join"], list) and len(value["Fn::Join"]) == 2:
            delimiter, parts = value["Fn::Join"]
            if isinstance(parts, list) and old in parts:
                joined = _minimal_join(delimiter, [_replace(part, old, new) for part in parts])
                return joined[0] if len(joined) == 1 else {"Fn::Join": [delimiter, joined]}
        return {key: _replace(item, old, new) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace(item, old, new) for item in value]
    return value


def _minimal_join(delimiter: str, values: list[Any]) -> list[Any]:
    """aws-cdk-lib's ``minimalCloudFormationJoin``."""
    values = list(values)
    i = 0
    while i < len(values):
        value = values[i]
        if (
            isinstance(value, dict)
            and list(value) == ["Fn::Join"]
            and value["Fn::Join"][0] == delimiter
            and isinstance(value["Fn::Join"][1], list)
        ):
            values[i : i + 1] = value["Fn::Join"][1]
        elif i > 0 and _concatable(values[i - 1]) and _concatable(value):
            values[i - 1] = f"{values[i - 1]}{delimiter}{value}"
            del values[i]
        else:
            i += 1
    return values


def _concatable(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, (int, float)) and not isinstance(value, bool))


def _synthesized_before(first: IConstruct, second: IConstruct) -> bool:
    """Whether aws-cdk-lib synthesizes ``first`` before ``second`` (a post-order walk of the tree:
    children in the order they were added, a construct after its children)."""
    a = [scope.node.id for scope in first.node.scopes]
    b = [scope.node.id for scope in second.node.scopes]
    common = 0
    while common < min(len(a), len(b)) and a[common] == b[common]:
        common += 1
    if common == len(a):  # first is second or one of its ancestors: synthesized after it
        return False
    if common == len(b):  # first sits inside second
        return True
    parent = first.node.scopes[common - 1]
    siblings = [child.node.id for child in parent.node.children]
    return siblings.index(a[common]) < siblings.index(b[common])
