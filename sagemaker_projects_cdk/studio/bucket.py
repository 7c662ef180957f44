"""The bucket a Studio template portfolio owns: the product templates' assets and the S3 templates.

Product templates refer to their file assets (seed code, the data set, function code) by
bucket name and key, in the account that launches them. So the bucket has a physical name
that CloudFormation can compute in that account without any reference to the stack that
created it: ``sagemaker-templates-<8 hex>-<account>-<region>`` (the hex digits come from
the construct path, so two portfolios in one account do not collide).

Default settings are ``ArtifactBucket``'s (KMS with a new rotating key, all public access
blocked, SSL only, versioned, access-logged, retained), plus:

- the key lets any principal of this account decrypt objects of this bucket through S3
  (``kms:ViaService`` and ``kms:CallerAccount`` conditions, the bucket's encryption context):
  the roles that read assets at launch are created by the product templates themselves, so
  their names cannot be in the key policy; reading still needs ``s3:GetObject`` on the bucket;
- a CORS rule that lets Studio (``https://*.sagemaker.aws``) read the S3 templates.
"""

from __future__ import annotations

import hashlib
from typing import Optional, Sequence

from aws_cdk import Aws, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .._internal.patterns import KEY_PREFIX_WITH_SLASH, TEMPLATE_BUCKET_NAME
from .._internal.validation import check_pattern
from ..compliance import checkov_skip
from ..constructs.project.storage import ArtifactBucket, project_key

#: The browser origin of SageMaker Studio, which reads S3 templates directly.
STUDIO_ORIGIN = "https://*.sagemaker.aws"
#: The bucket's name: no dots, as Studio reads it over HTTPS (``_internal.patterns``).
BUCKET_NAME_PATTERN = TEMPLATE_BUCKET_NAME
#: Where S3 templates go: a key prefix ending in ``/``.
PREFIX_PATTERN = KEY_PREFIX_WITH_SLASH


class TemplateBucket(Construct):
    """A bucket for product-template assets and S3 templates, readable at launch in this account.

    :param bucket_name: Default: ``sagemaker-templates-<8 hex of the construct path>-<account>-<region>``.
        A given name must be a literal or use only pseudo parameters (``Aws.ACCOUNT_ID``...):
        product templates repeat it.
    :param templates_prefix: where S3 templates go, ending with ``/``. Default: ``templates/``.

    Attributes: ``bucket`` (the bucket), ``encryption_key``, ``bucket_name`` (the name as a
    stack-independent string), ``asset_bucket`` (the bucket as product stacks refer to it)
    and ``templates_location`` (``s3://<bucket>/<prefix>``, the value of the Studio domain
    tag ``sagemaker:projectS3TemplatesLocation``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket_name: Optional[str] = None,
        templates_prefix: str = "templates/",
    ) -> None:
        super().__init__(scope, construct_id)
        check_pattern("templates_prefix", templates_prefix, PREFIX_PATTERN, "an S3 key prefix ending in '/'")
        if bucket_name is None:
            digest = hashlib.sha256(self.node.path.encode()).hexdigest()[:8]
            bucket_name = f"sagemaker-templates-{digest}-{Aws.ACCOUNT_ID}-{Aws.REGION}"
        else:
            check_pattern("bucket_name", bucket_name, BUCKET_NAME_PATTERN, "3 to 63 lower-case letters, digits and hyphens")
        stack = Stack.of(self)
        #: The bucket's name, computed in any stack (no reference to this one).
        self.bucket_name: str = bucket_name
        #: The bucket's ARN, computed the same way.
        self.bucket_arn: str = stack.format_arn(service="s3", region="", account="", resource=bucket_name)
        #: The key prefix of the S3 templates.
        self.templates_prefix = templates_prefix

        key = project_key(self, "Key", description="Encrypts the SageMaker project templates and their assets")
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DecryptTemplateAssetsThroughS3",
                principals=[iam.AnyPrincipal()],
                actions=["kms:Decrypt"],
                resources=["*"],
                conditions={
                    "StringEquals": {
                        "kms:CallerAccount": Aws.ACCOUNT_ID,
                        "kms:ViaService": f"s3.{Aws.REGION}.amazonaws.com",
                    },
                    "StringLike": {"kms:EncryptionContext:aws:s3:arn": [self.bucket_arn, f"{self.bucket_arn}/*"]},
                },
            )
        )
        checkov_skip(
            key,
            "CKV_AWS_33",
            "the one statement with any principal allows kms:Decrypt only to callers of this account "
            "(kms:CallerAccount), through S3 (kms:ViaService), on this bucket's objects (encryption "
            "context): the roles that read assets at launch are created by the product templates, "
            "so their names cannot be in the key policy; reading still needs s3:GetObject",
        )
        #: The key of the bucket.
        self.encryption_key: kms.IKey = key
        storage = ArtifactBucket(self, "Storage", encryption_key=key, build_cache_expiration_days=None)
        storage.bucket.node.default_child.bucket_name = bucket_name  # type: ignore[union-attr]  # an s3.Bucket's CfnBucket
        storage.bucket.add_cors_rule(
            allowed_methods=[s3.HttpMethods.GET, s3.HttpMethods.HEAD],
            allowed_origins=[STUDIO_ORIGIN],
            allowed_headers=["*"],
            exposed_headers=["ETag"],
            max_age=3000,
        )
        #: The bucket.
        self.bucket: s3.Bucket = storage.bucket
        #: The bucket as product stacks refer to it: by name, with its key, so that
        #: ``servicecatalog.ProductStack`` writes the name (not a reference) in their templates.
        self.asset_bucket: s3.IBucket = s3.Bucket.from_bucket_attributes(
            self, "ByName", bucket_name=bucket_name, encryption_key=key
        )
        #: ``s3://<bucket>/<prefix>``: the value of the domain tag ``sagemaker:projectS3TemplatesLocation``.
        self.templates_location = f"s3://{bucket_name}/{templates_prefix}"

    def template_key(self, name: str) -> str:
        """The object key of the S3 template ``name`` (``<prefix><name>.json``)."""
        return f"{self.templates_prefix}{name}.json"

    def grant_read_templates(self, principal_arns: Sequence[str]) -> None:
        """Let the roles ``principal_arns`` (Studio's execution roles) list and read the S3 templates.

        By bucket policy, so it works for roles this app does not own.
        """
        if not principal_arns:
            return
        principals = [iam.ArnPrincipal(arn) for arn in principal_arns]
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="StudioReadsTemplates",
                principals=principals,
                actions=["s3:GetObject", "s3:GetObjectTagging"],
                resources=[self.bucket.arn_for_objects(f"{self.templates_prefix}*")],
            )
        )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="StudioListsTemplates",
                principals=principals,
                actions=["s3:ListBucket"],
                resources=[self.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{self.templates_prefix}*"]}},
            )
        )

    def grant_read_assets(self, principal_arn: str) -> None:
        """Let the role ``principal_arn`` (a launch role this app does not own) read the assets."""
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="LaunchRoleReadsAssets",
                principals=[iam.ArnPrincipal(principal_arn)],
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[self.bucket.arn_for_objects("*")],
            )
        )
