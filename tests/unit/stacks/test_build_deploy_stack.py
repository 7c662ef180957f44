"""The build-deploy template: model building and deployment sharing one bucket, key and group."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Template

from sagemaker_projects_cdk.stacks import BuildDeployStack
from support import new_app


@pytest.fixture(scope="module")
def build_deploy(assembly) -> Template:
    return Template.from_json(assembly.templates["build-deploy"])


def test_build_deploy_shares_one_bucket_key_and_group(build_deploy):
    assert len(build_deploy.find_resources("AWS::KMS::Key")) == 1
    assert len(build_deploy.find_resources("AWS::SageMaker::ModelPackageGroup")) == 1
    assert len(build_deploy.find_resources("AWS::S3::Bucket")) == 2  # artifacts + their access logs
    repos = build_deploy.find_resources("AWS::CodeCommit::Repository")
    assert sorted(r["Properties"]["RepositoryName"]["Fn::Join"][1][-1] for r in repos.values()) == ["-modelbuild", "-modeldeploy"]
    assert len(build_deploy.find_resources("AWS::CodePipeline::Pipeline")) == 2
    rule = next(
        r for r in build_deploy.find_resources("AWS::Events::Rule").values() if r["Properties"]["EventPattern"]["source"] == ["aws.sagemaker"]
    )
    group_name = rule["Properties"]["EventPattern"]["detail"]["ModelPackageGroupName"][0]
    assert group_name == {"Fn::Join": ["", [{"Ref": "SageMakerProjectName"}, "-", {"Ref": "SageMakerProjectId"}]]}


def test_bad_compute_type_is_refused():
    with pytest.raises(ValueError, match="invalid compute_type 'HUGE'"):
        BuildDeployStack(new_app(), "Bad", compute_type="HUGE")
