"""The ECR repository that holds one image type's builds.

Default settings:

=========================  ================================================================
Setting                    Default
=========================  ================================================================
Name                       ``sagemaker-<project id>-<type>`` (see ``naming``)
Scanning                   basic scan on every push
Tags                       immutable: a tag names one image forever (builds are tagged
                           ``<commit id>-<build number>``, never ``latest``)
Lifecycle                  keeps the newest ``max_image_count`` images (default 100), tagged
                           or not; older ones expire
Encryption                 SSE-KMS with the project key (ECR creates its own grant on the
                           key; pullers need no KMS permission)
Removal                    RETAIN; ``empty_on_delete=True`` deletes the repository and its
                           images with the stack
Other accounts             none; ``grant_pull_to_accounts`` adds them to the repository policy
=========================  ================================================================

Expiring an image breaks what still names it: a SageMaker image version, any model version
registered with it (no new deployment), and an endpoint already running it: SageMaker pulls the
image for every instance it starts, so such an endpoint can no longer scale out or replace an
instance (a failed one, or during maintenance) although it keeps serving on the ones it has.
Keep ``max_image_count`` above the number of rebuilds a registered model may stay deployed or
deployable for (at one rebuild every 30 days, 100 images cover about 8 years).
"""

from __future__ import annotations

from typing import Optional, Sequence

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from ..._internal.validation import Problems, check_account_id, check_whole, invalid
from ..project.identity import ProjectIdentity
from .naming import check_image_type, image_resource_name

#: What pulling an image takes on the repository (ECR's pull actions; GetAuthorizationToken
#: has no resource and belongs in the puller's own policy).
PULL_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage")
#: The repository policy statement that lets other accounts pull.
CROSS_ACCOUNT_PULL_SID = "PullFromProjectAccounts"
#: ``max_image_count``: at least one image; at most what fits under ECR's default quota of
#: 20,000 images per repository with room to spare.
MAX_IMAGE_COUNT_RANGE = (1, 10000)


class ImageRepository(Construct):
    """An ECR repository for one image type of a project: scanned, immutable tags, KMS-encrypted.

    :param project: the project (its id names the repository).
    :param image_type: ``processing``, ``training`` or ``inference``.
    :param encryption_key: the project key that encrypts the images.
    :param max_image_count: how many images the lifecycle policy keeps (1-10000). Default: 100.
        An expired image breaks new deployments of the model versions naming it, and the scale-out
        and instance replacement of endpoints running it.
    :param empty_on_delete: delete the repository, images included, when the stack is deleted.
        Default: False (the repository is retained, with its images, and a new stack of the same
        project cannot be created while it exists).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project: ProjectIdentity,
        image_type: str,
        encryption_key: kms.IKey,
        max_image_count: int = 100,
        empty_on_delete: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        check_image_type("image_type", image_type)
        problems = Problems()
        check_whole(problems, "max_image_count", max_image_count, *MAX_IMAGE_COUNT_RANGE)
        problems.raise_if_any()
        if not isinstance(empty_on_delete, bool):
            raise invalid("empty_on_delete", empty_on_delete, "True or False")

        #: The image type this repository holds.
        self.image_type = image_type
        self._policy_writer: Optional[str] = None
        #: The repository.
        self.repository = ecr.Repository(
            self,
            "Repository",
            repository_name=image_resource_name(project, image_type),
            image_scan_on_push=True,
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            encryption=ecr.RepositoryEncryption.KMS,
            encryption_key=encryption_key,
            lifecycle_rules=[
                ecr.LifecycleRule(
                    description=f"Keep the newest {max_image_count} images",
                    tag_status=ecr.TagStatus.ANY,
                    max_image_count=max_image_count,
                )
            ],
            removal_policy=RemovalPolicy.DESTROY if empty_on_delete else RemovalPolicy.RETAIN,
            empty_on_delete=True if empty_on_delete else None,
        )

    @property
    def repository_name(self) -> str:
        return self.repository.repository_name

    @property
    def repository_arn(self) -> str:
        return self.repository.repository_arn

    @property
    def repository_uri(self) -> str:
        """``<account>.dkr.ecr.<region>.<url suffix>/<name>``."""
        return self.repository.repository_uri

    @property
    def registry_host(self) -> str:
        """``<account>.dkr.ecr.<region>.<url suffix>``: what ``docker login`` names."""
        stack = Stack.of(self)
        return f"{stack.account}.dkr.ecr.{stack.region}.{stack.url_suffix}"

    def grant_pull(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let a principal of this account pull the images (and get an ECR login token)."""
        return self.repository.grant_pull(grantee)

    def claim_repository_policy(self, writer: str) -> None:
        """Record that ``writer`` (a description of a method, shown in errors) writes this
        repository's policy. Two writers would silently replace each other's statements (one
        through aws-cdk-lib's policy document, the other by overriding ``RepositoryPolicyText``):
        the second one of another name gets a ``ValueError`` naming both."""
        if self._policy_writer is not None and self._policy_writer != writer:
            raise ValueError(
                f"invalid repository policy of {self.node.path}: {writer} would replace the statements "
                f"{self._policy_writer} wrote (each writes the whole RepositoryPolicyText); expected one of them "
                "only: let other accounts pull through one"
            )
        self._policy_writer = writer

    def grant_pull_to_accounts(self, account_ids: Sequence[str]) -> None:
        """Let principals of other accounts pull the images: a repository policy statement naming
        each account (``arn:<partition>:iam::<account>:root``), never a role that may not exist yet.

        Each account still decides which of its principals may pull (their own IAM policies need
        the pull actions on this repository's ARN and ``ecr:GetAuthorizationToken``). Accounts are
        12-digit ids or tokens (parameters); an empty list adds nothing; a repeated id is named once.
        """
        if isinstance(account_ids, str):
            raise invalid("account_ids", account_ids, "a list of 12-digit AWS account ids")
        accounts = list(dict.fromkeys(check_account_id("account_ids", a) for a in account_ids))
        if not accounts:
            return
        self.claim_repository_policy("grant_pull_to_accounts (add_images(pull_account_ids=...))")
        result = self.repository.add_to_resource_policy(
            iam.PolicyStatement(
                sid=CROSS_ACCOUNT_PULL_SID,
                principals=[iam.AccountPrincipal(account) for account in accounts],
                actions=list(PULL_ACTIONS),
            )
        )
        assert result.statement_added  # a Repository of this app always takes the statement
