"""build-deploy-jenkins: Jenkins builds and deploys from the two Git repositories; the template
gives it a role to assume (no IAM user, no keys) and starts its deploy job on approvals."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
from aws_cdk.assertions import Template

from sagemaker_projects_cdk.compliance import add_security_packs
from sagemaker_projects_cdk.constructs.jenkins import JENKINS_URL_PATTERN, JOB_NAME_PATTERN, SECRET_ARN_PATTERN
from sagemaker_projects_cdk.constructs.sources.seeded_repository import SEED_CODE_ROOT
from sagemaker_projects_cdk.stacks import BuildDeployJenkinsStack
from support import new_app

SUBNETS = ("subnet-0123456789abcdef0", "subnet-0fedcba9876543210")
GROUPS = ("sg-0123456789abcdef0",)
OIDC = "arn:aws:iam::111122223333:oidc-provider/jenkins.example.com/oidc"


def _of_type(template: dict, kind: str) -> dict[str, dict]:
    return {i: r for i, r in template["Resources"].items() if r["Type"] == kind}


@pytest.fixture(scope="module")
def template(assembly) -> dict:
    return assembly.templates["build-deploy-jenkins"]


def test_no_iam_user_no_access_key_no_codepipeline(template):
    types = {r["Type"] for r in template["Resources"].values()}
    assert not types & {"AWS::IAM::User", "AWS::IAM::AccessKey", "AWS::IAM::Group", "AWS::CodePipeline::Pipeline"}
    assert not types & {"AWS::CodeCommit::Repository", "AWS::SecretsManager::Secret"}
    # The one CodeBuild project seeds the repositories.
    assert [i[:21] for i in _of_type(template, "AWS::CodeBuild::Project")] == ["RepositorySeederBuild"]
    assert "AKIA" not in json.dumps(template)


def test_the_jenkins_role_trusts_only_the_named_role(template):
    (role,) = [r for i, r in _of_type(template, "AWS::IAM::Role").items() if i.startswith("JenkinsRole")]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"AWS": {"Ref": "JenkinsPrincipalRoleArn"}}}
    ]
    assert role["Properties"]["Path"] == "/sagemaker-project-jenkins/"
    # The project tags the target-account baseline and the key policies look for.
    assert {t["Key"] for t in role["Properties"]["Tags"]} == {"sagemaker:project-id", "sagemaker:project-name"}
    parameter = template["Parameters"]["JenkinsPrincipalRoleArn"]["AllowedPattern"][1:-1]
    assert re.fullmatch(parameter, "arn:aws:iam::111122223333:role/ci/jenkins-agents")
    assert not re.fullmatch(parameter, "arn:aws:iam::111122223333:user/jenkins")


def test_the_oidc_variant_is_refused_at_synth_saying_why():
    # The Jenkinsfiles bind no OIDC token and assume the role with the agents' own AWS role; a
    # template trusting an OIDC subject would deploy and never work.
    with pytest.raises(ValueError, match=r"invalid jenkins_oidc_provider_arn .*: expected no value: the OIDC variant is not supported"):
        BuildDeployJenkinsStack(new_app(), "Oidc", jenkins_oidc_provider_arn=OIDC, jenkins_oidc_subject="jenkins-prod")


def test_the_jenkins_role_construct_refuses_an_oidc_principal_too():
    from aws_cdk import Stack

    from sagemaker_projects_cdk.constructs.jenkins import JenkinsRole

    with pytest.raises(ValueError, match=r"invalid oidc_provider_arn .*: expected no value: the OIDC variant is not supported"):
        JenkinsRole(
            Stack(new_app(), "S"),
            "Jenkins",
            project=None,  # type: ignore[arg-type]
            bucket=None,  # type: ignore[arg-type]
            model_package_group=None,  # type: ignore[arg-type]
            execution_role_arn="arn:aws:iam::111122223333:role/x",
            deployer_role_arn="arn:aws:iam::111122223333:role/y",
            oidc_provider_arn=OIDC,
            oidc_subject="jenkins-prod",
        )


def test_the_trigger_calls_the_deploy_job_with_basic_auth_from_the_named_secret(template):
    (connection,) = _of_type(template, "AWS::Events::Connection").values()
    basic = connection["Properties"]["AuthParameters"]["BasicAuthParameters"]
    for field, key in (("Username", "username"), ("Password", "token")):
        assert basic[field] == {
            "Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": "JenkinsCredentialsSecretArn"}, f":SecretString:{key}::}}}}"]]
        }
    (destination,) = _of_type(template, "AWS::Events::ApiDestination").values()
    assert destination["Properties"]["HttpMethod"] == "POST"
    # The job's name: the parameter, or when empty the seed job's default <name>-<id>-model-deploy.
    assert destination["Properties"]["InvocationEndpoint"] == {
        "Fn::Join": [
            "",
            [
                {"Ref": "JenkinsUrl"},
                "/job/",
                {
                    "Fn::If": [
                        "JenkinsDeployJobNameIsDefault",
                        {"Fn::Join": ["", [{"Ref": "SageMakerProjectName"}, "-", {"Ref": "SageMakerProjectId"}, "-model-deploy"]]},
                        {"Ref": "JenkinsDeployJobName"},
                    ]
                },
                "/buildWithParameters",
            ],
        ]
    }
    assert template["Conditions"]["JenkinsDeployJobNameIsDefault"] == {"Fn::Equals": [{"Ref": "JenkinsDeployJobName"}, ""]}
    parameters = template["Parameters"]
    assert parameters["JenkinsUrl"]["AllowedPattern"] == f"^{JENKINS_URL_PATTERN}$"
    assert parameters["JenkinsDeployJobName"]["AllowedPattern"] == f"^$|^{JOB_NAME_PATTERN}$"
    assert parameters["JenkinsDeployJobName"]["Default"] == ""
    assert parameters["JenkinsCredentialsSecretArn"]["AllowedPattern"] == f"^{SECRET_ARN_PATTERN}$"
    assert "NoEcho" not in parameters["JenkinsCredentialsSecretArn"]  # an ARN, not a secret
    assert not re.fullmatch(JENKINS_URL_PATTERN, "http://jenkins.example.com")
    # The job name's CloudFormation pattern (Java regular expressions: lookaheads work) refuses what
    # Jenkins refuses: '.', '..' and any name ending in '.'; it accepts empty (the default name).
    job = parameters["JenkinsDeployJobName"]["AllowedPattern"]
    for name in ("", "model-deploy", "a.b", ".hidden", "v1.2-deploy"):
        assert re.search(job, name), name
    for name in (".", "..", "model-deploy.", "a..", "folder/job", "a b"):
        assert not re.search(job, name), name


def test_the_rule_retries_then_dead_letters_to_an_encrypted_queue_with_an_alarm(template):
    (rule,) = [r for i, r in _of_type(template, "AWS::Events::Rule").items() if i.startswith("JenkinsTrigger")]
    (target,) = rule["Properties"]["Targets"]
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
    (queue_id,) = _of_type(template, "AWS::SQS::Queue")
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    queue = template["Resources"][queue_id]["Properties"]
    assert queue["KmsMasterKeyId"] == {"Fn::GetAtt": [next(i for i in template["Resources"] if i.startswith("ArtifactsKey")), "Arn"]}
    (policy,) = _of_type(template, "AWS::SQS::QueuePolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements)
    (send,) = [s for s in statements if s["Effect"] == "Allow"]
    assert send["Principal"] == {"Service": "events.amazonaws.com"} and send["Action"] == "sqs:SendMessage"
    # EventBridge may use the project key for this rule's dead letters only.
    (key,) = _of_type(template, "AWS::KMS::Key").values()
    (events_key,) = [s for s in key["Properties"]["KeyPolicy"]["Statement"] if s.get("Sid") == "EventBridgeDeadLettersOfTheJenkinsTrigger"]
    assert set(events_key["Condition"]) == {"ArnEquals"}
    (alarm,) = _of_type(template, "AWS::CloudWatch::Alarm").values()
    assert alarm["Properties"]["Namespace"] == "AWS/SQS" and alarm["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Properties"]["Threshold"] == 1
    # The project's topic hears it.
    notified = [
        r for i, r in _of_type(template, "AWS::Events::Rule").items()
        if i.startswith("NotificationsTriggerFailed")
    ]
    assert notified[0]["Properties"]["EventPattern"]["detail"]["alarmName"] == [alarm["Properties"]["AlarmName"]]


def test_the_repositories_are_seeded_with_the_jenkins_overlay(assembly, template):
    seeds = _of_type(template, "Custom::SeedRepository")
    assert len(seeds) == 2
    for seed in seeds.values():
        part = "model_build" if seed["Properties"]["FullRepositoryName"] == {"Ref": "ModelBuildRepositoryFullName"} else "model_deploy"
        key = seed["Properties"]["SeedKey"]
        asset_hash = key.split(".")[0]
        staged = assembly.outdir / f"asset.{asset_hash}"
        files = {str(p.relative_to(staged)) for p in staged.rglob("*") if p.is_file()}
        if not files:  # a zip was staged instead of a folder
            with zipfile.ZipFile(next(assembly.outdir.glob(f"asset.{asset_hash}*"))) as archive:
                files = set(archive.namelist())
        seed_files = {str(p.relative_to(SEED_CODE_ROOT / part)) for p in (SEED_CODE_ROOT / part).rglob("*") if p.is_file() and "__pycache__" not in p.parts and ".pytest_cache" not in p.parts}
        overlay = SEED_CODE_ROOT / "jenkins" / part
        overlay_files = {str(p.relative_to(overlay)) for p in overlay.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
        assert overlay_files and "Jenkinsfile" in overlay_files
        assert files == seed_files | overlay_files, (part, sorted(files ^ (seed_files | overlay_files)))
        for name in overlay_files:
            assert (Path(staged) / name).read_bytes() == (overlay / name).read_bytes()


def test_the_outputs_hold_what_the_seed_job_fills_in(template):
    assert {
        "JenkinsRoleArn", "ProjectName", "ProjectId", "SageMakerPipelineName", "SageMakerPipelineRoleArn", "ArtifactBucketName",
        "ArtifactKmsKeyArn", "ModelPackageGroupName", "DeployerRoleArn", "StagingStackName", "ProdStackName", "DatasetS3Url",
        "DeployJobName", "ModelBuildRepositoryName", "ModelDeployRepositoryName", "Region", "ModelBuildRepositoryUrl",
        "ModelDeployRepositoryUrl", "ModelBuildBranch", "ModelDeployBranch",
    } <= set(template["Outputs"])


def test_a_vpc_jenkins_is_called_by_a_function_in_its_subnets(tmp_path):
    app = new_app(tmp_path)
    add_security_packs(app)
    stack = BuildDeployJenkinsStack(
        app, "Vpc", jenkins_reachability="vpc", jenkins_subnet_ids=SUBNETS, jenkins_security_group_ids=GROUPS
    )
    app.synth()  # the security packs pass this variant too
    template = Template.from_stack(stack).to_json()
    assert not _of_type(template, "AWS::Events::Connection") and not _of_type(template, "AWS::Events::ApiDestination")
    functions = {i: r for i, r in _of_type(template, "AWS::Lambda::Function").items() if i.startswith("JenkinsTrigger")}
    ((function_id, function),) = functions.items()
    properties = function["Properties"]
    assert properties["VpcConfig"] == {"SubnetIds": list(SUBNETS), "SecurityGroupIds": list(GROUPS)}
    (queue_id,) = _of_type(template, "AWS::SQS::Queue")
    assert properties["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    assert properties["Environment"]["Variables"]["SECRET_ARN"] == {"Ref": "JenkinsCredentialsSecretArn"}
    (invoke,) = _of_type(template, "AWS::Lambda::EventInvokeConfig").values()
    assert invoke["Properties"]["MaximumRetryAttempts"] == 2
    (rule,) = [r for i, r in _of_type(template, "AWS::Events::Rule").items() if i.startswith("JenkinsTrigger")]
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    role_id = properties["Role"]["Fn::GetAtt"][0]
    (policy,) = [r for r in _of_type(template, "AWS::IAM::Policy").values() if {"Ref": role_id} in r["Properties"]["Roles"]]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (read,) = [s for s in statements if s["Action"] == "secretsmanager:GetSecretValue"]
    assert read["Resource"] == {"Ref": "JenkinsCredentialsSecretArn"}


def test_names_fit_their_limits_for_the_longest_project():
    stack = BuildDeployJenkinsStack(new_app(), "Longest", project_name="n" * 26, project_id="p-" + "b" * 18)
    template = Template.from_stack(stack).to_json()
    (rule,) = [r for i, r in _of_type(template, "AWS::Events::Rule").items() if i.startswith("JenkinsTrigger")]
    assert len(rule["Properties"]["Name"]) <= 64
    (queue,) = _of_type(template, "AWS::SQS::Queue").values()
    assert len(queue["Properties"]["QueueName"]) <= 80
    (alarm,) = _of_type(template, "AWS::CloudWatch::Alarm").values()
    assert len(alarm["Properties"]["AlarmName"]) <= 255
    for output in ("StagingStackName", "ProdStackName"):
        assert len(template["Outputs"][output]["Value"]) <= 128


def test_the_outputs_fill_every_value_the_seed_job_requires(template):
    """seed_job.groovy fails naming a missing value; each one it requires is an output (but the
    Git credentials' id, which is Jenkins's own), and the deploy job it creates by default is the
    one the trigger starts."""
    from sagemaker_projects_cdk.stacks.build_deploy_jenkins import SEED_JOB_OUTPUTS

    script = (SEED_CODE_ROOT / "jenkins" / "model_deploy" / "seed_job.groovy").read_text()
    (required,) = re.findall(r"def required = \[(.*?)\]", script, re.DOTALL)
    names = set(re.findall(r"'([A-Z_]+)'", required))
    assert names - set(SEED_JOB_OUTPUTS) == {"GIT_CREDENTIALS_ID"}
    optional = set(re.findall(r"setting\('([A-Z_]+)', ", script))
    assert set(SEED_JOB_OUTPUTS) - names <= optional
    assert set(SEED_JOB_OUTPUTS.values()) <= set(template["Outputs"])
    assert 'def deployJobName = setting(\'DEPLOY_JOB_NAME\', "${projectName}-${projectId}-model-deploy")' in script
    assert template["Outputs"]["DeployJobName"]["Value"]["Fn::If"][1] == {
        "Fn::Join": ["", [{"Ref": "SageMakerProjectName"}, "-", {"Ref": "SageMakerProjectId"}, "-model-deploy"]]
    }


def test_deleting_the_project_deletes_the_stage_stacks_jenkins_deployed(template):
    (teardown_id, teardown), = _of_type(template, "Custom::StageTeardown").items()
    stages = teardown["Properties"]["Stages"]
    assert [s["StackName"] for s in stages] == [
        {"Fn::Join": ["", ["sagemaker-", {"Ref": "SageMakerProjectName"}, "-", {"Ref": "SageMakerProjectId"}, f"-deploy-{stage}"]]}
        for stage in ("staging", "prod")
    ]
    deployer = next(i for i in _of_type(template, "AWS::IAM::Role") if i.startswith("ModelDeployDeployerRole"))
    assert all(s["DeployerRoleArn"] == {"Fn::GetAtt": [deployer, "Arn"]} and s["AssumeRoleArn"] == "" for s in stages)
    # Deleted before the deployer role, after the Jenkins role (Jenkins cannot deploy a stage meanwhile).
    assert deployer in teardown["DependsOn"]
    (jenkins_role,) = [r for i, r in _of_type(template, "AWS::IAM::Role").items() if i.startswith("JenkinsRole")]
    assert teardown_id in jenkins_role["DependsOn"]


def test_the_vpc_functions_role_may_do_what_lambda_and_the_handler_do_and_no_more():
    """What runs as the function's role (Lambda developer guide: VPC networking needs the
    network-interface calls, an asynchronous dead-letter queue sqs:SendMessage; the handler reads
    the secret; the function writes its log group; SQS encrypts with the project key)."""
    from role_checks import RoleCheck, missing, request, unneeded

    from iam_eval import Policy, Resolver, role_policy_documents

    stack = BuildDeployJenkinsStack(
        new_app(), "Vpc", jenkins_reachability="vpc", jenkins_subnet_ids=SUBNETS, jenkins_security_group_ids=GROUPS
    )
    template = Template.from_stack(stack).to_json()
    region, account = "us-east-1", "123456789012"
    secret = f"arn:aws:secretsmanager:{region}:{account}:secret:jenkins/churn-AbCdEf"
    key = f"arn:aws:kms:{region}:{account}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    (function_id,) = [i for i in _of_type(template, "AWS::Lambda::Function") if i.startswith("JenkinsTrigger")]
    role_id = template["Resources"][function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    (log_group_id,) = [i for i in _of_type(template, "AWS::Logs::LogGroup") if i.startswith("JenkinsTrigger")]
    (queue_id,) = _of_type(template, "AWS::SQS::Queue")
    (key_id,) = _of_type(template, "AWS::KMS::Key")
    queue = f"arn:aws:sqs:{region}:{account}:sagemaker-churn-p-abc123def456-jenkins-trigger-dlq"
    resolver = Resolver(
        template,
        parameters={
            "SageMakerProjectName": "churn",
            "SageMakerProjectId": "p-abc123def456",
            "JenkinsCredentialsSecretArn": secret,
            "CodeConnectionArn": "arn:aws:codeconnections:us-east-1:123456789012:connection/0b7e4f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
            "ModelBuildRepositoryFullName": "acme/churn-build",
            "ModelDeployRepositoryFullName": "acme/churn-deploy",
            "JenkinsUrl": "https://jenkins.example.com",
            "JenkinsPrincipalRoleArn": "arn:aws:iam::123456789012:role/jenkins-controller",
        },
        attributes={(queue_id, "Arn"): queue, (key_id, "Arn"): key},
        region=region,
        account=account,
    )
    log_group = resolver.resolve({"Fn::GetAtt": [log_group_id, "Arn"]})
    interface = f"arn:aws:ec2:{region}:{account}:network-interface/eni-0123456789abcdef0"
    subnet = f"arn:aws:ec2:{region}:{account}:subnet/{SUBNETS[0]}"
    group = f"arn:aws:ec2:{region}:{account}:security-group/{GROUPS[0]}"
    requests = [
        request("logs:CreateLogStream", log_group, "the function's logs"),
        request("logs:PutLogEvents", log_group, "the function's logs"),
        request("secretsmanager:GetSecretValue", secret, "index.py reads the Jenkins user and token"),
        *(request("ec2:CreateNetworkInterface", arn, "Lambda attaches the function to the subnet") for arn in (interface, subnet, group)),
        request("ec2:DescribeNetworkInterfaces", "*", "Lambda manages the function's network interfaces"),
        request("ec2:DescribeSubnets", "*", "Lambda reads the subnets"),
        request("ec2:DescribeSecurityGroups", "*", "Lambda reads the security groups"),
        request("ec2:DeleteNetworkInterface", interface, "Lambda removes an interface it no longer needs"),
        request("ec2:AssignPrivateIpAddresses", interface, "Lambda scales the interface"),
        request("ec2:UnassignPrivateIpAddresses", interface, "Lambda scales the interface"),
        request("sqs:SendMessage", queue, "Lambda dead-letters a failed asynchronous invocation"),
        request("kms:GenerateDataKey", key, "SQS encrypts the dead letter with the project key"),
        request("kms:Decrypt", key, "SQS reuses a data key of the project key"),
    ]
    check = RoleCheck("the VPC trigger function's role", Policy(role_policy_documents(resolver, role_id)), requests)
    assert missing(check) == []
    assert unneeded(check) == []
    assert not check.policy.allowed("secretsmanager:GetSecretValue", secret.replace("jenkins/churn", "other"))


def test_the_jenkins_role_may_run_an_asynchronous_or_batch_stages_tests(template):
    # The deploy repository's stage configuration may make staging asynchronous or batch; its tests
    # (test/test_endpoint.py) then submit requests or test rows and run the transform, as the
    # build-deploy test project's QueueTests policy allows (stage_queue_test_statements).
    policies = [
        p for i, p in _of_type(template, "AWS::IAM::Policy").items() if i.startswith("JenkinsRoleDefaultPolicy")
    ]
    (policy,) = policies
    statements = policy["Properties"]["PolicyDocument"]["Statement"]

    def resources_of(action: str) -> str:
        found = [s for s in statements if action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
        assert found, action
        return json.dumps([s["Resource"] for s in found])

    assert "-staging" in resources_of("sagemaker:InvokeEndpointAsync")
    writes = resources_of("s3:PutObject")
    assert "/async-inference/*-staging/input/*" in writes and "/batch-transform/staging/test-input/*" in writes
    assert "-staging-transform" in resources_of("states:StartExecution")
    assert "-staging-transform:*" in resources_of("states:DescribeExecution")
    assert "-staging-transform:*" in resources_of("states:StopExecution")
    assert "deploy-staging/*" in resources_of("cloudformation:DescribeStackResource")
    assert "ArtifactKey" in resources_of("kms:GenerateDataKey") or "Key" in resources_of("kms:GenerateDataKey")
    # prod is not tested by Jenkins: no test permissions there.
    assert "-prod-transform" not in json.dumps(statements)
