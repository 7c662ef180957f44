"""Publish templates of ``TEMPLATES`` to SageMaker Studio: a Service Catalog portfolio and S3 templates.

One definition, three ways to provision: a template class deploys as a stack of its own
(``cdk deploy``); ``StudioTemplates`` publishes the same content as a product version in a
portfolio that Studio lists, and copies the same template file to an S3 templates location.

::

    TEMPLATES["model-build"].compose(stack)          <- the one definition
      '-- ModelBuildStack(app, ...)                      cdk deploy, built and synthesized once
            '-- SynthesizedTemplateProduct               its template, minus the CDK bootstrap
                  |-- CloudFormationProduct  v1-..., v2-...     Service Catalog -> Studio "Organization templates"
                  '-- s3://<bucket>/templates/model-build.json  S3 templates    -> Studio (domain tag)

Synth once: given the app's template stacks (``template_stacks``, as ``build_app`` does), a
product is that stack's synthesized template (``SynthesizedTemplateProduct``). A template
without a stack in the app, or published with settings other than its stack's, is built
into a ``TemplateProductStack`` (a ``servicecatalog.ProductStack``) instead.

The product templates have no CDK bootstrap reference: their file assets (seed code, the
data set, function code) are copied at deployment into the portfolio's own bucket
(``TemplateBucket``), from which the launch role and the template's resources read them.
Supported: launching in the account and region of the portfolio.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from aws_cdk import Annotations, CfnOutput, CfnParameter, Stack, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_servicecatalog as servicecatalog
from constructs import Construct

from .._internal.patterns import ROLE_ARN
from .._internal.validation import check_length, invalid, is_unresolved
from ..compliance import acknowledge_cdk_function, acknowledge_cdk_grants, checkov_skip
from ..stacks import TEMPLATES
from ..stacks.template import Template, TemplateSettings, TemplateStack
from .bucket import TemplateBucket
from .launch_role import LaunchRole
from .s3_templates import STUDIO_VISIBILITY_TAG, S3Templates
from .synthesized import SynthesizedTemplateProduct
from .versions import ProductVersions, recorded_versions

#: An IAM role ARN: partition, 12-digit account, optional path, name (``_internal.patterns``).
ROLE_ARN_PATTERN = ROLE_ARN
#: aws-cdk-lib warns that it cannot add bucket permissions to a bucket a product stack refers to by name.
_ASSET_BUCKET_WARNING = "@aws-cdk/aws-servicecatalog:assetsManuallyAddBucketPermissions"


def _id_of(template_id: str) -> str:
    """``model-build`` -> ``ModelBuild``: the prefix of a template's construct ids."""
    return "".join(part.capitalize() for part in template_id.split("-"))


@dataclass(frozen=True)
class StudioTemplate:
    """One template published to Studio, with its settings.

    :param template_id: a key of ``TEMPLATES`` (``model-build``...).
    :param settings: the template's settings: an instance of its settings dataclass
        (``ModelBuildSettings(training_instance_type=...)``) or a mapping of setting names.
        Default: the template's defaults. The project name and id are always the parameters
        Studio passes, so they cannot be set.
    :param product_name: Default: the template's title.

    ``settings`` holds the template's settings dataclass after creation.
    """

    template_id: str
    settings: Any = field(default_factory=dict)
    product_name: Optional[str] = None

    def __post_init__(self) -> None:
        if self.template_id not in TEMPLATES:
            raise invalid("template id", self.template_id, "one of " + ", ".join(TEMPLATES))
        given = self.settings if isinstance(self.settings, TemplateSettings) else dict(self.settings or {})
        for name in ("project_name", "project_id"):
            if (getattr(given, name, None) if isinstance(given, TemplateSettings) else given.get(name)) is not None:
                raise invalid(
                    f"{self.template_id} setting", name, "a setting other than project_name and project_id (Studio passes them)"
                )
        object.__setattr__(self, "settings", self.template.settings.of(given, owner=self.stack_class.__name__))
        if self.product_name is not None:
            check_length("product_name", self.product_name, 1, 100)

    @property
    def stack_class(self) -> type[TemplateStack]:
        """The template's stack class in ``TEMPLATES``."""
        return TEMPLATES[self.template_id]

    @property
    def template(self) -> Template[Any, Any]:
        """The template's declaration."""
        return self.stack_class.TEMPLATE

    @property
    def title(self) -> str:
        return self.product_name or self.template.title


class TemplateProductStack(servicecatalog.ProductStack):
    """A template of ``TEMPLATES`` built into a Service Catalog product stack.

    :param template: the template's declaration (``ModelBuildStack.TEMPLATE``...).
    :param settings: its settings (the settings dataclass, or a mapping of setting names).
        Default: the template's defaults.
    :param asset_bucket: where the template's file assets are copied to (by name).
    :param description: Default: the template's description.

    ``parts`` holds what the template's composition returned. The project parameters are
    declared on this stack, as Studio passes them.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        template: Template[Any, Any],
        asset_bucket: s3.IBucket,
        settings: Any = None,
        description: Optional[str] = None,
    ) -> None:
        chosen = template.settings.of(settings, owner=template.template_id)
        super().__init__(
            scope,
            construct_id,
            asset_bucket=asset_bucket,
            # Copies the assets (the largest is aws-cdk-lib's 22 MB AWS CLI layer) into the bucket.
            memory_limit=512,
            description=description or template.description,
        )
        #: The template's declaration.
        self.template = template
        #: What the template's composition built.
        self.parts = template.compose(self, chosen)


class StudioTemplates(Construct):
    """Publishes templates to SageMaker Studio as Service Catalog products and S3 templates.

    :param principals: the Studio execution roles whose users may create projects from
        the templates (associated with the portfolio; they may also read the S3 templates).
    :param templates: the templates, as ids of ``TEMPLATES`` or ``StudioTemplate``.
        Default: every template.
    :param launch_role: the role Service Catalog launches the products with (for example
        ``AmazonSageMakerServiceCatalogProductsLaunchRole``). Default: a new ``LaunchRole``
        with the permissions of exactly the resources the templates hold.
    :param versions_directory: the folder of recorded product versions, one subfolder per
        template id (see ``ProductVersions``); commit it. Default: none (each product has
        its current version only, so a changed template replaces the previous version).
    :param record_versions: write a new current version into ``versions_directory`` at
        synth. Default: True.
    :param allow_removal: template ids with recorded versions that may be left out of
        ``templates``, which deletes their product and its versions. Default: none.
    :param portfolio_name: Default: ``SageMaker project templates``.
    :param provider_name: Default: ``sagemaker-projects-cdk``.
    :param bucket_name: the template bucket's name. Default: see ``TemplateBucket``.
    :param templates_prefix: the S3 templates' key prefix. Default: ``templates/``.
    :param template_stacks: template stacks of this app, by template id, added to it before
        this construct's stack (``build_app`` passes the ones it built). A template published
        with the same settings as its stack here is published from that stack's synthesized
        template (``SynthesizedTemplateProduct``: built, checked and rendered once); any other
        is built again into a ``TemplateProductStack``. Default: none.

    Attributes: ``portfolio``, ``products`` and ``product_stacks`` (by template id: a
    ``SynthesizedTemplateProduct`` or a ``TemplateProductStack``),
    ``versions`` (``ProductVersions`` by template id), ``launch_role``, ``bucket``
    (``TemplateBucket``) and ``s3_templates`` (``S3Templates``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        principals: Sequence[iam.IRole],
        templates: Sequence[str | StudioTemplate] = tuple(TEMPLATES),
        launch_role: Optional[iam.IRole] = None,
        versions_directory: Optional[Path | str] = None,
        record_versions: bool = True,
        allow_removal: Sequence[str] = (),
        portfolio_name: str = "SageMaker project templates",
        provider_name: str = "sagemaker-projects-cdk",
        bucket_name: Optional[str] = None,
        templates_prefix: str = "templates/",
        template_stacks: Optional[Mapping[str, TemplateStack]] = None,
    ) -> None:
        super().__init__(scope, construct_id)
        chosen = _studio_templates(templates)
        template_stacks = template_stacks or {}
        for template_id, given in template_stacks.items():
            if not isinstance(given, TEMPLATES.get(template_id, ())):
                raise invalid(f"template_stacks[{template_id!r}]", given.node.path, f"a {template_id} template stack")
        if not principals:
            raise invalid("principals", list(principals), "at least one Studio execution role")
        check_length("portfolio_name", portfolio_name, 1, 100)
        check_length("provider_name", provider_name, 1, 50)
        directory = Path(versions_directory) if versions_directory is not None else None
        _check_removals(directory, [t.template_id for t in chosen], allow_removal)
        stack = Stack.of(self)

        #: The bucket of the template assets and the S3 templates.
        self.bucket = TemplateBucket(self, "Bucket", bucket_name=bucket_name, templates_prefix=templates_prefix)
        #: The product template of each template id: its stack's, or a product stack.
        self.product_stacks: dict[str, SynthesizedTemplateProduct | TemplateProductStack] = {}
        for t in chosen:
            built = template_stacks.get(t.template_id)
            if built is not None and built.settings == t.settings:
                self.product_stacks[t.template_id] = SynthesizedTemplateProduct(
                    self, f"{_id_of(t.template_id)}Template", stack=built, asset_bucket=self.bucket.asset_bucket
                )
            else:
                self.product_stacks[t.template_id] = TemplateProductStack(
                    self,
                    f"{_id_of(t.template_id)}Template",
                    template=t.template,
                    settings=t.settings,
                    asset_bucket=self.bucket.asset_bucket,
                )
        Annotations.of(stack).acknowledge_warning(
            _ASSET_BUCKET_WARNING,
            "the product stacks refer to this app's own template bucket by name; its policies are set here",
        )
        self._acknowledge_asset_copy()

        #: The role Service Catalog launches the products with.
        self.launch_role: iam.IRole
        if launch_role is None:
            # What the products provision: the template stacks' constructs, or the product stacks'.
            contents = [p.stack if isinstance(p, SynthesizedTemplateProduct) else p for p in self.product_stacks.values()]
            created = LaunchRole(self, "LaunchRole", product_stacks=contents, asset_bucket=self.bucket.asset_bucket)
            self.launch_role = created.role
        else:
            self.launch_role = launch_role
            self.bucket.grant_read_assets(launch_role.role_arn)

        #: The portfolio Studio lists the products of.
        self.portfolio = servicecatalog.Portfolio(
            self,
            "Portfolio",
            display_name=portfolio_name,
            provider_name=provider_name,
            description="SageMaker project templates for SageMaker Studio (sagemaker-projects-cdk)",
        )
        for principal in principals:
            self.portfolio.give_access_to_role(principal)
        self.bucket.grant_read_templates([principal.role_arn for principal in principals])

        #: The products, by template id.
        self.products: dict[str, servicecatalog.CloudFormationProduct] = {}
        #: The versions of each product, by template id.
        self.versions: dict[str, ProductVersions] = {}
        urls: dict[str, str] = {}
        for t in chosen:
            product_stack = self.product_stacks[t.template_id]
            current = (
                servicecatalog.CloudFormationTemplate.from_url(product_stack.template_url)
                if isinstance(product_stack, SynthesizedTemplateProduct)
                else servicecatalog.CloudFormationTemplate.from_product_stack(product_stack)
            )
            product = servicecatalog.CloudFormationProduct(
                self,
                f"{_id_of(t.template_id)}Product",
                product_name=t.title,
                owner=provider_name,
                description=t.template.description,
                distributor=provider_name,
                # A placeholder name: ProductVersions sets the versions (recorded ones and this one).
                product_versions=[
                    servicecatalog.CloudFormationProductVersion(product_version_name="current", cloud_formation_template=current)
                ],
            )
            Tags.of(product).add(STUDIO_VISIBILITY_TAG, "true")
            self.versions[t.template_id] = ProductVersions(
                self,
                f"{_id_of(t.template_id)}Versions",
                product=product,
                product_stack=product_stack,
                directory=directory / t.template_id if directory is not None else None,
                record=record_versions,
                description=f"{t.template_id}, built by sagemaker-projects-cdk",
            )
            self.portfolio.add_product(product)
            self.portfolio.set_launch_role(product, self.launch_role)
            self.products[t.template_id] = product
            urls[t.template_id] = current.bind(self).http_url
        if directory is None:
            Annotations.of(self).add_warning_v2(
                "sagemaker-projects-cdk:noProductVersions",
                "no versions_directory: each product keeps only its current version, so a changed "
                "template removes the version that existing projects were created from",
            )
        #: The S3 templates.
        self.s3_templates = S3Templates(self, "S3Templates", bucket=self.bucket, templates=urls)

    def _acknowledge_asset_copy(self) -> None:
        """The deployment that ``ProductStack`` adds to copy the product assets into the bucket."""
        deployment = self.bucket.asset_bucket.node.try_find_child("ProductAssetsDeployment")
        # Imported here: the module loads aws-cdk-lib's 21 MB AWS CLI layer package (0.14 s),
        # which only a synth that publishes product assets needs.
        from aws_cdk import aws_s3_deployment as s3_deployment

        if not isinstance(deployment, s3_deployment.BucketDeployment):  # no template has a file asset
            return
        # The bucket is referred to by name: copy once it exists.
        deployment.node.add_dependency(self.bucket.bucket)
        role = deployment.handler_role
        handler = role.node.scope
        assert handler is not None  # the function that owns the role
        acknowledge_cdk_function(
            handler,
            purpose="bucket-deployment function runs once per deployment to copy the product templates' file assets",
            role=role,
        )
        checkov_skip(
            handler,
            "CKV_AWS_173",
            "aws-cdk-lib sets one environment variable, AWS_CA_BUNDLE, the path of the runtime's public "
            "CA bundle: nothing secret to encrypt with a customer key (Lambda encrypts it at rest anyway)",
        )
        # ProductStack refers to the CDK asset bucket it copies from as "ParentAssetBucket".
        cdk_asset_buckets = {
            bucket.arn_for_objects("*")  # type: ignore[attr-defined]  # ProductStack's s3.IBucket, found by id
            for product_stack in self.product_stacks.values()
            if (bucket := product_stack.node.try_find_child("ParentAssetBucket")) is not None
        }
        acknowledge_cdk_grants(
            role.node.find_child("DefaultPolicy"),
            reason="granted by aws-cdk-lib's ProductStack asset copy: read the product templates' "
            "file assets from the CDK asset bucket and write them into the template bucket with its key",
            resources=(self.bucket.asset_bucket.arn_for_objects("*"), *sorted(cdk_asset_buckets)),
        )
        # The function's log group (aws-cdk-lib creates it) is encrypted like every other one;
        # the key already lets CloudWatch Logs use it (the S3 templates' log group).
        log_group = handler.node.try_find_child("LogGroup")
        if log_group is not None:
            log_group.node.default_child.kms_key_id = self.bucket.encryption_key.key_arn  # type: ignore[union-attr]  # a LogGroup's CfnLogGroup


def _studio_templates(templates: Sequence[str | StudioTemplate]) -> list[StudioTemplate]:
    chosen = [t if isinstance(t, StudioTemplate) else StudioTemplate(template_id=t) for t in templates]
    if not chosen:
        raise invalid("templates", list(templates), "at least one template id of " + ", ".join(TEMPLATES))
    ids = [t.template_id for t in chosen]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise invalid("templates", ids, f"each template once (repeated: {', '.join(duplicates)})")
    return chosen


def _check_removals(directory: Optional[Path], published: list[str], allow_removal: Sequence[str]) -> None:
    """Refuse to drop a template whose versions were recorded, unless the user allows it."""
    for template_id in allow_removal:
        if template_id not in TEMPLATES:
            raise invalid("allow_removal template id", template_id, "one of " + ", ".join(TEMPLATES))
    if directory is None or not directory.is_dir():
        return
    for folder in sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if folder.name in published or folder.name in allow_removal:
            continue
        if recorded_versions(folder):
            raise invalid(
                "templates",
                published,
                f"{folder.name!r} too: it has versions recorded in {folder}, which projects may use; "
                f"leaving it out deletes its product (pass allow_removal=[{folder.name!r}] to do that)",
            )


class StudioTemplatesStack(Stack):
    """``StudioTemplates`` as a stack: what an administrator deploys once per account and region.

    :param templates: as for ``StudioTemplates``. Default: every template.
    :param principal_arns: ARNs of the Studio execution roles. Default: a
        ``StudioExecutionRoleArn`` parameter (one role; pass more here).
    :param launch_role_arn: ARN of an existing launch role. Default: a new ``LaunchRole``.
    :param versions_directory, record_versions, allow_removal, bucket_name, templates_prefix,
        template_stacks: as for ``StudioTemplates``.
    :param kwargs: any ``aws_cdk.Stack`` property.

    Outputs: ``PortfolioId``, ``ProjectS3TemplatesLocation`` (the value of the domain tag
    ``sagemaker:projectS3TemplatesLocation``), ``TemplateBucketName``, ``LaunchRoleArn`` and
    ``<Template>ProductId`` per template.
    """

    DESCRIPTION = "SageMaker project templates for SageMaker Studio: Service Catalog portfolio and S3 templates (sagemaker-projects-cdk)"

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        templates: Sequence[str | StudioTemplate] = tuple(TEMPLATES),
        principal_arns: Optional[Sequence[str]] = None,
        launch_role_arn: Optional[str] = None,
        versions_directory: Optional[Path | str] = None,
        record_versions: bool = True,
        allow_removal: Sequence[str] = (),
        bucket_name: Optional[str] = None,
        templates_prefix: str = "templates/",
        template_stacks: Optional[Mapping[str, TemplateStack]] = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("description", self.DESCRIPTION)
        super().__init__(scope, construct_id, **kwargs)
        if principal_arns is None:
            principal_arns = [
                CfnParameter(
                    self,
                    "StudioExecutionRoleArn",
                    type="String",
                    description="ARN of the SageMaker Studio execution role whose users may create projects from these templates",
                    allowed_pattern=f"^{ROLE_ARN_PATTERN}$",
                    constraint_description="must be an IAM role ARN",
                ).value_as_string
            ]
        principal_arns = list(principal_arns)
        if not principal_arns:
            raise invalid("principal_arns", principal_arns, "at least one Studio execution role ARN")
        for arn in principal_arns:
            check_role_arn("principal_arns", arn)
        principals = [
            iam.Role.from_role_arn(self, f"StudioRole{index}", arn, mutable=False) for index, arn in enumerate(principal_arns)
        ]
        launch_role = None
        if launch_role_arn is not None:
            check_role_arn("launch_role_arn", launch_role_arn)
            launch_role = iam.Role.from_role_arn(self, "ExistingLaunchRole", launch_role_arn, mutable=False)
        #: The published templates.
        self.studio = StudioTemplates(
            self,
            "Studio",
            principals=principals,
            templates=templates,
            launch_role=launch_role,
            versions_directory=versions_directory,
            record_versions=record_versions,
            allow_removal=allow_removal,
            bucket_name=bucket_name,
            templates_prefix=templates_prefix,
            template_stacks=template_stacks,
        )
        CfnOutput(self, "PortfolioId", value=self.studio.portfolio.portfolio_id, description="Service Catalog portfolio")
        CfnOutput(
            self,
            "ProjectS3TemplatesLocation",
            value=self.studio.bucket.templates_location,
            description="Value of the SageMaker domain tag sagemaker:projectS3TemplatesLocation",
        )
        CfnOutput(self, "TemplateBucketName", value=self.studio.bucket.bucket.bucket_name)
        CfnOutput(self, "LaunchRoleArn", value=self.studio.launch_role.role_arn)
        for template_id, product in self.studio.products.items():
            CfnOutput(self, f"{_id_of(template_id)}ProductId", value=product.product_id)


def check_role_arn(setting: str, value: str) -> str:
    """Refuse a resolved value that is not an IAM role ARN."""
    if is_unresolved(value):
        return value
    if not isinstance(value, str) or re.fullmatch(ROLE_ARN_PATTERN, value) is None:
        raise invalid(setting, value, "an IAM role ARN 'arn:aws:iam::<12-digit account>:role/<path/><name>'")
    return value
