"""The SageMaker execution role may do what SageMaker does with it for every step of the seed pipeline.

Derived from the pipeline definition the seed builds offline (``built_pipeline``), step by
step, following "How to use SageMaker AI execution roles" (SageMaker developer guide,
sagemaker-roles.html: the CreateProcessingJob and CreateTrainingJob sections list what the
role needs for a job's inputs, outputs, image, volume key, logs and metrics) and the
CloudWatch Logs permissions overview (log groups are ``...:log-group:<name>:*`` in policies):

- SageMaker Pipelines starts each job with the role: ``sagemaker:Create<Kind>Job`` on the job's
  ARN (the job name in the definition, the project's job prefix, plus a run-time suffix,
  lower-cased by SageMaker), ``Describe<Kind>Job`` while it runs, ``Stop<Kind>Job`` when the
  execution is stopped, and ``iam:PassRole`` of the role to SageMaker;
- the job reads each S3 input (``s3:ListBucket`` of its bucket, ``s3:GetObject`` under its
  prefix) and writes each output (``s3:PutObject``); S3 decrypts and encrypts with the
  project key on the role's behalf (``kms:Decrypt``/``kms:GenerateDataKey`` via S3, the
  bucket's encryption context: the project bucket uses S3 Bucket Keys);
- the volume key: ``kms:CreateGrant`` (SageMaker attaches the encrypted volume);
- the image, from AWS's account for the region: ``ecr:GetAuthorizationToken``,
  ``ecr:BatchCheckLayerAvailability``, ``ecr:GetDownloadUrlForLayer``, ``ecr:BatchGetImage``;
- logs under ``/aws/sagemaker/<Kind>Jobs`` (``CreateLogGroup``, ``CreateLogStream``,
  ``DescribeLogStreams``, ``PutLogEvents``) and metrics (``cloudwatch:PutMetricData`` in
  ``/aws/sagemaker/<Kind>Jobs``);
- a step's property file (``JsonGet`` of the evaluation report): Pipelines reads it from S3;
- the register step: ``sagemaker:CreateModelPackage`` of a version in the group;
- the check steps (Model Monitor analyzer and Clarify processing jobs, images from AWS's
  accounts): as processing jobs, plus, when a check is not skipped, the latest approved
  version's baselines (``ListModelPackages``, ``DescribeModelPackage``, its files); a Clarify
  check of the model serves it on a temporary endpoint named with the prefix the pipeline
  gives (create, describe, invoke, delete; its logs);
- the Model step: ``sagemaker:CreateModel`` of ``<id>-model-<execution id>`` and the role
  passed to it; the transform job, run with that model's role (this one): its input, output,
  volume key, image and logs.

Each template that has the role is resolved with the values the offline build used (region,
account, project, bucket, key, role).
"""

from __future__ import annotations

from typing import Any, Optional

import pytest
from role_checks import RoleCheck, all_templates, missing, request, role_policy_with_managed, the_one, unneeded

from iam_eval import Resolver
from seed_support import (
    ACCOUNT,
    BUCKET,
    EXECUTION_ID,
    KMS_KEY_ARN,
    PREFIX,
    PROJECT_ID,
    PROJECT_NAME,
    REGION,
    ROLE_ARN,
    STEP_OUTPUTS,
    all_steps,
    parameter_defaults,
    resolve,
)

#: The run-time suffix SageMaker appends to a job name given with the custom job prefix.
SUFFIX = "a1b2c3d4e5"
KINDS = {
    "Processing": "ProcessingJob",
    "Training": "TrainingJob",
    "QualityCheck": "ProcessingJob",  # a Model Monitor analyzer job
    "ClarifyCheck": "ProcessingJob",  # a Clarify job
    "Transform": "TransformJob",
}
#: The temporary endpoint a Clarify job serves the model on (ModelConfig's endpoint_name_prefix).
CLARIFY_ENDPOINT = f"{PROJECT_ID}-clarify-1700000000-a1b2"
NOT_NEEDED = {
    "sagemaker:AddTags": "SageMaker authorizes tags given on create as AddTags; the seed's jobs and model "
    "versions are created without tags",
    "sagemaker:DescribeModelPackageGroup": "not derived from the definition: lets a step or a person read the group",
    "s3:DeleteObject": "not derived: jobs replace outputs of a re-run; in the project bucket only",
    "s3:AbortMultipartUpload": "outputs over the multipart threshold are uploaded in parts, aborted on failure",
    "s3:GetBucketLocation": "SageMaker checks an S3 URI's bucket region before a job (not a documented call)",
    "kms:Encrypt": "not derived: the project key, for jobs that encrypt with it directly",
    "kms:DescribeKey": "SageMaker validates the KMS key ids of a job's request",
    "sagemaker:DescribeModel": "the Model step's properties are DescribeModel's (not a derived call)",
}


def _s3(uri: str) -> tuple[str, str]:
    assert uri.startswith("s3://"), uri
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


def derived_requests(definition: dict[str, Any], images: Optional[dict[str, str]] = None) -> list:
    """The requests of an execution with the parameters' defaults, or with ``images`` (a
    project's own ProcessingImageUri / TrainingImageUri / InferenceImageUri, as run_pipeline
    sets them)."""
    parameters = {**parameter_defaults(definition), **(images or {})}
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
    via_s3 = {
        "kms:ViaService": f"s3.{REGION}.amazonaws.com",
        "kms:CallerAccount": ACCOUNT,
        "kms:EncryptionContext:aws:s3:arn": f"arn:aws:s3:::{BUCKET}",
    }
    found = []
    # The model of the transform and the Clarify checks: the InferenceImageUri parameter's image.
    (model_image,) = [
        resolve(s["Arguments"], parameters)["PrimaryContainer"]["Image"]
        for s in all_steps(definition).values()
        if s["Type"] == "Model"
    ]

    def ecr_pulls(image: str, why: str) -> list:
        registry, _, rest = image.partition("/")
        image_account, region = registry.split(".")[0], registry.split(".")[3]
        repository = rest.split("@")[0].split(":")[0]
        pulls = [request("ecr:GetAuthorizationToken", "*", f"{why} image")]
        for action in ("BatchCheckLayerAvailability", "GetDownloadUrlForLayer", "BatchGetImage"):
            pulls.append(request(f"ecr:{action}", f"arn:aws:ecr:{region}:{image_account}:repository/{repository}", f"{why} image"))
        return pulls

    def reads(uri: str, why: str) -> None:
        bucket, key = _s3(uri)
        found.append(request("s3:ListBucket", f"arn:aws:s3:::{bucket}", why, {"s3:prefix": key}))
        found.append(request("s3:GetObject", f"arn:aws:s3:::{bucket}/{key}", why))
        found.append(request("kms:Decrypt", KMS_KEY_ARN, why + " (SSE-KMS object)", via_s3))

    def writes(uri: str, key_arn: str, why: str) -> None:
        bucket, key = _s3(uri)
        found.append(request("s3:PutObject", f"arn:aws:s3:::{bucket}/{key.rstrip('/')}/output-file", why))
        found.append(request("kms:GenerateDataKey", key_arn, why + " (SSE-KMS output)", via_s3))

    for name, step in all_steps(definition).items():
        if step["Type"] in ("Condition", "Fail"):
            continue  # evaluated by Pipelines itself (the property file is read below, with its step)
        arguments = resolve(step["Arguments"], parameters)
        kind = KINDS.get(step["Type"])
        if kind is not None:
            job = arguments[f"{kind}Name"]
            assert job.startswith(f"{PROJECT_ID}-"), job
            job_arn = f"{arn}:{kind.replace('Job', '-job').lower()}/{job.lower()}-{SUFFIX}"
            why = f"{name} ({step['Type']} job {job})"
            for action in ("Create", "Describe", "Stop"):
                found.append(request(f"sagemaker:{action}{kind}", job_arn, why))
            if kind == "TransformJob":
                # Run with the model's role (this one, passed by the Model step): reads the test
                # split, writes the predictions; the model's image is pulled as for a job.
                model = arguments["ModelName"]
                assert model == STEP_OUTPUTS["ModelName"], model
                reads(arguments["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"], f"{why} input")
                output = arguments["TransformOutput"]
                writes(f"{output['S3OutputPath']}/test.csv.out", output["KmsKeyId"], f"{why} output")
                found.append(request("kms:CreateGrant", arguments["TransformResources"]["VolumeKmsKeyId"], f"{why} volume"))
                image = model_image
                group = "/aws/sagemaker/TransformJobs"
                stream = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:log-stream:{job.lower()}-{SUFFIX}/i-0123456789abcdef0"
                group_only = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:log-stream:"
                found += [
                    request("logs:CreateLogGroup", group_only, f"{why} logs"),
                    request("logs:DescribeLogStreams", group_only, f"{why} logs"),
                    request("logs:CreateLogStream", stream, f"{why} logs"),
                    request("logs:PutLogEvents", stream, f"{why} logs"),
                    request("cloudwatch:PutMetricData", "*", f"{why} metrics", {"cloudwatch:namespace": group}),
                ]
                found += ecr_pulls(image, why)
                continue
            assert arguments["RoleArn"] == ROLE_ARN
            found.append(request("iam:PassRole", arguments["RoleArn"], why, {"iam:PassedToService": "sagemaker.amazonaws.com"}))
            if step["Type"] in ("QualityCheck", "ClarifyCheck") and step["SkipCheck"] != True:  # noqa: E712
                # A check that is not skipped: Pipelines finds the latest approved version's
                # baselines (unless supplied), in this project's bucket.
                group = step["ModelPackageGroupName"]
                found.append(request("sagemaker:ListModelPackages", "*", f"{why} latest approved version"))
                found.append(request("sagemaker:DescribeModelPackage", f"{arn}:model-package/{group}/1", f"{why} its baselines"))
                reads(f"s3://{BUCKET}/{PREFIX}/{EXECUTION_ID}/checks/approved/constraints.json", f"{why} approved baseline")
            if step["Type"] == "ClarifyCheck" and "ModelName" in step:
                # Clarify serves the model on a temporary endpoint, queries it, and deletes it.
                endpoint = f"{arn}:endpoint/{CLARIFY_ENDPOINT}"
                config = f"{arn}:endpoint-config/{CLARIFY_ENDPOINT}"
                for action in ("CreateEndpointConfig", "DescribeEndpointConfig", "DeleteEndpointConfig"):
                    found.append(request(f"sagemaker:{action}", config, f"{why} temporary endpoint"))
                for action in ("CreateEndpoint", "DescribeEndpoint", "InvokeEndpoint", "DeleteEndpoint"):
                    found.append(request(f"sagemaker:{action}", endpoint, f"{why} temporary endpoint"))
                found.append(request("sagemaker:CreateEndpoint", config, f"{why} temporary endpoint's config"))
                endpoint_logs = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/{CLARIFY_ENDPOINT}"
                found += [
                    request("logs:CreateLogGroup", f"{endpoint_logs}:log-stream:", f"{why} endpoint logs"),
                    request("logs:CreateLogStream", f"{endpoint_logs}:log-stream:AllTraffic/i-0123", f"{why} endpoint logs"),
                    request("logs:PutLogEvents", f"{endpoint_logs}:log-stream:AllTraffic/i-0123", f"{why} endpoint logs"),
                ]
                found += ecr_pulls(model_image, f"{why} temporary endpoint")
            if kind == "ProcessingJob":
                image = arguments["AppSpecification"]["ImageUri"]
                volume_key = arguments["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"]
                for item in arguments["ProcessingInputs"]:
                    reads(item["S3Input"]["S3Uri"], f"{why} input {item['InputName']}")
                output_key = arguments["ProcessingOutputConfig"]["KmsKeyId"]
                for item in arguments["ProcessingOutputConfig"]["Outputs"]:
                    writes(item["S3Output"]["S3Uri"], output_key, f"{why} output {item['OutputName']}")
                    for report in step.get("PropertyFiles", []):
                        if report["OutputName"] == item["OutputName"]:
                            bucket, key = _s3(item["S3Output"]["S3Uri"])
                            found.append(request("s3:GetObject", f"arn:aws:s3:::{bucket}/{key}/{report['FilePath']}", f"{name} property file"))
                            found.append(request("kms:Decrypt", KMS_KEY_ARN, f"{name} property file (SSE-KMS)", via_s3))
            else:
                image = arguments["AlgorithmSpecification"]["TrainingImage"]
                volume_key = arguments["ResourceConfig"]["VolumeKmsKeyId"]
                for channel in arguments["InputDataConfig"]:
                    reads(channel["DataSource"]["S3DataSource"]["S3Uri"], f"{why} channel {channel['ChannelName']}")
                output = arguments["OutputDataConfig"]
                writes(f"{output['S3OutputPath']}/{job.lower()}-{SUFFIX}/output/model.tar.gz", output["KmsKeyId"], f"{why} model")
            found.append(request("kms:CreateGrant", volume_key, f"{why} volume"))
            found += ecr_pulls(image, why)
            group = f"/aws/sagemaker/{kind}s"
            stream = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:log-stream:{job.lower()}-{SUFFIX}/algo-1-1700000000"
            group_only = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:log-stream:"
            found += [
                request("logs:CreateLogGroup", group_only, f"{why} logs"),
                request("logs:DescribeLogStreams", group_only, f"{why} logs"),
                request("logs:CreateLogStream", stream, f"{why} logs"),
                request("logs:PutLogEvents", stream, f"{why} logs"),
                request("cloudwatch:PutMetricData", "*", f"{why} metrics", {"cloudwatch:namespace": group}),
            ]
        elif step["Type"] == "Model":
            # Pipelines creates the model with this role, handing it the same role.
            model = arguments["ModelName"]
            assert model == STEP_OUTPUTS["ModelName"], model
            found.append(request("sagemaker:CreateModel", f"{arn}:model/{model.lower()}", f"{name} (model {model})"))
            found.append(request("iam:PassRole", arguments["ExecutionRoleArn"], name, {"iam:PassedToService": "sagemaker.amazonaws.com"}))
            reads(arguments["PrimaryContainer"]["ModelDataUrl"], f"{name} model artefact")
        elif step["Type"] == "RegisterModel":
            group = arguments["ModelPackageGroupName"]
            found.append(request("sagemaker:CreateModelPackage", f"{arn}:model-package/{group}/1", f"{name} (a version of {group})"))
        else:
            raise AssertionError(f"no derivation for a {step['Type']} step ({name}): add one")
    return found


@pytest.mark.seed
@pytest.mark.parametrize(
    "name",
    ["model-build", "build-deploy", "image-build-deploy", "studio/model-build", "studio/build-deploy", "studio/image-build-deploy"],
)
def test_the_execution_role_may_do_what_sagemaker_does_for_every_step(assembly, built_pipeline, name):
    template = all_templates(assembly)[name]
    role_id = the_one(template, "AWS::IAM::Role", "ModelBuildExecutionRole")
    # image-build-deploy: the project's ECR repositories, and the executions that run its images.
    repositories = {
        (logical_id, "Arn"): f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/sagemaker-{PROJECT_ID}-{image_type}"
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::ECR::Repository"
        for image_type in ("processing", "training", "inference")
        if logical_id.startswith(image_type.capitalize())
    }
    resolver = Resolver(
        template,
        parameters={"SageMakerProjectName": PROJECT_NAME, "SageMakerProjectId": PROJECT_ID},
        physical_ids={the_one(template, "AWS::S3::Bucket", "ArtifactsBucket"): BUCKET},
        attributes={
            (the_one(template, "AWS::KMS::Key", "ArtifactsKey"), "Arn"): KMS_KEY_ARN,
            (role_id, "Arn"): ROLE_ARN,
            **repositories,
        },
        region=REGION,
        account=ACCOUNT,
    )
    requests = derived_requests(built_pipeline.definition)
    if repositories:
        project_images = {
            f"{image_type.capitalize()}ImageUri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/sagemaker-{PROJECT_ID}-{image_type}@sha256:{'a' * 64}"
            for image_type in ("processing", "training", "inference")
        }
        requests += derived_requests(built_pipeline.definition, project_images)
        pulled = {r.resource for r in requests if r.action == "ecr:BatchGetImage"}
        assert {f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/sagemaker-{PROJECT_ID}-{t}" for t in ("processing", "training", "inference")} <= pulled
    assert {r.action for r in requests} >= {
        "sagemaker:CreateProcessingJob",
        "sagemaker:CreateTrainingJob",
        "sagemaker:CreateModelPackage",
        "iam:PassRole",
        "ecr:BatchGetImage",
        "cloudwatch:PutMetricData",
    }
    assert {r.resource for r in requests if r.action == "sagemaker:CreateModelPackage"} == {
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{PREFIX}/1"
    }
    check = RoleCheck(f"{name} {role_id}", role_policy_with_managed(resolver, role_id), requests, NOT_NEEDED)
    assert missing(check) == []
    assert unneeded(check) == [], "\n".join(unneeded(check))
    # Another project's jobs, bucket and group are not this role's.
    other = "p-0ther0project"
    assert not check.policy.allowed("sagemaker:CreateTrainingJob", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{other}-train-x")
    assert not check.policy.allowed("s3:GetObject", f"arn:aws:s3:::sagemaker-project-{other}/data.csv")
    assert not check.policy.allowed("sagemaker:CreateModelPackage", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/abalone-{other}/1")
