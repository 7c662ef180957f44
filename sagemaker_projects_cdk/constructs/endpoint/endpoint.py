"""A real-time SageMaker endpoint serving one model package version.

``ModelEndpoint`` creates the model (from a model package ARN, network-isolated by default),
the endpoint configuration (encrypted with KMS, with data capture into the project bucket),
the endpoint with deployment guardrails (blue/green traffic shifting that CloudWatch alarms
roll back), and optional autoscaling. The model's role reads the package's artifacts from the
project bucket or, for a package registered by another project, from that project's bucket
(``model_artifacts_bucket``) with its KMS key (``model_artifacts_key``). It is the one definition behind both library users'
stacks and the per-stage template that the model-deploy pipeline deploys.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

from aws_cdk import CfnCondition, Duration, Fn, Names, Tags, Token
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from constructs import Construct

from ..._internal.patterns import MODEL_PACKAGE_ARN
from ..._internal.validation import Problems, check_pattern, is_unresolved, whole_seconds
from ...compliance import acknowledge
from ..network import PrivateNetwork, grant_network_in_policy
from ._alarms import rollback_alarms
from ._policy import async_statements, describe_alarms_statement, model_needs, subnet_selection
from ._scaling import scale_backlog, scale_variant
from .rollout import BlueGreenRollout, TrafficShift
from .settings import (
    LOCAL_STORAGE_FAMILIES,
    NAME_PATTERN,
    NAME_RULE,
    AsyncInference,
    Autoscaling,
    DataCapture,
    InstanceVariant,
    ServerlessVariant,
    Variant,
)

#: A versioned model package ARN, as the model registry issues them (``_internal.patterns``).
MODEL_PACKAGE_ARN_PATTERN = MODEL_PACKAGE_ARN
#: Tag on the model, endpoint configuration and endpoint: the model package version they serve.
MODEL_PACKAGE_TAG = "model-package-arn"


def package_model(
    scope: Construct,
    *,
    role: iam.IRole,
    policy: iam.ManagedPolicy,
    model_package_arn: str,
    network_isolation: bool,
    vpc_config: Optional[sagemaker.CfnModel.VpcConfigProperty] = None,
) -> sagemaker.CfnModel:
    """The SageMaker model ``Model`` (in ``scope``) of a model package version, run as ``role``
    once ``role`` and ``policy`` exist."""
    model = sagemaker.CfnModel(
        scope,
        "Model",
        execution_role_arn=role.role_arn,
        # One container from the model package (PrimaryContainer: the single-container form).
        primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(model_package_name=model_package_arn),
        enable_network_isolation=network_isolation,
        vpc_config=vpc_config,
    )
    # The role and its policy must exist before SageMaker checks the model can be served.
    model.node.add_dependency(role, policy)
    return model
_METRICS_NAMESPACE = "AWS/SageMaker"


class ModelEndpoint(Construct):
    """A real-time SageMaker endpoint for a model package version.

    :param model_package_arn: the versioned model package to serve (a string or a token).
    :param endpoint_name: the endpoint's name, 1-63 letters, digits and hyphens. The rollback
        alarms watch the endpoint by name, so it is always fixed at synth or deploy time.
        Default: a name unique to this construct's path.
    :param variant: instances (``InstanceVariant``) or serverless (``ServerlessVariant``).
        Default: ``InstanceVariant()``, one ``ml.m5.large``.
    :param role: the model's execution role. What the endpoint needs is written into a
        customer-managed policy (``.policy``) attached to it. Default: a new role trusted by
        SageMaker with only that policy.
    :param bucket: the project's artifact bucket: captured data is written to it and, unless
        ``model_artifacts_bucket`` is given, model artifacts are read from it.
        Default: none; there is no data capture, and no S3 access unless
        ``model_artifacts_bucket`` is given.
    :param key: the KMS key for the ML storage volumes (instance types without local storage)
        and captured data, and, unless ``model_artifacts_bucket`` is given, to read the
        artifacts. Default: the bucket's key when it has one, otherwise a new key with rotation.
    :param model_artifacts_bucket: the bucket holding the model package's artifacts (the
        ``ModelDataUrl`` of its containers) when they are not in ``bucket``, typically the
        bucket of the project that registered the package. The role may only read it
        (``s3:GetObject`` on its objects, ``s3:ListBucket``); ``bucket`` then receives only the
        captured data. It must be in the endpoint's region; in another account, its bucket
        policy (and its key's policy) must also allow the role. Default: ``bucket``.
    :param model_artifacts_key: the KMS key that encrypts the model artifacts; the role may use
        it to decrypt, through S3 in the endpoint's region only (``kms:ViaService``).
        Default: with ``model_artifacts_bucket``, that bucket's ``encryption_key``, or no key when
        it has none (objects encrypted with S3-managed keys need no KMS permission); without
        it, ``key``.
    :param data_capture: capture of requests and responses into ``bucket``.
        Default: ``DataCapture()`` (inputs and outputs, 100 %) when there is a bucket and the
        variant has instances; none otherwise. ``DataCapture(enabled=False)`` turns it off.
    :param autoscaling: target tracking of invocations per instance. Default: none (a fixed
        fleet of ``initial_instance_count``).
    :param rollout: blue/green deployment with alarm-driven rollback. Default:
        ``BlueGreenRollout()`` (all at once, 5 minutes of watching the 5xx and latency
        alarms, 5 minutes before the old fleet goes) for instance variants; none for serverless.
    :param network_isolation: forbid the model container any network access. Default: True
        for instance variants (the model package's container must allow it, as SageMaker's
        built-in algorithms and Marketplace packages do); False for serverless, which does not
        support it.
    :param vpc: the VPC the model's network interfaces go in. Default: none (SageMaker's network).
    :param vpc_subnets: the subnets in ``vpc``. Default: the VPC's private subnets.
    :param security_groups: the security groups of the interfaces. Default: one new group
        in ``vpc`` with outbound access only.
    :param network: the private network (``PrivateNetwork``) the model's network interfaces go
        in, instead of ``vpc``: its subnets and security groups, and the role may create the
        interfaces there; under its CloudFormation condition when it has one (a template's
        parameters). Default: none.
    :param image_repositories: private ECR repositories the model's images come from; pull
        access is granted on them. Default: none (AWS's built-in algorithm and framework
        images need no pull access on this role).
    :param alarm_actions: what the rollback alarms also do when they fire (an SNS topic, say).
        Default: nothing; SageMaker reads their state during deployments.
    :param iam_path: the IAM path of the role and policy this construct creates, e.g.
        ``/sagemaker-projects/<project id>/`` so that a deployer can be limited to that path.
        Default: ``/``.
    :param async_inference: serve asynchronously (``AsyncInference``): requests and responses
        in ``bucket`` under ``<prefix>/<endpoint name>/``, SNS success and error topics
        encrypted with ``key``, autoscaling on the backlog down to zero. Needs an
        ``InstanceVariant`` and a ``bucket``; ``autoscaling`` is then not accepted (the
        backlog scaling is ``async_inference.scaling``). Default: none (real-time).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model_package_arn: str,
        endpoint_name: Optional[str] = None,
        variant: Optional[Variant] = None,
        role: Optional[iam.IRole] = None,
        bucket: Optional[s3.IBucket] = None,
        key: Optional[kms.IKey] = None,
        model_artifacts_bucket: Optional[s3.IBucket] = None,
        model_artifacts_key: Optional[kms.IKey] = None,
        data_capture: Optional[DataCapture] = None,
        autoscaling: Optional[Autoscaling] = None,
        rollout: Optional[BlueGreenRollout] = None,
        network_isolation: Optional[bool] = None,
        vpc: Optional[ec2.IVpc] = None,
        vpc_subnets: Optional[ec2.SubnetSelection] = None,
        security_groups: Optional[Sequence[ec2.ISecurityGroup]] = None,
        network: Optional[PrivateNetwork] = None,
        image_repositories: Sequence[ecr.IRepository] = (),
        alarm_actions: Sequence[cloudwatch.IAlarmAction] = (),
        iam_path: Optional[str] = None,
        async_inference: Optional[AsyncInference] = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._alarm_actions = list(alarm_actions)
        variant = variant if variant is not None else InstanceVariant()
        serverless = isinstance(variant, ServerlessVariant)
        if data_capture is None and bucket is not None and not serverless:
            data_capture = DataCapture()
        if rollout is None and not serverless:
            rollout = BlueGreenRollout()
        if network_isolation is None:
            network_isolation = not serverless
        self._check(
            model_package_arn=model_package_arn,
            endpoint_name=endpoint_name,
            variant=variant,
            bucket=bucket,
            model_artifacts_bucket=model_artifacts_bucket,
            model_artifacts_key=model_artifacts_key,
            data_capture=data_capture,
            autoscaling=autoscaling,
            rollout=rollout,
            network_isolation=network_isolation,
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            security_groups=security_groups,
            async_inference=async_inference,
            network=network,
        )

        #: The endpoint's name.
        self.endpoint_name: str = endpoint_name or Names.unique_resource_name(self, max_length=63, separator="-")
        #: The production variant's name.
        self.variant_name: str = variant.variant_name
        #: The variant settings.
        self.variant: Variant = variant
        #: The data capture settings, or None.
        self.data_capture: Optional[DataCapture] = (
            data_capture if data_capture is not None and data_capture.enabled is not False and bucket else None
        )
        #: The rollout settings, or None.
        self.rollout: Optional[BlueGreenRollout] = rollout
        #: The asynchronous inference settings, or None (real-time).
        self.async_inference: Optional[AsyncInference] = async_inference
        #: The KMS key of volumes and captured data.
        self.key: kms.IKey = key or (bucket.encryption_key if bucket and bucket.encryption_key else None) or kms.Key(
            self, "Key", enable_key_rotation=True, description="Encrypts a SageMaker endpoint's volumes and captured data"
        )
        separate_artifacts = model_artifacts_bucket is not None and model_artifacts_bucket is not bucket
        #: The bucket the model artifacts are read from, or None (no S3 read access).
        self.model_artifacts_bucket: Optional[s3.IBucket] = model_artifacts_bucket or bucket
        #: The KMS key the model artifacts are decrypted with, or None (not KMS-encrypted).
        self.model_artifacts_key: Optional[kms.IKey] = model_artifacts_key or (
            model_artifacts_bucket.encryption_key if separate_artifacts else self.key  # type: ignore[union-attr]  # separate_artifacts: not None
        )
        #: The model's execution role.
        self.role: iam.IRole = role or iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="Execution role of a SageMaker endpoint's model",
            path=iam_path,
        )

        # What the model needs (and why some resources cannot be narrower), in one policy.
        self._needs = model_needs(
            self,
            endpoint_name=self.endpoint_name,
            key=self.key,
            model_artifacts_bucket=self.model_artifacts_bucket,
            model_artifacts_key=self.model_artifacts_key,
            bucket=bucket,
            data_capture=self.data_capture,
            image_repositories=image_repositories,
            vpc=vpc,
            vpc_subnets=vpc_subnets,
        )
        #: The SNS topics SageMaker notifies of answered and failed asynchronous requests
        #: (None without ``async_inference`` or its notifications).
        self.success_topic: Optional[sns.Topic] = None
        self.error_topic: Optional[sns.Topic] = None
        if async_inference is not None:
            assert bucket is not None  # _check
            self._async_locations(bucket, async_inference)
            self._needs.statements.extend(
                async_statements(
                    bucket=bucket,
                    locations=self._async,
                    topics=[t for t in (self.success_topic, self.error_topic) if t is not None],
                    wildcards=self._needs.wildcards,
                )
            )
        #: The customer-managed policy holding what the model needs, attached to ``role``.
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description="What a SageMaker endpoint's model needs: logs, metrics, artifacts, captured data",
            path=iam_path,
            statements=self._needs.statements,
            roles=[self.role],
        )

        #: The SageMaker model.
        self.model = package_model(
            self,
            role=self.role,
            policy=self.policy,
            model_package_arn=model_package_arn,
            network_isolation=network_isolation,
            vpc_config=network.sagemaker_vpc_config() if network is not None else self._vpc_config(vpc, vpc_subnets, security_groups),
        )
        if network is not None:
            grant_network_in_policy(self.policy, network)
            network.acknowledge_empty_defaults(self.model)

        #: The endpoint configuration (replaced, never updated, when anything changes).
        self.endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "Config",
            production_variants=[self._production_variant(variant)],
            kms_key_id=self._volume_key(variant),
            data_capture_config=self._data_capture_config(bucket),
            async_inference_config=self._async_inference_config(),
        )

        #: The rollback alarms (empty without a rollout or alarms).
        self.alarms: list[cloudwatch.Alarm] = []
        if rollout is not None and rollout.alarms is not None:
            errors, latency = rollback_alarms(self, rollout.alarms, alarm_actions=self._alarm_actions)
            #: The alarm on server errors.
            self.errors_alarm = errors
            #: The alarm on model latency.
            self.latency_alarm = latency
            self.alarms = [errors, latency]
            self.policy.add_statements(describe_alarms_statement(self, self.alarms))

        #: The endpoint.
        self.endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=self.endpoint_name,
            endpoint_config_name=self.endpoint_config.attr_endpoint_config_name,
            deployment_config=self._deployment_config(rollout),
        )
        self.endpoint.node.add_dependency(self.policy)
        # Which version is live, readable on the endpoint itself (one call, no model lookup).
        for resource in (self.model, self.endpoint_config, self.endpoint):
            Tags.of(resource).add(MODEL_PACKAGE_TAG, model_package_arn)

        #: The scalable target, or None without autoscaling.
        self.scalable_target: Optional[appscaling.ScalableTarget] = None
        if autoscaling is not None and autoscaling.enabled is not False:
            self.scalable_target = scale_variant(self, autoscaling)
        #: The alarm that scales an asynchronous endpoint out from zero instances, or None.
        self.scale_from_zero_alarm: Optional[cloudwatch.Alarm] = None
        if async_inference is not None and async_inference.scaling is not None:
            if async_inference.scaling.enabled is not False:
                self.scalable_target = scale_backlog(self, async_inference.scaling)
        self._acknowledge()

    # ------------------------------------------------------------------ public API

    @property
    def endpoint_arn(self) -> str:
        """The endpoint's ARN (as SageMaker spells it: lower case)."""
        return self.endpoint.ref

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` call ``InvokeEndpoint`` (and its streaming form) on this endpoint only;
        for an asynchronous endpoint, ``InvokeEndpointAsync``, uploading requests under the input
        prefix and reading responses and failures (with the key)."""
        if self.async_inference is None:
            return iam.Grant.add_to_principal(
                grantee=grantee,
                actions=["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"],
                resource_arns=[self.endpoint_arn],
            )
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=["sagemaker:InvokeEndpointAsync"], resource_arns=[self.endpoint_arn]
        )
        bucket = self._async_bucket
        iam.Grant.add_to_principal(
            grantee=grantee, actions=["s3:PutObject"], resource_arns=[bucket.arn_for_objects(f"{self._async.input}/*")]
        )
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:GetObject"],
            resource_arns=[bucket.arn_for_objects(f"{self._async.output}/*"), bucket.arn_for_objects(f"{self._async.failure}/*")],
        )
        iam.Grant.add_to_principal(
            grantee=grantee, actions=["kms:Decrypt", "kms:GenerateDataKey"], resource_arns=[self.key.key_arn]
        )
        return grant

    @property
    def async_input_s3_uri(self) -> str:
        """Where clients upload asynchronous requests (``s3://<bucket>/<prefix>/<endpoint>/input``)."""
        if self.async_inference is None:
            raise ValueError("invalid async_input_s3_uri of a real-time endpoint: expected an endpoint with async_inference")
        return self._async_bucket.s3_url_for_object(self._async.input)

    @property
    def async_output_s3_uri(self) -> str:
        """Where SageMaker writes asynchronous responses."""
        if self.async_inference is None:
            raise ValueError("invalid async_output_s3_uri of a real-time endpoint: expected an endpoint with async_inference")
        return self._async_bucket.s3_url_for_object(self._async.output)

    def metric(
        self, metric_name: str, *, statistic: str = "Sum", period: Optional[Duration] = None
    ) -> cloudwatch.Metric:
        """A metric of this endpoint's variant in ``AWS/SageMaker``."""
        return cloudwatch.Metric(
            namespace=_METRICS_NAMESPACE,
            metric_name=metric_name,
            dimensions_map={"EndpointName": self.endpoint_name, "VariantName": self.variant_name},
            statistic=statistic,
            period=period or Duration.minutes(1),
        )

    def metric_invocations(self, *, statistic: str = "Sum", period: Optional[Duration] = None) -> cloudwatch.Metric:
        """Requests sent to the variant (``Invocations``). Default: sum per minute."""
        return self.metric("Invocations", statistic=statistic, period=period)

    def metric_5xx_errors(self, *, statistic: str = "Sum", period: Optional[Duration] = None) -> cloudwatch.Metric:
        """Requests the model failed (``Invocation5XXErrors``). Default: sum per minute."""
        return self.metric("Invocation5XXErrors", statistic=statistic, period=period)

    def metric_4xx_errors(self, *, statistic: str = "Sum", period: Optional[Duration] = None) -> cloudwatch.Metric:
        """Requests rejected as invalid (``Invocation4XXErrors``). Default: sum per minute."""
        return self.metric("Invocation4XXErrors", statistic=statistic, period=period)

    def metric_model_latency(
        self, *, statistic: str = "Average", period: Optional[Duration] = None
    ) -> cloudwatch.Metric:
        """Time the model took to respond, in microseconds (``ModelLatency``). Default: average per minute."""
        return self.metric("ModelLatency", statistic=statistic, period=period)

    def metric_overhead_latency(
        self, *, statistic: str = "Average", period: Optional[Duration] = None
    ) -> cloudwatch.Metric:
        """SageMaker's own overhead per request, in microseconds (``OverheadLatency``). Default: average per minute."""
        return self.metric("OverheadLatency", statistic=statistic, period=period)

    # ------------------------------------------------------------------ validation

    @staticmethod
    def _check(
        *,
        model_package_arn: str,
        endpoint_name: Optional[str],
        variant: Variant,
        bucket: Optional[s3.IBucket],
        model_artifacts_bucket: Optional[s3.IBucket],
        model_artifacts_key: Optional[kms.IKey],
        data_capture: Optional[DataCapture],
        autoscaling: Optional[Autoscaling],
        rollout: Optional[BlueGreenRollout],
        network_isolation: bool,
        vpc: Optional[ec2.IVpc],
        vpc_subnets: Optional[ec2.SubnetSelection],
        security_groups: Optional[Sequence[ec2.ISecurityGroup]],
        async_inference: Optional[AsyncInference] = None,
        network: Optional[PrivateNetwork] = None,
    ) -> None:
        problems = Problems()
        problems.check(
            check_pattern,
            "model_package_arn",
            model_package_arn,
            MODEL_PACKAGE_ARN_PATTERN,
            "a versioned model package ARN 'arn:<partition>:sagemaker:<region>:<account>:model-package/<group>/<version>'",
        )
        if endpoint_name is not None:
            problems.check(check_pattern, "endpoint_name", endpoint_name, NAME_PATTERN, NAME_RULE)
        if not isinstance(variant, (InstanceVariant, ServerlessVariant)):
            problems.add("variant", variant, "an InstanceVariant or a ServerlessVariant")
        if isinstance(variant, ServerlessVariant):
            unsupported = {
                "data_capture": data_capture is not None and data_capture.enabled is not False,
                "autoscaling": autoscaling is not None,
                "rollout": rollout is not None,
                "network_isolation": network_isolation,
                "vpc": vpc is not None,
                "network": network is not None,
            }
            for setting, given in unsupported.items():
                if given:
                    problems.add(setting, "given", "none with a ServerlessVariant (serverless endpoints do not support it)")
        if data_capture is not None and data_capture.enabled is not False and bucket is None:
            problems.add("data_capture", "without bucket", "a bucket to capture into")
        if model_artifacts_key is not None and model_artifacts_bucket is None and bucket is None:
            problems.add(
                "model_artifacts_key", "without a bucket", "a model_artifacts_bucket (or bucket) the artifacts are read from"
            )
        if vpc is None and (vpc_subnets is not None or security_groups):
            problems.add("vpc_subnets/security_groups", "without vpc", "a vpc")
        if vpc is not None and network is not None:
            problems.add("network", "with vpc", "either a vpc or a network, not both")
        if isinstance(variant, InstanceVariant):
            count = variant.initial_instance_count
            if autoscaling is not None and not any(
                is_unresolved(v) for v in (count, autoscaling.min_capacity, autoscaling.max_capacity)
            ):
                if not autoscaling.min_capacity <= count <= autoscaling.max_capacity:
                    problems.add(
                        "initial_instance_count",
                        count,
                        f"between autoscaling min_capacity ({autoscaling.min_capacity}) "
                        f"and max_capacity ({autoscaling.max_capacity})",
                    )
            if rollout is not None:
                rollout.traffic.check_fleet(problems, count)
        if async_inference is not None:
            _check_async(problems, async_inference, variant=variant, bucket=bucket, autoscaling=autoscaling)
        problems.raise_if_any()

    # ------------------------------------------------------------------ resources

    def _vpc_config(
        self,
        vpc: Optional[ec2.IVpc],
        vpc_subnets: Optional[ec2.SubnetSelection],
        security_groups: Optional[Sequence[ec2.ISecurityGroup]],
    ) -> Optional[sagemaker.CfnModel.VpcConfigProperty]:
        if vpc is None:
            return None
        groups = list(security_groups or [])
        if not groups:
            groups = [
                ec2.SecurityGroup(
                    self,
                    "SecurityGroup",
                    vpc=vpc,
                    description="Network interfaces of a SageMaker endpoint model",
                    allow_all_outbound=True,
                )
            ]
        #: The security groups of the model's network interfaces.
        self.security_groups = groups
        return sagemaker.CfnModel.VpcConfigProperty(
            subnets=vpc.select_subnets(**subnet_selection(vpc_subnets)).subnet_ids,
            security_group_ids=[group.security_group_id for group in groups],
        )

    def _production_variant(self, variant: Variant) -> sagemaker.CfnEndpointConfig.ProductionVariantProperty:
        if isinstance(variant, ServerlessVariant):
            return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                variant_name=variant.variant_name,
                model_name=self.model.attr_model_name,
                serverless_config=sagemaker.CfnEndpointConfig.ServerlessConfigProperty(
                    memory_size_in_mb=variant.memory_size_mb,
                    max_concurrency=variant.max_concurrency,
                    provisioned_concurrency=variant.provisioned_concurrency,
                ),
            )
        return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
            variant_name=variant.variant_name,
            model_name=self.model.attr_model_name,
            instance_type=variant.instance_type,
            initial_instance_count=variant.initial_instance_count,
            initial_variant_weight=1,
            model_data_download_timeout_in_seconds=_seconds_or_none(variant.model_data_download_timeout),
            container_startup_health_check_timeout_in_seconds=_seconds_or_none(
                variant.container_startup_health_check_timeout
            ),
        )

    def _volume_key(self, variant: Variant) -> Optional[str]:
        """The configuration's ``KmsKeyId``, left out for instance types with local storage."""
        if isinstance(variant, ServerlessVariant):
            return self.key.key_arn
        local = variant.has_local_storage
        if local is None:
            # The instance type is a token: decide at deploy time from its family.
            family = Fn.select(1, Fn.split(".", variant.instance_type))
            matches = [Fn.condition_equals(family, name) for name in LOCAL_STORAGE_FAMILIES]
            # Fn::Or takes 2 to 10 conditions: or groups of at most 10.
            groups = [Fn.condition_or(*matches[i : i + 10]) for i in range(0, len(matches), 10)]
            condition = CfnCondition(
                self,
                "InstanceHasLocalStorage",
                expression=groups[0] if len(groups) == 1 else Fn.condition_or(*groups),
            )
            return Fn.condition_if(condition.logical_id, Fn.ref("AWS::NoValue"), self.key.key_arn).to_string()
        return None if local else self.key.key_arn

    def _data_capture_config(
        self, bucket: Optional[s3.IBucket]
    ) -> Optional[sagemaker.CfnEndpointConfig.DataCaptureConfigProperty]:
        capture = self.data_capture
        if capture is None or bucket is None:
            return None
        options = [mode for mode, on in (("Input", capture.capture_input), ("Output", capture.capture_output)) if on]
        return sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
            enable_capture=Token.as_any(capture.enabled) if is_unresolved(capture.enabled) else bool(capture.enabled),
            initial_sampling_percentage=capture.sampling_percentage,
            destination_s3_uri=bucket.s3_url_for_object(capture.prefix),
            kms_key_id=self.key.key_arn,
            capture_options=[sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode=m) for m in options],
            capture_content_type_header=sagemaker.CfnEndpointConfig.CaptureContentTypeHeaderProperty(
                csv_content_types=list(capture.csv_content_types) or None,
                json_content_types=list(capture.json_content_types) or None,
            ),
        )

    def _async_locations(self, bucket: s3.IBucket, settings: AsyncInference) -> None:
        """The request, response and failure prefixes, and the notification topics."""
        base = f"{settings.prefix}/{self.endpoint_name}"
        self._async_bucket = bucket
        self._async = _AsyncPrefixes(input=f"{base}/input", output=f"{base}/output", failure=f"{base}/failure")
        if settings.notifications:
            self.success_topic = sns.Topic(
                self,
                "SuccessTopic",
                display_name="Answered asynchronous inference requests",
                master_key=self.key,
                enforce_ssl=True,
            )
            self.error_topic = sns.Topic(
                self,
                "ErrorTopic",
                display_name="Failed asynchronous inference requests",
                master_key=self.key,
                enforce_ssl=True,
            )

    def _async_inference_config(self) -> Optional[sagemaker.CfnEndpointConfig.AsyncInferenceConfigProperty]:
        settings = self.async_inference
        if settings is None:
            return None
        bucket = self._async_bucket
        notification = None
        if self.success_topic is not None and self.error_topic is not None:
            notification = sagemaker.CfnEndpointConfig.AsyncInferenceNotificationConfigProperty(
                success_topic=self.success_topic.topic_arn, error_topic=self.error_topic.topic_arn
            )
        return sagemaker.CfnEndpointConfig.AsyncInferenceConfigProperty(
            client_config=(
                sagemaker.CfnEndpointConfig.AsyncInferenceClientConfigProperty(
                    max_concurrent_invocations_per_instance=settings.max_concurrent_invocations_per_instance
                )
                if settings.max_concurrent_invocations_per_instance is not None
                else None
            ),
            output_config=sagemaker.CfnEndpointConfig.AsyncInferenceOutputConfigProperty(
                s3_output_path=bucket.s3_url_for_object(self._async.output),
                s3_failure_path=bucket.s3_url_for_object(self._async.failure),
                kms_key_id=self.key.key_arn,
                notification_config=notification,
            ),
        )

    def _deployment_config(
        self, rollout: Optional[BlueGreenRollout]
    ) -> Optional[sagemaker.CfnEndpoint.DeploymentConfigProperty]:
        if rollout is None:
            return None
        traffic = rollout.traffic
        return sagemaker.CfnEndpoint.DeploymentConfigProperty(
            blue_green_update_policy=sagemaker.CfnEndpoint.BlueGreenUpdatePolicyProperty(
                traffic_routing_configuration=sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(
                    type=traffic.mode,
                    wait_interval_in_seconds=whole_seconds(traffic.wait_interval),
                    canary_size=self._step_if(traffic, "CANARY"),
                    linear_step_size=self._step_if(traffic, "LINEAR"),
                ),
                termination_wait_in_seconds=whole_seconds(rollout.termination_wait),
                maximum_execution_timeout_in_seconds=whole_seconds(rollout.maximum_execution_timeout),
            ),
            auto_rollback_configuration=(
                sagemaker.CfnEndpoint.AutoRollbackConfigProperty(
                    alarms=[sagemaker.CfnEndpoint.AlarmProperty(alarm_name=a.alarm_name) for a in self.alarms]
                )
                if self.alarms
                else None
            ),
        )

    def _step_if(self, traffic: TrafficShift, mode: str) -> Any:
        """The step as ``CanarySize`` or ``LinearStepSize``: only for its mode, decided at deploy time for a token."""
        if traffic.step is None:
            return None
        size = sagemaker.CfnEndpoint.CapacitySizeProperty(type=traffic.step.unit, value=traffic.step.value)
        if not is_unresolved(traffic.mode):
            return size if traffic.mode == mode else None
        condition = CfnCondition(self, f"{mode.capitalize()}Traffic", expression=Fn.condition_equals(traffic.mode, mode))
        return Fn.condition_if(
            condition.logical_id, {"Type": traffic.step.unit, "Value": traffic.step.value}, Fn.ref("AWS::NoValue")
        )

    # ------------------------------------------------------------------ compliance

    def _acknowledge(self) -> None:
        """Acknowledge, on the narrowest construct and with the reason, what cannot be tighter."""
        self._needs.acknowledge(self.policy)
        if isinstance(self.variant, InstanceVariant) and self.variant.has_local_storage:
            acknowledge(
                self.endpoint_config,
                f"instance type {self.variant.instance_type} has local NVMe storage, which SageMaker encrypts in "
                "hardware; SageMaker rejects a KmsKeyId for such instance types (captured data is still "
                "encrypted with the KMS key)",
                "HIPAA.Security-SageMakerEndpointConfigurationKMSKeyConfigured",
                "NIST.800.53.R5-SageMakerEndpointConfigurationKMSKeyConfigured",
            )
        if not self._alarm_actions:
            for alarm in self.alarms:
                acknowledge(
                    alarm,
                    "the alarm exists for SageMaker deployment guardrails, which read its state during a "
                    "deployment and roll back; no notification target was given (alarm_actions)",
                    "HIPAA.Security-CloudWatchAlarmAction",
                    "NIST.800.53.R5-CloudWatchAlarmAction",
                )


class _AsyncPrefixes:
    """The key prefixes of an asynchronous endpoint's requests, responses and failures."""

    def __init__(self, *, input: str, output: str, failure: str) -> None:  # noqa: A002 - SageMaker's word
        self.input = input
        self.output = output
        self.failure = failure


def _check_async(
    problems: Problems,
    settings: AsyncInference,
    *,
    variant: Variant,
    bucket: Optional[s3.IBucket],
    autoscaling: Optional[Autoscaling],
) -> None:
    if not isinstance(settings, AsyncInference):
        problems.add("async_inference", settings, "an AsyncInference")
        return
    if not isinstance(variant, InstanceVariant):
        problems.add("async_inference", "with a ServerlessVariant", "an InstanceVariant (serverless endpoints cannot be asynchronous)")
        return
    if bucket is None:
        problems.add("async_inference", "without bucket", "a bucket for the requests, responses and failures")
    if autoscaling is not None:
        problems.add(
            "autoscaling", "given with async_inference", "none: an asynchronous endpoint scales on its backlog (async_inference.scaling)"
        )
    scaling = settings.scaling
    count = variant.initial_instance_count
    if scaling is not None and not any(is_unresolved(v) for v in (count, scaling.max_capacity)):
        if count > scaling.max_capacity:
            problems.add("initial_instance_count", count, f"at most async_inference.scaling max_capacity ({scaling.max_capacity})")


def _seconds_or_none(value: Optional[Duration]) -> Optional[Union[int, float]]:
    return None if value is None else whole_seconds(value)
