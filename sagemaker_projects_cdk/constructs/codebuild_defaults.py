"""Shared CodeBuild settings."""

from __future__ import annotations

from aws_cdk import aws_codebuild as codebuild

#: Linux compute types of on-demand CodeBuild projects, by their CloudFormation names.
COMPUTE_TYPES = {
    "BUILD_GENERAL1_SMALL": codebuild.ComputeType.SMALL,
    "BUILD_GENERAL1_MEDIUM": codebuild.ComputeType.MEDIUM,
    "BUILD_GENERAL1_LARGE": codebuild.ComputeType.LARGE,
    "BUILD_GENERAL1_XLARGE": codebuild.ComputeType.X_LARGE,
    "BUILD_GENERAL1_2XLARGE": codebuild.ComputeType.X2_LARGE,
}
