"""Record the image this build pushed as a new version of the project's SageMaker image.

Run by ``buildspec.yml`` after ``docker push``:

    python3 record_image_version.py --repository-uri URI --tag TAG --image-name NAME \
        --build-id "$CODEBUILD_BUILD_ID" [--job-type TRAINING|INFERENCE] [--release-notes TEXT]

1. reads the pushed image's digest from ECR (``DescribeImages`` on the tag), so the version
   names exactly the bytes that were pushed (``<repository uri>@sha256:...``), never a tag;
2. looks through the image's newest versions (``ListImageVersions``, then
   ``DescribeImageVersion``) for one that already names that digest and is ``CREATING`` or
   ``CREATED``: a run repeated for the same push (the script run again, by hand or by a retried
   command) reuses it instead of recording the same image twice;
3. otherwise ``CreateImageVersion`` with that digest; the client token is the build's id, so a
   retried call within the same build does not create a second version either;
4. waits for the version to be ``CREATED``; ``CREATE_FAILED`` (or a timeout) ends the build
   with SageMaker's reason.

A retry of the whole CodeBuild build is a new build: it builds and pushes a new image (a new
tag and, as Docker records the build time, a new digest), so it records a new version.

A new version fires "SageMaker Image Version State Change", which starts the model build.
Exit status: 0 when the version is created; 1 with one ``error:`` line on standard error
otherwise.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, Callable, Optional, Sequence

#: How often and how long to wait for SageMaker to create the version.
POLL_SECONDS = 10
TIMEOUT_SECONDS = 15 * 60
#: How many of the image's newest versions are looked through for one that names the digest.
LOOKBACK_VERSIONS = 10


class RecordError(Exception):
    """The version could not be recorded; the message says why, for the build log."""


def pushed_digest(ecr: Any, repository_name: str, tag: str) -> str:
    """The digest (``sha256:...``) of ``repository_name:tag``."""
    try:
        details = ecr.describe_images(repositoryName=repository_name, imageIds=[{"imageTag": tag}])["imageDetails"]
    except ecr.exceptions.ImageNotFoundException as error:
        raise RecordError(f"no image tagged {tag!r} in ECR repository {repository_name!r}: was it pushed?") from error
    if len(details) != 1 or not details[0].get("imageDigest", "").startswith("sha256:"):
        raise RecordError(f"ECR returned no single digest for {repository_name}:{tag}: {details!r}")
    return str(details[0]["imageDigest"])


def client_token(build_id: str) -> str:
    """CreateImageVersion's idempotency token from CodeBuild's ``<project>:<uuid>`` build id
    (1-36 letters, digits and hyphens: the uuid)."""
    token = build_id.rsplit(":", 1)[-1]
    if not 1 <= len(token) <= 36 or not all(c.isalnum() or c == "-" for c in token):
        raise RecordError(f"cannot derive a client token from build id {build_id!r}: expected '<project>:<uuid>'")
    return token


def existing_version(sagemaker: Any, image_name: str, base_image: str) -> Optional[int]:
    """The newest of the image's ``LOOKBACK_VERSIONS`` newest versions that names ``base_image``
    and is ``CREATING`` or ``CREATED`` (a failed or deleted one is recorded anew); None if none."""
    try:
        listed = sagemaker.list_image_versions(
            ImageName=image_name, SortBy="VERSION", SortOrder="DESCENDING", MaxResults=LOOKBACK_VERSIONS
        )["ImageVersions"]
    except sagemaker.exceptions.ResourceNotFound as error:
        raise RecordError(f"SageMaker image {image_name!r} does not exist: deploy the project's stack first") from error
    for summary in listed:
        if summary["ImageVersionStatus"] not in ("CREATING", "CREATED"):
            continue
        described = sagemaker.describe_image_version(ImageName=image_name, Version=summary["Version"])
        if described.get("BaseImage") == base_image:
            return int(summary["Version"])
    return None


def record(
    ecr: Any,
    sagemaker: Any,
    *,
    repository_uri: str,
    tag: str,
    image_name: str,
    build_id: str,
    job_type: Optional[str] = None,
    release_notes: Optional[str] = None,
    poll_seconds: float = POLL_SECONDS,
    timeout_seconds: float = TIMEOUT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Create the image version for the pushed ``repository_uri:tag`` (or reuse the one that
    already names its digest) and wait until it exists.

    Returns ``DescribeImageVersion``'s answer for the version.
    """
    repository_name = repository_uri.split("/", 1)[1]
    digest = pushed_digest(ecr, repository_name, tag)
    base_image = f"{repository_uri}@{digest}"
    token = client_token(build_id)
    version = existing_version(sagemaker, image_name, base_image)
    if version is not None:
        print(f"version {version} of SageMaker image {image_name} already names {base_image}: reusing it", flush=True)
    else:
        request: dict[str, Any] = {"ImageName": image_name, "BaseImage": base_image, "ClientToken": token}
        if job_type:
            request["JobType"] = job_type
        if release_notes:
            request["ReleaseNotes"] = release_notes[:255]
        try:
            arn = sagemaker.create_image_version(**request)["ImageVersionArn"]
        except sagemaker.exceptions.ResourceNotFound as error:
            raise RecordError(f"SageMaker image {image_name!r} does not exist: deploy the project's stack first") from error
        version = int(arn.rsplit("/", 1)[1])
        print(f"created version {version} of SageMaker image {image_name} from {base_image}", flush=True)

    waited = 0.0
    while True:
        described = sagemaker.describe_image_version(ImageName=image_name, Version=version)
        status = described["ImageVersionStatus"]
        if status == "CREATED":
            print(f"version {version} of SageMaker image {image_name} is CREATED", flush=True)
            return dict(described)
        if status != "CREATING":
            reason = described.get("FailureReason") or "no reason given"
            raise RecordError(f"version {version} of SageMaker image {image_name} ({base_image}) is {status}: {reason}")
        if waited >= timeout_seconds:
            raise RecordError(
                f"version {version} of SageMaker image {image_name} still CREATING after {timeout_seconds:.0f} seconds"
            )
        sleep(poll_seconds)
        waited += poll_seconds


def main(argv: Optional[Sequence[str]] = None, clients: Optional[tuple[Any, Any]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repository-uri", required=True, help="<account>.dkr.ecr.<region>.<suffix>/<name>")
    parser.add_argument("--tag", required=True)
    parser.add_argument("--image-name", required=True, help="the SageMaker image")
    parser.add_argument("--build-id", required=True, help="CodeBuild's CODEBUILD_BUILD_ID")
    parser.add_argument("--job-type", default="", choices=["", "TRAINING", "INFERENCE", "NOTEBOOK_KERNEL"])
    parser.add_argument("--release-notes", default="")
    args = parser.parse_args(argv)
    if clients is None:
        import boto3

        clients = (boto3.client("ecr"), boto3.client("sagemaker"))
    ecr, sagemaker = clients
    try:
        record(
            ecr,
            sagemaker,
            repository_uri=args.repository_uri,
            tag=args.tag,
            image_name=args.image_name,
            build_id=args.build_id,
            job_type=args.job_type or None,
            release_notes=args.release_notes or None,
        )
    except RecordError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # botocore's ClientError and friends: the service's own message
        print(f"error: recording the image version failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
