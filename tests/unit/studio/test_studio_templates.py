"""Publishing to SageMaker Studio: the portfolio, its products, their templates and the S3 templates.

Everything is read from the session's cloud assembly (``build_app`` adds ``StudioTemplates``,
publishing every template), so the security packs have already passed on the admin stack and
on every template. Synth once: each product template is its template stack's synthesized
template (``SynthesizedTemplateProduct``), so the packs check each template once, on its stack;
a product stack (a template published with other settings) is checked too (cdk-nag walks the
whole construct tree, product stacks included).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk.assertions import Template
from test_gates import UNSCOPABLE_ACTIONS, _allow_statements, _as_list

from sagemaker_projects_cdk.app import STUDIO_STACK_ID, stack_id
from sagemaker_projects_cdk.constructs.images.naming import IMAGE_PROJECT_ID_PATTERN
from sagemaker_projects_cdk.constructs.images.pipeline import REGION_RULE_ID as BASE_IMAGE_REGION_RULE
from sagemaker_projects_cdk.constructs.project.identity import (
    PROJECT_ID_PARAMETER_MAX_LENGTH,
    PROJECT_ID_PATTERN,
    PROJECT_NAME_MAX_LENGTH,
    PROJECT_NAME_PATTERN,
)
from sagemaker_projects_cdk.stacks import TEMPLATES
from support import REPO
from template_facts import facts_for

#: What the CDK bootstrap stack provides; a product template must need none of it.
BOOTSTRAP_MARKS = ("cdk-hnb659fds", "BootstrapVersion", "CheckBootstrapVersion", "/cdk-bootstrap/", "-deploy-role-", "-file-publishing-role-", "-cfn-exec-role-", "-lookup-role-")

#: Actions the launch role may use on Resource "*" besides the gates' UNSCOPABLE_ACTIONS, and why.
LAUNCH_ROLE_UNSCOPED = {
    "cloudformation:GetTemplateSummary": "Service Catalog summarizes a template before it has a stack",
    "cloudformation:ValidateTemplate": "no resource type in IAM",
    "codecommit:ListRepositories": "no resource type in IAM (the repository handler lists repositories)",
    "kms:CreateKey": "no resource type in IAM: a key has no ARN before it exists",
    "logs:DescribeResourcePolicies": "no resource type in IAM (the log group handler reads them)",
}


def product_template_file(outdir: Path, template_id: str) -> Path:
    (path,) = outdir.glob(f"{STUDIO_STACK_ID}Studio{stack_id(template_id)}Template*.product.template.json")
    return path


@pytest.fixture(scope="module")
def admin(assembly) -> dict:
    return json.loads((assembly.outdir / f"{STUDIO_STACK_ID}.template.json").read_text())


@pytest.fixture(scope="module")
def products(assembly) -> dict[str, dict]:
    """The product templates, by template id."""
    return {tid: json.loads(product_template_file(assembly.outdir, tid).read_text()) for tid in TEMPLATES}


def resources(template: dict, resource_type: str) -> dict[str, dict]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == resource_type}


# -- the product templates ------------------------------------------------------------------


@pytest.mark.parametrize("template_id", list(TEMPLATES))
def test_product_template_declares_the_project_parameters_as_studio_passes_them(products, template_id):
    params = products[template_id]["Parameters"]
    name = dict(params["SageMakerProjectName"])
    assert name.pop("Default")  # for a launch outside Studio; Studio always passes a value
    assert name == {
        "Type": "String",
        "Description": "Name of the project",
        "MinLength": 1,
        "MaxLength": PROJECT_NAME_MAX_LENGTH,
        "AllowedPattern": PROJECT_NAME_PATTERN,
    }
    project_id = params["SageMakerProjectId"]
    assert (project_id["Type"], project_id["MinLength"], project_id["MaxLength"], project_id["AllowedPattern"]) == (
        "String",
        1,
        PROJECT_ID_PARAMETER_MAX_LENGTH,
        # The image template names ECR repositories and SageMaker images after the id: no "--".
        IMAGE_PROJECT_ID_PATTERN if resources(products[template_id], "AWS::ECR::Repository") else PROJECT_ID_PATTERN,
    )


@pytest.mark.parametrize("template_id", list(TEMPLATES))
def test_product_template_needs_no_cdk_bootstrap(assembly, products, template_id):
    text = product_template_file(assembly.outdir, template_id).read_text()
    for mark in BOOTSTRAP_MARKS:
        assert mark not in text, mark
    template = products[template_id]
    # No bootstrap check; the deploy templates' rules keep each stage in this region (issue 13),
    # the image template's refuses a Region without AWS's base images.
    # The private network's parameters are given together or not at all.
    allowed = ("RegionIsThisRegion", BASE_IMAGE_REGION_RULE, "PrivateNetworkTogether")
    assert all(any(a in name for a in allowed) for name in template.get("Rules", {}))
    assert not [p for p in template["Parameters"].values() if p["Type"].startswith("AWS::SSM::Parameter")]


@pytest.mark.parametrize("template_id", list(TEMPLATES))
def test_product_assets_are_read_from_the_template_bucket(admin, products, template_id):
    facts = facts_for(template_id)
    bucket_name = resources(admin, "AWS::S3::Bucket")
    (name,) = [r["Properties"]["BucketName"] for r in bucket_name.values() if "BucketName" in r["Properties"]]
    template = products[template_id]
    repositories = facts.pinned_logical_ids.get("AWS::CodeCommit::Repository", [])
    seeds = resources(template, "Custom::SeedRepository")
    assert repositories or seeds  # CodeCommit first commits, or seeds pushed through a connection
    for seed in seeds.values():
        assert seed["Properties"]["SeedBucket"] == name
    for repository in repositories:
        # The template bucket's name is computed in the launching account: no reference to the admin stack.
        assert template["Resources"][repository]["Properties"]["Code"]["S3"]["Bucket"] == name, repository
    if not facts.copies_dataset:
        assert not resources(template, "Custom::ProjectDataset")
        return
    functions = resources(template, "AWS::Lambda::Function").values()
    assert functions and all(f["Properties"]["Code"]["S3Bucket"] == name for f in functions)
    (dataset,) = resources(template, "Custom::ProjectDataset").values()
    # Copied from the template bucket (its name, computed in the launching account, is inlined).
    literal = "".join(part for part in dataset["Properties"]["Create"]["Fn::Join"][1] if isinstance(part, str))
    assert '"CopySource":"' + name["Fn::Join"][1][0] in literal


def test_product_templates_are_the_templates_of_the_stacks(assembly, products):
    """One definition: a product template holds the same resources, parameters and outputs,
    under the same logical ids (the repository event rules too: the product is the stack's
    synthesized template, not a second construction under another path)."""
    for template_id, product in products.items():
        stack = assembly.templates[template_id]
        assert set(product["Resources"]) == set(stack["Resources"]), template_id
        assert set(product["Outputs"]) == set(stack["Outputs"])
        assert set(product["Parameters"]) == set(stack["Parameters"]) - {"BootstrapVersion"}


def test_cfn_lint_reports_nothing_on_the_admin_and_product_templates(assembly):
    files = [assembly.outdir / f"{STUDIO_STACK_ID}.template.json"] + [
        product_template_file(assembly.outdir, tid) for tid in TEMPLATES
    ]
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--", *map(str, files)], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("template_id", list(TEMPLATES))
def test_product_template_iam_has_no_wildcard_action_and_scopes_resources(products, template_id):
    statements = list(_allow_statements(products[template_id]))
    assert statements
    for logical_id, statement in statements:
        actions = _as_list(statement["Action"])
        assert not [a for a in actions if a == "*" or a.endswith(":*")], logical_id
        if "*" in _as_list(statement["Resource"]):
            assert set(actions) <= UNSCOPABLE_ACTIONS, f"{logical_id}: {actions} on Resource '*'"


def test_admin_iam_has_no_wildcard_action_and_scopes_resources(admin):
    for logical_id, statement in _allow_statements(admin):
        actions = _as_list(statement["Action"])
        assert not [a for a in actions if a == "*" or a.endswith(":*")], logical_id
        if "*" not in _as_list(statement["Resource"]):
            continue
        if statement.get("Sid") == "ReadServiceCatalogTemplates":
            # Service Catalog's own template bucket: only the objects it tags for provisioning.
            assert actions == ["s3:GetObject"]
            assert statement["Condition"] == {"StringEquals": {"s3:ExistingObjectTag/servicecatalog:provisioning": "true"}}
            continue
        assert set(actions) <= UNSCOPABLE_ACTIONS | set(LAUNCH_ROLE_UNSCOPED), f"{logical_id}: {actions} on Resource '*'"


def test_no_security_pack_finding_on_the_admin_or_product_stacks(assembly):
    for report in assembly.validation_report["pluginReports"]:
        for violation in report["violations"]:
            if violation["ruleName"] == "Annotation::sagemaker-projects-cdk:noProductVersions":
                continue  # the session app publishes without a versions directory, on purpose
            paths = [c["constructPath"] for c in violation["violatingConstructs"]]
            assert not any(p.startswith(f"{STUDIO_STACK_ID}/") for p in paths), violation


def test_a_finding_in_a_product_stack_fails_the_synth(tmp_path):
    """The packs see product stacks: an unencrypted bucket in one makes synth fail."""
    from aws_cdk import Stack
    from aws_cdk import aws_s3 as s3
    from aws_cdk import aws_servicecatalog as servicecatalog

    from sagemaker_projects_cdk.compliance import add_security_packs
    from support import new_app

    app = new_app(tmp_path)
    product = servicecatalog.ProductStack(Stack(app, "Admin"), "Product")
    s3.Bucket(product, "Plain")
    add_security_packs(app)
    with pytest.raises(RuntimeError, match="ValidationFailed") as failure:
        app.synth()
    assert "Admin/Product/Plain" in str(failure.value)


# -- the portfolio, products and S3 templates -------------------------------------------------


def test_one_product_per_template_tagged_for_studio_with_a_launch_constraint(admin):
    template = Template.from_json(admin)
    products = resources(admin, "AWS::ServiceCatalog::CloudFormationProduct")
    assert sorted(p["Properties"]["Name"] for p in products.values()) == sorted(t.TITLE for t in TEMPLATES.values())
    for product in products.values():
        assert {"Key": "sagemaker:studio-visibility", "Value": "true"} in product["Properties"]["Tags"]
        (artifact,) = product["Properties"]["ProvisioningArtifactParameters"]
        assert artifact["Name"].startswith("v1-") and len(artifact["Name"]) == len("v1-") + 12
    template.resource_count_is("AWS::ServiceCatalog::PortfolioProductAssociation", len(TEMPLATES))
    constraints = resources(admin, "AWS::ServiceCatalog::LaunchRoleConstraint")
    assert len(constraints) == len(TEMPLATES)
    (role,) = [k for k, r in resources(admin, "AWS::IAM::Role").items() if "LaunchRole" in k]
    for constraint in constraints.values():
        assert constraint["Properties"]["RoleArn"] == {"Fn::GetAtt": [role, "Arn"]}


def test_studio_execution_role_is_a_parameter_associated_with_the_portfolio(admin):
    parameter = admin["Parameters"]["StudioExecutionRoleArn"]
    assert parameter["Type"] == "String" and parameter["AllowedPattern"].startswith("^arn:aws")
    (association,) = resources(admin, "AWS::ServiceCatalog::PortfolioPrincipalAssociation").values()
    assert association["Properties"]["PrincipalARN"] == {"Ref": "StudioExecutionRoleArn"}
    assert association["Properties"]["PrincipalType"] == "IAM"


def test_launch_role_is_trusted_by_service_catalog_only(admin):
    roles = {k: r for k, r in resources(admin, "AWS::IAM::Role").items() if "LaunchRole" in k}
    (role,) = roles.values()
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "servicecatalog.amazonaws.com"}
    assert "ManagedPolicyArns" not in role["Properties"] and "Policies" not in role["Properties"]


def sdk_call(value: dict) -> tuple[dict, list]:
    """An AwsCustomResource call property: the JSON with each intrinsic as "<n>", and the intrinsics."""
    separator, parts = value["Fn::Join"]
    intrinsics = [part for part in parts if not isinstance(part, str)]
    text, index = "", 0
    for part in parts:
        if isinstance(part, str):
            text += part
        else:
            text += f"<{index}>"
            index += 1
    return json.loads(text), intrinsics


def test_s3_templates_are_product_templates_copied_tagged_and_encrypted(admin):
    products = {
        p["Properties"]["Name"]: p["Properties"]["ProvisioningArtifactParameters"][-1]["Info"]["LoadTemplateFromURL"]
        for p in resources(admin, "AWS::ServiceCatalog::CloudFormationProduct").values()
    }
    urls = {tid: products[t.TITLE] for tid, t in TEMPLATES.items()}
    copies = resources(admin, "Custom::StudioS3Template")
    assert len(copies) == len(TEMPLATES)
    copied = {}
    for copy in copies.values():
        create, intrinsics = sdk_call(copy["Properties"]["Create"])
        assert copy["Properties"]["Update"] == copy["Properties"]["Create"]
        assert (create["service"], create["action"]) == ("S3", "copyObject")
        parameters = create["parameters"]
        assert parameters["Tagging"] == "sagemaker:studio-visibility=true"
        assert (parameters["TaggingDirective"], parameters["ServerSideEncryption"]) == ("REPLACE", "aws:kms")
        # The source is the product template as Service Catalog gets it: "<bucket>/<key>" of its URL.
        source = intrinsics[int(parameters["CopySource"].strip("<>"))]
        (url,) = {select["Fn::Select"][1]["Fn::Split"][1]["Fn::Sub"] for select in source["Fn::Join"][1]}
        copied[parameters["Key"]] = url
        delete, _ = sdk_call(copy["Properties"]["Delete"])
        assert delete["action"] == "deleteObject" and delete["parameters"]["Key"] == parameters["Key"]
    assert copied == {f"templates/{tid}.json": url["Fn::Sub"] for tid, url in urls.items()}


def test_template_bucket_allows_studio_origin_and_outputs_the_domain_tag_value(admin):
    (bucket,) = [r for r in resources(admin, "AWS::S3::Bucket").values() if "CorsConfiguration" in r["Properties"]]
    (rule,) = bucket["Properties"]["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedOrigins"] == ["https://*.sagemaker.aws"]
    assert set(rule["AllowedMethods"]) == {"GET", "HEAD"}
    assert bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert bucket["DeletionPolicy"] == "Retain"
    location = admin["Outputs"]["ProjectS3TemplatesLocation"]
    assert location["Description"].endswith("sagemaker:projectS3TemplatesLocation")
    parts = location["Value"]["Fn::Join"][1]
    assert parts[0].startswith("s3://sagemaker-templates-") and parts[-1].endswith("/templates/")


def test_studio_roles_may_read_only_the_s3_templates(admin):
    (policy,) = [
        r for r in resources(admin, "AWS::S3::BucketPolicy").values()
        if any(s.get("Sid") == "StudioReadsTemplates" for s in r["Properties"]["PolicyDocument"]["Statement"])
    ]
    statements = {s.get("Sid"): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    read = statements["StudioReadsTemplates"]
    assert read["Principal"] == {"AWS": {"Ref": "StudioExecutionRoleArn"}}
    assert sorted(read["Action"]) == ["s3:GetObject", "s3:GetObjectTagging"]
    assert read["Resource"]["Fn::Join"][1][-1] == "/templates/*"
    assert statements["StudioListsTemplates"]["Condition"] == {"StringLike": {"s3:prefix": ["templates/*"]}}


def test_template_key_decrypts_for_this_account_through_s3_only(admin):
    (key,) = resources(admin, "AWS::KMS::Key").values()
    (statement,) = [s for s in key["Properties"]["KeyPolicy"]["Statement"] if s.get("Sid") == "DecryptTemplateAssetsThroughS3"]
    assert statement["Action"] == "kms:Decrypt"
    assert statement["Condition"]["StringEquals"]["kms:CallerAccount"] == {"Ref": "AWS::AccountId"}
    assert statement["Condition"]["StringEquals"]["kms:ViaService"] == {"Fn::Join": ["", ["s3.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}
    assert "kms:EncryptionContext:aws:s3:arn" in statement["Condition"]["StringLike"]


def test_admin_stack_is_deterministic(assembly, tmp_path):
    """A second synth of the app gives the same admin and product templates.

    The app, not the Studio stack alone: the products are the template stacks' synthesized
    templates (synth once, issue 19), so the Studio stack alone would build them a second way
    (product stacks). The cost is the same as before: seven templates built once each."""
    from sagemaker_projects_cdk.app import build_app
    from support import new_app

    app = build_app(new_app(tmp_path))
    app.synth()
    names = [f"{STUDIO_STACK_ID}.template.json"] + [product_template_file(assembly.outdir, t).name for t in TEMPLATES]
    for name in names:
        assert (tmp_path / name).read_bytes() == (assembly.outdir / name).read_bytes(), name
