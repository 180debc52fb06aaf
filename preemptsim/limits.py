"""Bounds that keep one simulated run finite and meaningful (DESIGN.md §2, Limits).

A scenario is refused, with one line naming the key, when its job is longer than
``units.MAX_SECONDS``, when it would take more than ``MAX_SEGMENTS`` checkpoint segments or
``MAX_INTERRUPTIONS`` expected interruptions in one run (each costs the engine work, so such
a run would not end in any useful time), when a random delay's mean is beyond the longest
duration, or when its deadline is shorter than the work at full speed (no policy can meet it).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from preemptsim.units import MAX_SECONDS, format_duration

if TYPE_CHECKING:
    from preemptsim.scenario import Scenario

MAX_SEGMENTS = 10**6  # each is a few engine events: 10⁶ take seconds a replication
MAX_INTERRUPTIONS = 10**6  # expected in one run's work, all instances together


def check(scenario: Scenario) -> None:
    """Raise ValueError ("key: why") where ``scenario`` breaks a bound above."""
    job, checkpoint = scenario.job, scenario.checkpoint
    work_s = job.work_s
    if work_s > MAX_SECONDS:
        key = "job.work" if job.work is not None else "job.steps"
        raise ValueError(f"{key}: the work lasts {work_s:.3g}s; at most {MAX_SECONDS:.3g}s")
    if work_s / checkpoint.interval > MAX_SEGMENTS:
        raise ValueError(
            f"checkpoint.interval: {work_s / checkpoint.interval:.2g} segments of work; at "
            f"most {MAX_SEGMENTS:.0e} in one run: checkpoint less often"
        )
    for name in ("provision", "restore"):
        if getattr(scenario.restart, name).mean_s > MAX_SECONDS:
            raise ValueError(f"restart.{name}: its mean is beyond {MAX_SECONDS:.3g}s")
    key, rate_per_s = interruption_rate(scenario)
    if rate_per_s * work_s > MAX_INTERRUPTIONS:
        raise ValueError(
            f"{key}: about {rate_per_s * work_s:.2g} interruptions in {format_duration(work_s)}"
            f" of work; at most {MAX_INTERRUPTIONS:.0e} in one run"
        )
    deadline_s = scenario.policy.deadline
    if deadline_s is not None and deadline_s < work_s:
        raise ValueError(
            f"policy.deadline: {format_duration(deadline_s)} is shorter than the work at full "
            f"speed ({format_duration(work_s)}): no policy can meet it"
        )


def interruption_rate(scenario: Scenario) -> tuple[str, float]:
    """The key that sets the interruption rate, and the rate of the whole gang in 1/s (its
    largest hour's for ``hourly``; ``1 / (scale·Γ(1 + 1/shape))`` for Weibull)."""
    spec, instances = scenario.interruptions, scenario.job.instances
    match spec.model:
        case "poisson":
            key = next(
                k for k in ("mtbi", "rate_per_hour", "monthly_probability") if getattr(spec, k)
            )
            return f"interruptions.{key}", spec.rate_per_s * instances
        case "weibull":
            assert spec.scale is not None and spec.shape is not None
            try:
                mean_s = spec.scale * math.gamma(1.0 + 1.0 / spec.shape)
            except OverflowError:
                mean_s = math.inf
            return "interruptions.scale", instances / mean_s
        case "hourly":
            assert isinstance(spec.rate_per_hour, list)
            return "interruptions.rate_per_hour", max(spec.rate_per_hour) / 3600.0 * instances
        case "scripted":  # as if all of them fell within the work
            return "interruptions.at", len(spec.at or []) / scenario.job.work_s
    return "interruptions.model", 0.0
