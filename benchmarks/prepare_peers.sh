#!/usr/bin/env bash
# Prepares the peers that `make benchmark` compares against, into a folder that is never
# committed (default benchmarks/.work/peers; pass it as BENCHMARK_PEERS):
#   emf/                    aws-enterprise-mlops-framework, mlops-sm-project-template, one account set
#   aiops-xgboost-abalone/  aiops-modules sagemaker-templates with the xgboost_abalone template alone
#   venv/                   their Python: this project's aws-cdk-lib, jsii and constructs (the same
#                           versions, through a .pth file) plus what only the peers need (cdk-nag 2)
# Each peer folder gets a benchmark.json telling synth_benchmark.py how to run it.
#
# Usage: benchmarks/prepare_peers.sh [OUT] with EMF_GIT and AIOPS_GIT pointing at git directories
# (clones or mirrors) of the two repositories; defaults: /work/.mirror/<owner>+<name>/repo.
# Needs network access to PyPI for cdk-nag 2 only.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(mkdir -p "${1:-$REPO/benchmarks/.work/peers}" && cd "${1:-$REPO/benchmarks/.work/peers}" && pwd)
EMF_GIT=${EMF_GIT:-/work/.mirror/aws-samples+aws-enterprise-mlops-framework/repo}
AIOPS_GIT=${AIOPS_GIT:-/work/.mirror/awslabs+aiops-modules/repo}
PROJECT_PYTHON=$REPO/.venv/bin/python

# -- their Python ----------------------------------------------------------------------------
if [ ! -x "$OUT/venv/bin/python" ]; then
  "$PROJECT_PYTHON" -m venv "$OUT/venv"
  site=$("$OUT/venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
  "$PROJECT_PYTHON" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])" > "$site/project-venv.pth"
  # --no-deps: everything else comes from the project's venv, which pip must not touch.
  "$OUT/venv/bin/python" -m pip install --quiet --no-deps "cdk-nag==2.37.55"
fi

# No Docker here: EMF bundles its own repository into a zip with a Docker image at synth. A
# stand-in "docker" (first on the peers' PATH) builds nothing and writes an empty zip as the
# bundle, so EMF's figure leaves out its bundling (slightly in its favour).
cat > "$OUT/venv/bin/docker" <<'SH'
#!/bin/sh
# Stand-in for docker (benchmarks/prepare_peers.sh): "build" succeeds, "run" writes an empty zip.
[ "$1" = "run" ] || exit 0
for arg in "$@"; do
  case "$arg" in *:/asset-output*) out=${arg%%:/asset-output*};; esac
done
[ -n "${out:-}" ] && python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1], 'w').close()" "$out/bundle.zip"
exit 0
SH
chmod +x "$OUT/venv/bin/docker"

# -- EMF: one account set --------------------------------------------------------------------
rm -rf "$OUT/emf" && mkdir -p "$OUT/emf"
git --git-dir="$EMF_GIT" archive HEAD mlops-multi-account-cdk/mlops-sm-project-template | tar -x -C "$OUT/emf"
emf=$OUT/emf/mlops-multi-account-cdk/mlops-sm-project-template
cat > "$emf/mlops_sm_project_template/config/accounts.json" <<'JSON'
[
    {
        "SET_NAME": "first-example",
        "DEV_ACCOUNT": "111111111111",
        "PREPROD_ACCOUNT": "222222222222",
        "PROD_ACCOUNT": "333333333333",
        "DEPLOYMENT_REGION": "eu-west-1"
    }
]
JSON
sed -i 's/^PIPELINE_ACCOUNT = ""/PIPELINE_ACCOUNT = "444444444444"/' "$emf/mlops_sm_project_template/config/constants.py"
cat > "$OUT/emf/benchmark.json" <<JSON
{"label": "EMF (aws-enterprise-mlops-framework), one account set", "cwd": "mlops-multi-account-cdk/mlops-sm-project-template",
 "python": "$OUT/venv/bin/python", "argv": ["app.py"], "env": {}}
JSON

# -- aiops-modules: xgboost_abalone alone ----------------------------------------------------
rm -rf "$OUT/aiops-xgboost-abalone" && mkdir -p "$OUT/aiops-xgboost-abalone"
git --git-dir="$AIOPS_GIT" archive HEAD modules/sagemaker/sagemaker-templates | tar -x -C "$OUT/aiops-xgboost-abalone"
cat > "$OUT/aiops-xgboost-abalone/benchmark.json" <<JSON
{"label": "aiops-modules xgboost_abalone alone", "cwd": "modules/sagemaker/sagemaker-templates",
 "python": "$OUT/venv/bin/python", "argv": ["app.py"],
 "env": {"SEEDFARMER_PROJECT_NAME": "bench", "SEEDFARMER_DEPLOYMENT_NAME": "bench", "SEEDFARMER_MODULE_NAME": "templates",
         "SEEDFARMER_PARAMETER_PROJECT_TEMPLATE_TYPE": "xgboost_abalone",
         "SEEDFARMER_PARAMETER_SAGEMAKER_PROJECT_NAME": "bench", "SEEDFARMER_PARAMETER_SAGEMAKER_PROJECT_ID": "p-bench",
         "SEEDFARMER_PARAMETER_SAGEMAKER_DOMAIN_ID": "d-bench",
         "SEEDFARMER_PARAMETER_SAGEMAKER_DOMAIN_ARN": "arn:aws:sagemaker:us-east-1:111111111111:domain/d-bench",
         "CDK_DEFAULT_ACCOUNT": "111111111111", "CDK_DEFAULT_REGION": "us-east-1"}}
JSON
echo "peers prepared in $OUT (BENCHMARK_PEERS=$OUT make benchmark)"
