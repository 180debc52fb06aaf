"""One lease of every running replication (an "attempt"), its tallies added in place.

A lease ends in one of four ways: the job finishes; the instance is taken (after an
emergency checkpoint where a notice helps); the policy leaves the market at a segment
start (holding the instance, idle, until a running persist ends: DESIGN.md §1); or it is
taken during that wait.  Each is a closed form over the lease's phases (lease.py).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from preemptsim.fast import policy
from preemptsim.fast.draws import delay_s
from preemptsim.fast.lease import Lease, Stop, drain, notice_helps
from preemptsim.fast.state import Context, Runs

F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]  # noqa: E741
B = npt.NDArray[np.bool_]


def attempt(ctx: Context, runs: Runs, number: int) -> tuple[B, F]:
    """Lease ``number`` of every running replication: which ones finished, and the moment
    the lease ended (the wall time of those that finished)."""
    s, offset = ctx.shape, ctx.offsets[runs.row]
    on_demand = policy.begin(ctx, runs, number)
    t = runs.now
    restore = _restore_s(ctx, runs, number)
    lease = Lease.of(s, runs.progress, runs.segment, t, t + restore)
    take = ctx.takes.at(t, offset, lambda: ctx.uniform(0, number, runs))
    take = np.where(on_demand, np.inf, take)
    x, helps = take, np.zeros(len(t), bool)
    if s.notices:
        notice = np.maximum(take - s.notice, t)
        helps = notice_helps(lease, notice, take)
        x = np.where(helps, notice, take)
    leave = np.zeros(len(t), bool)
    phase = lease.last + 1
    if ctx.plan.policy.deadline_aware:
        phase = policy.leave_phase(ctx, lease, on_demand, take, offset)
        start = lease.phase_start(np.minimum(phase, lease.last))
        leave = (phase <= lease.last) & (start < take) & ~(helps & (x <= start))
    hit = (x <= lease.finish) & ~leave
    x = np.where(hit, x, t)  # a lease that is not taken stops "at t": in its restore
    stop = Stop.at(lease, x)
    progress, segment, count = stop.durable(lease, take)
    checkpoint = lease.blocking_before(np.where(hit, stop.phase, lease.last)) + stop.blocked
    idle = np.zeros(len(t))
    if s.notices:
        noticed = hit & (x < take)
        progress, segment, count, extra, idle = drain(
            lease, stop, x, take, noticed, (progress, segment, count)
        )
        checkpoint += extra
    if s.ephemeral:
        progress, segment = np.where(hit, 0.0, progress), np.where(hit, 0, segment)
    lost = stop.progress - progress  # 0 where not taken: stopped "in the restore"
    count = np.where(hit, count, lease.finished_count())
    end = np.where(hit, take, lease.finish)
    taken = hit
    if leave.any():
        moved = _Moved(ctx, lease, phase, take)
        sel = leave
        checkpoint = np.where(sel, lease.blocking_before(phase), checkpoint)
        count = np.where(sel, moved.count, count)
        idle = np.where(sel, moved.idle, idle)
        progress = np.where(sel, moved.progress, progress)
        segment = np.where(sel, moved.segment, segment)
        lost = np.where(sel, moved.lost, lost)
        end = np.where(sel, moved.end, end)
        taken = hit | (sel & moved.taken)
        runs.to_on_demand = sel & ~moved.taken & ~on_demand
    else:
        runs.to_on_demand = np.zeros(len(t), bool)
    runs.restore += np.where(hit & stop.in_restore, x - t, restore)
    runs.checkpoint += checkpoint
    runs.idle += idle
    runs.checkpoints += count
    runs.interruptions += taken
    runs.lost += lost
    runs.progress, runs.segment, runs.taken = progress, segment, taken
    _bill(ctx, runs, on_demand, t, end, offset)
    runs.now = end
    return ~(hit | leave), end


def _restore_s(ctx: Context, runs: Runs, number: int) -> F | float:
    """Setup at the first start, a restore after it."""
    scenario = ctx.plan.scenario
    if number == 0:
        return scenario.job.setup
    return delay_s(scenario.restart.restore, lambda: ctx.uniform(2, number, runs))


class _Moved:
    """A lease the policy leaves at the start of ``phase``: released there, or where a
    persist is running, once it ends; taken if the take comes first.  Released, it
    carries the checkpoint of the phase before; taken, the durable point then."""

    def __init__(self, ctx: Context, lease: Lease, phase: I, take: F) -> None:
        j = np.minimum(phase, lease.last)
        start = lease.phase_start(j)
        persist = np.where(j >= 1, ctx.shape.persist, 0.0)
        release = start + persist
        self.taken = take <= release
        carried, carried_segment = lease.boundary(j)
        durable, durable_segment = lease.durable_at_start(j)
        if ctx.shape.ephemeral:
            durable, durable_segment = np.zeros_like(durable), np.zeros_like(durable_segment)
        self.progress = np.where(self.taken, durable, carried)
        self.segment = np.where(self.taken, durable_segment, carried_segment)
        self.count = np.where(self.taken, j - 1, j)
        self.idle = np.where(self.taken, take - start, persist)
        self.lost = np.where(self.taken, carried - durable, 0.0)
        self.end = np.where(self.taken, take, release)


def _bill(ctx: Context, runs: Runs, on_demand: B, t: F, end: F, offset: F) -> None:
    """Bill the lease held from ``t`` to ``end``, as billing.lease_billed_s: rounded up to
    the granularity, at least the minimum, × instances; spot at the trace's price."""
    pricing = ctx.plan.scenario.pricing
    units = np.ceil((end - t) / pricing.billing_granularity - 1e-9)
    billed = np.maximum(units * pricing.billing_granularity, pricing.minimum_billed)
    billed = billed * ctx.plan.scenario.job.instances
    spot = np.where(on_demand, 0.0, billed)
    usd = ctx.takes.usd_per_hour(t, end, offset, pricing.spot_usd_per_hour)
    runs.spot_billed += spot
    runs.spot_usd += spot / 3600.0 * usd
    runs.on_demand_billed += billed - spot
