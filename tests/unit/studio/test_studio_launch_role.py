"""The launch role: exactly what CloudFormation's handlers need for the product templates.

The reference is the CloudFormation resource schemas that cfn-lint ships (each lists the
permissions its create, read, update and delete handlers call). The role must hold every
one of them for the resource types in the product templates, but those listed below with
the reason they are not needed, and nothing else but the documented extras.
"""

from __future__ import annotations

import json
import re

import pytest
from cfn_roles import granted_actions, listed_permissions, missing, needed_permissions, unexplained

from sagemaker_projects_cdk.app import STUDIO_STACK_ID
from sagemaker_projects_cdk.studio.launch_permissions import NO_PERMISSIONS, PERMISSIONS

#: Handler permissions the role leaves out, and why.
NOT_NEEDED = {
    **dict.fromkeys(
        [
            "s3:PutAccelerateConfiguration", "s3:PutAnalyticsConfiguration", "s3:PutBucketAbac", "s3:PutBucketNotification",
            "s3:PutBucketObjectLockConfiguration", "s3:PutObjectLockConfiguration", "s3:PutBucketReplication",
            "s3:PutReplicationConfiguration", "s3:PutBucketWebsite", "s3:DeleteBucketWebsite",
            "s3:PutIntelligentTieringConfiguration", "s3:PutInventoryConfiguration", "s3:PutMetricsConfiguration",
            "s3:DeleteBucketAnalyticsConfiguration", "s3:DeleteBucketMetricsConfiguration", "s3:DeleteBucketReplication",
            "s3:CreateBucketMetadataTableConfiguration", "s3:DeleteBucketMetadataTableConfiguration",
            "s3:UpdateBucketMetadataAnnotationTableConfiguration", "s3:UpdateBucketMetadataInventoryTableConfiguration",
            "s3:UpdateBucketMetadataJournalTableConfiguration", "s3:PutObjectAcl", "s3:DeleteObject",
            "s3tables:CreateNamespace", "s3tables:CreateTable", "s3tables:CreateTableBucket", "s3tables:GetTable",
            "s3tables:GetTableMetadataLocation", "s3tables:PutTableBucketPolicy", "s3tables:PutTableEncryption",
            "s3tables:PutTablePolicy", "s3tables:UpdateTableMetadataLocation",
        ],
        "bucket features the templates do not set (acceleration, analytics, ABAC, notifications, object "
        "lock, replication, websites, tiering, inventory, metrics, metadata and S3 tables, object ACLs)",
    ),
    "sns:PutDataProtectionPolicy": "a topic feature the templates do not set (message data protection policies)",
    "s3:REST.PUT.OBJECT": "not an IAM action (a log-delivery detail of the log group schema)",
    **dict.fromkeys(
        ["s3:DeleteBucketCors", "s3:DeleteBucketEncryption", "s3:DeleteBucketLifecycle"],
        "API names, not IAM actions: IAM authorizes them with PutBucketCORS, PutEncryptionConfiguration "
        "and PutLifecycleConfiguration, which the role holds",
    ),
    "iam:PassRole": "granted by its own statement, limited by iam:PassedToService",
    **dict.fromkeys(
        ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs",
         "elasticfilesystem:DescribeMountTargets", "s3files:ListMountTargets",
         "lambda:AssociateRuntimeAlias", "lambda:PassCapacityProvider", "lambda:PutFunctionScalingConfig",
         "lambda:PutFunctionCodeSigningConfig", "lambda:DeleteFunctionCodeSigningConfig"],
        "function features the default templates do not set (VPC: granted when a template sets it, see "
        "test_the_jenkins_vpc_variant_publishes_with_what_its_function_needs; file systems, customer keys, "
        "runtime aliases, capacity providers, scaling, code signing)",
    ),
    **dict.fromkeys(
        ["logs:CreateLogDelivery", "firehose:TagDeliveryStream", "logs:PutResourcePolicy", "logs:DeleteResourcePolicy",
         "logs:PutDataProtectionPolicy", "logs:PutIndexPolicy", "logs:DeleteIndexPolicy",
         "logs:PutBearerTokenAuthentication", "logs:PutLogGroupDeletionProtection"],
        "log group features the templates do not set (deliveries, resource, data-protection and index "
        "policies, bearer tokens, deletion protection)",
    ),
    **dict.fromkeys(
        ["iam:AttachGroupPolicy", "iam:AttachUserPolicy", "iam:DetachGroupPolicy", "iam:DetachUserPolicy",
         "iam:GetGroupPolicy", "iam:GetUserPolicy", "iam:PutGroupPolicy", "iam:PutUserPolicy", "iam:DeleteGroupPolicy",
         "iam:DeleteUserPolicy", "iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary"],
        "the templates' policies attach to roles only, and no role has a permissions boundary",
    ),
}

#: Actions the role holds that no handler schema lists, and why.
EXTRAS = {
    **dict.fromkeys(
        ["cloudformation:CreateStack", "cloudformation:UpdateStack", "cloudformation:DeleteStack",
         "cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents", "cloudformation:SetStackPolicy",
         "cloudformation:GetTemplateSummary", "cloudformation:ValidateTemplate"],
        "Service Catalog runs the product's stack with the launch role",
    ),
    **dict.fromkeys(
        ["codebuild:CreateProject", "codebuild:UpdateProject", "codebuild:DeleteProject", "codebuild:BatchGetProjects"],
        "AWS::CodeBuild::Project is a legacy resource type without a schema",
    ),
    "lambda:InvokeFunction": "CloudFormation invokes custom resources' functions as the caller",
    "codeconnections:PassConnection": "the new prefix of codestar-connections:PassConnection (CodePipeline's "
    "handler lists the old one); a connection created since 2024 is an arn:...:codeconnections: ARN",
}


@pytest.fixture(scope="module")
def admin(assembly) -> dict:
    return json.loads((assembly.outdir / f"{STUDIO_STACK_ID}.template.json").read_text())


@pytest.fixture(scope="module")
def launch_policies(admin) -> list[dict]:
    return [
        r["Properties"]["PolicyDocument"]
        for k, r in admin["Resources"].items()
        if r["Type"] == "AWS::IAM::ManagedPolicy" and k.startswith("StudioLaunchRole")
    ]


@pytest.fixture(scope="module")
def granted(launch_policies) -> set[str]:
    return granted_actions(launch_policies)


@pytest.fixture(scope="module")
def product_resources(assembly) -> list[dict]:
    return [
        resource
        for path in assembly.outdir.glob(f"{STUDIO_STACK_ID}*.product.template.json")
        for resource in json.loads(path.read_text())["Resources"].values()
    ]


def test_role_holds_every_handler_permission_the_product_templates_need(product_resources, granted):
    needed = needed_permissions(
        product_resources,
        untyped=(
            "AWS::CodeBuild::Project", "Custom::ProjectDataset", "Custom::RetainedResourceCheck",
            "Custom::StageTeardown", "Custom::SeedRepository", "AWS::CDK::Metadata",
        ),
    )
    assert not missing(needed, granted, NOT_NEEDED)


def test_role_holds_nothing_unexplained(product_resources, granted):
    listed = listed_permissions({r["Type"] for r in product_resources})
    assert not unexplained(granted, listed, EXTRAS)


def test_role_cannot_delete_what_the_templates_retain(product_resources, granted):
    retained = {r["Type"] for r in product_resources if r.get("DeletionPolicy") == "Retain"}
    deleted = {r["Type"] for r in product_resources if r.get("DeletionPolicy") != "Retain"}
    assert {"AWS::S3::Bucket", "AWS::KMS::Key", "AWS::CodeCommit::Repository", "AWS::SageMaker::ModelPackageGroup", "AWS::ECR::Repository"} <= retained - deleted
    for action in ("s3:DeleteBucket", "kms:ScheduleKeyDeletion", "codecommit:DeleteRepository", "sagemaker:DeleteModelPackageGroup", "logs:DeleteLogGroup", "ecr:DeleteRepository"):
        assert action not in granted


def test_every_known_resource_type_is_in_the_catalogue(product_resources):
    assert {r["Type"] for r in product_resources} - NO_PERMISSIONS <= set(PERMISSIONS)


def test_each_policy_fits_in_an_iam_managed_policy(launch_policies):
    """IAM refuses a managed policy over 6,144 characters (whitespace excluded), once resolved."""

    def resolved(value):
        if isinstance(value, dict):
            if "Fn::Join" in value:
                return value["Fn::Join"][0].join(str(resolved(v)) for v in value["Fn::Join"][1])
            if "Ref" in value:
                return {"AWS::Partition": "aws-us-gov", "AWS::Region": "ap-southeast-2", "AWS::AccountId": "123456789012"}[value["Ref"]]
            if "Fn::GetAtt" in value:
                return "x" * 80
            return {k: resolved(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolved(v) for v in value]
        return value

    assert len(launch_policies) == 3
    for document in launch_policies:
        assert len(re.sub(r"\s", "", json.dumps(resolved(document)))) < 6144


def test_role_passes_roles_only_to_the_services_the_templates_configure(launch_policies):
    (statement,) = [s for d in launch_policies for s in d["Statement"] if s.get("Sid") == "PassTemplateRoles"]
    assert statement["Condition"] == {
        "StringEquals": {
            "iam:PassedToService": [
                "codebuild.amazonaws.com",
                "codepipeline.amazonaws.com",
                "events.amazonaws.com",
                "lambda.amazonaws.com",
                "sagemaker.amazonaws.com",
            ]
        }
    }


def test_role_attaches_only_this_accounts_policies_and_the_aws_managed_ones_the_templates_name(launch_policies):
    (statement,) = [s for d in launch_policies for s in d["Statement"] if s.get("Sid") == "AttachTemplatePolicies"]
    allowed = statement["Condition"]["ArnLike"]["iam:PolicyARN"]
    allowed = allowed if isinstance(allowed, list) else [allowed]
    # The templates attach no AWS-managed policy: only customer-managed ones of this account.
    assert [a["Fn::Join"][1][-1] for a in allowed] == [":policy/*"]
    assert {"Ref": "AWS::AccountId"} in allowed[0]["Fn::Join"][1]


def test_key_use_is_limited_to_codecommit(launch_policies):
    (statement,) = [s for d in launch_policies for s in d["Statement"] if s.get("Sid") == "UseKeysThroughCodeCommit"]
    assert statement["Condition"]["StringEquals"]["kms:ViaService"]["Fn::Join"][1][0] == "codecommit."


def test_ecr_may_create_and_retire_its_grant_on_the_project_key_and_nothing_else(launch_policies):
    """kms:CreateGrant is granted for one reason: CreateRepository with a customer key (the image
    template) creates ECR's grant as the caller. Only through ECR: a function's customer key, which
    the templates never set, still gets no grant."""
    (statement,) = [s for d in launch_policies for s in d["Statement"] if s.get("Sid") == "UseKeysThroughECR"]
    assert statement["Action"] == ["kms:CreateGrant", "kms:DescribeKey", "kms:RetireGrant"]
    assert statement["Condition"]["StringEquals"]["kms:ViaService"]["Fn::Join"][1][0] == "ecr."
    grants = [s for d in launch_policies for s in d["Statement"] if "kms:CreateGrant" in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])]
    assert grants == [statement]


def test_unknown_resource_type_needs_an_existing_launch_role():
    from aws_cdk import Stack
    from aws_cdk import aws_servicecatalog as servicecatalog
    from aws_cdk import aws_sns as sns  # noqa: F401 (a known type beside the unknown one)
    from aws_cdk import aws_stepfunctions as stepfunctions

    from sagemaker_projects_cdk.studio.launch_role import LaunchRole
    from support import new_app

    stack = Stack(new_app(), "Admin")
    product = servicecatalog.ProductStack(stack, "Product")
    stepfunctions.CfnActivity(product, "Activity", name="x")
    with pytest.raises(ValueError, match=r"invalid resource type 'AWS::StepFunctions::Activity': expected one the launch role knows .* pass an existing launch role"):
        LaunchRole(stack, "LaunchRole", product_stacks=[product])


def test_role_passes_the_stage_deployer_roles_to_cloudformation_only(admin, launch_policies, assembly):
    """CodePipeline's CreatePipeline/UpdatePipeline checks that the caller may pass the role a
    CloudFormation action names (configuration RoleArn) to CloudFormation: the launch role
    creates the deploy pipelines, so it may pass the stage deployer roles, and only those."""
    from cfn_roles import ACCOUNT, PARTITION, statements_allowing

    (statement,) = [s for d in launch_policies for s in d["Statement"] if s.get("Sid") == "PassStageDeployerRoles"]
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}
    deployer = f"arn:{PARTITION}:iam::{ACCOUNT}:role/sagemaker-project-deployers/SC-123-pp-abc-ModelDeployDeployerRole-1A2B"
    assert statements_allowing([{"Statement": [statement]}], "iam:PassRole", deployer)
    for other in ("role/SC-123-pp-abc-ModelDeployDeployerRole-1A2B", "role/sagemaker-projects/p-abc123def456/x"):
        assert not statements_allowing([{"Statement": [statement]}], "iam:PassRole", f"arn:{PARTITION}:iam::{ACCOUNT}:{other}")
    # The deployer roles of the products that have CloudFormation actions live under that path.
    deployers = [
        r
        for path in assembly.outdir.glob(f"{STUDIO_STACK_ID}*.product.template.json")
        for k, r in json.loads(path.read_text())["Resources"].items()
        if r["Type"] == "AWS::IAM::Role" and "DeployerRole" in k
    ]
    # model-deploy, build-deploy, build-deploy-git, image-build-deploy; build-deploy-jenkins's
    # (Jenkins passes it to CloudFormation, the launch role never does); build-deploy-monitor's
    # two (the endpoint stage stacks' and the monitor stage stacks').
    assert len(deployers) == 7
    assert {r["Properties"]["Path"] for r in deployers} == {"/sagemaker-project-deployers/"}


def test_role_resolves_only_secrets_tagged_for_sagemaker_and_manages_eventbridges_own(launch_policies):
    """build-deploy-jenkins's connection: CloudFormation resolves its credentials from the secret the
    project names ({{resolve:secretsmanager:...}}, as the caller), and EventBridge creates and updates
    the connection's own secret (events!connection/...) as the caller."""
    from cfn_roles import ACCOUNT, PARTITION, REGION, statements_allowing

    secret = f"arn:{PARTITION}:secretsmanager:{REGION}:{ACCOUNT}:secret:jenkins/churn-AbCdEf"
    (resolve,) = [s for d in launch_policies for s in d["Statement"] if s.get("Sid") == "ResolveTaggedSecrets"]
    assert resolve["Action"] == "secretsmanager:GetSecretValue"
    # Only a secret tagged sagemaker=true (the convention of the connections the templates use).
    assert resolve["Condition"] == {"StringEqualsIgnoreCase": {"aws:ResourceTag/sagemaker": "true"}}
    assert statements_allowing([{"Statement": [resolve]}], "secretsmanager:GetSecretValue", secret)
    (own,) = [s for d in launch_policies for s in d["Statement"] if s.get("Sid") == "EventBridgeConnectionSecrets"]
    own_secret = f"arn:{PARTITION}:secretsmanager:{REGION}:{ACCOUNT}:secret:events!connection/JenkinsTriggerConnection/0b7e4f3a"
    assert statements_allowing([{"Statement": [own]}], "secretsmanager:CreateSecret", own_secret)
    assert not statements_allowing([{"Statement": [own]}], "secretsmanager:GetSecretValue", secret)
    # No other statement reads secrets.
    readers = [s for d in launch_policies for s in d["Statement"] if "secretsmanager:GetSecretValue" in s["Action"]]
    assert sorted(s["Sid"] for s in readers) == ["EventBridgeConnectionSecrets", "ResolveTaggedSecrets"]
    (linked,) = [s for d in launch_policies for s in d["Statement"] if s.get("Sid") == "EventBridgeApiDestinationsLinkedRole"]
    assert linked["Condition"] == {"StringEquals": {"iam:AWSServiceName": "apidestinations.events.amazonaws.com"}}


def test_the_jenkins_vpc_variant_publishes_with_what_its_function_needs(tmp_path):
    """build-deploy-jenkins with jenkins_reachability='vpc' adds a function in subnets, its
    EventBridge permission and its invoke config: the launch role holds every handler permission
    of that product (the VPC checks of the function's create and update handlers included),
    and nothing unexplained."""
    from aws_cdk import App, Stack
    from aws_cdk import aws_iam as iam

    from sagemaker_projects_cdk.studio.launch_permissions import LAMBDA_VPC_ACTIONS
    from sagemaker_projects_cdk.studio.publishing import StudioTemplate, StudioTemplates

    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Admin")
    settings = {
        "jenkins_reachability": "vpc",
        "jenkins_subnet_ids": ("subnet-0123456789abcdef0",),
        "jenkins_security_group_ids": ("sg-0123456789abcdef0",),
    }
    studio = StudioTemplates(
        stack,
        "Studio",
        principals=[iam.Role.from_role_arn(stack, "StudioUser", "arn:aws:iam::111122223333:role/studio")],
        templates=[StudioTemplate("build-deploy-jenkins", settings=settings)],
        record_versions=False,
    )
    assembly = app.synth()
    admin = json.loads((tmp_path / assembly.get_stack_by_name("Admin").template_file).read_text())
    product = [
        resource
        for path in tmp_path.glob("Admin*.product.template.json")
        for resource in json.loads(path.read_text())["Resources"].values()
    ]
    types = {r["Type"] for r in product}
    assert {"AWS::Lambda::Permission", "AWS::Lambda::EventInvokeConfig"} <= types
    assert any(r["Type"] == "AWS::Lambda::Function" and "VpcConfig" in r["Properties"] for r in product)
    documents = [
        r["Properties"]["PolicyDocument"]
        for k, r in admin["Resources"].items()
        if r["Type"] == "AWS::IAM::ManagedPolicy" and k.startswith("StudioLaunchRole")
    ]
    granted = granted_actions(documents)
    needed = needed_permissions(
        product,
        untyped=(
            "AWS::CodeBuild::Project", "Custom::ProjectDataset", "Custom::RetainedResourceCheck",
            "Custom::StageTeardown", "Custom::SeedRepository", "AWS::CDK::Metadata",
        ),
    )
    vpc_explained = {k: v for k, v in NOT_NEEDED.items() if k not in LAMBDA_VPC_ACTIONS}
    # (The full Studio grants these for other products' keys; here no function sets a customer key.)
    assert not any(r["Type"] == "AWS::Lambda::Function" and "KmsKeyArn" in r["Properties"] for r in product)
    vpc_explained.update(
        dict.fromkeys(["kms:CreateGrant", "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], "no function sets KmsKeyArn")
    )
    assert not missing(needed, granted, vpc_explained), {a: needed[a] for a in missing(needed, granted, vpc_explained)}
    assert set(LAMBDA_VPC_ACTIONS) <= granted
    extras = {
        **EXTRAS,
        # (In the full Studio CodePipeline's handler lists it; here the repositories' connection is passed.)
        "codestar-connections:PassConnection": "the template's repositories use a CodeConnections connection",
    }
    assert not unexplained(granted, listed_permissions(types), extras)
    assert studio.launch_role is not None
