"""S3 templates for SageMaker Studio: template files in a bucket, tagged so that Studio lists them.

Studio's S3 project templates are CloudFormation files under the prefix a domain names in
its ``sagemaker:projectS3TemplatesLocation`` tag, each tagged
``sagemaker:studio-visibility=true``. ``S3Templates`` copies templates that the deployment
already uploads (a product stack's template, in the CDK asset bucket) to
``<prefix><name>.json`` in one ``s3:CopyObject`` call per file that also sets the tag (
``BucketDeployment`` cannot tag objects). The copy runs again whenever a template changes,
because its source key is the template's content hash; removing a template deletes its
object (the bucket keeps the previous object version).
"""

from __future__ import annotations

from typing import Mapping

from aws_cdk import Aws, Fn, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import custom_resources as cr
from constructs import Construct

from .._internal.logs import encrypted_log_group
from .._internal.validation import check_pattern
from ..compliance import acknowledge_cdk_function, acknowledge_wildcards
from .bucket import TemplateBucket

#: The object tag that makes a template visible in Studio.
STUDIO_VISIBILITY_TAG = "sagemaker:studio-visibility"
TEMPLATE_NAME_PATTERN = r"[a-z0-9](-?[a-z0-9])*"
#: The CDK asset buckets of this account and region (any bootstrap qualifier).
_CDK_ASSET_BUCKETS = f"cdk-*-assets-{Aws.ACCOUNT_ID}-{Aws.REGION}"
#: The construct id of aws-cdk-lib's singleton AwsCustomResource function in a stack.
_AWS_CUSTOM_RESOURCE_ID = "AWS679f53fac002430cb0da5b7982bd2287"


class S3Templates(Construct):
    """Copies templates that the deployment uploads into ``bucket`` as Studio S3 templates.

    :param bucket: the template bucket (its prefix, key and Studio CORS rule).
    :param templates: object name (``model-build``) -> the template's ``https://`` URL in the
        CDK asset bucket, as ``CloudFormationTemplate.from_product_stack(...).bind(...)`` gives it.

    Attributes: ``object_keys`` (name -> key) and ``role`` (the copy function's role).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: TemplateBucket,
        templates: Mapping[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        for name in templates:
            check_pattern("template name", name, TEMPLATE_NAME_PATTERN, "lower-case letters, digits and single hyphens")
        #: Object keys of the S3 templates, by name.
        self.object_keys = {name: bucket.template_key(name) for name in templates}

        sources = stack.format_arn(service="s3", region="", account="", resource=f"{_CDK_ASSET_BUCKETS}/*")
        destination = bucket.bucket.arn_for_objects(f"{bucket.templates_prefix}*")
        log_group = encrypted_log_group(self, encryption_key=bucket.encryption_key)
        #: The role of the function that copies and tags the templates.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Copies the SageMaker project templates to the S3 templates location and tags them",
        )
        policy = iam.ManagedPolicy(
            self,
            "Policy",
            description="Copy and tag the SageMaker project S3 templates",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(sid="ReadTemplates", actions=["s3:GetObject"], resources=[sources]),
                iam.PolicyStatement(
                    sid="WriteTemplates",
                    actions=["s3:PutObject", "s3:PutObjectTagging", "s3:DeleteObject"],
                    resources=[destination],
                ),
                iam.PolicyStatement(
                    sid="EncryptTemplates",
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[bucket.encryption_key.key_arn],
                ),
                iam.PolicyStatement(
                    sid="WriteLogs",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[log_group.log_group_arn],
                ),
            ],
        )
        acknowledge_wildcards(
            policy,
            "the templates are read from the CDK asset bucket under keys named after their content "
            "hash, and written under the S3 templates prefix only",
            sources,
            destination,
        )
        for name, url in templates.items():
            parts = Fn.split("/", url)
            key = self.object_keys[name]
            copy = cr.AwsSdkCall(
                service="S3",
                action="copyObject",
                parameters={
                    "Bucket": bucket.bucket_name,
                    "Key": key,
                    "CopySource": Fn.join("/", [Fn.select(3, parts), Fn.select(4, parts)]),
                    "ContentType": "application/json",
                    "MetadataDirective": "REPLACE",
                    "Tagging": f"{STUDIO_VISIBILITY_TAG}=true",
                    "TaggingDirective": "REPLACE",
                    "ServerSideEncryption": "aws:kms",
                    "SSEKMSKeyId": bucket.encryption_key.key_arn,
                },
                physical_resource_id=cr.PhysicalResourceId.of(key),
            )
            resource = cr.AwsCustomResource(
                self,
                f"Template{''.join(p.capitalize() for p in name.split('-'))}",
                on_create=copy,
                on_update=copy,
                on_delete=cr.AwsSdkCall(
                    service="S3", action="deleteObject", parameters={"Bucket": bucket.bucket_name, "Key": key}
                ),
                role=self.role,
                log_group=log_group,
                install_latest_aws_sdk=False,
                resource_type="Custom::StudioS3Template",
            )
            resource.node.add_dependency(bucket.bucket)
            resource.node.add_dependency(policy)
        self._acknowledge_function()

    def _acknowledge_function(self) -> None:
        stack = Stack.of(self)
        function = next(child for child in stack.node.children if child.node.id.startswith(_AWS_CUSTOM_RESOURCE_ID))
        acknowledge_cdk_function(
            function, purpose="AwsCustomResource function runs once per template change to copy and tag a template"
        )
