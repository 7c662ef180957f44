"""Grouped settings of a SageMaker endpoint: the variant, data capture and autoscaling.

Each group is a frozen, keyword-only dataclass that checks itself when created and reports
every problem it finds in one ``ValueError``. Values that are CloudFormation tokens (a
parameter, for instance) are skipped: only CloudFormation can check them, at deploy time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence, Union

from aws_cdk import Duration

from ..._internal.patterns import ENDPOINT_NAME, KEY_PREFIX

# Problems, check_whole, check_seconds and whole_seconds live in _internal.validation and
# stay importable from here.
from ..._internal.validation import (  # noqa: F401
    Problems,
    check_choice,
    check_instance_type,
    check_pattern,
    check_range,
    check_seconds,
    check_whole,
    is_unresolved,
    whole_seconds,
)

#: SageMaker's rule for endpoint and variant names (``_internal.patterns``).
NAME_PATTERN = ENDPOINT_NAME
NAME_RULE = "1 to 63 letters, digits and inner hyphens"

#: ``ServerlessConfig.MemorySizeInMB``: 1 GB steps from 1 GB to 6 GB.
SERVERLESS_MEMORY_SIZES_MB = (1024, 2048, 3072, 4096, 5120, 6144)

#: Instance families whose instances carry local (NVMe) storage. SageMaker encrypts that
#: storage in hardware and rejects an endpoint configuration's ``KmsKeyId`` for them.
LOCAL_STORAGE_FAMILIES = (
    "m5d", "m6id", "m6gd", "c5d", "c6id", "c6gd", "r5d", "r6id", "r6gd", "z1d", "x1",
    "g4dn", "g5", "g6", "g6e", "gr6", "p3dn", "p4d", "p4de", "p5", "p5e", "p5en", "p6-b200",
    "trn1", "trn1n", "trn2",
)  # fmt: skip


def instance_family(instance_type: str) -> str:
    """``ml.g5.xlarge`` -> ``g5``."""
    return instance_type.split(".")[1]


@dataclass(frozen=True, kw_only=True)
class InstanceVariant:
    """A production variant on dedicated instances (the only kind that supports guardrails).

    :param instance_type: the ML instance type. Default: ``ml.m5.large``.
    :param initial_instance_count: instances to start with. Default: 1.
    :param variant_name: the variant's name; a blue/green update keeps it. Default: ``AllTraffic``.
    :param model_data_download_timeout: how long an instance may take to download the model
        (60 s to 1 h). Default: SageMaker's default.
    :param container_startup_health_check_timeout: how long the container may take to pass
        its first health check (60 s to 1 h). Default: SageMaker's default.
    """

    instance_type: str = "ml.m5.large"
    initial_instance_count: Union[int, float] = 1
    variant_name: str = "AllTraffic"
    model_data_download_timeout: Optional[Duration] = None
    container_startup_health_check_timeout: Optional[Duration] = None

    def __post_init__(self) -> None:
        problems = Problems()
        problems.check(check_instance_type, "instance_type", self.instance_type)
        check_whole(problems, "initial_instance_count", self.initial_instance_count, 1, 1000)
        problems.check(check_pattern, "variant_name", self.variant_name, NAME_PATTERN, NAME_RULE)
        check_seconds(problems, "model_data_download_timeout", self.model_data_download_timeout, 60, 3600)
        check_seconds(
            problems, "container_startup_health_check_timeout", self.container_startup_health_check_timeout, 60, 3600
        )
        problems.raise_if_any()

    @property
    def has_local_storage(self) -> Optional[bool]:
        """True when the instance type has local storage; None when it is a token."""
        if is_unresolved(self.instance_type):
            return None
        return instance_family(self.instance_type) in LOCAL_STORAGE_FAMILIES


@dataclass(frozen=True, kw_only=True)
class ServerlessVariant:
    """A serverless production variant: no instances, billed per request.

    Serverless endpoints support neither data capture, VPC, network isolation, autoscaling
    of instances nor deployment guardrails; ``ModelEndpoint`` rejects those combinations.

    :param memory_size_mb: memory of each worker, 1024 to 6144 in steps of 1024. Default: 2048.
    :param max_concurrency: concurrent invocations, 1 to 200. Default: 20.
    :param provisioned_concurrency: warm capacity, 1 to ``max_concurrency``. Default: none.
    :param variant_name: the variant's name. Default: ``AllTraffic``.
    """

    memory_size_mb: Union[int, float] = 2048
    max_concurrency: Union[int, float] = 20
    provisioned_concurrency: Optional[Union[int, float]] = None
    variant_name: str = "AllTraffic"

    def __post_init__(self) -> None:
        problems = Problems()
        problems.check(check_choice, "memory_size_mb", self.memory_size_mb, SERVERLESS_MEMORY_SIZES_MB)
        check_whole(problems, "max_concurrency", self.max_concurrency, 1, 200)
        if self.provisioned_concurrency is not None:
            upper = 200 if is_unresolved(self.max_concurrency) else int(self.max_concurrency)
            check_whole(problems, "provisioned_concurrency", self.provisioned_concurrency, 1, upper)
        problems.check(check_pattern, "variant_name", self.variant_name, NAME_PATTERN, NAME_RULE)
        problems.raise_if_any()


Variant = Union[InstanceVariant, ServerlessVariant]


@dataclass(frozen=True, kw_only=True)
class DataCapture:
    """Capture of requests and responses into the endpoint's bucket (for Model Monitor).

    :param enabled: whether to capture; a ``"true"``/``"false"`` token is passed through.
        Default: True.
    :param sampling_percentage: percentage of requests captured, 0 to 100. Default: 100.
    :param capture_input: capture requests. Default: True.
    :param capture_output: capture responses. Default: True.
    :param prefix: key prefix in the bucket; SageMaker appends the endpoint and variant
        names and the date. Default: ``data-capture``.
    :param csv_content_types: content types captured as CSV text. Default: ``text/csv``.
    :param json_content_types: content types captured as JSON text. Default: ``application/json``.
    """

    enabled: Union[bool, str] = True
    sampling_percentage: Union[int, float] = 100
    capture_input: bool = True
    capture_output: bool = True
    prefix: str = "data-capture"
    csv_content_types: Sequence[str] = ("text/csv",)
    json_content_types: Sequence[str] = ("application/json",)

    def __post_init__(self) -> None:
        problems = Problems()
        if not isinstance(self.enabled, bool) and not is_unresolved(self.enabled):
            problems.add("enabled", self.enabled, "True, False or a token")
        check_whole(problems, "sampling_percentage", self.sampling_percentage, 0, 100)
        if not (self.capture_input or self.capture_output):
            problems.add("capture_input/capture_output", (False, False), "at least one of them True")
        problems.check(
            check_pattern,
            "prefix",
            self.prefix,
            KEY_PREFIX,
            "an S3 key prefix without leading or trailing '/'",
        )
        for setting, types in (("csv_content_types", self.csv_content_types), ("json_content_types", self.json_content_types)):
            if isinstance(types, str) or len(types) > 10:
                problems.add(setting, types, "a sequence of at most 10 content types")
        problems.raise_if_any()


@dataclass(frozen=True, kw_only=True)
class Autoscaling:
    """Target tracking of invocations per instance (``SageMakerVariantInvocationsPerInstance``).

    :param min_capacity: fewest instances, at least 1. Default: 1.
    :param max_capacity: most instances, at least ``min_capacity``. Default: 2.
    :param target_invocations_per_instance: invocations per instance per minute to hold.
        Default: 70.
    :param scale_in_cooldown: wait after a scale-in. Default: 5 minutes.
    :param scale_out_cooldown: wait after a scale-out. Default: 1 minute.
    :param enabled: whether to register the variant at all; a ``"true"``/``"false"`` token
        adds a CloudFormation condition. Default: True.
    """

    min_capacity: Union[int, float] = 1
    max_capacity: Union[int, float] = 2
    target_invocations_per_instance: Union[int, float] = 70
    scale_in_cooldown: Duration = field(default_factory=lambda: Duration.minutes(5))
    scale_out_cooldown: Duration = field(default_factory=lambda: Duration.minutes(1))
    enabled: Union[bool, str] = True

    def __post_init__(self) -> None:
        problems = Problems()
        check_whole(problems, "min_capacity", self.min_capacity, 1, 1000)
        check_whole(problems, "max_capacity", self.max_capacity, 1, 1000)
        if not any(is_unresolved(v) for v in (self.min_capacity, self.max_capacity)):
            if isinstance(self.min_capacity, int) and isinstance(self.max_capacity, int):
                if self.max_capacity < self.min_capacity:
                    problems.add("max_capacity", self.max_capacity, f"at least min_capacity ({self.min_capacity})")
        problems.check(check_range, "target_invocations_per_instance", self.target_invocations_per_instance, 1, 1_000_000)
        check_seconds(problems, "scale_in_cooldown", self.scale_in_cooldown, 0, 86400)
        check_seconds(problems, "scale_out_cooldown", self.scale_out_cooldown, 0, 86400)
        if not isinstance(self.enabled, bool) and not is_unresolved(self.enabled):
            problems.add("enabled", self.enabled, "True, False or a token")
        problems.raise_if_any()


@dataclass(frozen=True, kw_only=True)
class BacklogScaling:
    """Autoscaling of an asynchronous endpoint on its queue, down to zero instances.

    A target-tracking policy holds ``ApproximateBacklogSizePerInstance`` (queued requests per
    instance) at ``target_backlog_per_instance``; with ``min_capacity`` 0 a step-scaling policy,
    driven by an alarm on ``HasBacklogWithoutCapacity``, adds the first instance as soon as a
    request waits with none running (target tracking alone would wait for the backlog to pass
    the target).

    :param min_capacity: fewest instances; 0 lets the endpoint scale to zero. Default: 0.
    :param max_capacity: most instances, at least 1 and ``min_capacity``. Default: 2.
    :param target_backlog_per_instance: queued requests per instance to hold. Default: 5.
    :param scale_in_cooldown: wait after a scale-in. Default: 10 minutes.
    :param scale_out_cooldown: wait after a scale-out. Default: 5 minutes.
    :param enabled: whether to register the variant at all; a ``"true"``/``"false"`` token adds a
        CloudFormation condition. Default: True.
    """

    min_capacity: Union[int, float] = 0
    max_capacity: Union[int, float] = 2
    target_backlog_per_instance: Union[int, float] = 5
    scale_in_cooldown: Duration = field(default_factory=lambda: Duration.minutes(10))
    scale_out_cooldown: Duration = field(default_factory=lambda: Duration.minutes(5))
    enabled: Union[bool, str] = True

    def __post_init__(self) -> None:
        problems = Problems()
        check_whole(problems, "min_capacity", self.min_capacity, 0, 1000)
        check_whole(problems, "max_capacity", self.max_capacity, 1, 1000)
        if isinstance(self.min_capacity, int) and isinstance(self.max_capacity, int):
            if not any(is_unresolved(v) for v in (self.min_capacity, self.max_capacity)) and self.max_capacity < self.min_capacity:
                problems.add("max_capacity", self.max_capacity, f"at least min_capacity ({self.min_capacity})")
        problems.check(check_range, "target_backlog_per_instance", self.target_backlog_per_instance, 0.1, 1_000_000)
        check_seconds(problems, "scale_in_cooldown", self.scale_in_cooldown, 0, 86400)
        check_seconds(problems, "scale_out_cooldown", self.scale_out_cooldown, 0, 86400)
        if not isinstance(self.enabled, bool) and not is_unresolved(self.enabled):
            problems.add("enabled", self.enabled, "True, False or a token")
        problems.raise_if_any()

    @property
    def scales_from_zero(self) -> Optional[bool]:
        """True when ``min_capacity`` is 0; None when it is a token (decided at deploy time)."""
        return None if is_unresolved(self.min_capacity) else self.min_capacity == 0


@dataclass(frozen=True, kw_only=True)
class AsyncInference:
    """Asynchronous inference: requests are queued, read from S3 and answered into S3.

    Clients upload a request under ``<prefix>/<endpoint name>/input/`` in the endpoint's bucket
    and call ``InvokeEndpointAsync``; SageMaker writes the response under ``.../output/`` (or the
    error under ``.../failure/``), encrypted with the endpoint's key, and publishes to the success
    or error SNS topic (both KMS-encrypted with that key).

    :param max_concurrent_invocations_per_instance: requests one instance works on at once,
        1 to 1000. Default: SageMaker's choice for the container.
    :param prefix: key prefix in the endpoint's bucket. Default: ``async-inference``.
    :param notifications: create the success and error topics. Default: True.
    :param scaling: autoscaling on the backlog, down to zero. Default: ``BacklogScaling()``
        (0 to 2 instances); None keeps ``initial_instance_count`` instances.
    """

    max_concurrent_invocations_per_instance: Optional[Union[int, float]] = None
    prefix: str = "async-inference"
    notifications: bool = True
    scaling: Optional[BacklogScaling] = field(default_factory=BacklogScaling)

    def __post_init__(self) -> None:
        problems = Problems()
        if self.max_concurrent_invocations_per_instance is not None:
            check_whole(
                problems, "max_concurrent_invocations_per_instance", self.max_concurrent_invocations_per_instance, 1, 1000
            )
        problems.check(
            check_pattern, "prefix", self.prefix, KEY_PREFIX, "an S3 key prefix without leading or trailing '/'"
        )
        if not isinstance(self.notifications, bool):
            problems.add("notifications", self.notifications, "True or False")
        if self.scaling is not None and not isinstance(self.scaling, BacklogScaling):
            problems.add("scaling", self.scaling, "a BacklogScaling or None")
        problems.raise_if_any()
