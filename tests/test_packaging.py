"""A separate CDK app that installs this repository as a package can import and synthesize it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile

from support import CDK_CONTEXT, REPO

USER_APP = textwrap.dedent(
    """
    import json, sys
    from aws_cdk import App
    import sagemaker_projects_cdk
    from sagemaker_projects_cdk.constructs import ArtifactBucket, ModelPackageGroup, ProjectIdentity
    from sagemaker_projects_cdk.stacks import ModelBuildStack, TEMPLATES

    app = App(outdir=sys.argv[1], context=json.loads(sys.argv[2]))
    ModelBuildStack(app, "TeamModelBuild", project_name="team", project_id="p-team00000001")
    app.synth()
    print(sagemaker_projects_cdk.__file__)
    """
)


def test_installed_package_synthesizes_in_another_app(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("sagemaker_projects_cdk-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "sagemaker_projects_cdk/seed_code/model_build/data/abalone.csv" in names
    # The stage templates the deploy and monitor pipelines deploy.
    assert "sagemaker_projects_cdk/seed_code/model_deploy/endpoint-stage.template.json" in names
    assert "sagemaker_projects_cdk/seed_code/model_monitor/monitor-stage.template.json" in names
    # The lifecycle custom resources' function code (a Lambda code asset).
    assert "sagemaker_projects_cdk/_internal/lifecycle_function/index.py" in names
    assert not [n for n in names if "__pycache__" in n or n.startswith("tests/")]

    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    app_dir = tmp_path / "user-app"
    app_dir.mkdir()
    (app_dir / "app.py").write_text(USER_APP)
    out = tmp_path / "cdk.out"
    result = subprocess.run(
        [sys.executable, "app.py", str(out), json.dumps(CDK_CONTEXT)],
        cwd=app_dir,
        env={**os.environ, "PYTHONPATH": str(site), "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    # The package came from the installed wheel, not from this checkout.
    assert result.stdout.strip().startswith(str(site))
    template = json.loads((out / "TeamModelBuild.template.json").read_text())
    groups = [r for r in template["Resources"].values() if r["Type"] == "AWS::SageMaker::ModelPackageGroup"]
    assert groups[0]["Properties"]["ModelPackageGroupName"] == "team-p-team00000001"
    # The seed code travelled with the package into the repository's first commit.
    seed_zips = [p for p in out.glob("asset.*.zip")] + [p for p in out.glob("asset.*") if p.is_dir()]
    assert any((p / "pipelines").is_dir() if p.is_dir() else False for p in seed_zips)
