"""A vectorised engine: many replications of one scenario at once, in NumPy (DESIGN.md §1).

The SimPy engine (engine.py) runs one replication at a time, one event per segment.  Here
every replication still running advances together, one lease at a time ("attempts" in
lockstep arrays), and a lease's segments are summed in closed form: how many whole segments
end before the instance is taken.  So the cost is per interruption, not per segment, and
it is spread over arrays of replications.  The semantics are the SimPy engine's: the fixed
checkpoint grid, ties to the interruption, the notice and its emergency checkpoint, async
persists, restore after every interruption, billing per lease; on scripted interruption
times both engines give the same rows (tests/test_fast.py).

Random numbers are counter-based: draw i of source s (interruptions, downtime, restore) of
replication r is output i of a SplitMix64 stream (Steele, Lea, Flood, OOPSLA 2014) whose
state is keyed by (seed, s, r).  A replication's rows do not depend on which others share
its call, so any split of the replications gives the same rows (DESIGN.md §5); they are not
the SimPy engine's numbers, only the same distributions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import ndtri

from preemptsim import billing
from preemptsim.engine import SOURCES, Plan
from preemptsim.scenario import Delay, Interruptions, Scenario

Engine = Literal["auto", "simpy", "fast"]
F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]  # noqa: E741
B = npt.NDArray[np.bool_]
U = npt.NDArray[np.uint64]

BLOCK = 1 << 17  # replications per block: bounds memory, any split gives the same rows
MAX_ATTEMPTS = 1_000_000  # leases per run before giving up: the job would never finish
_GAMMA, _MASK = 0x9E3779B97F4A7C15, (1 << 64) - 1
_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def unsupported(scenario: Scenario) -> str | None:
    """Why the fast engine cannot run ``scenario`` (one line naming the key), or None."""
    if scenario.interruptions.model == "trace":
        return 'interruptions.model = "trace" needs the SimPy engine (trace replay)'
    if scenario.policy.kind not in ("spot", "on_demand"):
        return f'policy.kind = "{scenario.policy.kind}" needs the SimPy engine (deadline policy)'
    return None


def applies(scenario: Scenario, engine: str) -> bool:
    """Whether ``engine`` runs ``scenario`` on the fast engine ("auto": wherever it can)."""
    if engine not in ("auto", "simpy", "fast"):
        raise ValueError(f'engine: must be "auto", "simpy" or "fast", got {engine!r}')
    reason = None if engine == "simpy" else unsupported(scenario)
    if engine == "fast" and reason is not None:
        raise ValueError(f'engine="fast" cannot run this scenario: {reason}')
    return engine != "simpy" and reason is None


def _mix(z: U) -> U:
    """SplitMix64's output function, on arrays (uint64 arithmetic wraps)."""
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


class _Streams:
    """Uniforms in (0, 1) keyed by (seed, source, replication, draw)."""

    def __init__(self, seed: int, reps: I) -> None:
        keys = np.random.SeedSequence(seed).generate_state(len(SOURCES), np.uint64)
        spread = reps.astype(np.uint64) * np.uint64(_GAMMA)
        self._states = [_mix(spread + key) for key in keys]

    def uniform(self, source: int, draw: int, rows: I) -> F:
        z = _mix(self._states[source][rows] + np.uint64(((draw + 1) * _GAMMA) & _MASK))
        return ((z >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


def _delay(delay: Delay, uniform: Callable[[], F]) -> F | float:
    """Values of ``delay`` in seconds (engine.draw's distributions); fixed ones draw nothing."""
    match delay.dist:
        case "fixed":
            return float(delay.value)  # type: ignore[arg-type]
        case "lognormal":
            return delay.median * np.exp(delay.sigma * ndtri(uniform()))  # type: ignore[no-any-return,operator]
        case "uniform":
            return delay.low + (delay.high - delay.low) * uniform()  # type: ignore[no-any-return,operator]
        case "exponential":
            return -delay.mean * np.log(uniform())  # type: ignore[no-any-return,operator]
    values = np.asarray(delay.values, dtype=np.float64)
    index = np.minimum((uniform() * len(values)).astype(np.int64), len(values) - 1)
    return values[index]


@dataclass(frozen=True, slots=True)
class _Takes:
    """When a (gang of) instance(s) started at ``start`` is taken (interruptions.py, vectorised)."""

    spec: Interruptions
    instances: int

    @property
    def random(self) -> bool:
        return self.spec.model in ("poisson", "weibull", "hourly")

    def at(self, start: F, uniform: Callable[[], F]) -> F:
        take = self._base(start, uniform)
        if self.spec.max_lifetime is not None:
            take = np.minimum(take, start + self.spec.max_lifetime)
        return take

    def _base(self, start: F, uniform: Callable[[], F]) -> F:
        spec, n = self.spec, self.instances
        match spec.model:
            case "poisson":
                return start + -np.log(uniform()) / (spec.rate_per_s * n)  # type: ignore[no-any-return]
            case "weibull":
                scale_s = spec.scale * n ** (-1.0 / spec.shape)  # type: ignore[operator]
                return start + scale_s * (-np.log(uniform())) ** (1.0 / spec.shape)  # type: ignore[no-any-return,operator]
            case "hourly":
                return _hourly(start, -np.log(uniform()), spec.rate_per_hour, n)  # type: ignore[arg-type]
            case "scripted":
                times = np.append(np.sort(np.asarray(spec.at, dtype=np.float64)), np.inf)
                return times[np.searchsorted(times, start, side="right")]
        return np.full_like(start, np.inf)


def _hourly(start: F, hazard: F, rate_per_hour: list[float], instances: int) -> F:
    """Invert the cumulative hazard of an hour-of-day rate (t = 0 is midnight): the first
    moment after ``start`` at which ``hazard`` has accrued; inf past a year (as Hourly)."""
    rates = np.asarray(rate_per_hour, dtype=np.float64) * instances / 3600.0
    cum = np.concatenate(([0.0], np.cumsum(rates * 3600.0)))
    day = cum[-1]
    if day <= 0.0:
        return np.full_like(start, np.inf)
    hour = np.floor(start / 3600.0)
    h = (hour % 24).astype(np.int64)
    target = np.floor(hour / 24) * day + cum[h] + rates[h] * (start - hour * 3600.0) + hazard
    days = np.floor(target / day)
    rest = target - days * day
    days, rest = np.where(rest <= 0.0, days - 1, days), np.where(rest <= 0.0, rest + day, rest)
    h = np.minimum(np.searchsorted(cum[1:], rest, side="left"), 23)
    take = days * 86400.0 + h * 3600.0 + (rest - cum[h]) / np.where(rates[h] > 0, rates[h], 1.0)
    take = np.maximum(take, start)
    return np.where(take > (hour + 24 * 366) * 3600.0, np.inf, take)


@dataclass(frozen=True, slots=True)
class _Shape:
    """A plan's numbers (seconds) as the closed forms use them.

    A lease's work phases: phase 0 finishes the durable point's segment, each later one is
    a whole segment; every phase but the job's last ends in a blocking wait and snapshot.
    A middle phase lasts ``period`` = τ + ``blocking`` (waiting for the last persist if it
    outlasts τ, then the snapshot).
    """

    work: float
    tau: float
    segments: int
    snapshot: float
    persist: float
    blocking: float
    period: float
    last_work: float
    emergency: float
    notice: float
    on_notice: bool
    ephemeral: bool

    @classmethod
    def of(cls, plan: Plan) -> _Shape:
        n = plan.segments
        tau = plan.interval_s if n > 1 else plan.work_s  # one segment: τ is never used
        blocking = (max(plan.persist_s, tau) - tau) + plan.snapshot_s
        return cls(
            work=plan.work_s,
            tau=tau,
            segments=n,
            snapshot=plan.snapshot_s,
            persist=plan.persist_s,
            blocking=blocking,
            period=tau + blocking,
            last_work=plan.work_s - (n - 1) * tau,
            emergency=plan.emergency_write_s,
            notice=plan.notice_s,
            on_notice=plan.on_notice,
            ephemeral=plan.scenario.checkpoint.storage == "ephemeral",
        )


@dataclass(slots=True)
class _Runs:
    """Replications still running, one entry each: where they stand and their tallies."""

    row: I  # position in the block
    now: F
    progress: F  # durable progress, where the next lease resumes
    segment: I  # the segment it lies in
    wait: F
    restore: F
    checkpoint: F
    idle: F
    lost: F
    interruptions: I
    checkpoints: I
    spot_s: F
    on_demand_s: F
    compute_usd: F

    @classmethod
    def start(cls, count: int) -> _Runs:
        zeros = [np.zeros(count) for _ in range(14)]
        runs = cls(*zeros)
        for name in ("row", "segment", "interruptions", "checkpoints"):
            setattr(runs, name, np.zeros(count, dtype=np.int64))
        runs.row = np.arange(count, dtype=np.int64)
        return runs

    def keep(self, mask: B) -> _Runs:
        return _Runs(*(getattr(self, f.name)[mask] for f in fields(self)))


@dataclass(slots=True)
class _Lease:
    """One lease of every running replication: starts at ``t``, works from ``t0``."""

    shape: _Shape
    t: F
    t0: F
    progress: F
    segment: I
    last: I  # index of the job's last phase in this lease (J)
    first_work: F
    first_end: F
    finish: F

    @classmethod
    def of(cls, shape: _Shape, runs: _Runs, t: F, t0: F) -> _Lease:
        last = shape.segments - 1 - runs.segment
        only = last == 0
        end = np.where(only, shape.work, (runs.segment + 1) * shape.tau)
        first_work = end - runs.progress
        first_end = t0 + (first_work + np.where(only, 0.0, shape.snapshot))
        later = first_end + (last - 1) * shape.period + shape.last_work
        return cls(shape, t, t0, runs.progress, runs.segment, last, first_work, first_end,
                   np.where(only, first_end, later))  # fmt: skip

    def blocking_before(self, phase: I) -> F:
        """Blocking time of the phases before ``phase`` (all of them complete)."""
        s = self.shape
        return np.where(phase >= 1, s.snapshot + (phase - 1) * s.blocking, 0.0)

    def phase_at(self, x: F) -> I:
        """The phase under way at ``x`` (t0 < x ≤ finish); a phase ending at x is under way."""
        s = self.shape
        m = np.ceil(np.maximum(x - self.first_end, 0.0) / s.period).astype(np.int64) - 1
        m = np.maximum(np.minimum(m, self.last - 1), 0)
        m = np.where((m >= 1) & (self.first_end + m * s.period >= x), m - 1, m)
        ahead = (m + 1 <= self.last - 1) & (self.first_end + (m + 1) * s.period < x)
        return np.where(x <= self.first_end, 0, 1 + np.where(ahead, m + 1, m))


@dataclass(slots=True)
class _Stop:
    """Where a lease stands at moment ``x`` (a notice or a take) in phase ``phase``."""

    in_restore: B
    phase: I
    phase_start: F
    worked: F
    blocked: F
    progress: F

    @classmethod
    def at(cls, lease: _Lease, x: F) -> _Stop:
        s = lease.shape
        in_restore = x <= lease.t0
        j = lease.phase_at(x)
        start = np.where(j == 0, lease.t0, lease.first_end + (j - 1) * s.period)
        work = np.where(j == 0, lease.first_work, np.where(j == lease.last, s.last_work, s.tau))
        elapsed = np.where(in_restore, 0.0, x - start)
        worked = np.minimum(elapsed, work)
        base = np.where(j == 0, lease.progress, (lease.segment + j) * s.tau)
        progress = np.where(in_restore, lease.progress, base + worked)
        return cls(in_restore, j, start, worked, elapsed - worked, progress)

    def durable(self, lease: _Lease, y: F) -> tuple[F, I, I]:
        """Durable progress, its segment, and checkpoints made durable in this lease, as
        settled at ``y``: phase j's snapshot settled persists 0..j-2, and persist j-1 is
        durable if it ended before ``y``."""
        s, j, k = lease.shape, self.phase, lease.segment
        settled = (j >= 1) & (self.phase_start + s.persist < y)
        before = np.where(j <= 1, lease.progress, (k + j - 1) * s.tau)
        progress = np.where(settled, (k + j) * s.tau, before)
        segment = np.where(settled, k + j, k + np.maximum(j - 1, 0))
        return progress, segment, np.maximum(j - 1, 0) + settled


@dataclass(frozen=True, slots=True)
class _Context:
    plan: Plan
    shape: _Shape
    takes: _Takes
    streams: _Streams
    granularity: float
    minimum: float
    instances: int
    spot_usd: float
    on_demand_usd: float
    on_demand: bool  # policy.kind = "on_demand": one on-demand lease, never taken


def _begin(ctx: _Context, runs: _Runs, attempt: int) -> tuple[F, F | float]:
    """Downtime before this lease (none before the first), then its start and restore."""
    restart = ctx.plan.scenario.restart
    if attempt == 0:
        return runs.now, ctx.plan.scenario.job.setup
    provision = _delay(restart.provision, lambda: ctx.streams.uniform(1, attempt, runs.row))
    delta = np.maximum((runs.now + provision) + ctx.plan.response_s - runs.now, 0.0)
    runs.now = runs.now + delta
    runs.wait = runs.wait + delta
    return runs.now, _delay(restart.restore, lambda: ctx.streams.uniform(2, attempt, runs.row))


def _signals(ctx: _Context, runs: _Runs, t: F, attempt: int) -> tuple[F, F, B]:
    """The take of this lease, its notice, and whether the notice acts (DESIGN.md §1)."""
    if ctx.on_demand:
        return np.full_like(t, np.inf), t, np.zeros(t.shape, dtype=np.bool_)
    take = ctx.takes.at(t, lambda: ctx.streams.uniform(0, attempt, runs.row))
    take = t + (take - t)  # as SimPy schedules it: now + delay
    notice = np.maximum(take - ctx.shape.notice, t)
    notice = t + (notice - t)
    active = (notice < take) if ctx.shape.on_notice else np.zeros(t.shape, dtype=np.bool_)
    return take, np.where(active, notice, t), active


def _attempt(ctx: _Context, runs: _Runs, attempt: int) -> tuple[B, F]:
    """One lease of every running replication; tallies updated in place.  Returns which
    replications finished, and the wall time of those that did."""
    s = ctx.shape
    t, restore = _begin(ctx, runs, attempt)
    take, notice, active = _signals(ctx, runs, t, attempt)
    lease = _Lease.of(s, runs, t, t + restore)
    x = np.where(active, notice, take)
    hit = x <= lease.finish
    x = np.where(hit, x, t)  # finished leases: a harmless moment, masked below
    stop = _Stop.at(lease, x)
    durable_x = stop.durable(lease, x)
    progress_t, segment_t, count_t = stop.durable(lease, take)
    emergency = hit & active & (stop.progress > durable_x[0])
    saved = emergency & (notice + s.emergency < take)
    boundary = stop.progress >= (lease.segment + stop.phase + 1) * s.tau
    em_segment = np.minimum(lease.segment + stop.phase + boundary, s.segments - 1)
    progress = np.where(saved, stop.progress, progress_t)
    segment = np.where(saved, em_segment, segment_t)
    count = np.where(saved, durable_x[2] + 1, count_t)
    if s.ephemeral:
        progress, segment = np.where(hit, 0.0, progress), np.where(hit, 0, segment)

    done_blocking = np.where(lease.last >= 1, s.snapshot + (lease.last - 1) * s.blocking, 0.0)
    hit_blocking = np.where(stop.in_restore, 0.0, lease.blocking_before(stop.phase) + stop.blocked)
    noticed = hit & active
    hit_blocking += np.where(saved, s.emergency, np.where(emergency, take - notice, 0.0))
    runs.restore += np.where(hit & stop.in_restore, x - t, restore)
    runs.checkpoint += np.where(hit, hit_blocking, done_blocking)
    runs.idle += np.where(
        noticed & ~emergency, take - notice, np.where(saved, take - (notice + s.emergency), 0.0)
    )
    done_count = np.where(lease.last >= 1, lease.last - (s.persist > 0), 0)
    runs.checkpoints += np.where(hit, count, done_count)
    runs.interruptions += hit
    runs.lost += np.where(hit, stop.progress - progress, 0.0)
    runs.progress, runs.segment = progress, segment
    end = np.where(hit, take, lease.finish)
    _bill(ctx, runs, end - t)
    runs.now = end
    return ~hit, end


def _bill(ctx: _Context, runs: _Runs, held: F) -> None:
    """Per-lease billing, as billing.lease_billed_s: granularity, minimum, × instances."""
    units = np.ceil(held / ctx.granularity - 1e-9)
    billed = np.maximum(units * ctx.granularity, ctx.minimum) * ctx.instances
    usd = ctx.on_demand_usd if ctx.on_demand else ctx.spot_usd
    if ctx.on_demand:
        runs.on_demand_s += billed
    else:
        runs.spot_s += billed
    runs.compute_usd += billed / 3600.0 * usd


def _block(ctx: _Context, count: int) -> dict[str, F | I]:
    """Run ``count`` replications to the end; their tallies, by name, in row order."""
    out: dict[str, F | I] = {f.name: getattr(_Runs.start(count), f.name) for f in fields(_Runs)}
    out["wall"] = np.zeros(count)
    runs = _Runs.start(count)
    for attempt in range(MAX_ATTEMPTS):
        if not len(runs.row):
            return out
        done, end = _attempt(ctx, runs, attempt)
        for name, values in ((f.name, getattr(runs, f.name)) for f in fields(_Runs)):
            out[name][runs.row[done]] = values[done]
        out["wall"][runs.row[done]] = end[done]
        if done.any():
            runs = runs.keep(~done)
    raise RuntimeError(f"{ctx.plan.scenario.name}: no run finished in {MAX_ATTEMPTS} leases")


def _context(scenario: Scenario, streams: _Streams) -> _Context:
    plan, pricing = Plan.of(scenario), scenario.pricing
    return _Context(
        plan=plan,
        shape=_Shape.of(plan),
        takes=_Takes(scenario.interruptions, scenario.job.instances),
        streams=streams,
        granularity=pricing.billing_granularity,
        minimum=pricing.minimum_billed,
        instances=scenario.job.instances,
        spot_usd=pricing.spot_usd_per_hour,
        on_demand_usd=pricing.on_demand_usd_per_hour,
        on_demand=plan.first_market == "on_demand",
    )


def columns(
    scenario: Scenario, reps: int, seed: int, *, first_rep: int = 0
) -> dict[str, npt.ArrayLike]:
    """Replications ``first_rep … first_rep+reps−1``: the columns of simulate.COLUMNS."""
    unit = unsupported(scenario)
    if unit is not None:
        raise ValueError(f'engine="fast" cannot run this scenario: {unit}')
    parts = []
    for begin in range(first_rep, first_rep + reps, BLOCK):
        rep = np.arange(begin, min(begin + BLOCK, first_rep + reps), dtype=np.int64)
        parts.append(_block(_context(scenario, _Streams(seed, rep)), len(rep)))
    tallies = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts else {}
    if not parts:
        tallies = {f.name: np.zeros(0) for f in fields(_Runs)} | {"wall": np.zeros(0)}
    return _table(scenario, np.arange(first_rep, first_rep + reps, dtype=np.int64), tallies)


def _table(scenario: Scenario, rep: I, t: dict[str, F | I]) -> dict[str, npt.ArrayLike]:
    """Tallies in seconds to the columns of DESIGN.md §3, with simulate.row's arithmetic."""
    wall = t["wall"].astype(np.float64)
    storage = billing.storage_cost_usd(wall, scenario)  # type: ignore[arg-type]
    restart = scenario.restart
    human = np.zeros(len(rep))
    if restart.manual:
        hours = t["interruptions"] * restart.handling / 3600.0
        human = hours * scenario.pricing.engineer_usd_per_hour
    deadline = scenario.policy.deadline
    met = pd.arrays.BooleanArray(
        wall <= (math.inf if deadline is None else deadline),
        np.full(len(rep), deadline is None),
    )
    return {
        "rep": rep,
        "wall_h": wall / 3600.0,
        "cost_usd": t["compute_usd"] + storage + human,
        "compute_cost_usd": t["compute_usd"],
        "storage_cost_usd": np.asarray(storage, dtype=np.float64) + np.zeros(len(rep)),
        "human_cost_usd": human,
        "spot_instance_h": t["spot_s"] / 3600.0,
        "on_demand_instance_h": t["on_demand_s"] / 3600.0,
        "interruptions": t["interruptions"].astype(np.int64),
        "lost_work_h": t["lost"] / 3600.0,
        "checkpoint_h": t["checkpoint"] / 3600.0,
        "restore_h": t["restore"] / 3600.0,
        "wait_h": t["wait"] / 3600.0,
        "idle_h": t["idle"] / 3600.0,
        "checkpoints": t["checkpoints"].astype(np.int64),
        "switched_at_h": np.full(len(rep), np.nan),
        "met_deadline": met,
    }
