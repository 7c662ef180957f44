"""The build-deploy-monitor template: build-deploy, the monitor repository and pipeline, its
trigger on the staging endpoint, drift alarms on the project's topic, optional retraining,
and the teardown of the monitor stage stacks."""

from __future__ import annotations

import json
from typing import Any

import eventbridge_render
import pytest
from aws_cdk import App, Environment
from aws_cdk.assertions import Template

from sagemaker_projects_cdk.constructs.deploy.monitor_pipeline import endpoint_in_service_pattern
from sagemaker_projects_cdk.constructs.sources.source import ConnectionSource, GitRepository
from sagemaker_projects_cdk.stacks import BUILD_DEPLOY_MONITOR, TEMPLATES, BuildDeployMonitorStack
from support import new_app

CONNECTION = "arn:aws:codeconnections:eu-west-1:111122223333:connection/0123abcd-0123-0123-0123-0123456789ab"
TOOLING, STAGING, PROD = "111122223333", "444455556666", "777788889999"
ENV = Environment(account=TOOLING, region="eu-west-1")


@pytest.fixture(scope="module")
def template(assembly) -> dict:
    """As Studio launches it: project name, id and stage accounts are parameters."""
    return assembly.templates["build-deploy-monitor"]


@pytest.fixture(scope="module")
def resolved() -> dict:
    """``cdk deploy`` with every value given: staging and prod in their own accounts."""
    stack = BuildDeployMonitorStack(
        new_app(),
        "Churn",
        project_name="Churn",
        project_id="p-abc123",
        staging_account_id=STAGING,
        prod_account_id=PROD,
        env=ENV,
    )
    return Template.from_stack(stack).to_json()


@pytest.fixture(scope="module")
def single_account() -> dict:
    stack = BuildDeployMonitorStack(
        new_app(), "Single", project_name="Churn", project_id="p-abc123", staging_account_id="", prod_account_id="", env=ENV
    )
    return Template.from_stack(stack).to_json()


def _of_type(template: dict, kind: str) -> dict[str, dict]:
    return {i: r for i, r in template["Resources"].items() if r["Type"] == kind}


def _one(template: dict, kind: str, prefix: str) -> tuple[str, dict]:
    (found,) = [(i, r) for i, r in _of_type(template, kind).items() if i.startswith(prefix)]
    return found


def _variables(template: dict, prefix: str) -> dict[str, Any]:
    _, project = _one(template, "AWS::CodeBuild::Project", prefix)
    return {v["Name"]: v["Value"] for v in project["Properties"]["Environment"]["EnvironmentVariables"]}


def _statements(template: dict, role_prefix: str) -> list[dict]:
    """Every statement of the policies attached to the role whose logical id starts with ``role_prefix``."""
    role_id, role = _one(template, "AWS::IAM::Role", role_prefix)
    found = []
    for policy in [*_of_type(template, "AWS::IAM::Policy").values(), *_of_type(template, "AWS::IAM::ManagedPolicy").values()]:
        if {"Ref": role_id} in policy["Properties"].get("Roles", []):
            found.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return found


def _event(detail_type: str, source: str, detail: dict) -> dict:
    """An event as EventBridge delivers it (envelope of AWS's examples)."""
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": detail_type,
        "source": source,
        "account": TOOLING,
        "time": "2026-11-30T17:00:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": detail,
    }


def _endpoint_event(name: str, status: str) -> dict:
    """SageMaker's "SageMaker Endpoint State Change" (AWS docs, "Events that Amazon SageMaker AI
    sends to Amazon EventBridge": the name as created, the status upper-snake-cased)."""
    return _event(
        "SageMaker Endpoint State Change",
        "aws.sagemaker",
        {
            "EndpointName": name,
            "EndpointArn": f"arn:aws:sagemaker:eu-west-1:{TOOLING}:endpoint/{name.lower()}",
            "EndpointConfigName": f"{name}-config",
            "ProductionVariants": [{"DesiredWeight": 1.0, "DesiredInstanceCount": 1.0}],
            "EndpointStatus": status,
            "CreationTime": 1592411992203.0,
            "LastModifiedTime": 1592411994287.0,
            "Tags": {},
        },
    )


def _alarm_event(name: str, state: str) -> dict:
    """CloudWatch's "CloudWatch Alarm State Change" (AWS docs, "Alarm events and EventBridge")."""
    return _event(
        "CloudWatch Alarm State Change",
        "aws.cloudwatch",
        {
            "alarmName": name,
            "state": {"value": state, "reason": "Threshold Crossed", "timestamp": "2026-11-30T17:00:00.000+0000"},
            "previousState": {"value": "OK", "reason": "", "timestamp": "2026-11-30T16:00:00.000+0000"},
            "configuration": {"description": "drift", "metrics": []},
        },
    )


def test_the_template_is_registered_with_sagemakers_title_within_service_catalogs_limit():
    assert TEMPLATES["build-deploy-monitor"] is BuildDeployMonitorStack
    assert len(TEMPLATES) == 7
    # AWS docs, "Use SageMaker AI-provided project templates" (sagemaker-projects-templates-sm).
    assert BUILD_DEPLOY_MONITOR.title == "MLOps template for model building, training, deployment, and Amazon SageMaker Model Monitor"
    assert len(BUILD_DEPLOY_MONITOR.title) <= 100  # a Service Catalog product name


def test_build_deploy_and_a_third_repository_and_pipeline(template):
    assert len(_of_type(template, "AWS::CodeCommit::Repository")) == 3
    assert len(_of_type(template, "AWS::CodePipeline::Pipeline")) == 3
    _, repository = _one(template, "AWS::CodeCommit::Repository", "ModelMonitorRepository")
    assert repository["Properties"]["RepositoryName"]["Fn::Join"][1][-1] == "-modelmonitor"
    assert repository["Properties"]["Code"]["BranchName"] == "main"
    assert "ModelMonitorRepositoryName" in template["Outputs"] and "ModelMonitorPipelineName" in template["Outputs"]


def test_the_monitor_pipeline_builds_then_deploys_staging_approval_prod_with_the_monitor_stage_template(resolved):
    _, pipeline = _one(resolved, "AWS::CodePipeline::Pipeline", "ModelMonitorPipeline")
    assert pipeline["Properties"]["Name"] == "sagemaker-Churn-p-abc123-modelmonitor"
    stages = {s["Name"]: s["Actions"] for s in pipeline["Properties"]["Stages"]}
    assert list(stages) == ["Source", "Build", "DeployStaging", "DeployProd"]
    categories = {name: [a["ActionTypeId"]["Category"] for a in actions] for name, actions in stages.items()}
    assert categories["DeployStaging"] == ["Deploy", "Approval"]  # the approval before prod
    assert categories["DeployProd"] == ["Deploy"]  # no tests, no change record
    for stage in ("staging", "prod"):
        (deploy,) = [a for a in stages[f"Deploy{stage.title()}"] if a["ActionTypeId"]["Provider"] == "CloudFormation"]
        configuration = deploy["Configuration"]
        assert configuration["StackName"] == f"sagemaker-Churn-p-abc123-monitor-{stage}"
        assert configuration["TemplatePath"] == "BuildArtifact::monitor-stage.template.json"
        assert configuration["TemplateConfiguration"] == f"BuildArtifact::{stage}-params.json"
        assert configuration["ActionMode"] == "REPLACE_ON_FAILURE"  # a monitor stack serves no traffic
        # In another account: that account's actions role runs it, its deployer deploys.
        account = STAGING if stage == "staging" else PROD
        assert account in json.dumps(deploy["RoleArn"]) and account in json.dumps(configuration["RoleArn"])


def test_the_monitor_build_gets_the_contracts_environment(resolved, template):
    variables = _variables(resolved, "ModelMonitorBuild")
    assert {
        "SAGEMAKER_PROJECT_NAME",
        "SAGEMAKER_PROJECT_ID",
        "ARTIFACT_BUCKET",
        "ARTIFACT_KMS_KEY_ARN",
        "MODEL_PACKAGE_GROUP_NAME",
        "DEPLOY_STAGES",
        "STAGE_ACCOUNTS",
        "STAGE_ROLE_ARNS",
        "STAGE_EXECUTION_ROLE_ARNS",
        "NOTIFICATION_TOPIC_ARN",
    } <= set(variables)  # AWS_REGION: CodeBuild sets it in every build
    assert variables["DEPLOY_STAGES"] == "staging,prod"
    assert variables["STAGE_ACCOUNTS"] == f"{STAGING},{PROD}"
    roles = variables["STAGE_ROLE_ARNS"].split(",")
    assert [r.split(":")[4] for r in roles] == [STAGING, PROD] and all(r.endswith("-actions") for r in roles)
    # The project's topic, by the name the topic is created with.
    _, topic = _one(resolved, "AWS::SNS::Topic", "NotificationsTopic")
    assert topic["Properties"]["TopicName"] == "sagemaker-Churn-p-abc123-notifications"
    arn = json.dumps(variables["NOTIFICATION_TOPIC_ARN"])
    assert f":sns:eu-west-1:{TOOLING}:sagemaker-Churn-p-abc123-notifications" in arn
    # Decided at deployment (Studio): each stage's role or empty, by its condition.
    studio = _variables(template, "ModelMonitorBuild")
    assert "Fn::If" in json.dumps(studio["STAGE_ROLE_ARNS"])


def test_a_single_account_monitor_build_assumes_no_role(single_account):
    variables = _variables(single_account, "ModelMonitorBuild")
    assert "STAGE_ROLE_ARNS" not in variables and "STAGE_ACCOUNTS" not in variables
    statements = _statements(single_account, "ModelMonitorBuildRole")
    assert not [s for s in statements if "sts:AssumeRole" in json.dumps(s["Action"])]


def test_the_monitor_build_role_reads_the_projects_endpoints_and_writes_monitoring_only(resolved):
    statements = _statements(resolved, "ModelMonitorBuildRole")

    def granted(action: str) -> list[Any]:
        return [r for s in statements if action in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]]) for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])]

    endpoints = {json.dumps(r) for r in granted("sagemaker:DescribeEndpoint")}
    for stage in ("staging", "prod"):
        assert any(f"endpoint/Churn-p-abc123-{stage}" in e for e in endpoints)
        assert any(f"endpoint/churn-p-abc123-{stage}" in e for e in endpoints)
    (tagged,) = [s for s in statements if "sagemaker:DescribeModel" in s["Action"]]
    assert tagged["Condition"] == {"StringEquals": {"aws:ResourceTag/sagemaker:project-id": "p-abc123"}}
    puts = [json.dumps(r) for r in granted("s3:PutObject")]
    assert any("/monitoring/*" in p for p in puts)
    assumed = sorted(json.dumps(r) for r in granted("sts:AssumeRole"))
    assert len(assumed) == 2 and STAGING in assumed[0] + assumed[1] and PROD in assumed[0] + assumed[1]


@pytest.mark.parametrize(
    ("name", "status", "starts"),
    [
        ("Churn-p-abc123-staging", "IN_SERVICE", True),  # AWS's example spelling
        ("Churn-p-abc123-staging", "InService", True),  # DescribeEndpoint's spelling
        ("churn-p-abc123-staging", "IN_SERVICE", True),  # the name as the ARN spells it
        ("Churn-p-abc123-prod", "IN_SERVICE", True),  # the last stage (prod): its monitors follow each prod deployment
        ("Churn-p-abc123-prod", "InService", True),
        ("churn-p-abc123-prod", "IN_SERVICE", True),
        ("Churn-p-abc123-prod", "UPDATING", False),
        ("Churn-p-abc123-qa", "IN_SERVICE", False),  # not a stage of this project
        ("Churn-p-abc123-prod-2", "IN_SERVICE", False),
        ("Other-p-zzz999-staging", "IN_SERVICE", False),  # another project's
        ("Churn-p-abc123-staging-2", "IN_SERVICE", False),
        ("Churn-p-abc123-staging", "CREATING", False),
        ("Churn-p-abc123-staging", "UPDATING", False),
        ("Churn-p-abc123-staging", "FAILED", False),
        ("Churn-p-abc123-staging", "Deleting", False),
        ("Churn-p-abc123-staging", "OUT_OF_SERVICE", False),
    ],
)
def test_only_the_projects_staging_and_prod_endpoints_reaching_in_service_start_the_monitor_pipeline(resolved, name, status, starts):
    rule_id, rule = _one(resolved, "AWS::Events::Rule", "ModelMonitorOnEndpointInService")
    pattern = rule["Properties"]["EventPattern"]
    assert eventbridge_render.matches(pattern, _endpoint_event(name, status)) is starts
    (target,) = rule["Properties"]["Targets"]
    (monitor,) = [i for i in _of_type(resolved, "AWS::CodePipeline::Pipeline") if i.startswith("ModelMonitorPipeline")]
    assert f'"Ref": "{monitor}"' in json.dumps(target["Arn"])


def test_the_endpoint_pattern_matches_no_other_event_type():
    pattern = endpoint_in_service_pattern("Churn-p-abc123-staging")
    event = _endpoint_event("Churn-p-abc123-staging", "IN_SERVICE")
    deployment = {**event, "detail-type": "SageMaker Endpoint Deployment State Change"}
    config = {**event, "detail-type": "SageMaker Endpoint Config State Change"}
    assert eventbridge_render.matches(pattern, event)
    assert not eventbridge_render.matches(pattern, deployment) and not eventbridge_render.matches(pattern, config)


def test_the_drift_alarms_may_publish_to_the_topic_from_the_stage_accounts(resolved, single_account):
    _, policy = _one(resolved, "AWS::SNS::TopicPolicy", "NotificationsTopicPolicy")
    (statement,) = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s.get("Sid") == "CloudWatchAlarmsOfProjectAccounts"]
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"} and statement["Action"] == "sns:Publish"
    assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == [TOOLING, STAGING, PROD]
    _, key = _one(resolved, "AWS::KMS::Key", "ArtifactsKey")
    (grant,) = [s for s in key["Properties"]["KeyPolicy"]["Statement"] if s.get("Sid") == "CloudWatchAlarmsPublishToTheNotificationTopic"]
    assert grant["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert set(grant["Condition"]["StringEquals"]) == {"kms:EncryptionContext:aws:sns:topicArn", "aws:SourceAccount"}
    _, single = _one(single_account, "AWS::SNS::TopicPolicy", "NotificationsTopicPolicy")
    (only,) = [s for s in single["Properties"]["PolicyDocument"]["Statement"] if s.get("Sid") == "CloudWatchAlarmsOfProjectAccounts"]
    assert only["Condition"]["StringEquals"]["aws:SourceAccount"] == [TOOLING]


def test_build_deploy_lets_no_cloudwatch_publish(assembly):
    for template_id in ("build-deploy", "image-build-deploy", "model-deploy"):
        assert "cloudwatch.amazonaws.com" not in json.dumps(assembly.templates[template_id])


def test_the_monitor_pipeline_failing_notifies_the_topic(template):
    _, rule = _one(template, "AWS::Events::Rule", "NotificationsPipelineFailed")
    (monitor,) = [i for i in _of_type(template, "AWS::CodePipeline::Pipeline") if i.startswith("ModelMonitorPipeline")]
    assert {"Ref": monitor} in rule["Properties"]["EventPattern"]["detail"]["pipeline"]


def test_retraining_is_a_parameter_off_by_default(template):
    parameter = template["Parameters"]["RetrainOnDrift"]
    assert (parameter["Default"], parameter["AllowedValues"]) == ("false", ["true", "false"])
    _, rule = _one(template, "AWS::Events::Rule", "RetrainOnDriftRule")
    assert rule["Condition"] == "RetrainOnDriftEnabled"
    assert template["Conditions"]["RetrainOnDriftEnabled"] == {"Fn::Equals": [{"Ref": "RetrainOnDrift"}, "true"]}


@pytest.mark.parametrize(
    ("alarm", "state", "starts"),
    [
        ("sagemaker-Churn-p-abc123-monitor-prod-DataQualityAlarm1A2B3C4D-ABCDEF123456", "ALARM", True),
        ("sagemaker-Churn-p-abc123-monitor-prod-ModelQualityAlarm5E6F7A8B-ABCDEF123456", "ALARM", True),
        ("sagemaker-Churn-p-abc123-monitor-prod-DataQualityAlarm1A2B3C4D-ABCDEF123456", "OK", False),
        ("sagemaker-Churn-p-abc123-monitor-prod-DataQualityAlarm1A2B3C4D-ABCDEF123456", "INSUFFICIENT_DATA", False),
        ("sagemaker-Churn-p-abc123-monitor-staging-DataQualityAlarm1A2B3C4D-ABCDEF123456", "ALARM", False),
        ("sagemaker-Churn-p-abc123-deploy-prod-Errors5xxAlarm1A2B3C4D-ABCDEF123456", "ALARM", False),
        ("sagemaker-Other-p-zzz999-monitor-prod-DataQualityAlarm1A2B3C4D-ABCDEF123456", "ALARM", False),
    ],
)
def test_retraining_on_starts_the_model_build_on_a_prod_drift_alarm_only(alarm, state, starts):
    stack = BuildDeployMonitorStack(new_app(), "Retrain", project_name="Churn", project_id="p-abc123", retrain_on_drift=True, env=ENV)
    template = Template.from_stack(stack).to_json()
    assert "RetrainOnDrift" not in template["Parameters"]
    _, rule = _one(template, "AWS::Events::Rule", "RetrainOnDriftRule")
    assert "Condition" not in rule
    assert eventbridge_render.matches(rule["Properties"]["EventPattern"], _alarm_event(alarm, state)) is starts
    (target,) = rule["Properties"]["Targets"]
    (model_build,) = [i for i in _of_type(template, "AWS::CodePipeline::Pipeline") if i.startswith("ModelBuildPipeline")]
    assert f'"Ref": "{model_build}"' in json.dumps(target["Arn"])


def test_retraining_off_adds_no_rule_and_no_parameter():
    template = Template.from_stack(BuildDeployMonitorStack(new_app(), "NoRetrain", retrain_on_drift=False)).to_json()
    assert "RetrainOnDrift" not in template["Parameters"]
    assert not [i for i in _of_type(template, "AWS::Events::Rule") if i.startswith("RetrainOnDrift")]


def test_retraining_takes_a_boolean_only():
    with pytest.raises(ValueError, match=r"invalid retrain_on_drift 'yes': expected True or False"):
        BuildDeployMonitorStack(App(), "Bad", retrain_on_drift="yes")


def test_deleting_the_project_deletes_the_monitor_stacks_before_the_endpoint_stacks(resolved):
    endpoint_id, endpoints = _one(resolved, "Custom::StageTeardown", "StageTeardown")
    monitor_id, monitors = _one(resolved, "Custom::StageTeardown", "MonitorTeardown")
    names = [s["StackName"] for s in monitors["Properties"]["Stages"]]
    assert names == ["sagemaker-Churn-p-abc123-monitor-staging", "sagemaker-Churn-p-abc123-monitor-prod"]
    assert [s["StackName"] for s in endpoints["Properties"]["Stages"]] == [
        "sagemaker-Churn-p-abc123-deploy-staging",
        "sagemaker-Churn-p-abc123-deploy-prod",
    ]
    # CloudFormation deletes in reverse dependency order: the monitor teardown first.
    assert endpoint_id in monitors["DependsOn"]
    # ... with the monitor deployer (this account) or each stage account's roles.
    (deployer_id,) = [i for i in _of_type(resolved, "AWS::IAM::Role") if i.startswith("ModelMonitorDeployerRole")]
    assert deployer_id in monitors["DependsOn"]
    for stage, account in zip(monitors["Properties"]["Stages"], (STAGING, PROD), strict=True):
        assert account in stage["AssumeRoleArn"] and account in stage["DeployerRoleArn"]
    (monitor_pipeline,) = [r for i, r in _of_type(resolved, "AWS::CodePipeline::Pipeline").items() if i.startswith("ModelMonitorPipeline")]
    assert monitor_id in monitor_pipeline["DependsOn"]


def test_the_monitor_deployer_lives_on_the_deployers_path_and_is_no_administrator(template):
    _, role = _one(template, "AWS::IAM::Role", "ModelMonitorDeployerRole")
    assert role["Properties"]["Path"] == "/sagemaker-project-deployers/"
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "cloudformation.amazonaws.com"}
    assert "ManagedPolicyArns" not in role["Properties"]


def test_a_connection_source_needs_a_monitor_repository():
    source = ConnectionSource(
        connection_arn=CONNECTION,
        model_build=GitRepository(full_name="acme/build"),
        model_deploy=GitRepository(full_name="acme/deploy"),
    )
    with pytest.raises(ValueError, match=r"invalid source.model_monitor None: expected a GitRepository"):
        BuildDeployMonitorStack(App(), "Git", source=source)


def test_with_a_connection_source_the_monitor_code_lives_on_the_git_host():
    source = ConnectionSource(
        connection_arn=CONNECTION,
        model_build=GitRepository(full_name="acme/build"),
        model_deploy=GitRepository(full_name="acme/deploy"),
        model_monitor=GitRepository(full_name="acme/monitor", branch="release"),
    )
    template = Template.from_stack(BuildDeployMonitorStack(new_app(), "Git", source=source, env=ENV)).to_json()
    assert not _of_type(template, "AWS::CodeCommit::Repository")
    names = [json.dumps(r["Properties"]["CodeRepositoryName"]) for r in _of_type(template, "AWS::SageMaker::CodeRepository").values()]
    assert len(names) == 3 and any("-modelmonitor" in n for n in names)
    _, pipeline = _one(template, "AWS::CodePipeline::Pipeline", "ModelMonitorPipeline")
    (source_action,) = pipeline["Properties"]["Stages"][0]["Actions"]
    assert source_action["Configuration"]["FullRepositoryId"] == "acme/monitor"
    assert source_action["Configuration"]["BranchName"] == "release"


def test_the_retraining_rule_hears_the_alarms_the_prod_monitor_stack_creates():
    """CloudFormation names the monitor stage stack's alarms ``<stack name>-<logical id>-<suffix>``:
    the rule's prefix is the prod stack's name, and every alarm of the stage template notifies
    the ``NotificationTopicArn`` the pipeline passes (build.py writes NOTIFICATION_TOPIC_ARN)."""
    from sagemaker_projects_cdk.stacks.monitor_stage import STAGE_TEMPLATE_PATH

    stage_template = json.loads(STAGE_TEMPLATE_PATH.read_text())
    alarms = {i: r for i, r in stage_template["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert alarms
    stack = BuildDeployMonitorStack(new_app(), "Names", project_name="Churn", project_id="p-abc123", retrain_on_drift=True, env=ENV)
    template = Template.from_stack(stack).to_json()
    _, rule = _one(template, "AWS::Events::Rule", "RetrainOnDriftRule")
    for logical_id, alarm in alarms.items():
        assert "AlarmName" not in alarm["Properties"]
        name = f"sagemaker-Churn-p-abc123-monitor-prod-{logical_id}-1A2B3C4D5E6F"
        assert eventbridge_render.matches(rule["Properties"]["EventPattern"], _alarm_event(name, "ALARM"))
        actions = json.dumps(alarm["Properties"]["AlarmActions"])
        assert '{"Ref": "NotificationTopicArn"}' in actions
    assert "NOTIFICATION_TOPIC_ARN" in _variables(template, "ModelMonitorBuild")


def test_the_dashboard_charts_each_stages_monitors(resolved, assembly):
    _, dashboard = _one(resolved, "AWS::CloudWatch::Dashboard", "Dashboard")
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    assert "No model monitor" not in body
    for stage in ("staging", "prod"):
        assert f"Model Monitor metrics of the {stage} endpoint" in body
        assert f'Endpoint=\\\\\\"Churn-p-abc123-{stage}\\\\\\"' in body
    for namespace in ("data-metrics", "model-metrics", "bias-metrics", "explainability-metrics"):
        assert body.count(f"aws/sagemaker/Endpoints/{namespace},Endpoint,MonitoringSchedule") == 2
    # A template without monitors keeps its note.
    (plain,) = [r for r in assembly.templates["build-deploy"]["Resources"].values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    assert "No model monitor" in json.dumps(plain["Properties"]["DashboardBody"])


def test_a_monitor_deployment_waiting_for_approval_notifies_the_topic(template):
    _, rule = _one(template, "AWS::Events::Rule", "NotificationsMonitorApprovalWaiting")
    (monitor,) = [i for i in _of_type(template, "AWS::CodePipeline::Pipeline") if i.startswith("ModelMonitorPipeline")]
    assert rule["Properties"]["EventPattern"]["detail"]["pipeline"] == [{"Ref": monitor}]
    _, pipeline = _one(template, "AWS::CodePipeline::Pipeline", "ModelMonitorPipeline")
    (approval,) = [a for s in pipeline["Properties"]["Stages"] for a in s["Actions"] if a["ActionTypeId"]["Category"] == "Approval"]
    assert approval["Configuration"]["CustomData"].startswith("Approve to deploy the model monitors to prod.")


def test_the_monitor_stages_follow_the_deploy_stages():
    from sagemaker_projects_cdk.constructs import DeployStage

    stages = (DeployStage(name="qa", test=True), DeployStage(name="staging"), DeployStage(name="prod", approval=True))
    stack = BuildDeployMonitorStack(new_app(), "Three", project_name="Churn", project_id="p-abc123", stages=stages, env=ENV)
    template = Template.from_stack(stack).to_json()
    _, pipeline = _one(template, "AWS::CodePipeline::Pipeline", "ModelMonitorPipeline")
    assert [s["Name"] for s in pipeline["Properties"]["Stages"]] == ["Source", "Build", "DeployQa", "DeployStaging", "DeployProd"]
    assert _variables(template, "ModelMonitorBuild")["DEPLOY_STAGES"] == "qa,staging,prod"
    # The first stage's endpoint and the last's start it, not the ones between.
    _, rule = _one(template, "AWS::Events::Rule", "ModelMonitorOnEndpointInService")
    assert eventbridge_render.matches(rule["Properties"]["EventPattern"], _endpoint_event("Churn-p-abc123-qa", "IN_SERVICE"))
    assert eventbridge_render.matches(rule["Properties"]["EventPattern"], _endpoint_event("Churn-p-abc123-prod", "IN_SERVICE"))
    assert not eventbridge_render.matches(rule["Properties"]["EventPattern"], _endpoint_event("Churn-p-abc123-staging", "IN_SERVICE"))
    _, teardown = _one(template, "Custom::StageTeardown", "MonitorTeardown")
    assert [s["StackName"].rsplit("-", 1)[1] for s in teardown["Properties"]["Stages"]] == ["qa", "staging", "prod"]
