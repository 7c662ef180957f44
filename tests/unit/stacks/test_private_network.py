"""Private networking end to end: every CodeBuild project, SageMaker role, stage model and
monitoring job in the given subnets when the setting (or its parameters) is given, none when
not; subnets and security groups together or not at all; what the roles may then do."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from iam_eval import ACCOUNT, REGION, role_policy
from sagemaker_projects_cdk.constructs.network import SUBNET_ID, PrivateNetwork
from sagemaker_projects_cdk.stacks import TEMPLATES, ModelBuildStack
from sagemaker_projects_cdk.stacks.endpoint_stage import synth_stage_template
from sagemaker_projects_cdk.stacks.monitor_stage import synth_stage_template as synth_monitor_template
from sagemaker_projects_cdk.stacks.serving_stages import synth_async_template, synth_batch_template
from support import new_app

VPC_ID = "vpc-0123456789abcdef0"
SUBNETS = ("subnet-0123456789abcdef0", "subnet-0fedcba9876543210")
GROUPS = ("sg-0123456789abcdef0",)
NETWORK = PrivateNetwork(vpc_id=VPC_ID, subnet_ids=SUBNETS, security_group_ids=GROUPS)
PARAMETERS = {"PrivateVpcId": VPC_ID, "PrivateSubnetIds": ",".join(SUBNETS), "PrivateSecurityGroupIds": ",".join(GROUPS)}
NO_VALUE = {"Ref": "AWS::NoValue"}
SAGEMAKER_VPC = {"Subnets": list(SUBNETS), "SecurityGroupIds": list(GROUPS)}
PARAMETER_VPC = {"Subnets": {"Ref": "PrivateSubnetIds"}, "SecurityGroupIds": {"Ref": "PrivateSecurityGroupIds"}}


def _of_type(template: dict, resource_type: str) -> dict[str, dict]:
    return {i: r for i, r in template["Resources"].items() if r["Type"] == resource_type}


def _synth(stack_class: Any, **settings: Any) -> dict:
    app = new_app()
    stack = stack_class(app, "Stack", **settings)
    return app.synth().get_stack_by_name(stack.stack_name).template


def _attributes(template: dict) -> dict[tuple[str, str], str]:
    """Sample ARNs of the resources iam_eval has none for (ECR repositories, API destinations...):
    only the EC2 permissions are evaluated here."""
    known = {"AWS::S3::Bucket", "AWS::KMS::Key", "AWS::IAM::Role", "AWS::CodeBuild::Project", "AWS::Logs::LogGroup",
             "AWS::CodeCommit::Repository", "AWS::Lambda::Function"}  # fmt: skip
    return {
        (i, "Arn"): f"arn:aws:{r['Type'].split('::')[1].lower()}:{REGION}:{ACCOUNT}:sample/{i.lower()}"
        for i, r in template["Resources"].items()
        if r["Type"] not in known
    }


def _required(template: dict) -> dict[str, str]:
    """Sample values of the parameters that have no default (the Git and Jenkins templates')."""
    values = _parameter_values()
    samples = {
        "CodeConnectionArn": values["connection_arn"], "ModelBuildRepositoryFullName": values["model_build_repository"],
        "ModelDeployRepositoryFullName": values["model_deploy_repository"], "JenkinsUrl": values["jenkins_url"],
        "JenkinsCredentialsSecretArn": values["jenkins_credentials_secret_arn"], "JenkinsPrincipalRoleArn": values["jenkins_role_arn"],
    }  # fmt: skip
    return {name: samples[name] for name, p in template.get("Parameters", {}).items() if "Default" not in p and name in samples}


def _environment(project: dict) -> dict[str, Any]:
    return {v["Name"]: v["Value"] for v in project["Properties"]["Environment"].get("EnvironmentVariables", [])}


# ---------------------------------------------------------------- the project templates


def _parameter_values() -> dict[str, Any]:
    """A valid value for each setting that is a parameter when not given (the declarations' test's)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("declarations", Path(__file__).with_name("test_template_declarations.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.PARAMETER_VALUES)


@pytest.mark.parametrize("template_id", list(TEMPLATES))
def test_given_every_codebuild_project_and_sagemaker_role_is_in_the_subnets(template_id):
    # Every other setting given too: the roles are then evaluated without parameters.
    values = _parameter_values()
    given = {name: values[name] for name in TEMPLATES[template_id].TEMPLATE.settings.parameters()}
    template = _synth(TEMPLATES[template_id], **{**given, "private_network": NETWORK})
    assert not {"PrivateVpcId", "PrivateSubnetIds", "PrivateSecurityGroupIds"} & set(template.get("Parameters", {}))
    projects = _of_type(template, "AWS::CodeBuild::Project")
    assert projects
    for logical_id, project in projects.items():
        assert project["Properties"]["VpcConfig"] == {
            "VpcId": VPC_ID, "Subnets": list(SUBNETS), "SecurityGroupIds": list(GROUPS)
        }, logical_id  # fmt: skip
        role = project["Properties"]["ServiceRole"]["Fn::GetAtt"][0]
        policy = role_policy(template, role, attributes=_attributes(template))
        interface = f"arn:aws:ec2:{REGION}:{ACCOUNT}:network-interface/eni-0123456789abcdef0"
        for subnet in SUBNETS:
            context = {"ec2:AuthorizedService": "codebuild.amazonaws.com", "ec2:Subnet": f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/{subnet}"}
            assert policy.allowed("ec2:CreateNetworkInterfacePermission", interface, context), logical_id
        # Only for CodeBuild, only in the given subnets.
        other = {"ec2:AuthorizedService": "codebuild.amazonaws.com", "ec2:Subnet": f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/subnet-0aaaaaaaaaaaaaaaa"}
        assert not policy.allowed("ec2:CreateNetworkInterfacePermission", interface, other), logical_id
        for_lambda = {"ec2:AuthorizedService": "lambda.amazonaws.com", "ec2:Subnet": f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/{SUBNETS[0]}"}
        assert not policy.allowed("ec2:CreateNetworkInterfacePermission", interface, for_lambda), logical_id
        assert policy.allowed("ec2:CreateNetworkInterface", interface) and policy.allowed("ec2:DescribeSecurityGroups", "*")
        subnet = f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/{SUBNETS[0]}"
        assert policy.allowed("ec2:CreateNetworkInterface", subnet, {"ec2:Vpc": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/{VPC_ID}"})
        assert not policy.allowed("ec2:CreateNetworkInterface", subnet, {"ec2:Vpc": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/vpc-0bbbbbbbbbbbbbbbb"})
        # The project waits for its network policy: CodeBuild checks it when the project is created.
        assert any("PrivateNetworkPolicy" in d for d in project.get("DependsOn", [])), logical_id
    # The seed code names the subnets to the SageMaker jobs and the stage templates.
    for project in projects.values():
        environment = _environment(project)
        if "SAGEMAKER_PIPELINE_ROLE_ARN" in environment or "DEPLOY_STAGES" in environment:
            assert environment["PRIVATE_SUBNET_IDS"] == ",".join(SUBNETS)
            assert environment["PRIVATE_SECURITY_GROUP_IDS"] == ",".join(GROUPS)
            assert environment["PRIVATE_VPC_ID"] == VPC_ID
            # Only the model build reads the isolation flag (the deploy build's stage models stay isolated).
            assert environment.get("PRIVATE_NETWORK_ISOLATION") == ("true" if "SAGEMAKER_PIPELINE_ROLE_ARN" in environment else None)


def test_network_isolation_false_reaches_the_model_build_and_the_stage_models_stay_isolated(stage_templates):
    from dataclasses import replace

    template = _synth(ModelBuildStack, private_network=replace(NETWORK, network_isolation=False))
    variables = [_environment(p) for p in _of_type(template, "AWS::CodeBuild::Project").values()]
    (build,) = [v for v in variables if "SAGEMAKER_PIPELINE_ROLE_ARN" in v]
    assert build["PRIVATE_NETWORK_ISOLATION"] == "false" and build["PRIVATE_SUBNET_IDS"] == ",".join(SUBNETS)
    # The stage templates have no parameter for it: their models are isolated either way.
    for kind in ("endpoint", "async", "batch"):
        assert "PrivateNetworkIsolation" not in stage_templates[kind]["Parameters"]
        (model,) = _of_type(stage_templates[kind], "AWS::SageMaker::Model").values()
        assert model["Properties"]["EnableNetworkIsolation"] is True, kind


def test_given_the_sagemaker_pipeline_role_creates_interfaces_in_the_vpc_only():
    template = _synth(ModelBuildStack, private_network=NETWORK)
    (role,) = [i for i in _of_type(template, "AWS::IAM::Role") if i.startswith("ModelBuildExecutionRole")]
    policy = role_policy(template, role)
    subnet = f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/{SUBNETS[0]}"
    vpc = {"ec2:Vpc": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/{VPC_ID}"}
    assert policy.allowed("ec2:CreateNetworkInterface", subnet, vpc)
    assert policy.allowed("ec2:CreateNetworkInterface", f"arn:aws:ec2:{REGION}:{ACCOUNT}:network-interface/eni-1")
    assert policy.allowed("ec2:DeleteNetworkInterface", f"arn:aws:ec2:{REGION}:{ACCOUNT}:network-interface/eni-1")
    assert policy.allowed("ec2:DescribeVpcs", "*") and policy.allowed("ec2:DescribeDhcpOptions", "*")
    assert not policy.allowed("ec2:CreateNetworkInterface", subnet, {"ec2:Vpc": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/vpc-0bbbbbbbbbbbbbbbb"})
    group = f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{GROUPS[0]}"
    assert policy.allowed("ec2:CreateNetworkInterface", group, vpc)
    assert not policy.allowed("ec2:CreateNetworkInterface", group, {"ec2:Vpc": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/vpc-0bbbbbbbbbbbbbbbb"})


SHARED_OWNER = "210987654321"


def test_a_vpc_shared_from_another_account_is_allowed():
    # A VPC shared through AWS RAM: its subnets, security groups and the VPC carry the owner's account.
    assert SHARED_OWNER != ACCOUNT
    template = _synth(ModelBuildStack, private_network=NETWORK)
    (role,) = [i for i in _of_type(template, "AWS::IAM::Role") if i.startswith("ModelBuildExecutionRole")]
    policy = role_policy(template, role)
    vpc = {"ec2:Vpc": f"arn:aws:ec2:{REGION}:{SHARED_OWNER}:vpc/{VPC_ID}"}
    for resource in (f"subnet/{SUBNETS[0]}", f"security-group/{GROUPS[0]}"):
        assert policy.allowed("ec2:CreateNetworkInterface", f"arn:aws:ec2:{REGION}:{SHARED_OWNER}:{resource}", vpc), resource
    other_vpc = {"ec2:Vpc": f"arn:aws:ec2:{REGION}:{SHARED_OWNER}:vpc/vpc-0bbbbbbbbbbbbbbbb"}
    assert not policy.allowed("ec2:CreateNetworkInterface", f"arn:aws:ec2:{REGION}:{SHARED_OWNER}:subnet/{SUBNETS[0]}", other_vpc)
    # The CodeBuild projects: the permission on the owner's subnet ARN.
    (project_id, project) = next(iter(_of_type(template, "AWS::CodeBuild::Project").items()))
    build = role_policy(template, project["Properties"]["ServiceRole"]["Fn::GetAtt"][0], attributes=_attributes(template))
    interface = f"arn:aws:ec2:{REGION}:{ACCOUNT}:network-interface/eni-1"
    shared = {"ec2:AuthorizedService": "codebuild.amazonaws.com", "ec2:Subnet": f"arn:aws:ec2:{REGION}:{SHARED_OWNER}:subnet/{SUBNETS[0]}"}
    assert build.allowed("ec2:CreateNetworkInterfacePermission", interface, shared), project_id
    assert build.allowed("ec2:CreateNetworkInterface", f"arn:aws:ec2:{REGION}:{SHARED_OWNER}:subnet/{SUBNETS[0]}", vpc), project_id


@pytest.mark.parametrize("template_id", list(TEMPLATES))
def test_not_given_the_network_is_three_empty_parameters_and_applies_to_nothing(assembly, template_id):
    template = assembly.templates[template_id]
    parameters = template["Parameters"]
    assert parameters["PrivateVpcId"]["Default"] == ""
    assert parameters["PrivateSubnetIds"] == {**parameters["PrivateSubnetIds"], "Type": "CommaDelimitedList", "Default": ""}
    assert parameters["PrivateSecurityGroupIds"]["Type"] == "CommaDelimitedList"
    assert "PrivateNetworkTogether" in template["Rules"]
    for logical_id, project in _of_type(template, "AWS::CodeBuild::Project").items():
        vpc_config = project["Properties"]["VpcConfig"]
        assert vpc_config["Fn::If"][0] == "PrivateNetworkOn" and vpc_config["Fn::If"][2] == NO_VALUE, logical_id
    for logical_id, policy in _of_type(template, "AWS::IAM::ManagedPolicy").items():
        if "PrivateNetworkPolicy" in logical_id:
            assert policy["Condition"] == "PrivateNetworkOn", logical_id
    # With the parameters empty, no role may create a network interface.
    for logical_id in _of_type(template, "AWS::IAM::Role"):
        policy = role_policy(template, logical_id, attributes=_attributes(template), parameters=_required(template))
        assert not policy.allowed("ec2:CreateNetworkInterface", f"arn:aws:ec2:{REGION}:{ACCOUNT}:network-interface/eni-1"), logical_id
        assert not policy.allowed("ec2:CreateNetworkInterfacePermission", f"arn:aws:ec2:{REGION}:{ACCOUNT}:network-interface/eni-1"), logical_id


def test_the_parameters_given_put_the_build_in_the_subnets(assembly):
    template = assembly.templates["model-build"]
    (project_id, project) = next(iter(_of_type(template, "AWS::CodeBuild::Project").items()))
    role = project["Properties"]["ServiceRole"]["Fn::GetAtt"][0]
    policy = role_policy(template, role, parameters=PARAMETERS)
    interface = f"arn:aws:ec2:{REGION}:{ACCOUNT}:network-interface/eni-1"
    context = {"ec2:AuthorizedService": "codebuild.amazonaws.com", "ec2:Subnet": f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/{SUBNETS[1]}"}
    assert policy.allowed("ec2:CreateNetworkInterfacePermission", interface, context)
    other = {**context, "ec2:Subnet": f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/subnet-0aaaaaaaaaaaaaaaa"}
    assert not policy.allowed("ec2:CreateNetworkInterfacePermission", interface, other)
    assert _environment(project)["PRIVATE_SUBNET_IDS"] == {
        "Fn::If": ["PrivateNetworkOn", {"Fn::Join": [",", {"Ref": "PrivateSubnetIds"}]}, ""]
    }
    # In the given VPC's subnets and security groups only.
    vpc, wrong = ({"ec2:Vpc": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/{v}"} for v in (VPC_ID, "vpc-0bbbbbbbbbbbbbbbb"))
    for resource in (f"subnet/{SUBNETS[0]}", f"security-group/{GROUPS[0]}"):
        arn = f"arn:aws:ec2:{REGION}:{ACCOUNT}:{resource}"
        assert policy.allowed("ec2:CreateNetworkInterface", arn, vpc), resource
        assert not policy.allowed("ec2:CreateNetworkInterface", arn, wrong), resource


@pytest.mark.parametrize("template_id", list(TEMPLATES))
def test_with_the_parameters_each_project_waits_for_its_conditional_network_policy(assembly, template_id):
    # DependsOn may not name a conditional resource: each project waits for a handle whose
    # metadata refers to its policy when the network is on.
    template = assembly.templates[template_id]
    resources = template["Resources"]
    for logical_id, project in _of_type(template, "AWS::CodeBuild::Project").items():
        handles = [d for d in project.get("DependsOn", []) if "PrivateNetworkPolicyReady" in d]
        assert len(handles) == 1, logical_id
        handle = resources[handles[0]]
        assert handle["Type"] == "AWS::CloudFormation::WaitConditionHandle" and "Condition" not in handle
        (_, reference, otherwise) = handle["Metadata"]["Policy"]["Fn::If"]
        assert handle["Metadata"]["Policy"]["Fn::If"][0] == "PrivateNetworkOn" and otherwise == ""
        policy = resources[reference["Ref"]]
        assert policy["Type"] == "AWS::IAM::ManagedPolicy" and policy["Condition"] == "PrivateNetworkOn"
        role = project["Properties"]["ServiceRole"]["Fn::GetAtt"][0]
        assert {"Ref": role} in policy["Properties"]["Roles"], logical_id


# ---------------------------------------------------------------- both or neither


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"subnet_ids": SUBNETS, "security_group_ids": ()},
            "invalid private_network.security_group_ids (): expected security group ids with the subnets "
            "('subnet-0123456789abcdef0', 'subnet-0fedcba9876543210') (subnets and security groups are given together)",
        ),
        (
            {"subnet_ids": (), "security_group_ids": GROUPS},
            "invalid private_network.subnet_ids (): expected subnet ids with the security groups "
            "('sg-0123456789abcdef0',) (subnets and security groups are given together)",
        ),
        (
            {"subnet_ids": ("subnet-1",), "security_group_ids": GROUPS},
            f"invalid private_network.subnet_ids 'subnet-1': expected subnet ids ({SUBNET_ID})",
        ),
        (
            {"subnet_ids": "subnet-0123456789abcdef0", "security_group_ids": GROUPS},
            "invalid private_network.subnet_ids 'subnet-0123456789abcdef0': expected a sequence of subnet ids",
        ),
        (
            {"subnet_ids": SUBNETS, "security_group_ids": GROUPS, "vpc_id": "vpc-1"},
            "invalid private_network.vpc_id 'vpc-1': expected a VPC id",
        ),
    ],
)
def test_subnets_without_security_groups_or_the_reverse_are_refused_at_synth(settings, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        PrivateNetwork(**{"vpc_id": VPC_ID, **settings})


def test_a_template_refuses_a_network_that_is_not_a_private_network():
    with pytest.raises(ValueError, match=re.escape("invalid private_network ")):
        ModelBuildStack(new_app(), "Bad", private_network={"subnet_ids": SUBNETS})


def test_the_parameters_rule_is_both_or_neither(assembly):
    (assertion,) = assembly.templates["model-build"]["Rules"]["PrivateNetworkTogether"]["Assertions"]
    text = json.dumps(assertion["Assert"])
    assert text.count("Fn::EachMemberEquals") == 4 and "PrivateVpcId" in text
    assert "given together" in assertion["AssertDescription"]


def _rule(expression: Any, values: dict[str, Any]) -> Any:
    """The rule functions the assertion uses, as CloudFormation evaluates them (a list parameter
    is its comma-split value; empty: [""], unverified against CloudFormation here)."""
    if not isinstance(expression, dict):
        return expression
    ((name, argument),) = expression.items()
    if name == "Ref":
        return values[argument]
    arguments = [_rule(a, values) for a in argument]
    functions = {
        "Fn::And": lambda *a: all(a), "Fn::Or": lambda *a: any(a), "Fn::Not": lambda a: not a,
        "Fn::Equals": lambda a, b: a == b, "Fn::Contains": lambda a, b: b in a,
        "Fn::EachMemberEquals": lambda a, b: all(m == b for m in a),
    }  # fmt: skip
    return functions[name](*arguments)


@pytest.mark.parametrize(
    ("subnets", "groups", "vpc", "holds"),
    [
        ("", "", "", True),
        (",".join(SUBNETS), ",".join(GROUPS), VPC_ID, True),
        (SUBNETS[0], "", VPC_ID, False),
        ("", GROUPS[0], VPC_ID, False),
        (SUBNETS[0], GROUPS[0], "", False),
        (SUBNETS[0] + ",", GROUPS[0], VPC_ID, False),  # a trailing comma
        (SUBNETS[0] + ",," + SUBNETS[1], GROUPS[0], VPC_ID, False),
        (SUBNETS[0], GROUPS[0] + ",", VPC_ID, False),
    ],
)
def test_the_parameters_rule_refuses_missing_parts_and_stray_commas(assembly, subnets, groups, vpc, holds):
    (assertion,) = assembly.templates["model-build"]["Rules"]["PrivateNetworkTogether"]["Assertions"]
    values = {"PrivateSubnetIds": subnets.split(","), "PrivateSecurityGroupIds": groups.split(","), "PrivateVpcId": vpc}
    assert _rule(assertion["Assert"], values) is holds


# ---------------------------------------------------------------- the stage templates


@pytest.fixture(scope="module")
def stage_templates() -> dict[str, dict]:
    return {
        "endpoint": synth_stage_template(security_packs=False),
        "async": synth_async_template(security_packs=False),
        "batch": synth_batch_template(security_packs=False),
        "monitor": synth_monitor_template(security_packs=False),
    }


@pytest.mark.parametrize("kind", ["endpoint", "async", "batch"])
def test_stage_models_run_in_the_subnets_isolated_when_the_parameters_are_given(stage_templates, kind):
    template = stage_templates[kind]
    assert {"PrivateVpcId", "PrivateSubnetIds", "PrivateSecurityGroupIds"} <= set(template["Parameters"])
    (model,) = _of_type(template, "AWS::SageMaker::Model").values()
    assert model["Properties"]["VpcConfig"] == {"Fn::If": ["PrivateNetworkOn", PARAMETER_VPC, NO_VALUE]}
    assert model["Properties"]["EnableNetworkIsolation"] is True
    # The stage's own model role creates the interfaces in the VPC only when it is given.
    (role,) = [i for i in _of_type(template, "AWS::IAM::Role") if i.startswith(("Endpoint", "Transform")) and "Starter" not in i and "Trigger" not in i and "Scaling" not in i]
    stage = {
        "SageMakerProjectName": "abalone", "SageMakerProjectId": "p-0123456789ab", "StageName": "staging",
        "ModelPackageArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/abalone-p-0123456789ab/3",
        "ArtifactBucketName": "sagemaker-project-p-0123456789ab", "ArtifactKmsKeyArn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab",
        "ModelArtifactBucketName": "sagemaker-project-p-0123456789ab", "ExecutionRoleArn": "",
    }  # fmt: skip
    subnet = f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/{SUBNETS[0]}"
    vpc = {"ec2:Vpc": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/{VPC_ID}"}
    on = role_policy(template, role, parameters={**stage, **PARAMETERS})
    assert on.allowed("ec2:CreateNetworkInterface", subnet, vpc)
    assert on.allowed("ec2:CreateNetworkInterfacePermission", f"arn:aws:ec2:{REGION}:{ACCOUNT}:network-interface/eni-1")
    off = role_policy(template, role, parameters=stage)
    assert not off.allowed("ec2:CreateNetworkInterface", subnet, vpc)
    assert not off.allowed("ec2:DeleteNetworkInterface", f"arn:aws:ec2:{REGION}:{ACCOUNT}:network-interface/eni-1")


def test_monitoring_jobs_run_in_the_subnets_when_the_parameters_are_given(stage_templates):
    template = stage_templates["monitor"]
    definitions = {i: r for i, r in template["Resources"].items() if r["Type"].endswith("JobDefinition")}
    assert len(definitions) == 4
    for logical_id, definition in definitions.items():
        network = definition["Properties"]["NetworkConfig"]
        assert network == {
            "Fn::If": [
                "PrivateNetworkOn",
                {"EnableInterContainerTrafficEncryption": True, "EnableNetworkIsolation": False, "VpcConfig": PARAMETER_VPC},
                {"EnableInterContainerTrafficEncryption": True},
            ]
        }, logical_id


def test_stage_templates_stay_within_the_inline_size(stage_templates):
    from pathlib import Path

    import sagemaker_projects_cdk

    seed = Path(sagemaker_projects_cdk.__file__).parent / "seed_code"
    for path in [*(seed / "model_deploy").glob("*.template.json"), *(seed / "model_monitor").glob("*.template.json")]:
        assert path.stat().st_size <= 51_200, path.name


# ---------------------------------------------------------------- the deploy builds


def _seed_script(relative_path: str) -> Any:
    import importlib.util
    import sys
    from pathlib import Path

    import sagemaker_projects_cdk

    sys.dont_write_bytecode = True  # the seed folders are hashed into assets: no caches there
    path = Path(sagemaker_projects_cdk.__file__).parent / "seed_code" / relative_path
    spec = importlib.util.spec_from_file_location("private_network_" + relative_path.replace("/", "_")[:-3], path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_deploy_build_passes_the_network_to_stages_in_this_account_only():
    build = _seed_script("model_deploy/build.py")
    env = {"PRIVATE_VPC_ID": VPC_ID, "PRIVATE_SUBNET_IDS": ",".join(SUBNETS), "PRIVATE_SECURITY_GROUP_IDS": ",".join(GROUPS)}
    assert build.network_parameters(env, elsewhere=False) == PARAMETERS
    empty = {name: "" for name in PARAMETERS}
    assert build.network_parameters(env, elsewhere=True) == empty
    assert build.network_parameters({**env, "PRIVATE_SUBNET_IDS": ""}, elsewhere=False) == empty
    monitor = _seed_script("model_monitor/build.py")
    assert monitor.network_parameters(env, {}) == PARAMETERS
    assert monitor.network_parameters(env, {"execution_role_arn": f"arn:aws:iam::{ACCOUNT}:role/x"}) == {}


# ---------------------------------------------------------------- the constructs


def test_constructs_take_the_same_network_resolved():
    from aws_cdk import Stack
    from aws_cdk.assertions import Template

    from sagemaker_projects_cdk.constructs import BatchTransform, ModelEndpoint, ServerlessVariant, TransformSettings

    stack = Stack(new_app(), "Constructs")
    package = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/churn/1"
    ModelEndpoint(stack, "Endpoint", model_package_arn=package, network=NETWORK)
    from aws_cdk import aws_s3 as s3

    bucket = s3.Bucket(stack, "Bucket", encryption=s3.BucketEncryption.KMS)
    BatchTransform(
        stack, "Batch", model_package_arn=package, bucket=bucket, settings=TransformSettings(),
        input_prefix="in", output_prefix="out", network=NETWORK,
    )  # fmt: skip
    models = Template.from_stack(stack).find_resources("AWS::SageMaker::Model")
    assert len(models) == 2
    for model in models.values():
        assert model["Properties"]["VpcConfig"] == SAGEMAKER_VPC
        assert model["Properties"]["EnableNetworkIsolation"] is True
    with pytest.raises(ValueError, match=re.escape("invalid network 'given': expected none with a ServerlessVariant")):
        ModelEndpoint(stack, "Serverless", model_package_arn=package, variant=ServerlessVariant(), network=NETWORK)
