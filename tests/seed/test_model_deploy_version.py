"""build.py deploys the version MODEL_PACKAGE_ARN names, when given (the Jenkins deploy job passes
the version whose approval started it), and only an Approved version of the project's group.

Environment checks run without AWS; the registry tests run build.py as the jobs do (a subprocess,
boto3 only) against a local moto server.
"""

from __future__ import annotations

import json

import pytest

from model_deploy_support import (
    PROJECT_BUCKET,
    SEED,
    aws_environment,
    client,
    load_build_module,
    moto_server,
    register_versions,
    run_script,
    unique,
)

build = load_build_module()
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
REQUIRED = {
    "MODEL_PACKAGE_GROUP_NAME": "churn-p-abc123def456",
    "SAGEMAKER_PROJECT_NAME": "churn",
    "SAGEMAKER_PROJECT_ID": "p-abc123def456",
    "ARTIFACT_BUCKET": PROJECT_BUCKET,
    "ARTIFACT_KMS_KEY_ARN": KEY_ARN,
}


def _environment(url: str, group: str, **extra: str) -> dict[str, str]:
    return aws_environment(url, **{**REQUIRED, "MODEL_PACKAGE_GROUP_NAME": group}, **extra)


# ----------------------------------------------------------------- environment (no AWS)


@pytest.mark.parametrize(
    "value, expected",
    [
        (
            "churn-p-abc123def456/3",
            "environment: MODEL_PACKAGE_ARN 'churn-p-abc123def456/3' is not the ARN of a model package version",
        ),
        (
            # The group's ARN, not one of its versions.
            "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/churn-p-abc123def456",
            "is not the ARN of a model package version",
        ),
        (
            "arn:aws:sagemaker:us-east-1:123456789012:model-package/other-p-0000000000/3",
            "is a version of model package group 'other-p-0000000000', not of this project's group 'churn-p-abc123def456'",
        ),
    ],
)
def test_a_model_package_arn_that_is_no_version_of_the_group_is_refused_before_any_aws_call(value, expected):
    env, problems = build.read_environment(["staging", "prod"], {**REQUIRED, "MODEL_PACKAGE_ARN": value})
    assert len(problems) == 1 and expected in problems[0], problems
    assert env["MODEL_PACKAGE_ARN"] == value


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_model_package_arn_means_the_newest_approved_version(value):
    env, problems = build.read_environment(["staging", "prod"], {**REQUIRED, "MODEL_PACKAGE_ARN": value})
    assert problems == [] and env["MODEL_PACKAGE_ARN"] == ""


def test_a_bad_model_package_arn_fails_the_build_with_the_other_problems_and_writes_nothing(tmp_path):
    environ = {**REQUIRED, "SAGEMAKER_PROJECT_ID": "", "MODEL_PACKAGE_ARN": "latest"}
    with pytest.raises(build.BuildError) as caught:
        build.build(["staging", "prod"], SEED, tmp_path / "out", environ)
    message = str(caught.value)
    assert message.startswith("the deployment configuration is invalid; nothing was written")
    assert "SAGEMAKER_PROJECT_ID is not set" in message
    assert "MODEL_PACKAGE_ARN 'latest' is not the ARN of a model package version" in message
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------- model registry (moto)


@pytest.fixture(scope="module")
def version_moto():
    with moto_server() as url:
        yield url


@pytest.mark.integration
def test_the_named_approved_version_is_deployed_not_the_newest(version_moto, tmp_path):
    url = version_moto
    group = unique("churn-named-")
    arns = register_versions(client(url, "sagemaker"), group, ["Approved", "Approved", "Approved"])
    out = tmp_path / "build"
    result = run_script(SEED / "build.py", ["--output-dir", str(out)], _environment(url, group, MODEL_PACKAGE_ARN=arns[1]))
    assert result.returncode == 0, result.stderr
    assert f"deploying {arns[1]}" in result.stdout
    for stage in ("staging", "prod"):
        assert json.loads((out / f"{stage}-params.json").read_text())["Parameters"]["ModelPackageArn"] == arns[1]
    assert json.loads((out / "staging-test.json").read_text())["model_package_arn"] == arns[1]

    # Without it, the same group deploys its newest approved version.
    newest = run_script(SEED / "build.py", ["--output-dir", str(tmp_path / "newest")], _environment(url, group))
    assert newest.returncode == 0, newest.stderr
    assert f"deploying {arns[2]}" in newest.stdout


@pytest.mark.integration
@pytest.mark.parametrize("status", ["PendingManualApproval", "Rejected"])
def test_a_named_version_that_is_not_approved_fails_and_writes_nothing(version_moto, tmp_path, status):
    url = version_moto
    group = unique("churn-unapproved-")
    arns = register_versions(client(url, "sagemaker"), group, ["Approved", status])
    out = tmp_path / "build"
    result = run_script(SEED / "build.py", ["--output-dir", str(out)], _environment(url, group, MODEL_PACKAGE_ARN=arns[1]))
    assert result.returncode == 1
    message = result.stderr.strip()
    assert message.startswith(f"build.py: model package {arns[1]} (MODEL_PACKAGE_ARN) is {status}, not Approved")
    assert "--model-approval-status Approved" in message
    assert not out.exists()


@pytest.mark.integration
def test_a_named_version_that_does_not_exist_fails_with_what_to_pass(version_moto, tmp_path):
    url = version_moto
    group = unique("churn-absent-")
    arns = register_versions(client(url, "sagemaker"), group, ["Approved"])
    absent = arns[0].rsplit("/", 1)[0] + "/7"
    out = tmp_path / "build"
    result = run_script(SEED / "build.py", ["--output-dir", str(out)], _environment(url, group, MODEL_PACKAGE_ARN=absent))
    assert result.returncode == 1
    assert f"build.py: model package {absent} (MODEL_PACKAGE_ARN) was not found in region us-east-1" in result.stderr
    assert f"pass the ARN of an approved version of model package group '{group}'" in result.stderr
    assert not out.exists()
