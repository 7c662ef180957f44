"""docs/guide/troubleshooting.md quotes the errors users meet at synth: each quoted ValueError is
the one the library raises today for the mistake the page describes (a case below makes it)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from aws_cdk import App, Environment

from support import REPO

GUIDE = REPO / "docs" / "guide" / "troubleshooting.md"


def _app() -> App:
    return App()


def _model_build(**settings) -> Callable[[], object]:
    def make():
        from sagemaker_projects_cdk.stacks import ModelBuildStack

        return ModelBuildStack(_app(), "ChurnModelBuild", **settings)

    return make


def _build_deploy(**settings) -> Callable[[], object]:
    def make():
        from sagemaker_projects_cdk.stacks import BuildDeployStack

        return BuildDeployStack(_app(), "Churn", **settings)

    return make


def _settings_and_keywords():
    from sagemaker_projects_cdk.stacks import ModelBuildSettings, ModelBuildStack

    return ModelBuildStack(_app(), "ChurnModelBuild", settings=ModelBuildSettings(project_name="churn"), branch="dev")


def _repeated_stage():
    from sagemaker_projects_cdk.constructs import DeployStage
    from sagemaker_projects_cdk.stacks import BuildDeployStack

    return BuildDeployStack(_app(), "Churn", stages=(DeployStage(name="staging", test=True), DeployStage(name="staging", approval=True)))


def _image_types(*types: str):
    def make():
        from sagemaker_projects_cdk.stacks import ImageBuildDeployStack

        return ImageBuildDeployStack(_app(), "Churn", image_types=types)

    return make


def _other_settings_object():
    from sagemaker_projects_cdk.stacks import BuildDeployStack, ModelBuildSettings

    return BuildDeployStack(_app(), "Churn", settings=ModelBuildSettings(project_name="churn"))


def _images_from_git():
    from sagemaker_projects_cdk.constructs.sources.source import ConnectionSource, GitRepository
    from sagemaker_projects_cdk.stacks import ImageBuildDeployStack

    source = ConnectionSource(
        connection_arn="arn:aws:codeconnections:eu-west-1:111122223333:connection/0a1b2c3d-0a1b-0a1b-0a1b-0a1b2c3d4e5f",
        model_build=GitRepository(full_name="acme/churn-build"),
        model_deploy=GitRepository(full_name="acme/churn-deploy"),
    )
    return ImageBuildDeployStack(_app(), "Churn", source=source)


def _jenkins(**settings):
    def make():
        from sagemaker_projects_cdk.stacks import BuildDeployJenkinsStack

        return BuildDeployJenkinsStack(_app(), "Churn", **settings)

    return make


def _studio(**settings):
    def make():
        from sagemaker_projects_cdk.studio import StudioTemplatesStack

        return StudioTemplatesStack(_app(), "StudioTemplates", **settings)

    return make


ROLE = "arn:aws:iam::111122223333:role/service-role/AmazonSageMaker-ExecutionRole-20260101T000000"

#: Each mistake the page describes, and how to make it.
CASES: dict[str, Callable[[], object]] = {
    "instance type without ml.": _model_build(training_instance_type="m5.xlarge"),
    "project name too long": _model_build(project_name="customer-churn-prediction-for-retail"),
    "project id upper case": _model_build(project_id="P-Churn"),
    "unknown setting": _model_build(training_instance="ml.m5.xlarge"),
    "another template's settings": _other_settings_object,
    "settings object and keywords": _settings_and_keywords,
    "branch": _model_build(branch="feature branch"),
    "account id": _build_deploy(prod_account_id="3333-3333-3333"),
    "own account as target": _build_deploy(prod_account_id="111122223333", env=Environment(account="111122223333", region="eu-west-1")),
    "another region": _build_deploy(prod_region="us-east-1", env=Environment(account="111122223333", region="eu-west-1")),
    "notification email": _build_deploy(notification_emails=("ml-team",)),
    "notification topic": _build_deploy(notification_topic_arns=("arn:aws:sqs:eu-west-1:111122223333:ml-team",)),
    "repeated stage": _repeated_stage,
    "images from a git host": _images_from_git,
    "unknown image type": _image_types("gpu"),
    "jenkins oidc": _jenkins(jenkins_oidc_provider_arn="arn:aws:iam::111122223333:oidc-provider/jenkins.example.com", jenkins_oidc_subject="job/x"),
    "jenkins vpc without subnets": _jenkins(jenkins_reachability="vpc"),
    "jenkins url": _jenkins(jenkins_url="https://jenkins.example.com/"),
    "studio unknown template": _studio(principal_arns=[ROLE], templates=["build-deploy-gitlab"]),
    "studio principal not a role": _studio(principal_arns=["arn:aws:iam::111122223333:user/alice"]),
}


def message_of(make: Callable[[], object]) -> str:
    with pytest.raises(ValueError) as raised:
        make()
    return str(raised.value)


@pytest.mark.parametrize("case", list(CASES))
def test_the_page_quotes_the_error(case):
    message = message_of(CASES[case])
    assert message.startswith("invalid "), message
    page = " ".join(GUIDE.read_text(encoding="utf-8").split())
    assert " ".join(message.split()) in page, f"{case}: docs/guide/troubleshooting.md does not quote\n{message}"


def test_every_quoted_error_has_a_case():
    quoted = re.findall(r"^ValueError: (invalid .*)$", GUIDE.read_text(encoding="utf-8"), re.M)
    made = {" ".join(message_of(make).split()) for make in CASES.values()}
    assert quoted and not [q for q in quoted if " ".join(q.split()) not in made]
