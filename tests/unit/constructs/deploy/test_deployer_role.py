"""The stage deployer role: what CloudFormation's handlers need for the endpoint stage template.

CloudFormation deploys (and, on a failed stack, deletes and re-creates) the endpoint stage
template with ``StageDeployerRole``. For every resource type in the stage template the role
must allow every create, read, update and delete handler permission (tests/cfn_roles.py)
on the resources the stage stack names, but those listed below with the reason they are not
needed, and nothing else but the documented extras.
"""

from __future__ import annotations

import json

import pytest
from cfn_roles import (
    ACCOUNT,
    PARTITION,
    REGION,
    autoscaling_targets,
    granted_actions,
    listed_permissions,
    missing,
    needed_permissions,
    policy_length,
    resolve,
    stage_alarms,
    stale,
    statements_allowing,
    unexplained,
)

from sagemaker_projects_cdk.stacks.endpoint_stage import STAGE_TEMPLATE_PATH
from sagemaker_projects_cdk.stacks.serving_stages import ASYNC_TEMPLATE_PATH, BATCH_TEMPLATE_PATH

PROJECT_NAME = "churn"
PROJECT_ID = "p-abc123def456"
STAGE = "staging"
#: Sample values of the pipeline templates' parameters.
PARAMETERS = {
    "SageMakerProjectName": PROJECT_NAME,
    "SageMakerProjectId": PROJECT_ID,
    "SourceModelPackageGroupName": f"{PROJECT_NAME}-{PROJECT_ID}",
}
STACK_NAME = f"sagemaker-{PROJECT_NAME}-{PROJECT_ID}-deploy-{STAGE}"
ENDPOINT_NAME = f"{PROJECT_NAME}-{PROJECT_ID}-{STAGE}"

#: Handler permissions the role leaves out, and why.
NOT_NEEDED = {
    **dict.fromkeys(
        ["iam:AttachGroupPolicy", "iam:AttachUserPolicy", "iam:DetachGroupPolicy", "iam:DetachUserPolicy"],
        "the stage template attaches its policy to its role only",
    ),
    **dict.fromkeys(
        ["iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary"],
        "the stage template's role has no permissions boundary",
    ),
    "iam:PutRolePolicy": "the stage template's role has no inline policy (its permissions are a managed policy "
    "under the project's path); the deployer must not write arbitrary inline permissions into project roles",
    "iam:UpdateAssumeRolePolicy": "the stage template's role trusts sagemaker.amazonaws.com, a constant; the "
    "deployer must not make project roles assumable by anyone else",
    **dict.fromkeys(
        ["application-autoscaling:PutScheduledAction", "application-autoscaling:DeleteScheduledAction"],
        "the stage template's scalable target has no scheduled actions",
    ),
    **dict.fromkeys(
        ["lambda:PutProvisionedConcurrencyConfig", "lambda:GetProvisionedConcurrencyConfig",
         "lambda:DeleteProvisionedConcurrencyConfig"],
        "the scalable target is a SageMaker variant, not a Lambda function",
    ),
    **dict.fromkeys(
        ["sns:Subscribe", "sns:Unsubscribe"], "the asynchronous stage's topics have no subscriptions in the template"
    ),
    **dict.fromkeys(
        ["kms:Decrypt", "kms:GenerateDataKey", "s3:GetObject", "s3:GetObjectVersion"],
        "the batch stage's state machine has its definition inline (DefinitionString, not DefinitionS3Location) and "
        "no EncryptionConfiguration",
    ),
}

#: Actions the role holds that no handler schema of the stage template's types lists, and why.
EXTRAS = {
    "sagemaker:DescribeModelPackage": "CreateModel from a model package (ModelPackageName) reads the version as the caller",
    "kms:CreateGrant": "CreateEndpoint with an endpoint config that names a KMS key creates a grant as the caller "
    "(SageMaker API permissions reference)",
    "sagemaker:UpdateEndpointWeightsAndCapacities": "Application Auto Scaling requires it of whoever registers a "
    "SageMaker variant and puts its scaling policy (Application Auto Scaling identity-based policy examples)",
}

SAGEMAKER = f"arn:{PARTITION}:sagemaker:{REGION}:{ACCOUNT}"
ROLE = f"arn:{PARTITION}:iam::{ACCOUNT}:role/sagemaker-projects/{PROJECT_ID}/{STACK_NAME}-EndpointRole47E61C54-1A2B3C4D5E6F"
POLICY = f"arn:{PARTITION}:iam::{ACCOUNT}:policy/sagemaker-projects/{PROJECT_ID}/{STACK_NAME}-EndpointPolicyA1BBD448-1A2B3C4D5E6F"
#: The stage stack's errors alarm and a target-tracking alarm of its endpoint's variant.
ALARM, TRACKING_ALARM = stage_alarms(STACK_NAME, ENDPOINT_NAME)

#: The resource each handler permission acts on, per resource type: by action, else by
#: service prefix ("*": an action IAM cannot scope).
TARGETS: dict[str, dict[str, str]] = {
    "AWS::IAM::Role": {"iam": ROLE, "iam:AttachRolePolicy": ROLE},
    "AWS::IAM::ManagedPolicy": {"iam": POLICY, "iam:AttachRolePolicy": ROLE, "iam:DetachRolePolicy": ROLE},
    "AWS::SageMaker::Model": {"sagemaker": f"{SAGEMAKER}:model/endpointmodel-1a2b3c4d5e6f", "iam:PassRole": ROLE},
    "AWS::SageMaker::EndpointConfig": {
        "sagemaker": f"{SAGEMAKER}:endpoint-config/endpointconfig-1a2b3c4d5e6f",
        "kms:DescribeKey": "<project key>",
        "iam:PassRole": ROLE,
    },
    "AWS::SageMaker::Endpoint": {"sagemaker": f"{SAGEMAKER}:endpoint/{ENDPOINT_NAME}"},
    # An asynchronous stage's topics (named by CloudFormation after the stack) and policies.
    "AWS::SNS::Topic": {"sns": f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{STACK_NAME}-EndpointSuccessTopic1A2B-3C4D5E6F", "iam": ROLE},
    "AWS::SNS::TopicPolicy": {"sns": f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{STACK_NAME}-EndpointErrorTopic1A2B-3C4D5E6F"},
    # A batch stage's state machine and rules ('<project id>-<stage>-...').
    "AWS::StepFunctions::StateMachine": {
        "states": f"arn:{PARTITION}:states:{REGION}:{ACCOUNT}:stateMachine:{PROJECT_ID}-{STAGE}-transform",
        "iam:PassRole": ROLE,
        "kms:DescribeKey": "<project key>",
    },
    "AWS::Events::Rule": {"events": f"arn:{PARTITION}:events:{REGION}:{ACCOUNT}:rule/{PROJECT_ID}-{STAGE}-deployed", "iam:PassRole": ROLE},
    **autoscaling_targets(alarm=ALARM, tracking_alarm=TRACKING_ALARM),
}
#: Extras' resources.
EXTRA_TARGETS = {
    "sagemaker:DescribeModelPackage": f"{SAGEMAKER}:model-package/{PROJECT_NAME}-{PROJECT_ID}/3",
    "kms:CreateGrant": "<project key>",
    "sagemaker:UpdateEndpointWeightsAndCapacities": f"{SAGEMAKER}:endpoint/{ENDPOINT_NAME}",
}
DEPLOYING_TEMPLATES = ("model-deploy", "build-deploy", "build-deploy-jenkins")


#: Stage-template conditions that never hold when this deployer deploys the stage: in the
#: project's own account build.py always gives the project bucket and key (a stage in another
#: account, deployed there by that account's baseline deployer, creates its own storage).
ELSEWHERE_ONLY = {"StageOwnStorage"}


@pytest.fixture(scope="module")
def stage_resources() -> list[dict]:
    """The resources of every kind of stage template (real-time, asynchronous, batch)."""
    resources = [
        r
        for path in (STAGE_TEMPLATE_PATH, ASYNC_TEMPLATE_PATH, BATCH_TEMPLATE_PATH)
        for r in json.loads(path.read_text())["Resources"].values()
    ]
    return [r for r in resources if r.get("Condition") not in ELSEWHERE_ONLY]


def _deployer_policy(template: dict) -> dict:
    (document,) = [
        r["Properties"]["PolicyDocument"]
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::ManagedPolicy" and "DeployerPolicy" in k
    ]
    return document


def _deployer_documents(template: dict) -> list[dict]:
    """Both of the deployer's policies: the endpoint stage's and the other kinds' (``ServingPolicy``)."""
    (serving,) = [
        r["Properties"]["PolicyDocument"]
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::ManagedPolicy" and "DeployerServingPolicy" in k
    ]
    return [_deployer_policy(template), serving]


def _project_key(template: dict) -> str:
    (statement,) = [s for s in _deployer_policy(template)["Statement"] if s.get("Sid") == "ProjectKey"]
    (key,) = resolve(statement["Resource"], template, PARAMETERS)
    return key


def _target(resource_type: str, action: str, key: str) -> str:
    targets = TARGETS[resource_type]
    target = targets.get(action) or targets[action.split(":")[0]]
    return key if target == "<project key>" else target


@pytest.mark.parametrize("template_id", DEPLOYING_TEMPLATES)
def test_deployer_allows_every_handler_permission_of_the_stage_template(assembly, stage_resources, template_id):
    needed = needed_permissions(stage_resources)
    assert not missing(needed, granted_actions(_deployer_documents(assembly.templates[template_id])), NOT_NEEDED)


@pytest.mark.parametrize("template_id", DEPLOYING_TEMPLATES)
def test_deployer_allows_them_on_the_resources_the_stage_stack_names(assembly, stage_resources, template_id):
    template = assembly.templates[template_id]
    documents = _deployer_documents(template)
    key = _project_key(template)
    wrong = []
    for action, resource_types in sorted(needed_permissions(stage_resources).items()):
        if action in NOT_NEEDED:
            continue
        for resource_type in sorted(resource_types):
            arn = _target(resource_type, action, key)
            if not statements_allowing(documents, action, arn, template, PARAMETERS):
                wrong.append(f"{action} on {arn} ({resource_type})")
    for action, arn in EXTRA_TARGETS.items():
        arn = key if arn == "<project key>" else arn
        if not statements_allowing(documents, action, arn, template, PARAMETERS):
            wrong.append(f"{action} on {arn} (extra)")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("template_id", DEPLOYING_TEMPLATES)
def test_deployer_holds_nothing_unexplained(assembly, stage_resources, template_id):
    granted = granted_actions(_deployer_documents(assembly.templates[template_id]))
    assert not unexplained(granted, listed_permissions({r["Type"] for r in stage_resources}), EXTRAS)


def test_the_explanations_are_current(stage_resources):
    assert not stale(NOT_NEEDED, set(needed_permissions(stage_resources)))
    assert not stale(EXTRAS, set(EXTRA_TARGETS))
    assert not set(EXTRAS) & listed_permissions({r["Type"] for r in stage_resources})


@pytest.mark.parametrize("template_id", DEPLOYING_TEMPLATES)
def test_deployer_cannot_touch_other_projects_or_itself(assembly, template_id):
    template = assembly.templates[template_id]
    documents = _deployer_documents(template)
    other = "p-000000000000"
    for action, arn in (
        ("iam:DeleteRole", ROLE.replace(PROJECT_ID, other)),
        ("iam:AttachRolePolicy", ROLE.replace(PROJECT_ID, other)),
        ("iam:DeletePolicy", POLICY.replace(PROJECT_ID, other)),
        ("sagemaker:DeleteEndpoint", f"{SAGEMAKER}:endpoint/{PROJECT_NAME}-{other}-{STAGE}"),
        ("cloudwatch:DeleteAlarms", ALARM.replace(PROJECT_ID, other)),
        ("cloudwatch:DeleteAlarms", TRACKING_ALARM.replace(PROJECT_ID, other)),
        ("iam:PassRole", f"arn:{PARTITION}:iam::{ACCOUNT}:role/any-role"),
        ("sns:DeleteTopic", f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:sagemaker-{PROJECT_NAME}-{other}-deploy-{STAGE}-T-1"),
        ("states:DeleteStateMachine", f"arn:{PARTITION}:states:{REGION}:{ACCOUNT}:stateMachine:{other}-{STAGE}-transform"),
        ("events:PutTargets", f"arn:{PARTITION}:events:{REGION}:{ACCOUNT}:rule/{other}-{STAGE}-deployed"),
    ):
        assert not statements_allowing(documents, action, arn, template, PARAMETERS), (action, arn)
    # Policies attached to the project's roles are the project's own.
    (attach,) = statements_allowing(documents, "iam:AttachRolePolicy", ROLE, template, PARAMETERS)
    assert attach["Condition"]["ArnLike"]["iam:PolicyARN"]
    # The role itself lives outside the paths it may change.
    (role,) = [r for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role" and "DeployerRole" in k]
    assert role["Properties"]["Path"] == "/sagemaker-project-deployers/"


@pytest.mark.parametrize("template_id", DEPLOYING_TEMPLATES)
def test_deployer_policy_fits_in_an_iam_managed_policy(assembly, template_id):
    template = assembly.templates[template_id]
    for document in _deployer_documents(template):
        assert policy_length(document, template, PARAMETERS) < 6144


@pytest.mark.parametrize("template_id", [t for t in DEPLOYING_TEMPLATES if t != "build-deploy-jenkins"])  # no pipeline: see its Jenkinsfile
def test_a_failed_stage_stack_is_replaced(assembly, template_id):
    """CREATE_UPDATE cannot update a stack in ROLLBACK_COMPLETE; REPLACE_ON_FAILURE deletes and
    re-creates it, which needs DeleteStack on the stage stack for the action role (the deletion
    itself runs as the deployer, whose delete permissions the tests above check)."""
    template = assembly.templates[template_id]
    deploys = [
        a
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CodePipeline::Pipeline"
        for s in r["Properties"]["Stages"]
        for a in s["Actions"]
        if a["ActionTypeId"]["Provider"] == "CloudFormation"
    ]
    assert deploys
    policies = {
        k: r["Properties"]["PolicyDocument"] for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Policy"
    }
    modes = {action["Name"]: action["Configuration"]["ActionMode"] for action in deploys}
    # Staging is replaced when it failed; prod serves traffic, so a failed rollback there waits
    # for a person instead of the next run deleting the live endpoint.
    assert modes == {"DeployStaging": "REPLACE_ON_FAILURE", "DeployProd": "CREATE_UPDATE"}
    for action in deploys:
        if action["Configuration"]["ActionMode"] != "REPLACE_ON_FAILURE":
            continue
        (name,) = resolve(action["Configuration"]["StackName"], template, PARAMETERS)
        stack = f"arn:{PARTITION}:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/0a1b2c3d-4e5f"
        # In this account (a stage elsewhere runs as its account's actions role: Fn::If).
        role_arn = action["RoleArn"]["Fn::If"][2] if "Fn::If" in action["RoleArn"] else action["RoleArn"]
        role_id = role_arn["Fn::GetAtt"][0]
        documents = [
            d for k, d in policies.items()
            if {"Ref": role_id} in template["Resources"][k]["Properties"].get("Roles", [])
        ]
        assert statements_allowing(documents, "cloudformation:DeleteStack", stack, template, PARAMETERS), action["Name"]
