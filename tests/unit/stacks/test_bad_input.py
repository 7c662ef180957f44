"""Bad input to a template stack is refused at synth with a ValueError naming the setting, the value and the rule."""

from __future__ import annotations

import pytest

from sagemaker_projects_cdk.stacks import ModelBuildStack
from support import new_app


def build(**kwargs):
    return ModelBuildStack(new_app(), "Stack", **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"project_name": "a" * 33}, "invalid project_name 'a{33}': expected 1 to 32 characters"),
        ({"project_name": ""}, "invalid project_name '': expected 1 to 32 characters"),
        ({"project_name": "1churn"}, r"invalid project_name '1churn': expected .*\^\[a-zA-Z\]"),
        ({"project_name": "churn_model"}, "invalid project_name 'churn_model'"),
        ({"project_name": "churn-"}, "invalid project_name 'churn-'"),
        ({"project_id": "p" * 21}, "invalid project_id 'p{21}': expected 1 to 20 characters"),
        # SageMaker lower-cases names in ARNs: an id with capitals would match no IAM pattern.
        ({"project_id": "P-ABC123def456"}, r"invalid project_id 'P-ABC123def456': expected .*lower-case.*\^\[a-z0-9\]"),
        # The endpoint '<name>-<id>-<stage>' has at most 63 characters, stage names up to 15.
        (
            {"project_name": "n" * 32, "project_id": "p-" + "a" * 18},
            "invalid project_name and project_id 'n{32}-p-a{18}': expected '<project_name>-<project_id>' of at most 47",
        ),
        # A name given as a parameter counts as its 32 characters.
        ({"project_id": "p-" + "a" * 13}, "invalid project_name and project_id '<parameter SageMakerProjectName"),
        ({"branch": ""}, "invalid branch '': expected a Git branch name"),
        ({"branch": "feature..x"}, r"invalid branch 'feature\.\.x'"),
        ({"branch": "has space"}, "invalid branch 'has space'"),
        ({"branch": "release/"}, "invalid branch 'release/'"),
        ({"training_instance_type": "m5.xlarge"}, "invalid training_instance_type 'm5.xlarge': expected a SageMaker instance type"),
        ({"processing_instance_type": "ml.zz9.large"}, "invalid processing_instance_type 'ml.zz9.large'"),
        ({"compute_type": "BUILD_GENERAL1_HUGE"}, "invalid compute_type 'BUILD_GENERAL1_HUGE': expected one of 'BUILD_GENERAL1_SMALL'"),
        ({"model_read_account_ids": ("12345",)}, "invalid model_read_account_ids '12345': expected a 12-digit AWS account id"),
    ],
)
def test_stack_refuses(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build(**kwargs)
