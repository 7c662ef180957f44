"""A data set the stack copies into the project's own bucket, so pipelines never read a bucket the project does not own.

The file travels as a CDK file asset and is copied into place by one ``s3:CopyObject`` call
(an ``AwsCustomResource``), encrypted with the project key. No ``BucketDeployment``: that
would ship a 21 MB AWS CLI layer and its function with every project to copy one file.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import custom_resources as cr
from constructs import Construct

from ..._internal.logs import encrypted_log_group
from ..._internal.patterns import KEY_PREFIX_WITH_SLASH
from ..._internal.validation import check_pattern, invalid
from ...compliance import acknowledge, acknowledge_cdk_function, acknowledge_wildcards

#: The CloudFormation type of the copy (Service Catalog launch roles are built per type).
DATASET_RESOURCE_TYPE = "Custom::ProjectDataset"
#: The construct id of aws-cdk-lib's singleton AwsCustomResource function in a stack.
_AWS_CUSTOM_RESOURCE_ID = "AWS679f53fac002430cb0da5b7982bd2287"


class ProjectDataset(Construct):
    """Copies a local file to ``s3://<bucket>/<prefix><file name>`` at deployment.

    :param bucket: the destination (the project's artifact bucket).
    :param encryption_key: the bucket's KMS key: the copy is encrypted with it, and it
        encrypts the copy function's logs.
    :param source_file: the local file to upload.
    :param prefix: the key prefix, ending with ``/`` (e.g. ``datasets/abalone/``).

    A changed file is copied again (its asset hash changes); the object is kept when the
    stack is deleted (the bucket is retained too), and other objects under the prefix are
    never touched.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        encryption_key: kms.IKey,
        source_file: Path | str,
        prefix: str,
    ) -> None:
        super().__init__(scope, construct_id)
        check_pattern("prefix", prefix, KEY_PREFIX_WITH_SLASH, "an S3 key prefix ending in '/'")
        source_file = Path(source_file)
        if not source_file.is_file():
            raise invalid("source_file", str(source_file), "an existing file")
        #: The object key of the copy.
        self.object_key = prefix + source_file.name
        #: The S3 URL of the copy.
        self.s3_url = f"s3://{bucket.bucket_name}/{self.object_key}"
        #: The file, as a CDK file asset.
        self.asset = s3_assets.Asset(self, "File", path=str(source_file))

        log_group = encrypted_log_group(self, encryption_key=encryption_key)
        #: The role of the function that copies the file.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Copies a SageMaker project's data set into its artifact bucket",
        )
        # The one asset object, nothing else of the asset bucket.
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:GetObjectTagging"],
                resources=[self.asset.bucket.arn_for_objects(self.asset.s3_object_key)],
            )
        )
        if self.asset.bucket.encryption_key is not None:  # e.g. a Service Catalog template bucket
            self.asset.bucket.encryption_key.grant_decrypt(self.role)
        else:
            self._grant_decrypt_of_unknown_asset_key()
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:PutObject"], resources=[bucket.arn_for_objects(self.object_key)])
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["kms:GenerateDataKey"], resources=[encryption_key.key_arn])
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn]
            )
        )
        copy = cr.AwsSdkCall(
            service="S3",
            action="copyObject",
            parameters={
                "Bucket": bucket.bucket_name,
                "Key": self.object_key,
                "CopySource": f"{self.asset.s3_bucket_name}/{self.asset.s3_object_key}",
                "ServerSideEncryption": "aws:kms",
                "SSEKMSKeyId": encryption_key.key_arn,
            },
            physical_resource_id=cr.PhysicalResourceId.of(self.asset.asset_hash),
        )
        #: The copy (a custom resource; deleting it keeps the object).
        self.copy = cr.AwsCustomResource(
            self,
            "Copy",
            on_create=copy,
            on_update=copy,
            role=self.role,
            log_group=log_group,
            install_latest_aws_sdk=False,
            resource_type=DATASET_RESOURCE_TYPE,
        )
        self.copy.node.add_dependency(self.role)
        self._acknowledge_findings()

    def _grant_decrypt_of_unknown_asset_key(self) -> None:
        """The asset bucket's key is not known at synth (the CDK bootstrap bucket: SSE-S3, or a
        customer key of ``cdk bootstrap --bootstrap-customer-key``): decrypt with any key of
        this account and Region, but only through S3 and only for the asset object.

        S3 passes ``aws:s3:arn`` as the encryption context: the object's ARN, or the bucket's
        ARN when the bucket uses S3 Bucket Keys.
        """
        stack = Stack.of(self)
        keys = stack.format_arn(service="kms", resource="key", resource_name="*")
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[keys],
                conditions={
                    "StringEquals": {
                        "kms:ViaService": f"s3.{stack.region}.{stack.url_suffix}",
                        "kms:EncryptionContext:aws:s3:arn": [
                            self.asset.bucket.bucket_arn,
                            self.asset.bucket.arn_for_objects(self.asset.s3_object_key),
                        ],
                    }
                },
            )
        )
        acknowledge_wildcards(
            self.role.node.find_child("DefaultPolicy"),
            "the key of the CDK bootstrap bucket is not known at synth; kms:Decrypt is limited "
            "to calls through S3 for the one asset object (or its bucket, with S3 Bucket Keys), "
            "with keys of this account and Region",
            keys,
        )

    def _acknowledge_findings(self) -> None:
        function = Stack.of(self).node.find_child(_AWS_CUSTOM_RESOURCE_ID)
        acknowledge_cdk_function(
            function, purpose="AwsCustomResource function runs once per data set change to copy one file"
        )
        acknowledge(
            self.role.node.find_child("DefaultPolicy"),
            "the inline policy belongs to this one role and is deleted with it; it reads one "
            "asset object and writes one object of the project's bucket",
            "HIPAA.Security-IAMNoInlinePolicy",
            "NIST.800.53.R5-IAMNoInlinePolicy",
        )
