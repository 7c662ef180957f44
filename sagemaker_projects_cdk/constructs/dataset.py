"""A data set the stack copies into the project's own bucket, so pipelines never read a bucket the project does not own."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_s3_deployment as s3_deployment
from constructs import Construct

from ..compliance import acknowledge_cdk_function, acknowledge_cdk_grants
from ._validation import check_pattern, invalid
from .log_group import encrypted_log_group


class ProjectDataset(Construct):
    """Copies the files of a local folder to ``s3://<bucket>/<prefix>`` at deployment.

    :param bucket: the destination (the project's artifact bucket).
    :param encryption_key: the bucket's KMS key; it also encrypts the copy function's logs.
    :param source_directory: the local folder whose files are uploaded.
    :param prefix: the key prefix, ending with ``/`` (e.g. ``datasets/abalone/``).

    Files already under the prefix that are not in the folder are kept (no pruning), and the
    copy is kept when the stack is deleted (the bucket is retained too).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        encryption_key: kms.IKey,
        source_directory: Path | str,
        prefix: str,
    ) -> None:
        super().__init__(scope, construct_id)
        check_pattern("prefix", prefix, r"[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/", "an S3 key prefix ending in '/'")
        source_directory = Path(source_directory)
        if not source_directory.is_dir():
            raise invalid("source_directory", str(source_directory), "an existing folder")
        #: The S3 URL of the prefix.
        self.s3_url = f"s3://{bucket.bucket_name}/{prefix}"
        #: The folder, zipped as a file asset.
        self.asset = s3_assets.Asset(self, "Files", path=str(source_directory), exclude=["**/.*"])
        #: The deployment (a custom resource backed by aws-cdk-lib's bucket-deployment function).
        self.deployment = s3_deployment.BucketDeployment(
            self,
            "Upload",
            sources=[s3_deployment.Source.bucket(self.asset.bucket, self.asset.s3_object_key)],
            destination_bucket=bucket,
            destination_key_prefix=prefix,
            prune=False,
            retain_on_delete=True,
            memory_limit=512,
            log_group=encrypted_log_group(self, encryption_key=encryption_key),
        )
        self._acknowledge_handler(bucket)

    def _acknowledge_handler(self, bucket: s3.IBucket) -> None:
        stack = Stack.of(self)
        handler = next(
            child for child in stack.node.children if child.node.id.startswith("Custom::CDKBucketDeployment")
        )
        role = self.deployment.handler_role
        acknowledge_cdk_function(
            handler, purpose="bucket-deployment function runs once per deployment to copy a file asset", role=role
        )
        acknowledge_cdk_grants(
            role.node.find_child("DefaultPolicy"),
            reason="granted by aws-cdk-lib's BucketDeployment: read this deployment's file asset "
            "from the CDK asset bucket and write it into this project's bucket with its key",
            resources=(bucket.arn_for_objects("*"), self.asset.bucket.arn_for_objects("*")),
        )

