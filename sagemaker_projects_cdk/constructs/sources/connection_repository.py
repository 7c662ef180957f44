"""An existing GitHub, GitLab or Bitbucket repository of a project, reached through an AWS
CodeConnections connection: its pipeline source, its association with the SageMaker project,
and the seeding that pushes the project's seed code into it when the project is created."""

from __future__ import annotations

import fnmatch
import shutil
from pathlib import Path
from typing import Any, Optional, Sequence

import jsii
from aws_cdk import ArnFormat, AssetHashType, BundlingOptions, CustomResource, DockerImage, Duration, ILocalBundling, Stack
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from ..._internal.codebuild import COMPUTE_TYPES, default_policy
from ..._internal.lifecycle import LifecycleFunction
from ..._internal.logs import encrypted_log_group
from ..._internal.validation import check_choice, check_pattern
from ...compliance import acknowledge, acknowledge_cdk_grants, acknowledge_wildcards
from ..project.identity import ProjectIdentity
from .connection import check_connection_arn, check_host_url, connection_use_statement
from .seeded_repository import SEED_EXCLUDES
from .source import CodeConnectionsSource, GitRepository

#: The seeding script (``seed_push.py``), shipped as the seeding build's source.
SCRIPT_DIRECTORY = Path(__file__).resolve().parents[2] / "_internal" / "seed_push"
#: The custom resource type of one repository's seeding.
SEED_RESOURCE_TYPE = "Custom::SeedRepository"
#: The AWS CLI's Git credential helper: signs Git's HTTPS requests with the build role's credentials.
AWS_CREDENTIAL_HELPER = "!aws codecommit credential-helper $@"

_BUILD_SPEC = {
    "version": "0.2",
    "env": {"shell": "bash"},
    "phases": {
        "build": {
            "commands": [
                'aws s3 cp --only-show-errors "s3://${SEED_BUCKET}/${SEED_KEY}" /tmp/seed.zip',
                "mkdir -p /tmp/seed && unzip -q /tmp/seed.zip -d /tmp/seed",
                'python3 seed_push.py --url "${REPOSITORY_URL}" --branch "${BRANCH}" --seed /tmp/seed '
                f"--credential-helper '{AWS_CREDENTIAL_HELPER}'",
            ]
        }
    },
}


@jsii.implements(ILocalBundling)
class _Overlay:
    """Copies folders into the asset's output, each over the previous (local bundling: no Docker)."""

    def __init__(self, directories: Sequence[Path]) -> None:
        self._directories = list(directories)

    def try_bundle(self, output_dir: str, *_options: Any, **_keywords: Any) -> bool:
        patterns = [p.removeprefix("**/").removesuffix("/**") for p in SEED_EXCLUDES]

        def ignore(_folder: str, names: list[str]) -> set[str]:
            return {name for name in names if any(fnmatch.fnmatch(name, p) for p in patterns)}

        for directory in self._directories:
            shutil.copytree(directory, output_dir, dirs_exist_ok=True, ignore=ignore)
        return True


def seed_asset(scope: Construct, construct_id: str, *, seed_directory: Path, overlay: Optional[Path] = None) -> s3_assets.Asset:
    """The zipped seed of a repository: ``seed_directory``, and with ``overlay`` that folder's
    files on top of it (a file of both is the overlay's). Caches are left out."""
    if overlay is None:
        return s3_assets.Asset(scope, construct_id, path=str(seed_directory), exclude=SEED_EXCLUDES)
    for name, folder in (("seed_directory", seed_directory), ("overlay", overlay)):
        if not folder.is_dir():
            raise ValueError(f"invalid {name} {str(folder)!r}: expected a folder of seed code")
    return s3_assets.Asset(
        scope,
        construct_id,
        path=str(seed_directory),
        exclude=SEED_EXCLUDES,
        # The hash of what is zipped (the seed with the overlay), so a change to either is a new asset.
        asset_hash_type=AssetHashType.OUTPUT,
        bundling=BundlingOptions(
            # Never run: the local bundling always succeeds (an image is required all the same).
            image=DockerImage.from_registry("local-overlay-only"),
            local=_Overlay([seed_directory, overlay]),
        ),
    )


class RepositorySeeder(Construct):
    """Pushes seed code into existing repositories through one connection, once, when the
    stack is created: a CodeBuild project running ``seed_push.py`` (see its rules: an empty or
    README-only branch gets the seed on top, a branch with code is left alone, a missing branch
    is created from the default branch, never forced),
    started and awaited by one ``Custom::SeedRepository`` per repository (:meth:`seed`).

    :param connection_arn: the connection (tagged ``sagemaker=true``).
    :param encryption_key: encrypts the build's logs and artifacts and the function's logs.
    :param compute_type: the build's compute type. Default: ``BUILD_GENERAL1_SMALL``.

    The build's role may use the connection to read and write only the repositories given to
    :meth:`seed`, and read only their seed code; Git's HTTPS requests to the connection's
    ``git-http`` endpoint are signed by the AWS CLI's credential helper with the role's own
    temporary credentials, so no token is stored anywhere.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        connection_arn: str,
        encryption_key: kms.IKey,
        compute_type: str = "BUILD_GENERAL1_SMALL",
    ) -> None:
        super().__init__(scope, construct_id)
        check_connection_arn("connection_arn", connection_arn)
        check_choice("compute_type", compute_type, COMPUTE_TYPES)
        self._connection_arn = connection_arn
        #: The seeding script, the build's source.
        self.script = s3_assets.Asset(self, "Script", path=str(SCRIPT_DIRECTORY), exclude=[*SEED_EXCLUDES, "__init__.py"])
        #: The build's log group (retained, encrypted with the project key).
        self.log_group = encrypted_log_group(self, encryption_key=encryption_key)
        #: The CodeBuild project that pushes a seed into one repository per build.
        self.project = codebuild.Project(
            self,
            "Build",
            description="Pushes the SageMaker project's seed code into its repositories through the connection",
            source=codebuild.Source.s3(bucket=self.script.bucket, path=self.script.s3_object_key),
            build_spec=codebuild.BuildSpec.from_object(_BUILD_SPEC),
            environment=codebuild.BuildEnvironment(
                build_image=codebuild.LinuxBuildImage.STANDARD_7_0,
                compute_type=COMPUTE_TYPES[compute_type],
                privileged=False,
            ),
            encryption_key=encryption_key,
            timeout=Duration.minutes(10),
            logging=codebuild.LoggingOptions(
                cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=self.log_group, prefix="seed")
            ),
        )
        #: Starts a build per repository and waits for it (``Custom::SeedRepository``).
        self.handler = LifecycleFunction(
            self,
            "Handler",
            handler="seeding.seed",
            description="Seeds the SageMaker project's repositories when the project is created",
            encryption_key=encryption_key,
        )
        self.handler.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["codebuild:StartBuild", "codebuild:BatchGetBuilds", "codebuild:StopBuild"],
                resources=[self.project.project_arn],
            )
        )
        self._acknowledge_findings()

    def seed(
        self, scope: Construct, construct_id: str, *, repository: GitRepository, seed_asset: s3_assets.Asset
    ) -> CustomResource:
        """Push ``seed_asset`` (a zipped folder) into ``repository`` when the stack is created."""
        self.project.add_to_role_policy(
            connection_use_statement(self._connection_arn, full_names=[repository.full_name])
        )
        self._grant_read_asset(seed_asset)
        resource = self.handler.custom_resource(
            scope,
            construct_id,
            resource_type=SEED_RESOURCE_TYPE,
            properties={
                "ProjectName": self.project.project_name,
                "ConnectionArn": self._connection_arn,
                "FullRepositoryName": repository.full_name,
                "Branch": repository.branch,
                "SeedBucket": seed_asset.s3_bucket_name,
                "SeedKey": seed_asset.s3_object_key,
            },
        )
        # The build runs with the role's complete policy.
        resource.node.add_dependency(default_policy(self.project))
        return resource

    def _grant_read_asset(self, asset: s3_assets.Asset) -> None:
        """Read the one asset object (and decrypt it: with the asset bucket's key when known,
        else with a key of this account and Region through S3 for that object only)."""
        role = self.project.role
        assert role is not None
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[asset.bucket.arn_for_objects(asset.s3_object_key)])
        )
        if asset.bucket.encryption_key is not None:  # e.g. a Service Catalog template bucket
            asset.bucket.encryption_key.grant_decrypt(role)
            return
        stack = Stack.of(self)
        keys = stack.format_arn(service="kms", resource="key", resource_name="*")
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[keys],
                conditions={
                    "StringEquals": {
                        "kms:ViaService": f"s3.{stack.region}.{stack.url_suffix}",
                        "kms:EncryptionContext:aws:s3:arn": [asset.bucket.bucket_arn, asset.bucket.arn_for_objects(asset.s3_object_key)],
                    }
                },
            )
        )
        acknowledge_wildcards(
            default_policy(self.project),
            "the key of the CDK bootstrap bucket is not known at synth; kms:Decrypt is limited to calls through S3 "
            "for the seed asset objects (or their bucket, with S3 Bucket Keys), with keys of this account and Region",
            keys,
        )

    def _acknowledge_findings(self) -> None:
        stack = Stack.of(self)
        acknowledge_cdk_grants(
            default_policy(self.project),
            reason="granted by aws-cdk-lib's CodeBuild project: its S3 source (the seeding script's asset object), "
            "its logs, and the project key for its artifacts",
        )
        acknowledge_wildcards(
            default_policy(self.project),
            "aws-cdk-lib lets every CodeBuild project write test reports to report groups named after it, "
            "and logs under its own /aws/codebuild/ log group; the seed assets are read by their own key only",
            stack.format_arn(
                service="codebuild",
                resource="report-group",
                resource_name=f"{self.project.project_name}-*",
                arn_format=ArnFormat.SLASH_RESOURCE_NAME,
            ),
            stack.format_arn(
                service="logs", resource="log-group", resource_name=f"/aws/codebuild/{self.project.project_name}:*",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            ),
        )
        acknowledge(
            self.project,
            "the source is the seeding script in S3: there is no repository URL, so no credentials in one",
            "HIPAA.Security-CodeBuildProjectSourceRepoUrl",
        )


class ConnectionRepository(Construct):
    """An existing repository of a project on a Git host, reached through a connection.

    :param project: the project (its id names the association; its tags go on it).
    :param connection_arn: the connection (tagged ``sagemaker=true``).
    :param repository: the repository's full name and branch.
    :param part: what the repository holds, in SageMaker's naming: ``modelbuild``,
        ``modeldeploy``; names the association ``sagemaker-<project id>-<part>``.
    :param host_url: the Git host's https address; the association's URL is
        ``<host_url>/<full name>.git``. Default: ``https://github.com``.
    :param seeder: pushes ``seed_directory`` into the repository when the stack is created.
        Default: no seeding.
    :param seed_directory: the seed code (with ``seeder``).
    :param seed_overlay: a folder whose files are pushed over ``seed_directory``'s (e.g. the
        Jenkins pipelines over the model-build seed). Default: none.

    Attributes: ``source`` (the pipeline source), ``code_repository`` (the
    ``AWS::SageMaker::CodeRepository`` Studio lists under the project), ``seeding`` (the
    custom resource, or None).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project: ProjectIdentity,
        connection_arn: str,
        repository: GitRepository,
        part: str,
        host_url: str = "https://github.com",
        seeder: Optional[RepositorySeeder] = None,
        seed_directory: Optional[Path] = None,
        seed_overlay: Optional[Path] = None,
    ) -> None:
        super().__init__(scope, construct_id)
        check_connection_arn("connection_arn", connection_arn)
        check_host_url("host_url", host_url)
        check_pattern("part", part, r"[a-z]{1,20}", "a short lower-case word such as 'modelbuild'")
        #: The repository's full name and branch.
        self.repository = repository
        #: The pipeline source: the branch through the connection.
        self.source = CodeConnectionsSource(
            connection_arn=connection_arn, full_name=repository.full_name, branch=repository.branch
        )
        #: The project's association with the repository (Studio lists it under the project).
        self.code_repository = sagemaker.CfnCodeRepository(
            self,
            "CodeRepository",
            code_repository_name=f"sagemaker-{project.project_id}-{part}",
            git_config=sagemaker.CfnCodeRepository.GitConfigProperty(
                repository_url=f"{host_url.rstrip('/')}/{repository.full_name}.git", branch=repository.branch
            ),
        )
        #: The seeding custom resource, when seeded.
        self.seeding: Optional[CustomResource] = None
        if seeder is not None:
            if seed_directory is None:
                raise TypeError("ConnectionRepository: a seeder needs a seed_directory")
            seed = seed_asset(self, "Seed", seed_directory=seed_directory, overlay=seed_overlay)
            self.seeding = seeder.seed(self, "Seeding", repository=repository, seed_asset=seed)

    @property
    def description(self) -> str:
        """The repository's full name (``owner/repo``)."""
        return self.repository.full_name
