"""Every IAM role of every synthesized template is proven sufficient by a test (``role_registry.CLAIMS``).

The templates: the TEMPLATES stacks, the Studio stack and its product templates, and the
seed's endpoint stage (``role_checks.all_templates``). A role no claim matches fails with
how to add one; so do a role two claims match, a claim whose test does not exist and a
claim that matches no role (the registry stays true).
"""

from __future__ import annotations

import ast
import re
from functools import cache

import pytest
from role_checks import REPO, all_templates, roles
from role_registry import CLAIMS, Claim

from iam_eval import Resolver, role_policy_documents


@pytest.fixture(scope="module")
def templates(assembly) -> dict[str, dict]:
    return all_templates(assembly)


def claims_of(template_name: str, role_id: str) -> list[Claim]:
    return [c for c in CLAIMS if re.fullmatch(c.role, role_id) and re.fullmatch(c.templates, template_name)]


def test_every_role_is_claimed_by_exactly_one_sufficiency_check(templates):
    problems = []
    for name, template in templates.items():
        for role_id in roles(template):
            found = claims_of(name, role_id)
            if not found:
                problems.append(
                    f"role {role_id} of template {name} is not proven sufficient by any test: write a test that "
                    "evaluates what runs with it against its policy (tests/iam_eval.py; tests/seed/call_recorder.py "
                    "records code's calls; tests/role_checks.py has the helpers), then add a Claim for it to "
                    "tests/role_registry.py (its logical id pattern, the templates, the test and a one-line description)"
                )
            elif len(found) > 1:
                problems.append(f"role {role_id} of template {name} is claimed by {len(found)} claims: {[c.test for c in found]}")
    assert problems == [], "\n".join(problems)
    assert sum(len(roles(t)) for t in templates.values()) > 60


@cache
def _test_functions(path: str) -> frozenset[str]:
    tree = ast.parse((REPO / path).read_text())
    return frozenset(node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"))


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.role.split("[")[0].split("{")[0])
def test_each_claim_names_an_existing_test_and_matches_a_role(templates, claim):
    path, _, function = claim.test.partition("::")
    assert (REPO / path).is_file(), f"{claim.test}: no such file"
    assert function in _test_functions(path), f"{claim.test}: no such test function"
    assert claim.description and "\n" not in claim.description
    assert any(re.fullmatch(claim.role, r) and re.fullmatch(claim.templates, n) for n, t in templates.items() for r in roles(t)), (
        f"claim {claim.role} in {claim.templates} matches no role: remove it or fix its patterns"
    )


def test_an_unclaimed_role_is_reported_with_how_to_add_a_check():
    assert claims_of("model-build", "NewThingRoleABCDEF12") == []
    assert [c.test for c in claims_of("model-build", "DatasetRoleEA36AE91")] == [
        "tests/test_custom_resource_roles.py::test_the_data_set_copy_role_may_copy_the_data_set"
    ]


#: Parameters both a product template and its standalone template are resolved with.
SHARED_PARAMETERS = {"SageMakerProjectName": "churn", "SageMakerProjectId": "p-abc123def456"}
#: build-deploy-jenkins's parameters without a default.
JENKINS_PARAMETERS = {
    "CodeConnectionArn": "arn:aws:codeconnections:us-east-1:123456789012:connection/0b7e4f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
    "ModelBuildRepositoryFullName": "acme/churn-build",
    "ModelDeployRepositoryFullName": "acme/churn-deploy",
    "JenkinsUrl": "https://jenkins.example.com",
    "JenkinsCredentialsSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:jenkins/churn-AbCdEf",
    "JenkinsPrincipalRoleArn": "arn:aws:iam::123456789012:role/jenkins-controller",
}


@pytest.mark.parametrize("template_id", ["model-build", "model-deploy", "build-deploy", "build-deploy-jenkins"])
def test_the_studio_products_roles_are_the_checked_templates_roles(templates, template_id):
    """The product template's CodeBuild (build, endpoint tests, change record) and deployer roles have, resolved with the same
    parameters, the same policies as the standalone template's, which the seed and deployer
    tests check: the product differs from it only in where its assets are."""
    product, standalone = templates[f"studio/{template_id}"], templates[template_id]
    compared = [r for r in roles(product) if re.match(r"(ModelBuildRole|ModelDeployBuildRole|ModelDeployTestStagingRole|ModelDeployDeployerRole|ModelDeployRecordChangeProdRole|JenkinsRole|JenkinsTriggerDestinationEventsRole)[0-9A-F]{8}$", r)]
    assert compared and set(compared) <= set(roles(standalone))

    def documents(template: dict, role_id: str) -> list[dict]:
        declared = template.get("Parameters", {})
        given = {k: v for k, v in {**SHARED_PARAMETERS, **JENKINS_PARAMETERS}.items() if k in declared}
        # EventBridge generates an API destination's ARN (the Jenkins trigger's): a sample value.
        destinations = {
            (i, "Arn"): f"arn:aws:events:us-east-1:123456789012:api-destination/{i}/0b7e4f3a"
            for i, r in template["Resources"].items()
            if r["Type"] == "AWS::Events::ApiDestination"
        }
        resolver = Resolver(template, parameters=given, attributes=destinations)
        return sorted((dict(s.document) for s in role_policy_documents(resolver, role_id)), key=repr)

    for role_id in compared:
        assert documents(product, role_id) == documents(standalone, role_id), role_id
