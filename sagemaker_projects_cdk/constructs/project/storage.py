"""The project's artifact bucket: KMS-encrypted, SSL-only, private, versioned, logged, retained.

Default settings (a user's override is merged over them, never silently dropped):

=============================  ==========================================================
Setting                        Default
=============================  ==========================================================
Encryption                     SSE-KMS with a new customer-managed key, rotation on,
                               S3 bucket keys on
Public access                  all blocked; object ownership: bucket owner enforced
Transport                      SSL only (``aws:SecureTransport``), TLS 1.2 at least
Versioning                     on; non-current versions expire after 90 days
Incomplete multipart uploads   aborted after 7 days
CodeBuild caches               ``codebuild-cache/`` objects expire 30 days after they
                               were written, their old versions a day later
Server access logs             a separate log bucket (SSE-S3, as S3 log delivery
                               requires), itself private, SSL-only and versioned
Removal                        RETAIN for key and both buckets
=============================  ==========================================================
"""

from __future__ import annotations

from typing import Optional

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..._internal.codebuild import BUILD_CACHE_PREFIX
from ..._internal.validation import check_range
from ...compliance import acknowledge, checkov_skip


def project_key(scope: Construct, construct_id: str, *, description: str) -> kms.Key:
    """A customer-managed KMS key with yearly rotation, retained when the stack is deleted."""
    return kms.Key(
        scope,
        construct_id,
        description=description,
        enable_key_rotation=True,
        removal_policy=RemovalPolicy.RETAIN,
    )


class ArtifactBucket(Construct):
    """An S3 bucket for a project's pipeline artifacts, models and data, secure by default.

    :param encryption_key: the KMS key for objects. Default: a new customer-managed key
        with rotation, retained on stack deletion.
    :param server_access_logs_bucket: where S3 writes access logs. Default: a new private,
        SSL-only, versioned log bucket, retained on stack deletion.
    :param noncurrent_version_expiration_days: days after which a non-current object version
        is deleted (1-3650). Default: 90.
    :param build_cache_expiration_days: days after which a CodeBuild cache copy (under
        ``codebuild-cache/``, about 850 MiB for the model build, a new copy whenever the lock
        or the buildspec changes) is deleted, 1-3650; its old versions go a day after. A copy
        still in use is saved again by the next build after it expires (one cold install);
        ``None``: no such rule (a bucket no build caches into). Default: 30.
    :param removal_policy: what happens to the bucket when the stack is deleted.
        Default: RETAIN.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: Optional[kms.IKey] = None,
        server_access_logs_bucket: Optional[s3.IBucket] = None,
        noncurrent_version_expiration_days: int = 90,
        build_cache_expiration_days: Optional[int] = 30,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        check_range("noncurrent_version_expiration_days", noncurrent_version_expiration_days, 1, 3650)
        if build_cache_expiration_days is not None:
            check_range("build_cache_expiration_days", build_cache_expiration_days, 1, 3650)

        #: The KMS key that encrypts the bucket's objects.
        self.encryption_key: kms.IKey = encryption_key or project_key(
            self, "Key", description="Encrypts a SageMaker project's artifacts, models and data"
        )
        if server_access_logs_bucket is None:
            server_access_logs_bucket = s3.Bucket(
                self,
                "AccessLogs",
                encryption=s3.BucketEncryption.S3_MANAGED,
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                # Object ownership is left to aws-cdk-lib: it grants log delivery by bucket
                # policy (BucketOwnerEnforced) or, without the feature flag, by ACL.
                enforce_ssl=True,
                minimum_tls_version=1.2,
                versioned=True,
                lifecycle_rules=[_expire_noncurrent(noncurrent_version_expiration_days)],
                removal_policy=removal_policy,
            )
            logs_itself = "this bucket receives S3 server access logs; logging it to itself would loop"
            acknowledge(
                server_access_logs_bucket,
                logs_itself,
                "AwsSolutions-S1",
                "HIPAA.Security-S3BucketLoggingEnabled",
                "NIST.800.53.R5-S3BucketLoggingEnabled",
            )
            checkov_skip(server_access_logs_bucket, "CKV_AWS_18", logs_itself)
            acknowledge(
                server_access_logs_bucket,
                "S3 server access log delivery supports SSE-S3 only on the target bucket",
                "HIPAA.Security-S3DefaultEncryptionKMS",
                "NIST.800.53.R5-S3DefaultEncryptionKMS",
            )
            _acknowledge_replication(server_access_logs_bucket)
        #: The bucket that receives the artifact bucket's server access logs.
        self.access_logs_bucket: s3.IBucket = server_access_logs_bucket

        #: The artifact bucket.
        self.bucket: s3.Bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.encryption_key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            server_access_logs_bucket=server_access_logs_bucket,
            server_access_logs_prefix="artifact-bucket/",
            lifecycle_rules=[
                _expire_noncurrent(noncurrent_version_expiration_days),
                *([] if build_cache_expiration_days is None else [_expire_build_caches(build_cache_expiration_days)]),
            ],
            removal_policy=removal_policy,
        )
        _acknowledge_replication(self.bucket)


def _expire_noncurrent(days: int) -> s3.LifecycleRule:
    return s3.LifecycleRule(
        id="ExpireOldVersions",
        noncurrent_version_expiration=Duration.days(days),
        abort_incomplete_multipart_upload_after=Duration.days(7),
    )


def _expire_build_caches(days: int) -> s3.LifecycleRule:
    # Each cache key leaves its own copy; superseded ones would otherwise stay forever.
    return s3.LifecycleRule(
        id="ExpireBuildCaches",
        prefix=f"{BUILD_CACHE_PREFIX}/",
        expiration=Duration.days(days),
        noncurrent_version_expiration=Duration.days(1),
    )


def _acknowledge_replication(bucket: s3.IBucket) -> None:
    acknowledge(
        bucket,
        "cross-region replication needs a second bucket in another region that the "
        "platform team owns; versioning and retention protect the data in this region",
        "HIPAA.Security-S3BucketReplicationEnabled",
        "NIST.800.53.R5-S3BucketReplicationEnabled",
    )
