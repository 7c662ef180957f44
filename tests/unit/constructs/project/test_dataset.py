"""The data set copy reads its asset whatever key encrypts the CDK bootstrap bucket."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Stack
from aws_cdk.assertions import Template

from sagemaker_projects_cdk.constructs import ArtifactBucket
from sagemaker_projects_cdk.constructs.project.dataset import ProjectDataset
from support import new_app

DATA = Path(__file__).resolve().parents[4] / "sagemaker_projects_cdk" / "seed_code" / "model_build" / "data" / "abalone.csv"
ASSET_BUCKET = {"Fn::Sub": "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"}


def _arn(*parts):
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, *parts]]}


def test_the_copy_may_decrypt_an_asset_encrypted_with_a_bootstrap_customer_key():
    stack = Stack(new_app(), "Data")
    artifacts = ArtifactBucket(stack, "Artifacts")
    dataset = ProjectDataset(
        stack, "Dataset", bucket=artifacts.bucket, encryption_key=artifacts.encryption_key, source_file=DATA, prefix="datasets/abalone/"
    )
    (policy,) = [
        p for i, p in Template.from_stack(stack).find_resources("AWS::IAM::Policy").items() if i.startswith("DatasetRoleDefaultPolicy")
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (decrypt,) = [s for s in statements if s["Action"] == "kms:Decrypt"]
    object_key = dataset.asset.s3_object_key
    assert decrypt == {
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        # Keys of this account and Region: the bootstrap key is not known at synth...
        "Resource": _arn(":kms:", {"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"}, ":key/*"),
        # ...used by S3 only, for the asset object (its bucket's ARN with S3 Bucket Keys).
        "Condition": {
            "StringEquals": {
                "kms:ViaService": {"Fn::Join": ["", ["s3.", {"Ref": "AWS::Region"}, ".", {"Ref": "AWS::URLSuffix"}]]},
                "kms:EncryptionContext:aws:s3:arn": [
                    _arn(":s3:::", ASSET_BUCKET),
                    _arn(":s3:::", ASSET_BUCKET, f"/{object_key}"),
                ],
            }
        },
    }
