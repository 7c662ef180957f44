"""Regular expressions shared across the library: names, ARNs and S3 key prefixes.

Each is a full-match pattern without anchors: ``check_pattern`` full-matches it, and a
CloudFormation parameter's ``AllowedPattern`` wraps it as ``^...$``. Several of them reach
templates verbatim, so changing one changes the synthesized templates.

The seed code (``seed_code/``) keeps its own copies: it runs in the projects' repositories
without this library.
"""

from __future__ import annotations

# ------------------------------------------------------------------ S3

#: An S3 bucket name as S3 allows it for buckets it did not create here (another project's,
#: a shared one): 3 to 63 lower-case letters, digits, hyphens and dots, starting and ending
#: with a letter or digit.
BUCKET_NAME = r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"

#: The name of this library's own Studio template bucket: ``BUCKET_NAME`` without dots. The
#: library chooses it, and SageMaker Studio's browser reads the S3 templates over
#: virtual-hosted-style HTTPS (``https://<bucket>.s3.<region>.amazonaws.com``), where a dot in
#: the bucket name adds a DNS label that the ``*.s3...`` wildcard certificate does not cover.
TEMPLATE_BUCKET_NAME = r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]"

#: One segment of an S3 key made of the characters S3 calls safe (no ``/``).
_KEY_SEGMENT = r"[a-zA-Z0-9!_.*'()-]+"

#: An S3 key prefix of safe characters, without leading or trailing ``/``: ``data-capture``.
KEY_PREFIX = rf"{_KEY_SEGMENT}(/{_KEY_SEGMENT})*"

#: An S3 key prefix of safe characters ending in ``/`` (and not starting with it): ``templates/``.
KEY_PREFIX_WITH_SLASH = rf"({_KEY_SEGMENT}/)+"

# ------------------------------------------------------------------ ARNs

#: A KMS key ARN (a key, not an alias), in any partition.
KMS_KEY_ARN = r"arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+"

#: An IAM role ARN: partition, 12-digit account, optional path, name.
ROLE_ARN = r"arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/([\w+=,.@-]+/)*[\w+=,.@-]{1,64}"

#: A versioned model package ARN, as the model registry issues them.
MODEL_PACKAGE_ARN = r"arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:model-package/[a-zA-Z0-9-]{1,63}/[0-9]+"

# ------------------------------------------------------------------ SageMaker names

#: SageMaker's rule for the names of endpoints, production variants and model package
#: groups: 1 to 63 letters, digits and inner hyphens.
SAGEMAKER_NAME = r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"

#: A model package group's name.
MODEL_PACKAGE_GROUP_NAME = SAGEMAKER_NAME

#: An endpoint's or a production variant's name.
ENDPOINT_NAME = SAGEMAKER_NAME

# ------------------------------------------------------------------ ECR

#: A private ECR repository's name (ECR's rule; namespaces separated by ``/``).
ECR_REPOSITORY_NAME = r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*"

#: A 12-digit AWS account id.
ACCOUNT_ID = r"[0-9]{12}"

#: An AWS region name (``us-east-1``, ``eu-central-2``, ``us-gov-west-1``, ``ap-southeast-5``).
REGION = r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}"
