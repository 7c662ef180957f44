"""ArtifactBucket: bad input is refused at synth with a ValueError naming the setting, the value and the rule."""

from __future__ import annotations

import re

import pytest
from aws_cdk import Stack

from sagemaker_projects_cdk.constructs import ArtifactBucket
from support import new_app


def test_artifact_bucket_refuses_a_zero_day_expiration():
    with pytest.raises(ValueError, match=re.escape("invalid noncurrent_version_expiration_days 0: expected a number from 1 to 3650")):
        ArtifactBucket(Stack(new_app(), "S"), "B", noncurrent_version_expiration_days=0)
