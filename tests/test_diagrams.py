"""docs/diagrams/<template id>.svg is current: each template's diagram, drawn again from this
synth (the session's one, tests/conftest.py), is the committed SVG byte for byte; the
README shows every one; and the graph says what the template does."""

from __future__ import annotations

import re

import pytest

from diagrams import DIAGRAMS_DIR, REGENERATE_DIAGRAMS, diagram_path, diagrams, dot_source, graph
from support import REPO

README_IMAGE = "![{id}](docs/diagrams/{id}.svg)"


@pytest.fixture(scope="module")
def drawn(assembly) -> dict[str, str]:
    return diagrams(assembly.templates)


def test_every_template_has_a_current_diagram(assembly, drawn):
    assert set(drawn) == set(assembly.templates)
    stale = [tid for tid, svg in drawn.items() if not diagram_path(tid).exists() or diagram_path(tid).read_text() != svg]
    assert not stale, f"docs/diagrams is stale for {stale}: regenerate with '{REGENERATE_DIAGRAMS}' and commit it"


def test_drawing_is_deterministic(assembly, drawn):
    template_id = "build-deploy"
    again = diagrams({template_id: assembly.templates[template_id]})
    assert again[template_id] == drawn[template_id]
    assert drawn[template_id].lstrip().startswith("<?xml") and "</svg>" in drawn[template_id]


def test_the_docs_show_every_diagram(template_ids):
    """Each diagram is shown (an image link that resolves to it) in README.md."""
    pages = [REPO / "README.md"]
    shown = set()
    for page in pages:
        for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+\.svg)\)", page.read_text()):
            resolved = (page.parent / target).resolve()
            if resolved.parent == DIAGRAMS_DIR.resolve() and resolved.exists():
                shown.add(resolved.stem)
    missing = sorted(set(template_ids) - shown)
    assert not missing, f"no page shows the diagram of {missing}: add {README_IMAGE.format(id='<template id>')} to README.md"


def test_build_deploy_graph_follows_the_template(assembly):
    nodes, edges = graph(assembly.templates["build-deploy"])
    by_key = {node.key: node for node in nodes}
    names = {node.key: node.label.split("\n")[0] for node in nodes}
    flows = {(names[e.source], names[e.target], e.label) for e in edges}
    # A push starts the build pipeline, which runs the build project.
    assert ("ModelBuildRepository push to main", "ModelBuildPipeline", "starts") in flows
    assert ("ModelBuildRepository", "ModelBuildPipeline", "source") in flows
    assert ("ModelBuildPipeline", "ModelBuild", "runs") in flows
    # An approval in the registry starts the deploy pipeline, which runs its stage projects.
    assert ("ModelPackageGroup", "ModelDeployOnModelApprovalRule", "event") in flows
    assert ("ModelDeployOnModelApprovalRule", "ModelDeployPipeline", "starts") in flows
    assert ("ModelDeployPipeline", "ModelDeployTestStaging", "runs") in flows
    # Notifications reach the topic; storage and the key are used (drawn light).
    assert ("NotificationsPipelineFailed", "NotificationsTopic", "notifies") in flows
    assert any(names[e.target] == "ArtifactsBucket" and e.minor for e in edges)
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
    names = {node.key: node.label.split("\n")[0] for node in nodes}
    flows = {(names[e.source], names[e.target], e.label) for e in edges}
    for image in ("Processing", "Training", "Inference"):
        assert (f"{image}ImageBuild", f"{image}Image", "") in flows
        assert (f"{image}Image", "NewImageVersionRule", "event") in flows
        assert (f"{image}ImageRepository", "NewImageVersionRule", "event") not in flows
        assert (f"{image}ImageRepository", f"{image}Image", "") not in flows
    assert ("ModelPackageGroup", "ModelDeployOnModelApprovalRule", "event") in flows
    # The SageMaker pipeline (named like the group) is not the group.
    assert ("ModelPackageGroup", "NotificationsSagemakerPipelineFailed", "event") not in flows
