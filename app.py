#!/usr/bin/env python3
"""CDK entry point: every SageMaker Projects template, environment-agnostic, no credentials needed.

``npx cdk synth`` runs this file; so may ``python app.py`` (then cdk.json's feature flags are
loaded here, so both give the same templates; set ``CDK_OUTDIR`` to choose the output folder).

Context (``-c key=value``), the only input read here:
  templates        comma-separated template ids to synthesize (default: all of TEMPLATES)
  cfn-validation   "true" runs aws-cdk-lib's built-in CloudFormation validation too. It is
                   off by default: it adds about 1.5 s to every synth here, and `make test`
                   runs cfn-lint over every template (plus the cdk-nag packs, always on).
  studio           "false" leaves out the StudioTemplates stack (the same templates
                   published to SageMaker Studio); on by default
  principals       comma-separated ARNs of the Studio execution roles that may use the
                   templates (default: the stack's StudioExecutionRoleArn parameter)
  launch-role      ARN of an existing Service Catalog launch role (default: a new one)
  versions         folder of recorded product versions, relative to this file; synth
                   records new versions there, commit it (default: none, current only)
  allow-removal    comma-separated template ids whose recorded versions may be unpublished
"""

import json
import os
from pathlib import Path

from aws_cdk import App

from sagemaker_projects_cdk.app import StudioOptions, build_app

HERE = Path(__file__).parent


def _list(value):
    return [item.strip() for item in str(value).split(",") if item.strip()] if value else None


# Defaults only: context the CDK CLI passes (the same cdk.json, plus -c values) wins.
cdk_json = json.loads((HERE / "cdk.json").read_text())
context = cdk_json.get("context", {})
cli_context = json.loads(os.environ.get("CDK_CONTEXT_JSON") or "{}")
validation = str(cli_context.get("cfn-validation", context.get("cfn-validation", "false"))).lower() == "true"
app = App(context=context, builtin_cloud_formation_validation=validation)
get = app.node.try_get_context
studio = None
if str(get("studio") or "true").lower() != "false":
    versions = get("versions")
    studio = StudioOptions(
        principal_arns=_list(get("principals")),
        launch_role_arn=get("launch-role") or None,
        versions_directory=HERE / versions if versions else None,
        allow_removal=_list(get("allow-removal")) or (),
    )
build_app(app, templates=_list(get("templates")), studio=studio)
app.synth()
