"""Deployment guardrails of a SageMaker endpoint: blue/green traffic shifting and rollback alarms.

When an endpoint's configuration changes (a new model version, say), SageMaker builds a new
("green") fleet next to the old ("blue") one, shifts traffic to it all at once, as a canary
or in linear steps, watches CloudWatch alarms while it does, and rolls back if one fires.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional, Union

from aws_cdk import Duration

from ..._internal.validation import Problems, check_choice, check_seconds, check_whole, is_unresolved

TRAFFIC_MODES = ("ALL_AT_ONCE", "CANARY", "LINEAR")
STEP_UNITS = ("CAPACITY_PERCENT", "INSTANCE_COUNT")
LATENCY_STATISTICS = ("Average", "Maximum", "p50", "p90", "p95", "p99")


@dataclass(frozen=True, kw_only=True)
class TrafficStep:
    """The size of a canary or of each linear step.

    :param unit: ``CAPACITY_PERCENT`` or ``INSTANCE_COUNT``.
    :param value: the percentage of the fleet's capacity, or the number of instances.

    Prefer :meth:`percent` and :meth:`instances`.
    """

    unit: str
    value: Union[int, float]

    @classmethod
    def percent(cls, value: Union[int, float]) -> TrafficStep:
        """A share of the fleet's capacity, in percent."""
        return cls(unit="CAPACITY_PERCENT", value=value)

    @classmethod
    def instances(cls, value: Union[int, float]) -> TrafficStep:
        """A number of instances."""
        return cls(unit="INSTANCE_COUNT", value=value)

    def __post_init__(self) -> None:
        problems = Problems()
        problems.check(check_choice, "step unit", self.unit, STEP_UNITS)
        check_whole(problems, "step value", self.value, 1, 100 if self.unit == "CAPACITY_PERCENT" else 1000)
        problems.raise_if_any()


@dataclass(frozen=True, kw_only=True)
class TrafficShift:
    """How traffic moves to the new fleet.

    :param mode: ``ALL_AT_ONCE``, ``CANARY`` (a first small step, then the rest) or ``LINEAR``
        (equal steps). A token is passed through. Default: ``ALL_AT_ONCE``.
    :param step: the canary's or each linear step's size: a canary is at most 50 % of the
        fleet, a linear step 10 % to 50 %. Required for ``CANARY`` and ``LINEAR``, not allowed
        for ``ALL_AT_ONCE``; with a token ``mode`` it is used only when the mode needs it.
    :param wait_interval: how long alarms are watched after each step (0 to 1 h). Default: 5 minutes.

    Prefer :meth:`all_at_once`, :meth:`canary` and :meth:`linear`.
    """

    mode: str = "ALL_AT_ONCE"
    step: Optional[TrafficStep] = None
    wait_interval: Duration = field(default_factory=lambda: Duration.minutes(5))

    @classmethod
    def all_at_once(cls, *, wait_interval: Optional[Duration] = None) -> TrafficShift:
        """All traffic moves in one step, then alarms are watched for ``wait_interval`` (default 5 minutes)."""
        return cls(mode="ALL_AT_ONCE", wait_interval=wait_interval or Duration.minutes(5))

    @classmethod
    def canary(cls, step: TrafficStep, *, wait_interval: Optional[Duration] = None) -> TrafficShift:
        """``step`` first (at most 50 %), alarms watched for ``wait_interval`` (default 5 minutes), then the rest."""
        return cls(mode="CANARY", step=step, wait_interval=wait_interval or Duration.minutes(5))

    @classmethod
    def linear(cls, step: TrafficStep, *, wait_interval: Optional[Duration] = None) -> TrafficShift:
        """Equal steps of ``step`` (10 % to 50 %), alarms watched for ``wait_interval`` (default 5 minutes) after each."""
        return cls(mode="LINEAR", step=step, wait_interval=wait_interval or Duration.minutes(5))

    def __post_init__(self) -> None:
        problems = Problems()
        problems.check(check_choice, "traffic mode", self.mode, TRAFFIC_MODES)
        check_seconds(problems, "wait_interval", self.wait_interval, 0, 3600)
        if not is_unresolved(self.mode):
            if self.mode == "ALL_AT_ONCE" and self.step is not None:
                problems.add("step", self.step, "no step with ALL_AT_ONCE (steps apply to CANARY and LINEAR)")
            if self.mode in ("CANARY", "LINEAR") and self.step is None:
                problems.add("step", None, f"a TrafficStep for {self.mode}")
        if self.step is not None and self.step.unit == "CAPACITY_PERCENT" and not is_unresolved(self.step.value):
            if self.mode == "CANARY" and self.step.value > 50:
                problems.add("canary size", f"{self.step.value}%", "at most 50% of the fleet")
            if self.mode == "LINEAR" and not 10 <= self.step.value <= 50:
                problems.add("linear step size", f"{self.step.value}%", "10% to 50% of the fleet")
        problems.raise_if_any()

    def steps(self) -> Optional[int]:
        """How many waits the shift has, when known: 1 all at once or canary, more for linear percentages."""
        if is_unresolved(self.mode):
            return None
        if self.mode == "LINEAR":
            if self.step is None or self.step.unit != "CAPACITY_PERCENT" or is_unresolved(self.step.value):
                return None
            return math.ceil(100 / self.step.value)
        return 1

    def check_fleet(self, problems: Problems, instance_count: Union[int, float]) -> None:
        """Check an instance-count step against the fleet size, when both are known."""
        step = self.step
        if step is None or step.unit != "INSTANCE_COUNT" or is_unresolved(self.mode):
            return
        if is_unresolved(step.value) or is_unresolved(instance_count):
            return
        if self.mode == "CANARY" and step.value * 2 > instance_count:
            problems.add(
                "canary size",
                f"{step.value} instance(s)",
                f"at most 50% of the fleet ({instance_count} instance(s)); use more instances or ALL_AT_ONCE",
            )
        if self.mode == "LINEAR" and not (step.value * 10 >= instance_count and step.value * 2 <= instance_count):
            problems.add(
                "linear step size",
                f"{step.value} instance(s)",
                f"10% to 50% of the fleet ({instance_count} instance(s))",
            )


@dataclass(frozen=True, kw_only=True)
class RollbackAlarms:
    """The two CloudWatch alarms that roll a deployment back (per endpoint and variant).

    :param error_threshold: server errors (``Invocation5XXErrors``, sum per period) at or above
        which a period is bad. Default: 1.
    :param latency_threshold: model latency (``ModelLatency``, ``latency_statistic`` per period)
        above which a period is bad, 1 ms to 60 s (real-time invocations time out after 60 s).
        Give a token as ``Duration.millis(token)``. Default: 1 second.
    :param latency_statistic: ``Average``, ``Maximum``, ``p50``, ``p90``, ``p95`` or ``p99``. Default: ``p90``.
    :param period: the length of a period (1 to 5 minutes, whole minutes). Default: 1 minute.
    :param evaluation_periods: consecutive bad periods that fire an alarm (1 to 10). Default: 2.
    """

    error_threshold: Union[int, float] = 1
    latency_threshold: Duration = field(default_factory=lambda: Duration.seconds(1))
    latency_statistic: str = "p90"
    period: Duration = field(default_factory=lambda: Duration.minutes(1))
    evaluation_periods: int = 2

    def __post_init__(self) -> None:
        problems = Problems()
        check_whole(problems, "error_threshold", self.error_threshold, 1, 1_000_000)
        milliseconds = self.latency_threshold_ms()
        if milliseconds is None:
            problems.add(
                "latency_threshold", self.latency_threshold.to_string(), "Duration.millis(...) when the value is a token"
            )
        elif not is_unresolved(milliseconds) and not 1 <= milliseconds <= 60_000:
            problems.add("latency_threshold", self.latency_threshold.to_human_string(), "1 ms to 60 s")
        problems.check(check_choice, "latency_statistic", self.latency_statistic, LATENCY_STATISTICS)
        check_seconds(problems, "period", self.period, 60, 300)
        if not is_unresolved(self.period.to_seconds()) and self.period.to_seconds() % 60:
            problems.add("period", self.period.to_human_string(), "whole minutes")
        check_whole(problems, "evaluation_periods", self.evaluation_periods, 1, 10)
        problems.raise_if_any()

    def latency_threshold_ms(self) -> Optional[Union[int, float]]:
        """The latency threshold in milliseconds (a token stays a token); None if not convertible."""
        try:
            return self.latency_threshold.to_milliseconds()
        except Exception:  # jsii: a token duration in another unit cannot be converted
            return None


@dataclass(frozen=True, kw_only=True)
class BlueGreenRollout:
    """Blue/green deployment with automatic rollback (SageMaker deployment guardrails).

    :param traffic: how traffic shifts to the new fleet. Default: all at once, then 5 minutes
        of watching the alarms.
    :param termination_wait: how long the old fleet is kept (and alarms watched) after all
        traffic has moved, 0 to 1 h. Default: 5 minutes.
    :param maximum_execution_timeout: the longest a deployment may take, 10 minutes to 8 hours;
        it must exceed the waits. Default: 1 hour.
    :param alarms: the alarms that roll the deployment back; None deploys without automatic
        rollback. Default: ``RollbackAlarms()``.
    """

    traffic: TrafficShift = field(default_factory=TrafficShift)
    termination_wait: Duration = field(default_factory=lambda: Duration.minutes(5))
    maximum_execution_timeout: Duration = field(default_factory=lambda: Duration.hours(1))
    alarms: Optional[RollbackAlarms] = field(default_factory=RollbackAlarms)

    def __post_init__(self) -> None:
        problems = Problems()
        if not isinstance(self.traffic, TrafficShift):
            problems.add("traffic", self.traffic, "a TrafficShift")
        check_seconds(problems, "termination_wait", self.termination_wait, 0, 3600)
        check_seconds(problems, "maximum_execution_timeout", self.maximum_execution_timeout, 600, 28800)
        if not problems.messages:
            seconds = [
                self.traffic.wait_interval.to_seconds(),
                self.termination_wait.to_seconds(),
                self.maximum_execution_timeout.to_seconds(),
            ]
            steps = self.traffic.steps()
            if steps is not None and not any(is_unresolved(s) for s in seconds):
                wait, termination, timeout = seconds
                if timeout <= wait * steps + termination:
                    problems.add(
                        "maximum_execution_timeout",
                        self.maximum_execution_timeout.to_human_string(),
                        f"more than the waits it covers ({steps} x wait_interval + termination_wait = "
                        f"{int(wait * steps + termination)} seconds)",
                    )
        problems.raise_if_any()
