"""The target-account baseline synthesized alone (seconds), with the security packs on."""

from __future__ import annotations

import pytest

TOOLING = "111111111111"


@pytest.fixture(scope="package")
def baseline(tmp_path_factory) -> dict:
    from sagemaker_projects_cdk.app import TARGET_ACCOUNT_STACK_ID
    from sagemaker_projects_cdk.compliance import add_security_packs
    from sagemaker_projects_cdk.stacks import TargetAccountStack
    from support import new_app

    app = new_app(tmp_path_factory.mktemp("baseline"))
    stack = TargetAccountStack(app, TARGET_ACCOUNT_STACK_ID)
    add_security_packs(app)
    return app.synth().get_stack_artifact(stack.artifact_id).template
