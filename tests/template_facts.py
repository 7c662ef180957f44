"""What the tests know about each template in ``TEMPLATES``, in one place (imported as
``template_facts``).

A new template needs an entry in ``TEMPLATE_FACTS``: the gates in tests/test_gates.py fail
for any id in ``TEMPLATES`` without one. Facts are what a synthesized template cannot tell
about itself (which logical ids are promises to deployed projects); everything else the
gates derive from the synth, and tests/golden/<template id>.json records the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import pytest

#: The resource types that hold state: their logical ids are pinned in every template.
STATEFUL_TYPES = (
    "AWS::S3::Bucket",
    "AWS::KMS::Key",
    "AWS::CodeCommit::Repository",
    "AWS::SageMaker::ModelPackageGroup",
    "AWS::ECR::Repository",
)


@dataclass(frozen=True)
class TemplateFacts:
    #: Logical ids of every resource of each type in STATEFUL_TYPES (an empty set when the
    #: template has none). Renaming one replaces the resource in every deployed project, and
    #: the retained old one is orphaned.
    pinned_logical_ids: Mapping[str, frozenset[str]]
    #: The template copies the abalone data set into the project bucket at deployment
    #: (a Custom::ProjectDataset and the Lambda function behind it).
    copies_dataset: bool


_ARTIFACTS = {
    "AWS::S3::Bucket": frozenset({"ArtifactsBucket88671897", "ArtifactsAccessLogs4D97777C"}),
    "AWS::KMS::Key": frozenset({"ArtifactsKeyA4B22E2B"}),
}

TEMPLATE_FACTS: dict[str, TemplateFacts] = {
    "model-build": TemplateFacts(
        pinned_logical_ids={
            **_ARTIFACTS,
            "AWS::CodeCommit::Repository": frozenset({"ModelBuildRepositoryF9382855"}),
            "AWS::SageMaker::ModelPackageGroup": frozenset({"ModelPackageGroupF5073685"}),
            "AWS::ECR::Repository": frozenset(),
        },
        copies_dataset=True,
    ),
    "model-deploy": TemplateFacts(
        pinned_logical_ids={
            **_ARTIFACTS,
            "AWS::CodeCommit::Repository": frozenset({"ModelDeployRepository8A62656E"}),
            # It deploys the versions of another project's group (a parameter).
            "AWS::SageMaker::ModelPackageGroup": frozenset(),
            "AWS::ECR::Repository": frozenset(),
        },
        copies_dataset=False,
    ),
    "build-deploy": TemplateFacts(
        pinned_logical_ids={
            **_ARTIFACTS,
            "AWS::CodeCommit::Repository": frozenset({"ModelBuildRepositoryF9382855", "ModelDeployRepository8A62656E"}),
            "AWS::SageMaker::ModelPackageGroup": frozenset({"ModelPackageGroupF5073685"}),
            "AWS::ECR::Repository": frozenset(),
        },
        copies_dataset=True,
    ),
    # The code lives on the Git host: no CodeCommit repository; the associations are not stateful.
    "build-deploy-git": TemplateFacts(
        pinned_logical_ids={
            **_ARTIFACTS,
            "AWS::CodeCommit::Repository": frozenset(),
            "AWS::SageMaker::ModelPackageGroup": frozenset({"ModelPackageGroupF5073685"}),
            "AWS::ECR::Repository": frozenset(),
        },
        copies_dataset=True,
    ),
    # build-deploy-git's repositories and group, run by Jenkins: no CodeCommit repository.
    "build-deploy-jenkins": TemplateFacts(
        pinned_logical_ids={
            **_ARTIFACTS,
            "AWS::CodeCommit::Repository": frozenset(),
            "AWS::SageMaker::ModelPackageGroup": frozenset({"ModelPackageGroupF5073685"}),
            "AWS::ECR::Repository": frozenset(),
        },
        copies_dataset=True,
    ),
    # build-deploy's, and per image type its Dockerfile's repository and its ECR repository.
    "image-build-deploy": TemplateFacts(
        pinned_logical_ids={
            **_ARTIFACTS,
            "AWS::CodeCommit::Repository": frozenset(
                {
                    "ModelBuildRepositoryF9382855",
                    "ModelDeployRepository8A62656E",
                    "ProcessingImageCodeRepository971C1ECA",
                    "TrainingImageCodeRepository19D3C9B6",
                    "InferenceImageCodeRepositoryF266FB94",
                }
            ),
            "AWS::SageMaker::ModelPackageGroup": frozenset({"ModelPackageGroupF5073685"}),
            "AWS::ECR::Repository": frozenset(
                {"ProcessingImageRepositoryACEECF99", "TrainingImageRepository01A93933", "InferenceImageRepository3575B74B"}
            ),
        },
        copies_dataset=True,
    ),
    # build-deploy's, and the monitor code's repository.
    "build-deploy-monitor": TemplateFacts(
        pinned_logical_ids={
            **_ARTIFACTS,
            "AWS::CodeCommit::Repository": frozenset(
                {"ModelBuildRepositoryF9382855", "ModelDeployRepository8A62656E", "ModelMonitorRepositoryFFC4D39A"}
            ),
            "AWS::SageMaker::ModelPackageGroup": frozenset({"ModelPackageGroupF5073685"}),
            "AWS::ECR::Repository": frozenset(),
        },
        copies_dataset=True,
    ),
}


def missing_facts_message(template_ids) -> str:
    return (
        f"no test facts for template(s) {', '.join(sorted(template_ids))}: add an entry to TEMPLATE_FACTS "
        "in tests/template_facts.py (the logical ids of its stateful resources, whether it copies the data set)"
    )


def facts_for(template_id: str) -> TemplateFacts:
    """The facts of one template; fails the calling test, saying what to add, when there are none."""
    if template_id not in TEMPLATE_FACTS:
        pytest.fail(missing_facts_message([template_id]), pytrace=False)
    return TEMPLATE_FACTS[template_id]
