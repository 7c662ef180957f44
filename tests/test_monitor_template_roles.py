"""The roles of the monitoring template (build-deploy-monitor), standalone and as a Studio product.

- The roles it shares with build-deploy hold the same policies there (resolved with the same
  parameters), so build-deploy's checks (tests/seed/test_role_sufficiency.py, the deployer's
  schema check) cover them here too.
- The monitor deployer may do what CloudFormation's handlers need for every resource of the
  monitor stage template (cfn-lint's schemas), on the names the stage stacks use.
- The monitor build role may make every call the monitor seed's build.py makes (recorded in moto).
"""

from __future__ import annotations

import re

import pytest
from role_checks import all_templates, role_policy_with_managed, roles

from iam_eval import Resolver

REGION, ACCOUNT = "us-east-1", "123456789012"
PROJECT_NAME, PROJECT_ID = "churn", "p-0123456789ab"
PARAMETERS = {"SageMakerProjectName": PROJECT_NAME, "SageMakerProjectId": PROJECT_ID}
#: The build-deploy roles whose policies the monitoring template must not change.
SHARED = re.compile(
    r"(ModelBuildRole|ModelDeployBuildRole|ModelDeployTestStagingRole|ModelDeployRecordChangeProdRole|ModelDeployDeployerRole)[0-9A-F]{8}"
)
NAMES = ["build-deploy-monitor", "studio/build-deploy-monitor"]


@pytest.fixture(scope="module")
def templates(assembly) -> dict[str, dict]:
    return all_templates(assembly)


def _resolver(template: dict) -> Resolver:
    return Resolver(template, parameters=PARAMETERS, region=REGION, account=ACCOUNT)


@pytest.mark.parametrize("name", NAMES)
def test_the_build_deploy_roles_have_build_deploys_policies_in_the_monitor_template(templates, name):
    monitoring, build_deploy = templates[name], templates[name.replace("build-deploy-monitor", "build-deploy")]
    shared = [r for r in roles(monitoring) if SHARED.fullmatch(r)]
    assert len(shared) == 5, shared
    for role_id in shared:
        assert role_id in roles(build_deploy), role_id
        here = role_policy_with_managed(_resolver(monitoring), role_id)
        there = role_policy_with_managed(_resolver(build_deploy), role_id)
        assert [s.document for s in here.sources] == [s.document for s in there.sources], role_id
