"""The images Model Monitor's jobs run: AWS's analyzer and Clarify images, by Region.

Both are AWS-owned ECR repositories in one AWS account per Region (the facts are the SageMaker
Python SDK's ``image_uri_config/model-monitor.json`` and ``clarify.json``, and the Developer
Guide's "Amazon SageMaker Model Monitor prebuilt container" page). A template cannot run
Python at deploy time, so the Region picks the image from a CloudFormation mapping,
``MonitorImages``. Only Regions where both images exist are listed: deploying elsewhere fails
at ``Fn::FindInMap`` before anything is created.

- Data quality and model quality run ``sagemaker-model-monitor-analyzer`` (no tag: the SDK
  names it so);
- model bias and explainability run ``sagemaker-clarify-processing:1.0``.
"""

from __future__ import annotations

from aws_cdk import CfnMapping, Fn, Stack
from constructs import Construct

from ..._internal.validation import check_choice, is_unresolved

#: ``sagemaker-model-monitor-analyzer``'s registry account per Region.
ANALYZER_ACCOUNTS = {
    "af-south-1": "875698925577",
    "ap-east-1": "001633400207",
    "ap-northeast-1": "574779866223",
    "ap-northeast-2": "709848358524",
    "ap-northeast-3": "990339680094",
    "ap-south-1": "126357580389",
    "ap-southeast-1": "245545462676",
    "ap-southeast-2": "563025443158",
    "ap-southeast-3": "669540362728",
    "ca-central-1": "536280801234",
    "cn-north-1": "453000072557",
    "cn-northwest-1": "453252182341",
    "eu-central-1": "048819808253",
    "eu-central-2": "590183933784",
    "eu-north-1": "895015795356",
    "eu-south-1": "933208885752",
    "eu-south-2": "437450045455",
    "eu-west-1": "468650794304",
    "eu-west-2": "749857270468",
    "eu-west-3": "680080141114",
    "il-central-1": "843974653677",
    "me-central-1": "588750061953",
    "me-south-1": "607024016150",
    "sa-east-1": "539772159869",
    "us-east-1": "156813124566",
    "us-east-2": "777275614652",
    "us-west-1": "890145073186",
    "us-west-2": "159807026194",
}
#: ``sagemaker-clarify-processing``'s registry account per Region.
CLARIFY_ACCOUNTS = {
    "af-south-1": "811711786498",
    "ap-east-1": "098760798382",
    "ap-northeast-1": "377024640650",
    "ap-northeast-2": "263625296855",
    "ap-northeast-3": "912233562940",
    "ap-south-1": "452307495513",
    "ap-southeast-1": "834264404009",
    "ap-southeast-2": "007051062584",
    "ap-southeast-3": "705930551576",
    "ca-central-1": "675030665977",
    "cn-north-1": "122526803553",
    "cn-northwest-1": "122578899357",
    "eu-central-1": "017069133835",
    "eu-central-2": "730335477804",
    "eu-north-1": "763603941244",
    "eu-south-1": "638885417683",
    "eu-west-1": "131013547314",
    "eu-west-2": "440796970383",
    "eu-west-3": "341593696636",
    "me-south-1": "835444307964",
    "sa-east-1": "520018980103",
    "us-east-1": "205585389593",
    "us-east-2": "211330385671",
    "us-gov-west-1": "598674086554",
    "us-west-1": "740489534195",
    "us-west-2": "306415355426",
}
ANALYZER_REPOSITORY = "sagemaker-model-monitor-analyzer"
CLARIFY_REPOSITORY = "sagemaker-clarify-processing"
CLARIFY_TAG = "1.0"
#: The mapping's logical id and its two keys.
MAPPING_ID = "MonitorImages"
ANALYZER = "Analyzer"
CLARIFY = "Clarify"
#: Regions where every monitor can run.
MONITOR_REGIONS = tuple(sorted(set(ANALYZER_ACCOUNTS) & set(CLARIFY_ACCOUNTS)))


def _registry(account: str, region: str) -> str:
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{account}.dkr.ecr.{region}.{suffix}"


def image_uris(region: str) -> dict[str, str]:
    """The analyzer and Clarify image URIs of one Region (``KeyError`` for another)."""
    return {
        ANALYZER: f"{_registry(ANALYZER_ACCOUNTS[region], region)}/{ANALYZER_REPOSITORY}",
        CLARIFY: f"{_registry(CLARIFY_ACCOUNTS[region], region)}/{CLARIFY_REPOSITORY}:{CLARIFY_TAG}",
    }


def image_mapping(scope: Construct) -> CfnMapping:
    """The stack's ``MonitorImages`` mapping (created once per stack)."""
    stack = Stack.of(scope)
    existing = stack.node.try_find_child(MAPPING_ID)
    if isinstance(existing, CfnMapping):
        return existing
    return CfnMapping(stack, MAPPING_ID, mapping={region: image_uris(region) for region in MONITOR_REGIONS})


def image_uri(scope: Construct, image: str) -> str:
    """The URI of ``image`` (``ANALYZER`` or ``CLARIFY``): a plain string when the stack's Region
    is known, else ``Fn::FindInMap`` on the deploying Region."""
    stack = Stack.of(scope)
    if is_unresolved(stack.region):
        image_mapping(scope)
        return Fn.find_in_map(MAPPING_ID, stack.region, image)
    check_choice("region", stack.region, MONITOR_REGIONS)
    return image_uris(stack.region)[image]
