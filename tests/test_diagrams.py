"""docs/diagrams/<template id>.svg is current: each template's diagram, drawn again from this
synth (the session's one, tests/conftest.py), is the committed SVG byte for byte; the
README shows every one; and the graph says what the template does."""

from __future__ import annotations

import re

import pytest

from diagrams import DIAGRAMS_DIR, REGENERATE_DIAGRAMS, diagram_path, diagrams, dot_source, graph
from support import REPO

README_IMAGE = "[![{id}](docs/diagrams/{id}.svg)](docs/diagrams/{id}.svg)"


@pytest.fixture(scope="module")
def drawn(assembly) -> dict[str, str]:
    return diagrams(assembly.templates)


def test_every_template_has_a_current_diagram(assembly, drawn):
    assert set(drawn) == set(assembly.templates)
    # No orphan: a diagram of a template that no longer exists (make diagrams removes it).
    assert sorted(p.stem for p in DIAGRAMS_DIR.glob("*.svg")) == sorted(assembly.templates)
    assert sorted(p.name for p in DIAGRAMS_DIR.iterdir()) == sorted(f"{tid}.svg" for tid in assembly.templates)
    stale = [tid for tid, svg in drawn.items() if not diagram_path(tid).exists() or diagram_path(tid).read_text() != svg]
    assert not stale, f"docs/diagrams is stale for {stale}: regenerate with '{REGENERATE_DIAGRAMS}' and commit it"


def test_drawing_is_deterministic(assembly, drawn):
    template_id = "build-deploy"
    again = diagrams({template_id: assembly.templates[template_id]})
    assert again[template_id] == drawn[template_id]
    assert drawn[template_id].lstrip().startswith("<?xml") and "</svg>" in drawn[template_id]


def test_the_docs_show_every_diagram(template_ids):
    """Each diagram is shown (an image that resolves to it) in README.md, as a link to the SVG
    itself (a wide drawing opens at full size)."""
    pages = [REPO / "README.md"]
    shown = set()
    for page in pages:
        for image, target in re.findall(r"\[!\[[^\]]*\]\(([^)\s]+\.svg)\)\]\(([^)\s]+\.svg)\)", page.read_text()):
            if image != target:
                continue
            resolved = (page.parent / target).resolve()
            if resolved.parent == DIAGRAMS_DIR.resolve() and resolved.exists():
                shown.add(resolved.stem)
    missing = sorted(set(template_ids) - shown)
    assert not missing, f"no page shows the diagram of {missing}: add {README_IMAGE.format(id='<template id>')} to README.md"


def test_build_deploy_graph_follows_the_template(assembly):
    nodes, edges = graph(assembly.templates["build-deploy"])
    by_key = {node.key: node for node in nodes}
    names = {node.key: node.title for node in nodes}
    flows = {(names[e.source], names[e.target], e.label) for e in edges}
    # A push starts the build pipeline, which runs the build project.
    assert ("ModelBuildRepository push to main", "ModelBuildPipeline", "starts") in flows
    assert ("ModelBuildRepository", "ModelBuildPipeline", "source") in flows
    assert ("ModelBuildPipeline", "ModelBuild", "runs") in flows
    # An approval in the registry starts the deploy pipeline, which runs its stage projects.
    assert ("ModelPackageGroup", "ModelDeployOnModelApprovalRule", "event") in flows
    assert ("ModelDeployOnModelApprovalRule", "ModelDeployPipeline", "starts") in flows
    assert ("ModelDeployPipeline", "ModelDeployTestStaging", "runs") in flows
    # Its deploy stages, in the pipeline's order: the staging stack (in the staging account when
    # that parameter is set), the manual approval, the prod stack.
    stages = sorted((e.label, by_key[e.target].label) for e in edges if e.target.startswith("stage:"))
    assert [label for label, _ in stages] == ["1. deploys", "2. waits for", "3. deploys"]
    assert stages[0][1].startswith("DeployStaging\nCloudFormation stack\nsagemaker-{project}-{id}\n-deploy-staging")
    assert "in account {StagingAccountId}" in stages[0][1] and "in account {ProdAccountId}" in stages[2][1]
    assert stages[1][1] == "ApproveDeployment\nmanual approval"
    assert all(e.source == next(k for k, n in names.items() if n == "ModelDeployPipeline") for e in edges if e.target.startswith("stage:"))
    # The build starts the SageMaker Pipeline (named in its environment), which registers models
    # into the group; its failed executions are what the notification rule hears.
    pipeline = "SageMaker Pipeline"
    assert ("ModelBuild", pipeline, "starts") in flows and (pipeline, "ModelPackageGroup", "registers") in flows
    assert (pipeline, "NotificationsSagemakerPipelineFailed", "event") in flows
    assert by_key["sagemaker-pipeline:{project}-{id}"].concern is None  # outside the stack
    # Notifications reach the topic; a bucket's users are one edge per group (drawn light);
    # the key's users are a note, not edges.
    assert ("NotificationsPipelineFailed", "NotificationsTopic", "notifies") in flows
    to_bucket = [e for e in edges if names[e.target] == "ArtifactsBucket"]
    assert to_bucket and all(e.minor for e in to_bucket)
    assert len({e.cluster for e in to_bucket if e.cluster}) == len([e for e in to_bucket if e.cluster])
    assert not [e for e in edges if names[e.target] == "ArtifactsKey"]
    assert any(n.label.endswith("encrypted by ArtifactsKey") and n.concern == "security" for n in nodes)
    concerns = {names[key]: node.concern for key, node in by_key.items()}
    assert concerns["ModelBuildRepository"] == "source"
    assert concerns["ModelPackageGroup"] == "registry"
    assert concerns["ModelDeployPipeline"] == "deploy"
    assert concerns["ArtifactsKey"] == "security"
    assert concerns["AwsCustomResource provider"] == "build"  # the dataset copy's handler
    # IAM is counted, not drawn: as many roles as the template has.
    roles = sum(1 for r in assembly.templates["build-deploy"]["Resources"].values() if r["Type"] == "AWS::IAM::Role")
    assert f"{roles} IAM roles" in {node.label for node in nodes}


def test_every_resource_has_its_concern(assembly):
    """No resource falls through to the catch-all group: a new kind of resource gets a rule."""
    for template_id, template in assembly.templates.items():
        source = dot_source(template_id, template)
        assert 'subgraph "cluster_source"' in source and 'subgraph "cluster_security"' in source, template_id
        nodes, _ = graph(template)
        unplaced = [n.key for n in nodes if n.concern == "lifecycle" and not n.key.startswith("RetainedResourceCheck")]
        assert not unplaced, f"{template_id}: give these a concern in tests/diagrams.py: {unplaced}"


def test_named_resources_are_linked(assembly):
    """Resources named rather than referenced: a build project names the SageMaker image it
    versions; the new-version rule matches the images' ARNs (not the ECR repositories of the
    same name); the approval rule matches the group's name."""
    nodes, edges = graph(assembly.templates["image-build-deploy"])
    names = {node.key: node.title for node in nodes}
    flows = {(names[e.source], names[e.target], e.label) for e in edges}
    for image in ("Processing", "Training", "Inference"):
        assert (f"{image}ImageBuild", f"{image}Image", "") in flows
        assert (f"{image}Image", "NewImageVersionRule", "event") in flows
        assert (f"{image}ImageRepository", "NewImageVersionRule", "event") not in flows
        assert (f"{image}ImageRepository", f"{image}Image", "") not in flows
    assert ("ModelPackageGroup", "ModelDeployOnModelApprovalRule", "event") in flows
    # The SageMaker pipeline (named like the group) is not the group.
    assert ("ModelPackageGroup", "NotificationsSagemakerPipelineFailed", "event") not in flows
