"""Product versions: a changed template publishes a new version and earlier versions stay published."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sagemaker_projects_cdk.studio import StudioTemplate, StudioTemplatesStack
from sagemaker_projects_cdk.studio.versions import recorded_versions, template_digest
from support import new_app

ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole-20260101T000000"


def synth(outdir: Path, versions: Path, *, branch: str = "main", **kwargs) -> dict:
    """The model-deploy product's versions after a synth (one template keeps this fast)."""
    app = new_app(outdir)
    StudioTemplatesStack(
        app,
        "Studio",
        templates=[StudioTemplate(template_id="model-deploy", settings={"branch": branch})],
        principal_arns=[ROLE],
        versions_directory=versions,
        **kwargs,
    )
    app.synth()
    template = json.loads((outdir / "Studio.template.json").read_text())
    (product,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::ServiceCatalog::CloudFormationProduct"]
    return {a["Name"]: a["Info"]["LoadTemplateFromURL"] for a in product["Properties"]["ProvisioningArtifactParameters"]}


def files(versions: Path) -> list[str]:
    return sorted(p.name for p in (versions / "model-deploy").iterdir())


def test_a_changed_template_publishes_a_new_version_and_keeps_the_earlier_one(tmp_path):
    versions = tmp_path / "versions"

    first = synth(tmp_path / "a", versions)
    (v1,) = first
    assert v1.startswith("v1-") and files(versions) == [f"{v1}.template.json"]

    again = synth(tmp_path / "b", versions)
    assert again == first, "an unchanged template is the same version, at the same URL"
    assert (tmp_path / "a" / "Studio.template.json").read_bytes() == (tmp_path / "b" / "Studio.template.json").read_bytes()
    assert files(versions) == [f"{v1}.template.json"]

    changed = synth(tmp_path / "c", versions, branch="dev")
    assert list(changed)[0] == v1 and changed[v1] == first[v1], "the earlier version keeps its name and URL"
    (v2,) = set(changed) - {v1}
    assert v2.startswith("v2-") and v2 != v1
    assert files(versions) == [f"{v1}.template.json", f"{v2}.template.json"]
    # The recorded file is exactly the template Service Catalog got for that version.
    product_template = next((tmp_path / "c").glob("*.product.template.json")).read_text()
    assert (versions / "model-deploy" / f"{v2}.template.json").read_text() == product_template
    assert v2.endswith(template_digest(product_template))

    back = synth(tmp_path / "d", versions)
    assert set(back) == {v1, v2} and list(back)[-1] == v1, "going back republishes v1 as current, v2 stays"
    assert back[v1] == first[v1]


def test_record_off_writes_nothing(tmp_path):
    versions = tmp_path / "versions"
    names = synth(tmp_path / "out", versions, record_versions=False)
    assert list(names)[0].startswith("v1-")
    assert not versions.exists()


def _record(folder: Path, number: int, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"v{number}-{template_digest(text)}.template.json"
    path.write_text(text)
    return path


def test_leaving_out_a_template_with_recorded_versions_needs_allow_removal(tmp_path):
    versions = tmp_path / "versions"
    _record(versions / "model-build", 1, '{"Resources": {}}')
    with pytest.raises(ValueError, match=r"'model-build' too: it has versions recorded in .*allow_removal=\['model-build'\]"):
        StudioTemplatesStack(new_app(), "Studio", templates=["model-deploy"], principal_arns=[ROLE], versions_directory=versions)
    # Said so: the product and its versions go.
    stack = StudioTemplatesStack(
        new_app(), "Studio", templates=["model-deploy"], principal_arns=[ROLE], versions_directory=versions, allow_removal=["model-build"]
    )
    assert list(stack.studio.products) == ["model-deploy"]


def test_recorded_versions_are_ordered_by_number_and_checked(tmp_path):
    folder = tmp_path / "model-build"
    second = _record(folder, 2, "two")
    first = _record(folder, 1, "one")
    assert [v.path for v in recorded_versions(folder)] == [first, second]
    assert recorded_versions(tmp_path / "missing") == []

    (folder / "v3-000000000000.template.json").write_text("three")
    with pytest.raises(ValueError, match=r"invalid version file '.*v3-000000000000.template.json': expected content whose SHA-256 starts with 000000000000"):
        recorded_versions(folder)
    (folder / "v3-000000000000.template.json").unlink()

    (folder / "latest.json").write_text("{}")
    with pytest.raises(ValueError, match=r"invalid version file '.*latest.json': expected a file named v<N>-<12 hex digits>.template.json"):
        recorded_versions(folder)
    (folder / "latest.json").unlink()

    _record(folder, 2, "another two")
    with pytest.raises(ValueError, match="expected one file per version number"):
        recorded_versions(folder)
