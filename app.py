#!/usr/bin/env python3
"""CDK entry point: every SageMaker Projects template, environment-agnostic, no credentials needed.

``npx cdk synth`` runs this file; so may ``python app.py`` (then cdk.json's feature flags are
loaded here, so both give the same templates; set ``CDK_OUTDIR`` to choose the output folder).

Context (``-c key=value``), the only input read here:
  templates        comma-separated template ids to synthesize (default: all of TEMPLATES)
  cfn-validation   "true" runs aws-cdk-lib's built-in CloudFormation validation too. It is
                   off by default: it adds about 1.5 s to every synth here, and `make test`
                   runs cfn-lint over every template (plus the cdk-nag packs, always on).
"""

import json
import os
from pathlib import Path

from aws_cdk import App

from sagemaker_projects_cdk.app import build_app

# Defaults only: context the CDK CLI passes (the same cdk.json, plus -c values) wins.
cdk_json = json.loads((Path(__file__).parent / "cdk.json").read_text())
context = cdk_json.get("context", {})
cli_context = json.loads(os.environ.get("CDK_CONTEXT_JSON") or "{}")
validation = str(cli_context.get("cfn-validation", context.get("cfn-validation", "false"))).lower() == "true"
app = App(context=context, builtin_cloud_formation_validation=validation)
templates = app.node.try_get_context("templates")
build_app(app, templates=templates.split(",") if templates else None)
app.synth()
