"""ArtifactBucket: bad input is refused at synth with a ValueError naming the setting, the value and the rule."""

from __future__ import annotations

import re

import pytest
from aws_cdk import Stack

from sagemaker_projects_cdk.constructs import ArtifactBucket
from support import REPO, new_app


def test_artifact_bucket_refuses_a_zero_day_expiration():
    with pytest.raises(ValueError, match=re.escape("invalid noncurrent_version_expiration_days 0: expected a number from 1 to 3650")):
        ArtifactBucket(Stack(new_app(), "S"), "B", noncurrent_version_expiration_days=0)


def test_artifact_bucket_refuses_a_zero_day_build_cache_expiration():
    with pytest.raises(ValueError, match=re.escape("invalid build_cache_expiration_days 0: expected a number from 1 to 3650")):
        ArtifactBucket(Stack(new_app(), "S"), "B", build_cache_expiration_days=0)


def test_old_build_cache_copies_expire_with_their_versions():
    """Each CodeBuild cache key leaves an ~850 MiB copy under codebuild-cache/ in a versioned
    bucket: the copies expire, and the versions their expiry leaves go a day later."""
    from aws_cdk.assertions import Template

    from sagemaker_projects_cdk._internal.codebuild import BUILD_CACHE_PREFIX

    stack = Stack(new_app(), "S")
    bucket = ArtifactBucket(stack, "B", build_cache_expiration_days=14)
    resources = Template.from_stack(stack).to_json()["Resources"]
    rules = resources[stack.resolve(bucket.bucket.node.default_child.logical_id)]["Properties"]["LifecycleConfiguration"]["Rules"]
    by_id = {rule["Id"]: rule for rule in rules}
    assert by_id["ExpireBuildCaches"] == {
        "Id": "ExpireBuildCaches",
        "Prefix": f"{BUILD_CACHE_PREFIX}/",
        "ExpirationInDays": 14,
        "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
        "Status": "Enabled",
    }
    # The bucket-wide rule stays as it was.
    assert by_id["ExpireOldVersions"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 90}
    assert "Prefix" not in by_id["ExpireOldVersions"]


def test_a_bucket_no_build_caches_into_has_no_build_cache_rule():
    """``build_cache_expiration_days=None`` (the stage stacks' and the Studio template bucket's
    storage: no CodeBuild project caches into them) leaves the bucket-wide rule alone."""
    import json

    from aws_cdk.assertions import Template

    stack = Stack(new_app(), "S")
    bucket = ArtifactBucket(stack, "B", build_cache_expiration_days=None)
    resources = Template.from_stack(stack).to_json()["Resources"]
    rules = resources[stack.resolve(bucket.bucket.node.default_child.logical_id)]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert [rule["Id"] for rule in rules] == ["ExpireOldVersions"]
    for name in ("endpoint-stage", "async-stage", "batch-stage"):
        text = (REPO / "sagemaker_projects_cdk" / "seed_code" / "model_deploy" / f"{name}.template.json").read_text()
        assert "ExpireBuildCaches" not in text and "ExpireOldVersions" in text, name
    assert json.loads(text)["Resources"]
