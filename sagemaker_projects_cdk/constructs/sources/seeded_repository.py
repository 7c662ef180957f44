"""A CodeCommit repository whose first commit is a folder of seed code."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_codecommit as codecommit
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from ..._internal.validation import check_length, invalid
from ...compliance import checkov_skip
from .source import CodeCommitSource, check_branch

SEED_CODE_ROOT = Path(__file__).resolve().parents[2] / "seed_code"

#: Files that never belong in a seeded repository (and would make the asset hash unstable).
SEED_EXCLUDES = [
    "**/__pycache__",
    "**/__pycache__/**",
    "**/*.pyc",
    "**/.pytest_cache",
    "**/.pytest_cache/**",
    "**/.ipynb_checkpoints",
    "**/.DS_Store",
]


def seed_code_path(name: str) -> Path:
    """The folder of a seed code package shipped with this library (``model_build``...)."""
    path = SEED_CODE_ROOT / name
    if not path.is_dir():
        known = sorted(p.name for p in SEED_CODE_ROOT.iterdir() if p.is_dir() and not p.name.startswith("_"))
        raise invalid("seed code", name, "one of " + ", ".join(known))
    return path


class SeededRepository(Construct):
    """A CodeCommit repository created with the content of a local folder as its first commit.

    :param repository_name: the repository name (1-100 characters; may be a token).
    :param seed_directory: the folder whose files form the first commit (see
        :func:`seed_code_path`). Caches such as ``__pycache__`` are left out.
    :param branch: the branch of the first commit, and the one pipelines follow.
        Default: ``main``.
    :param description: the repository description. Default: none.
    :param encryption_key: the customer-managed KMS key that encrypts the repository.
        Default: the AWS-managed CodeCommit key. A ``kms.Key`` of this app gets a key
        policy statement letting this account's principals use it through CodeCommit in
        this Region (clone, pull and push need it; IAM still decides who may call
        CodeCommit, see :func:`allow_use_through_codecommit`); an imported key needs the
        same statement in its own policy.
    :param removal_policy: what happens to the repository on stack deletion. Default: RETAIN
        (it holds the team's code).

    The seed is only applied when the repository is created; later changes to the folder
    do not touch an existing repository.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        repository_name: str,
        seed_directory: Path | str,
        branch: str = "main",
        description: Optional[str] = None,
        encryption_key: Optional[kms.IKey] = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        check_length("repository_name", repository_name, 1, 100)
        check_branch(branch)
        seed_directory = Path(seed_directory)
        if not seed_directory.is_dir():
            raise invalid("seed_directory", str(seed_directory), "an existing folder")

        #: The zipped seed code, uploaded by ``cdk deploy`` as a file asset.
        self.seed_asset = s3_assets.Asset(self, "Seed", path=str(seed_directory), exclude=SEED_EXCLUDES)
        #: The CodeCommit repository.
        self.repository = codecommit.Repository(
            self,
            "Repository",
            repository_name=repository_name,
            description=description,
            code=codecommit.Code.from_asset(self.seed_asset, branch),
            kms_key=encryption_key,
        )
        self.repository.apply_removal_policy(removal_policy)
        if isinstance(encryption_key, kms.Key):
            allow_use_through_codecommit(encryption_key)
        #: The branch pipelines follow.
        self.branch = branch

    @property
    def source(self) -> CodeCommitSource:
        """This repository's branch as a pipeline source."""
        return CodeCommitSource(repository=self.repository, branch=self.branch)


#: What CodeCommit does with a repository's customer-managed key for its callers (AWS
#: CodeCommit User Guide, "AWS Key Management Service and encryption for AWS CodeCommit
#: repositories": Encrypt, Decrypt, ReEncrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext,
#: DescribeKey).
CODECOMMIT_KEY_ACTIONS = (
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:DescribeKey",
)
CODECOMMIT_STATEMENT_SID = "AllowUseThroughCodeCommit"


def allow_use_through_codecommit(key: kms.Key) -> None:
    """Let the principals of this account use ``key`` through CodeCommit in this Region.

    CodeCommit encrypts and decrypts a repository's data as its caller. The key policy's
    account statement only lets IAM policies grant the key, and neither Studio users' roles
    nor the pipelines' roles hold a grant of this project's key: without this statement, a
    clone, pull or push fails. The statement names every principal (``*``) but holds only
    for calls that CodeCommit makes
    (``kms:ViaService``) for this account (``kms:CallerAccount``); who may call CodeCommit is
    still decided by IAM. (Naming the account root instead would add nothing to the account
    statement: a root principal in a key policy delegates to IAM, it grants no one.)
    Adding it for several repositories of one key gives one statement (aws-cdk-lib merges
    identical statements).
    """
    stack = Stack.of(key)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid=CODECOMMIT_STATEMENT_SID,
            principals=[iam.AnyPrincipal()],
            actions=list(CODECOMMIT_KEY_ACTIONS),
            resources=["*"],
            conditions={
                "StringEquals": {
                    "kms:ViaService": f"codecommit.{stack.region}.{stack.url_suffix}",
                    "kms:CallerAccount": stack.account,
                }
            },
        )
    )
    checkov_skip(
        key,
        "CKV_AWS_33",
        "the any-principal statement holds only for calls CodeCommit makes (kms:ViaService) for this "
        "account (kms:CallerAccount); IAM still decides who may call CodeCommit",
    )
