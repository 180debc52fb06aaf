"""Closed forms for checkpointing under Poisson interruptions (REFERENCES.md §1).

λ is the interruption rate (1/M), C the blocking checkpoint write, R the restore (which
interruptions can strike), D the downtime before a new instance runs (they cannot).
Sources: Young, CACM 17(9), 1974; Daly, FGCS 22(3), 2006; Bougeret et al., SC'11.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from preemptsim.scenario import Scenario


def young_interval(write_s: float, mtbi_s: float) -> float:
    """Young's first-order optimum work between checkpoints, sqrt(2 C M), in seconds."""
    return math.sqrt(2.0 * write_s * mtbi_s)


def daly_interval(write_s: float, mtbi_s: float) -> float:
    """Daly's higher-order optimum (FGCS 2006, eq. 37), in seconds; M where C ≥ 2M."""
    if write_s >= 2.0 * mtbi_s:
        return mtbi_s
    ratio = write_s / (2.0 * mtbi_s)
    return young_interval(write_s, mtbi_s) * (1 + math.sqrt(ratio) / 3 + ratio / 9) - write_s


def optimal_interval(write_s: float, mtbi_s: float) -> float:
    """The exact optimum work per segment, τ* = (1 + W₀(−e^{−λC−1})) / λ, in seconds.

    It minimises the expected wall time and billed time for any R and D (REFERENCES.md §1).
    """
    from scipy.special import lambertw  # scipy loads only where a closed form is asked for

    rate = 1.0 / mtbi_s
    return float((1.0 + lambertw(-math.exp(-rate * write_s - 1.0)).real) / rate)


@dataclass(frozen=True, slots=True)
class Expectation:
    """Expected wall time, time an instance is held, and interruptions of one run."""

    wall_s: float
    held_s: float
    interruptions: float


def expected_segment(
    work_s: float, write_s: float, rate: float, restore_s: float = 0.0, downtime_s: float = 0.0
) -> Expectation:
    """One segment of work then a checkpoint, first try without restore (REFERENCES.md §1).

    E[N] = e^{λR}(e^{λ(w+C)} − 1), E[held] = E[N]/λ, E[T] = E[N](1/λ + D).
    """
    if rate == 0.0:
        return Expectation(work_s + write_s, work_s + write_s, 0.0)
    count = math.exp(rate * restore_s) * math.expm1(rate * (work_s + write_s))
    return Expectation(count * (1.0 / rate + downtime_s), count / rate, count)


def segments(work_s: float, interval_s: float) -> tuple[int, float]:
    """Number of segments n and the work of the last one for W split into pieces of τ.

    Pieces within a part in 10⁹ of τ of a whole count are taken as whole, so that float
    rounding never adds an empty segment.
    """
    if math.isinf(interval_s) or interval_s >= work_s:
        return 1, work_s
    count = max(1, math.ceil(work_s / interval_s - 1e-9))
    return count, work_s - (count - 1) * interval_s


def expected_run(scenario: Scenario) -> Expectation:
    """Expected wall time, held time (per instance) and interruptions of a spot run.

    For Poisson interruptions with synchronous checkpoints, fixed restore, no notice and no
    setup; a gang of N sees the rate Nλ (REFERENCES.md §1).  Multiply ``held_s`` by N for
    billed instance time.
    """
    _require_closed_form(scenario)
    rate = scenario.interruptions.rate_per_s * scenario.job.instances
    if scenario.interruptions.model == "none":
        rate = 0.0
    restore_s = scenario.restart.restore.mean_s
    downtime_s = scenario.restart.provision.mean_s + _manual_response_s(scenario)
    count, last_s = segments(scenario.job.work_s, scenario.checkpoint.interval)
    write_s = scenario.checkpoint.write
    last = expected_segment(last_s, 0.0, rate, restore_s, downtime_s)
    if count == 1:
        return last
    full = expected_segment(scenario.checkpoint.interval, write_s, rate, restore_s, downtime_s)
    return Expectation(
        (count - 1) * full.wall_s + last.wall_s,
        (count - 1) * full.held_s + last.held_s,
        (count - 1) * full.interruptions + last.interruptions,
    )


def expected_wall_time(scenario: Scenario) -> float:
    """Expected wall time of a spot run in seconds (see ``expected_run``)."""
    return expected_run(scenario).wall_s


def _manual_response_s(scenario: Scenario) -> float:
    return scenario.restart.response if scenario.restart.manual else 0.0


def _require_closed_form(scenario: Scenario) -> None:
    problems = {
        "interruptions.model must be poisson or none": scenario.interruptions.model
        not in ("poisson", "none"),
        "interruptions.max_lifetime must be unset": scenario.interruptions.max_lifetime is not None,
        "interruptions.notice must be 0": scenario.interruptions.notice > 0,
        "checkpoint.mode must be sync": scenario.checkpoint.mode != "sync",
        "checkpoint.storage must be persistent": scenario.checkpoint.storage != "persistent",
        "restart.restore must be fixed": not scenario.restart.restore.is_fixed,
        "job.setup must be 0": scenario.job.setup > 0,
        "policy.kind must be spot": scenario.policy.kind != "spot",
    }
    failed = [text for text, bad in problems.items() if bad]
    if failed:
        raise ValueError(f"no closed form for this scenario: {'; '.join(failed)}")
