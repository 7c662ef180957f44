"""AWS's SageMaker images that the seeded Dockerfiles start from, and where they live in each Region.

Each image type of the image-build template extends one of AWS's SageMaker framework images:

===========  =============================  ==================================================
Image type   Base image (repository:tag)    Why
===========  =============================  ==================================================
processing   ``sagemaker-xgboost:3.2-0``    the model-build seed runs preprocess.py and
                                            evaluate.py in it (evaluate.py loads the model
                                            with xgboost 3.x); it also has numpy, pandas,
                                            scipy and scikit-learn (see ``modules``)
training     ``sagemaker-xgboost:3.2-0``    the model-build seed trains with XGBoost 3.2-0
inference    ``sagemaker-xgboost:3.2-0``    the same container serves what it trained
===========  =============================  ==================================================

One framework for all three keeps the chain consistent: when the project's processing image
replaces AWS's, the evaluation step still loads a model saved by the same xgboost. A project
whose processing scripts need another framework changes the processing Dockerfile's ``FROM``
(and may add packages to its ``requirements.txt``).

AWS publishes these images from one AWS account per Region (``<account>.dkr.ecr.<region>.<url
suffix>``). ``REGISTRY_ACCOUNTS`` maps each Region to that account, as the SageMaker Python SDK
3.27.0 records them (``sagemaker/core/image_uri_config/xgboost.json`` for 3.2-0); a test
compares them with that file,
so a pin moved here without its accounts fails. The build stacks turn the mapping into a
CloudFormation mapping (``Fn::FindInMap`` on ``AWS::Region``) and pass the registry host to the
image build as ``BASE_IMAGE_REGISTRY``; a Region missing here is refused before anything is
created (a template rule), or at synth when the stack's Region is known.

To pin a base image more tightly (a digest rather than a tag), edit the ``FROM`` line of the
Dockerfile in the image's repository: ``FROM ${BASE_IMAGE_REGISTRY}/sagemaker-xgboost@sha256:...``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

#: The image types a project may build, in the order the template lists them.
IMAGE_TYPES = ("processing", "training", "inference")


@dataclass(frozen=True, kw_only=True)
class BaseImage:
    """One of AWS's SageMaker images: where the seeded Dockerfile of an image type starts."""

    #: The framework's name in the SageMaker Python SDK (``image_uris.retrieve``).
    framework: str
    #: The framework version in the SDK's ``image_uri_config`` (the tag's first part).
    version: str
    #: The ECR repository name in AWS's registry account of each Region.
    repository: str
    #: The image tag.
    tag: str
    #: ``JobType`` of the SageMaker image versions built from it (``CreateImageVersion``);
    #: None for processing, which has no job type there.
    job_type: Optional[str]
    #: The third-party Python modules the image ships, by import name (what a script run in
    #: it may import without adding a requirement).
    modules: frozenset[str]

    @property
    def reference(self) -> str:
        """``<repository>:<tag>``, what the Dockerfile's ``FROM`` names after the registry."""
        return f"{self.repository}:{self.tag}"


#: What the SageMaker XGBoost container installs (github.com/aws/sagemaker-xgboost-container,
#: main branch of June 2026, the 3.2.0 line): its base Dockerfile installs xgboost with numpy,
#: pandas and pyarrow; its requirements.txt adds the rest (scikit-learn is ``sklearn``, PyYAML
#: ``yaml``, Pillow ``PIL``, python-dateutil ``dateutil``). Listed by import name; the
#: container's own serving packages are left out.
XGBOOST_IMAGE_MODULES = frozenset(
    {
        "xgboost", "numpy", "pandas", "pyarrow", "scipy", "sklearn", "boto3", "botocore",
        "matplotlib", "dask", "numba", "requests", "yaml", "PIL", "dateutil", "psutil", "flask",
    }
)


def _xgboost(job_type: Optional[str]) -> BaseImage:
    return BaseImage(
        framework="xgboost",
        version="3.2-0",
        repository="sagemaker-xgboost",
        tag="3.2-0",
        job_type=job_type,
        modules=XGBOOST_IMAGE_MODULES,
    )


#: The base image of each image type: AWS's XGBoost 3.2-0 image for all three, the framework
#: and version the model-build seed runs its processing, training and model on.
BASE_IMAGES: dict[str, BaseImage] = {
    "processing": _xgboost(None),
    "training": _xgboost("TRAINING"),
    "inference": _xgboost("INFERENCE"),
}

#: The AWS account that publishes the base images in each Region (SageMaker Python SDK 3.27.0,
#: ``image_uri_config/xgboost.json`` 3.2-0).
REGISTRY_ACCOUNTS: dict[str, str] = {
    "af-south-1": "510948584623",
    "ap-east-1": "651117190479",
    "ap-northeast-1": "354813040037",
    "ap-northeast-2": "366743142698",
    "ap-northeast-3": "867004704886",
    "ap-south-1": "720646828776",
    "ap-south-2": "628508329040",
    "ap-southeast-1": "121021644041",
    "ap-southeast-2": "783357654285",
    "ap-southeast-3": "951798379941",
    "ap-southeast-4": "106583098589",
    "ca-central-1": "341280168497",
    "ca-west-1": "190319476487",
    "cn-north-1": "450853457545",
    "cn-northwest-1": "451049120500",
    "eu-central-1": "492215442770",
    "eu-central-2": "680994064768",
    "eu-north-1": "662702820516",
    "eu-south-1": "978288397137",
    "eu-south-2": "104374241257",
    "eu-west-1": "141502667606",
    "eu-west-2": "764974769150",
    "eu-west-3": "659782779980",
    "il-central-1": "898809789911",
    "me-central-1": "272398656194",
    "me-south-1": "801668240914",
    "sa-east-1": "737474898029",
    "us-east-1": "683313688378",
    "us-east-2": "257758044811",
    "us-gov-east-1": "237065988967",
    "us-gov-west-1": "414596584902",
    "us-iso-east-1": "833128469047",
    "us-isob-east-1": "281123927165",
    "us-isof-east-1": "108575199400",
    "us-isof-south-1": "124985052026",
    "us-west-1": "746614075791",
    "us-west-2": "246618743249",
}


def base_image(image_type: str) -> BaseImage:
    """The base image of ``image_type`` (``check_image_type`` first for a friendly error)."""
    return BASE_IMAGES[image_type]
