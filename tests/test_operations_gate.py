"""Gate over every template in TEMPLATES: the project's notification topic, its rules and its
dashboard are there, so a template added without ``add_operations`` fails here."""

from __future__ import annotations

import pytest

from sagemaker_projects_cdk.stacks import TEMPLATES


def _of_type(template: dict, resource_type: str) -> dict[str, dict]:
    return {i: r for i, r in template["Resources"].items() if r["Type"] == resource_type}


def _notification_rules(template: dict, topic_id: str) -> list[dict]:
    return [
        r["Properties"]
        for r in _of_type(template, "AWS::Events::Rule").values()
        if any(t["Arn"] == {"Ref": topic_id} for t in r["Properties"].get("Targets", []))
    ]


@pytest.mark.parametrize("template_id", list(TEMPLATES))
def test_every_template_has_the_topic_the_rules_and_the_dashboard(assembly, template_id):
    template = assembly.templates[template_id]
    topics = _of_type(template, "AWS::SNS::Topic")
    assert len(topics) == 1, f"{template_id}: one notification topic (add_operations, composed last)"
    ((topic_id, topic),) = topics.items()
    assert "KmsMasterKeyId" in topic["Properties"], "the topic is encrypted with the project key"
    policies = [
        p for p in _of_type(template, "AWS::SNS::TopicPolicy").values() if {"Ref": topic_id} in p["Properties"]["Topics"]
    ]
    statements = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]
    assert any(
        s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
    ), "the topic refuses requests without TLS"
    assert len(_of_type(template, "AWS::CloudWatch::Dashboard")) == 1, f"{template_id}: one dashboard"

    rules = _notification_rules(template, topic_id)
    kinds = {rule["EventPattern"]["detail-type"][0] for rule in rules}
    for rule in rules:
        for target in rule["Targets"]:
            assert set(target["InputTransformer"]) == {"InputPathsMap", "InputTemplate"}, "a message, not the raw event"
    # Every CodePipeline of the template is watched for failed executions (build-deploy-jenkins has
    # none: Jenkins runs the builds, and its trigger's failures are announced instead).
    failed_rules = [r for r in rules if r["EventPattern"]["detail-type"] == ["CodePipeline Pipeline Execution State Change"]]
    pipelines = [{"Ref": i} for i in _of_type(template, "AWS::CodePipeline::Pipeline")]
    if template_id == "build-deploy-jenkins":
        assert failed_rules == [] and pipelines == []
        alarms = [r for r in rules if r["EventPattern"]["detail-type"] == ["CloudWatch Alarm State Change"]]
        assert len(alarms) == 2, "the stage endpoints' rollback alarms and the Jenkins trigger's dead letters are announced"
    else:
        (failed,) = failed_rules
        assert pipelines and sorted(map(str, failed["EventPattern"]["detail"]["pipeline"])) == sorted(map(str, pipelines))
    assert "SageMaker Model Package State Change" in kinds
    approvals = [
        action
        for p in _of_type(template, "AWS::CodePipeline::Pipeline").values()
        for stage in p["Properties"]["Stages"]
        for action in stage["Actions"]
        if action["ActionTypeId"]["Category"] == "Approval"
    ]
    if approvals:
        assert "CodePipeline Action Execution State Change" in kinds, "a waiting approval is announced"
    if any("deploy" in str(p["Properties"]["Name"]) for p in _of_type(template, "AWS::CodePipeline::Pipeline").values()):
        assert "CloudWatch Alarm State Change" in kinds, "the stage endpoints' rollback alarms are announced"
