"""A vectorised engine: many replications of one scenario at once, in NumPy (DESIGN.md §1).

The SimPy engine (engine/) runs one replication at a time.  Here every replication still
running advances together, one lease at a time (an "attempt", in lockstep arrays), and a
lease's segments are summed in closed form: how many whole segments end before the
instance is taken.  So the cost is per interruption, spread over arrays of replications.
The semantics are the SimPy engine's: the fixed checkpoint grid, ties to the interruption,
the notice and its emergency checkpoint, async persists, restore after every interruption,
billing per lease; on scripted interruptions both engines give the same rows
(tests/test_fast.py).  It runs the spot and on-demand policies with every interruption
model but traces; ``unsupported`` names what it cannot run.

Random numbers are counter-based: draw i of source s (interruptions, downtime, restore) of
replication r is output i of a SplitMix64 stream (Steele, Lea, Flood, OOPSLA 2014) whose
state is keyed by (seed, s, r).  A replication's row does not depend on which others share
its call, so any split of the replications gives the same rows (DESIGN.md §5).  They are
not the SimPy engine's numbers, only the same distributions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import ndtri

from preemptsim import billing
from preemptsim.engine import SOURCES, Plan
from preemptsim.scenario import Delay, Interruptions, Scenario, ScenarioError

Engine = Literal["auto", "simpy", "fast"]
F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]  # noqa: E741
B = npt.NDArray[np.bool_]
U = npt.NDArray[np.uint64]
Tallies = dict[str, npt.NDArray[Any]]

BLOCK = 1 << 14  # replications per block: fits the caches; any split gives the same rows
MAX_ATTEMPTS = 100_000  # leases per run before giving up, as engine.MAX_LEASES (engine/job.py)
_GAMMA, _MASK = 0x9E3779B97F4A7C15, (1 << 64) - 1
_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def unsupported(scenario: Scenario) -> str | None:
    """Why the fast engine cannot run ``scenario`` (one line naming the key), or None."""
    if scenario.interruptions.paths is not None:
        return "interruptions.paths (zones) needs the SimPy engine (placement, migration)"
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
            return delay.median * np.exp(delay.sigma * ndtri(uniform()))  # type: ignore[no-any-return]
        case "uniform":
            return delay.low + (delay.high - delay.low) * uniform()  # type: ignore[operator]
        case "exponential":
            return -delay.mean * np.log(uniform())  # type: ignore[operator]
    values = np.asarray(delay.values, dtype=np.float64)
    return values[np.minimum((uniform() * len(values)).astype(np.int64), len(values) - 1)]


def _least(delay: Delay) -> float:
    """The least value ``delay`` can take, in seconds."""
    match delay.dist:
        case "fixed":
            return float(delay.value)  # type: ignore[arg-type]
        case "uniform":
            return float(delay.low)  # type: ignore[arg-type]
        case "empirical":
            return float(min(delay.values))  # type: ignore[arg-type]
    return 0.0


@dataclass(frozen=True, slots=True)
class _Takes:
    """When a (gang of) instance(s) started at ``start`` is taken (interruptions.py)."""

    spec: Interruptions
    instances: int
    scripted_s: F  # the scripted times, sorted once (then +inf): a search per attempt

    @classmethod
    def of(cls, spec: Interruptions, instances: int) -> _Takes:
        times = np.sort(np.asarray(spec.at or [], dtype=np.float64))
        return cls(spec, instances, np.append(times, np.inf))

    def at(self, start: F, uniform: Callable[[], F]) -> F:
        take = self._base(start, uniform)
        if self.spec.max_lifetime is not None:
            take = np.minimum(take, start + self.spec.max_lifetime)
        return take

    def _base(self, start: F, uniform: Callable[[], F]) -> F:
        spec, n = self.spec, self.instances
        match spec.model:
            case "poisson":
                return start + -np.log(uniform()) / (spec.rate_per_s * n)
            case "weibull":
                scale_s = spec.scale * n ** (-1.0 / spec.shape)  # type: ignore[operator]
                return start + scale_s * (-np.log(uniform())) ** (1.0 / spec.shape)  # type: ignore[no-any-return,operator]
            case "hourly":
                return _hourly(start, -np.log(uniform()), spec.rate_per_hour, n)  # type: ignore[arg-type]
            case "scripted":
                times = self.scripted_s
                return times[np.searchsorted(times, start, side="right")]
        return np.full_like(start, np.inf)


def _hourly(start: F, hazard: F, rate_per_hour: list[float], instances: int) -> F:
    """The moment after ``start`` at which ``hazard`` has accrued under an hour-of-day rate
    (t = 0 is midnight), by inverting the cumulative hazard; inf past a year, as Hourly."""
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

    A lease works in phases: phase 0 finishes the segment of the durable point, each later
    one is a whole segment; every phase but the job's last ends in a blocking wait for the
    last persist (where it outlasts τ) and a snapshot, so a middle phase lasts ``period``.
    """

    work: float
    tau: float
    segments: int
    snapshot: float
    persist: float
    blocking: float  # of a middle phase
    period: float
    last_work: float
    emergency: float
    notice: float
    notices: bool  # whether a notice can start an emergency checkpoint
    ephemeral: bool

    @classmethod
    def of(cls, plan: Plan) -> _Shape:
        n, work = plan.segments, plan.work_s
        tau = plan.interval_s if n > 1 else work  # one segment: τ is never used
        blocking = (max(plan.persist_s, tau) - tau) + plan.snapshot_s
        ephemeral = plan.scenario.checkpoint.storage == "ephemeral"
        notices = plan.on_notice and plan.notice_s > 0
        return cls(work, tau, n, plan.snapshot_s, plan.persist_s, blocking, tau + blocking,
                   work - (n - 1) * tau, plan.emergency_write_s, plan.notice_s, notices,
                   ephemeral)  # fmt: skip


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
    billed: F  # instance-seconds billed (× instances)
    interruptions: I
    checkpoints: I

    @classmethod
    def start(cls, count: int) -> _Runs:
        ints = ("row", "segment", "interruptions", "checkpoints")
        zeros: Tallies = {f.name: np.zeros(count, np.int64 if f.name in ints else np.float64)
                          for f in fields(cls)}  # fmt: skip
        return cls(**zeros | {"row": np.arange(count, dtype=np.int64)})

    def keep(self, mask: B) -> _Runs:
        return _Runs(*(getattr(self, f.name)[mask] for f in fields(self)))


@dataclass(slots=True)
class _Lease:
    """One lease of every running replication: held from ``t``, working from ``t0``."""

    shape: _Shape
    t: F
    t0: F
    progress: F
    segment: I
    last: I  # the phase of the job's last segment (J)
    first_work: F
    first_end: F
    finish: F

    @classmethod
    def of(cls, shape: _Shape, runs: _Runs, t: F, t0: F) -> _Lease:
        last = shape.segments - 1 - runs.segment
        only = last == 0
        first_work = np.where(only, shape.work, (runs.segment + 1) * shape.tau) - runs.progress
        first_end = t0 + (first_work + np.where(only, 0.0, shape.snapshot))
        later = first_end + (last - 1) * shape.period + shape.last_work
        return cls(shape, t, t0, runs.progress, runs.segment, last, first_work, first_end,
                   np.where(only, first_end, later))  # fmt: skip

    def blocking_before(self, phase: I) -> F:
        """Blocking time of the phases before ``phase``, all complete."""
        s = self.shape
        return np.where(phase >= 1, s.snapshot + (phase - 1) * s.blocking, 0.0)

    def phase_at(self, x: F) -> I:
        """The phase under way at ``x`` (t0 < x ≤ finish); a phase ending at ``x`` still is:
        the interruption wins the tie."""
        s = self.shape
        m = np.ceil(np.maximum(x - self.first_end, 0.0) / s.period).astype(np.int64) - 1
        m = np.maximum(np.minimum(m, self.last - 1), 0)
        m = np.where((m >= 1) & (self.first_end + m * s.period >= x), m - 1, m)
        ahead = (m + 1 <= self.last - 1) & (self.first_end + (m + 1) * s.period < x)
        return np.where(x <= self.first_end, 0, 1 + np.where(ahead, m + 1, m))


@dataclass(slots=True)
class _Stop:
    """Where each lease stands at moment ``x`` (its notice or take)."""

    in_restore: B
    phase: I
    phase_start: F
    blocked: F  # time into the phase's blocking wait and snapshot
    base: F  # progress at the phase's start
    progress: F

    @classmethod
    def at(cls, lease: _Lease, x: F) -> _Stop:
        s, j = lease.shape, lease.phase_at(x)
        in_restore = x <= lease.t0
        start = np.where(j == 0, lease.t0, lease.first_end + (j - 1) * s.period)
        work = np.where(j == 0, lease.first_work, np.where(j == lease.last, s.last_work, s.tau))
        elapsed = np.where(in_restore, 0.0, x - start)
        worked = np.minimum(elapsed, work)
        base = np.where(j == 0, lease.progress, (lease.segment + j) * s.tau)
        return cls(in_restore, j, start, elapsed - worked, base, base + worked)

    def durable(self, lease: _Lease, y: F) -> tuple[F, I, I]:
        """Durable progress, its segment, and checkpoints made durable in this lease, as
        settled at ``y``: phase j's snapshot settled persists 0..j-2, and persist j-1 is
        durable if it ended before ``y`` (a sync checkpoint at once)."""
        s, j, k = lease.shape, self.phase, lease.segment
        if s.persist == 0:
            return self.base, k + j, j
        settled = (j >= 1) & (self.phase_start + s.persist < y)
        before = np.where(j <= 1, lease.progress, (k + j - 1) * s.tau)
        progress = np.where(settled, self.base, before)
        segment = np.where(settled, k + j, k + np.maximum(j - 1, 0))
        return progress, segment, np.maximum(j - 1, 0) + settled


@dataclass(frozen=True, slots=True)
class _Context:
    plan: Plan
    shape: _Shape
    takes: _Takes
    streams: _Streams
    on_demand: bool  # policy.kind = "on_demand": one on-demand lease, never taken
    alike_after: float | None  # leases starting after this moment are all alike, if ever


def _begin(ctx: _Context, runs: _Runs, attempt: int) -> tuple[F, F | float]:
    """Downtime before this lease (none before the first); its start and its restore."""
    scenario = ctx.plan.scenario
    if attempt == 0:
        return runs.now, scenario.job.setup
    draw = ctx.streams.uniform
    provision = _delay(scenario.restart.provision, lambda: draw(1, attempt, runs.row))
    ready = np.maximum((runs.now + provision) + ctx.plan.response_s, runs.now)
    runs.now, runs.wait = ready, runs.wait + (ready - runs.now)
    return runs.now, _delay(scenario.restart.restore, lambda: draw(2, attempt, runs.row))


def _take(ctx: _Context, runs: _Runs, t: F, attempt: int) -> F:
    """When this lease is taken; inf on on-demand.  The next lease starts at this very
    moment (no rounding from a clock), so a scripted moment takes one lease."""
    if ctx.on_demand:
        return np.full_like(t, np.inf)
    return ctx.takes.at(t, lambda: ctx.streams.uniform(0, attempt, runs.row))


def _attempt(ctx: _Context, runs: _Runs, attempt: int) -> tuple[B, F]:
    """One lease of every running replication, tallies updated in place: which ones
    finished, and the moment the lease ended (the wall time of those that finished)."""
    s = ctx.shape
    t, restore = _begin(ctx, runs, attempt)
    take = _take(ctx, runs, t, attempt)
    lease = _Lease.of(s, runs, t, t + restore)
    x = take
    if s.notices:
        notice = np.maximum(take - s.notice, t)
        x = np.where(_notice_helps(lease, notice, take), notice, take)
    hit = x <= lease.finish
    x = np.where(hit, x, t)  # a finished lease stops "at t": in its restore, adding nothing
    stop = _Stop.at(lease, x)
    progress, segment, count = stop.durable(lease, take)
    checkpoint = lease.blocking_before(np.where(hit, stop.phase, lease.last)) + stop.blocked
    if s.notices:
        noticed = hit & (x < take)
        progress, segment, count, extra, idle = _drain(
            lease, stop, x, take, noticed, (progress, segment, count)
        )
        checkpoint += extra
        runs.idle += idle
    if s.ephemeral:
        progress, segment = np.where(hit, 0.0, progress), np.where(hit, 0, segment)
    runs.restore += np.where(hit & stop.in_restore, x - t, restore)
    runs.checkpoint += checkpoint
    runs.checkpoints += np.where(hit, count, _finished_count(lease))
    runs.interruptions += hit
    runs.lost += stop.progress - progress  # 0 where finished: stopped "in the restore"
    runs.progress, runs.segment = progress, segment
    end = np.where(hit, take, lease.finish)
    runs.billed += _billed(ctx, end - t)
    runs.now = end
    return ~hit, end


def _finished_count(lease: _Lease) -> I:
    """Checkpoints made durable by a lease that finishes the job: every one of its phases
    but the last ends in one; an async one is durable if its persist ends by the finish."""
    s = lease.shape
    if s.persist == 0:
        return lease.last
    return np.maximum(lease.last - 1, 0) + ((lease.last >= 1) & (s.persist <= s.last_work))


def _notice_helps(lease: _Lease, notice: F, take: F) -> B:
    """Where acting on the notice helps, as in engine/job.py: at work or in a checkpoint
    (not the restore) of a phase that would not be saved (checkpoint durable, or job done)
    before the take, with progress not yet durable, and an emergency checkpoint shorter
    than the notice's lead (exact: ties go to the take)."""
    s = lease.shape
    live = (notice < take) & (notice <= lease.finish) & (notice > lease.t0)
    at = np.where(live, notice, lease.t)  # elsewhere any moment of the lease will do
    stop = _Stop.at(lease, at)
    saved_at = np.where(
        stop.phase == lease.last, lease.finish, lease.first_end + stop.phase * s.period + s.persist
    )
    saves = stop.progress > stop.durable(lease, at)[0]
    lead = np.minimum(s.notice, take - lease.t)
    return live & (saved_at >= take) & saves & (s.emergency < lead)


def _drain(
    lease: _Lease, stop: _Stop, x: F, take: F, noticed: B, settled: tuple[F, I, I]
) -> tuple[F, I, I, F, F]:
    """After a notice at ``x`` that helps (_notice_helps): an emergency checkpoint of the
    progress not yet durable, which ends before the take; then idle until taken
    (DESIGN.md §1, Notice).  Returns the durable point and count after the take, extra
    checkpoint time and idle."""
    s = lease.shape
    _, _, count_x = stop.durable(lease, x)
    saved = noticed
    written = x + s.emergency
    boundary = stop.progress >= (lease.segment + stop.phase + 1) * s.tau
    segment = np.minimum(lease.segment + stop.phase + boundary, s.segments - 1)
    extra = np.where(saved, s.emergency, 0.0)
    idle = np.where(saved, take - written, 0.0)
    return (
        np.where(saved, stop.progress, settled[0]),
        np.where(saved, segment, settled[1]),
        np.where(saved, count_x + 1, settled[2]),
        extra,
        idle,
    )


def _billed(ctx: _Context, held: F) -> F:
    """Instance-seconds billed per lease, as billing.lease_billed_s: rounded up to the
    granularity, at least the minimum, × instances."""
    pricing = ctx.plan.scenario.pricing
    units = np.ceil(held / pricing.billing_granularity - 1e-9)
    billed = np.maximum(units * pricing.billing_granularity, pricing.minimum_billed)
    return billed * ctx.plan.scenario.job.instances


def _check_progress(ctx: _Context, runs: _Runs, before: tuple[F, I, F] | None) -> None:
    """Refuse, as bad input naming the key, runs that certainly never finish (engine/job.py
    gives up after MAX_LEASES): no lease, living at most ``max_lifetime``, has room for the
    least restore and the work to the next durable checkpoint (write and persist) or to the
    job's end, and no emergency checkpoint can fit between a notice and the take; or the
    leases are all alike (no random take, a fixed restore, past any scripted moment) and the
    last one moved nothing.  ``before``: progress, segment and clock before that lease."""
    lifetime_s, s = ctx.plan.scenario.interruptions.max_lifetime, ctx.shape
    if lifetime_s is None or ctx.on_demand or not len(runs.row):
        return
    restore_s = _least(ctx.plan.scenario.restart.restore)
    if s.ephemeral:  # nothing survives a take: the whole job must fit in one lease
        zero = np.zeros(len(runs.row))
        stuck = _Lease.of(s, runs, zero, zero + restore_s).finish >= lifetime_s
    else:
        durable = restore_s + (runs.segment + 1) * s.tau - runs.progress + s.snapshot + s.persist
        finish = restore_s + s.work - runs.progress
        stuck = np.where(runs.segment == s.segments - 1, finish, durable) >= lifetime_s
        if s.notices and s.emergency < s.notice and restore_s < lifetime_s - s.notice:
            stuck[:] = False  # some lease may save an emergency checkpoint
    if before is not None and ctx.alike_after is not None:
        progress, segment, clock = before
        same = (runs.progress == progress) & (runs.segment == segment)
        stuck |= same & (clock >= ctx.alike_after)
    if stuck.any():
        raise ScenarioError(
            f"interruptions.max_lifetime: {lifetime_s:g} s is too short for the job ever to "
            "finish: no lease lives to its next durable checkpoint (restore, work, write)"
        )


def _block(ctx: _Context, count: int) -> Tallies:
    """Run ``count`` replications to the end: their tallies by name, in row order."""
    out = {f.name: getattr(_Runs.start(count), f.name) for f in fields(_Runs)}
    out["wall"] = np.zeros(count)
    runs = _Runs.start(count)
    for attempt in range(MAX_ATTEMPTS):
        if not len(runs.row):
            return out
        before = (runs.progress, runs.segment, runs.now)  # _attempt replaces these arrays
        done, end = _attempt(ctx, runs, attempt)
        if done.any():
            rows = runs.row[done]
            for f in fields(_Runs):
                out[f.name][rows] = getattr(runs, f.name)[done]
            out["wall"][rows] = end[done]
            runs = runs.keep(~done)
            before = (before[0][~done], before[1][~done], before[2][~done])
        _check_progress(ctx, runs, before if attempt >= 1 else None)
    raise RuntimeError(
        f"{ctx.plan.scenario.name}: no finish after {MAX_ATTEMPTS} instances: "
        "segments rarely fit between interruptions; checkpoint more often"
    )


def columns(
    scenario: Scenario, reps: int, seed: int, *, first_rep: int = 0
) -> dict[str, npt.ArrayLike]:
    """Replications ``first_rep … first_rep+reps−1``: the columns of simulate.COLUMNS."""
    reason = unsupported(scenario)
    if reason is not None:
        raise ValueError(f'engine="fast" cannot run this scenario: {reason}')
    plan = Plan.of(scenario)
    takes = _Takes.of(scenario.interruptions, scenario.job.instances)
    rep = np.arange(first_rep, first_rep + reps, dtype=np.int64)
    parts: list[Tallies] = [{f.name: np.zeros(0) for f in fields(_Runs)} | {"wall": np.zeros(0)}]
    on_demand = plan.first_market == "on_demand"
    for begin in range(0, reps, BLOCK):
        block = rep[begin : begin + BLOCK]
        ctx = _Context(plan, _Shape.of(plan), takes, _Streams(seed, block), on_demand, _alike(plan))
        parts.append(_block(ctx, len(block)))
    tallies = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    return _table(scenario, rep, tallies, on_demand=on_demand)


def _alike(plan: Plan) -> float | None:
    """The moment after which every lease is alike (taken ``max_lifetime`` after it starts,
    with a fixed restore), or None where takes or restores are random."""
    spec = plan.scenario.interruptions
    if spec.model not in ("none", "scripted") or not plan.scenario.restart.restore.is_fixed:
        return None
    return max(spec.at or [0.0]) if spec.model == "scripted" else 0.0


def _table(scenario: Scenario, rep: I, t: Tallies, on_demand: bool) -> dict[str, npt.ArrayLike]:
    """Tallies in seconds to the columns of DESIGN.md §3, as simulate.row computes them."""
    pricing, restart, n = scenario.pricing, scenario.restart, len(rep)
    wall = t["wall"].astype(np.float64)
    usd = pricing.on_demand_usd_per_hour if on_demand else pricing.spot_usd_per_hour
    compute = t["billed"] / 3600.0 * usd
    storage = billing.storage_cost_usd(wall, scenario) + np.zeros(n)  # type: ignore[arg-type]
    human: F = np.zeros(n)
    if restart.manual:
        human = t["interruptions"] * restart.handling / 3600.0 * pricing.engineer_usd_per_hour
    deadline = scenario.policy.deadline
    met = wall <= (math.inf if deadline is None else deadline)
    instance_h = t["billed"] / 3600.0
    return {
        "rep": rep,
        "wall_h": wall / 3600.0,
        "cost_usd": compute + storage + human,
        "compute_cost_usd": compute,
        "storage_cost_usd": storage,
        "human_cost_usd": human,
        "spot_instance_h": np.zeros(n) if on_demand else instance_h,
        "on_demand_instance_h": instance_h if on_demand else np.zeros(n),
        "interruptions": t["interruptions"].astype(np.int64),
        "lost_work_h": t["lost"] / 3600.0,
        "checkpoint_h": t["checkpoint"] / 3600.0,
        "restore_h": t["restore"] / 3600.0,
        "wait_h": t["wait"] / 3600.0,
        "idle_h": t["idle"] / 3600.0,
        "checkpoints": t["checkpoints"].astype(np.int64),
        "switched_at_h": np.full(n, np.nan),
        "met_deadline": pd.arrays.BooleanArray(met, np.full(n, deadline is None)),
        "migrations": np.zeros(n, dtype=np.int64),  # one zone: the job never moves
        "migration_h": np.zeros(n),
        "egress_cost_usd": np.zeros(n),
        "zone": pd.array([None] * n, dtype="str"),  # no trace, no zone: NA
    }
