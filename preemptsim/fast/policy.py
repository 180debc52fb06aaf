"""Deadline policies over arrays of replications: the moments at which the fast engine
consults policies.py, whose rules (margins, leave and return conditions) are the SimPy
engine's own, called here with arrays (DESIGN.md §1, Deadline policies).

Two kinds of moment: between leases, the idle run's move to on-demand (a closed form:
``Policy.switch_at``, or the safety net once capacity is back); and within a lease, each
segment start, where the net may send a spot instance away or Uniform Progress may take
the job back to spot.  Segment starts are scanned phase by phase over the replications
still undecided, as the SimPy engine meets them; the scan stops at the lease's take.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from preemptsim.fast.draws import delay_s
from preemptsim.fast.lease import Lease
from preemptsim.fast.state import Context, Runs
from preemptsim.policies import Policy

F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]  # noqa: E741
B = npt.NDArray[np.bool_]

WINDOWS = (4, 8, 16, 32)  # segment starts weighed at once: few at first (a spot lease
# is often taken within a few), then more, the last width repeating


def begin(ctx: Context, runs: Runs, attempt: int) -> B:
    """The downtime before this lease and its market (True: on-demand); the lease starts
    at the new ``runs.now``.  Spot: provision (none at the first start), a manual
    response after a take, then the wait for capacity, unless the policy moves to
    on-demand first (DESIGN.md §1); on-demand: its provision (none at the first start)."""
    plan, first = ctx.plan, attempt == 0
    count = len(runs.row)
    if ctx.on_demand:
        return np.ones(count, bool)
    begin_s = runs.now
    provision: F | float = 0.0
    if not first:
        provision = delay_s(plan.scenario.restart.provision, lambda: ctx.uniform(1, attempt, runs))
    response = np.where(runs.taken, plan.response_s, 0.0)
    ready = ctx.takes.capacity(begin_s + provision + response, ctx.offsets[runs.row])
    at, on_demand = ready, runs.to_on_demand.copy()
    if plan.policy.deadline_aware:
        policy = plan.policy
        remaining = policy.remaining_s(runs.progress, runs.segment)
        restore = plan.scenario.job.setup if first else plan.scenario.restart.restore.mean_s
        segment_s = policy.next_segment_s(runs.progress, runs.segment)
        unaffordable = policy.leave_spot(ready + restore, remaining, segment_s)
        net = np.where(unaffordable, ready, np.inf)
        switch = np.maximum(begin_s, np.minimum(policy.switch_at(remaining), net))
        moves = (switch < ready) | unaffordable
        at = np.where(moves, switch, ready)
        on_demand |= moves
    at = np.where(runs.to_on_demand, begin_s, at)
    runs.switched = np.where(on_demand & np.isnan(runs.switched), at, runs.switched)
    runs.wait = runs.wait + (at - begin_s)
    if not first:
        provision_od = np.where(on_demand, plan.od_provision_s, 0.0)
        runs.wait, at = runs.wait + provision_od, at + provision_od
    runs.now = at
    return on_demand


def leave_phase(ctx: Context, lease: Lease, on_demand: B, take: F, offset: F) -> I:
    """The first phase at whose start the policy leaves this lease's market (``last + 1``
    for none): a spot instance the safety net sends to on-demand, an on-demand one that
    Uniform Progress takes back to spot while spot capacity is there.  Phases at or
    after the take are not reached.  Phases are weighed a window at a time (WINDOWS): a
    (replications × phases) table of the rule, its first true entry per row."""
    policy, last = ctx.plan.policy, lease.last
    found = last + 1
    rows = np.flatnonzero(~on_demand | policy.returns_to_spot)
    first, round_ = 0, 0
    while rows.size:
        width = WINDOWS[min(round_, len(WINDOWS) - 1)]
        column: Any = (rows, None)  # the rows' values as a column against the window's phases
        j = first + np.arange(width)[None, :]
        start = lease.phase_start(j, column)
        reached = (start < take[column]) & (j <= last[column])
        progress, segment = lease.durable_at_start(j, column)
        remaining, segment_s = policy.remaining_s(progress, segment), lease.phase_s(j, column)
        od = on_demand[column]
        leaves = reached & _leaves(policy, od, (start, remaining, segment_s))
        back = od & leaves  # Uniform Progress returns only with spot capacity there
        if back.any():
            leaves[back] = _capacity(
                ctx, start[back], np.broadcast_to(offset[column], back.shape)[back]
            )
        decided = leaves.any(axis=1)
        found[rows[decided]] = first + np.argmax(leaves[decided], axis=1)
        rows = rows[~decided & reached[:, -1]]
        first, round_ = first + width, round_ + 1
    return found


def _leaves(policy: Policy, on_demand: B, at: tuple[F, F, F]) -> B:
    """Whether the policy leaves each lease's market at segment starts ``at`` (start,
    remaining C, segment), each rule weighed only where its market is."""
    back: B = policy.leave_on_demand(*at) if on_demand.any() else on_demand
    if on_demand.all():
        return back
    spot: B = policy.leave_spot(*at)
    return np.where(on_demand, back, spot) if on_demand.any() else spot


def _capacity(ctx: Context, start: F, offset: F) -> B:
    """Whether spot capacity is there at ``start`` (a new instance could start then)."""
    return np.equal(ctx.takes.capacity(start, offset), start)
