"""A block of replications run to the end, lease after lease (attempt.py), with the
fast engine's guard against runs that could never finish."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import numpy.typing as npt

from preemptsim.fast.attempt import attempt
from preemptsim.fast.draws import least_s
from preemptsim.fast.lease import Lease
from preemptsim.fast.state import Context, Runs, Tallies
from preemptsim.scenario import ScenarioError

F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]  # noqa: E741

MAX_ATTEMPTS = 100_000  # leases per run before giving up, as engine.MAX_LEASES (engine/job.py)


def run_block(ctx: Context, count: int) -> Tallies:
    """Run ``count`` replications to the end: their tallies by name, in row order."""
    out = {f.name: getattr(Runs.start(count), f.name) for f in fields(Runs)}
    out["wall"] = np.zeros(count)
    runs = Runs.start(count)
    for number in range(MAX_ATTEMPTS):
        if not len(runs.row):
            return out
        before = (runs.progress, runs.segment, runs.now)  # attempt replaces these arrays
        done, end = attempt(ctx, runs, number)
        moved = (runs.progress != before[0]) | (runs.segment != before[1])
        runs.stalls = np.where(moved, 0, runs.stalls + 1)
        if done.any():
            rows = runs.row[done]
            for f in fields(Runs):
                out[f.name][rows] = getattr(runs, f.name)[done]
            out["wall"][rows] = end[done]
            runs = runs.keep(~done)
            before = (before[0][~done], before[1][~done], before[2][~done])
        if not ctx.plan.policy.deadline_aware:  # a policy moves such runs to on-demand
            _check_progress(ctx, runs, before if number >= 1 else None)
        if ctx.stall_limit is not None and (runs.stalls > ctx.stall_limit).any():
            raise _never_finishes(ctx)  # what MAX_ATTEMPTS leases would end in
    raise _never_finishes(ctx)


def _never_finishes(ctx: Context) -> RuntimeError:
    """The SimPy engine's error after MAX_LEASES instances (engine/job.py)."""
    return RuntimeError(
        f"{ctx.plan.scenario.name}: no finish after {MAX_ATTEMPTS} instances: "
        "segments rarely fit between interruptions; checkpoint more often"
    )


def _check_progress(ctx: Context, runs: Runs, before: tuple[F, I, F] | None) -> None:
    """Refuse, as bad input naming the key, runs that certainly never finish (engine/job.py
    gives up after MAX_LEASES): no lease, living at most ``max_lifetime``, has room for the
    least restore and the work to the next durable checkpoint (write and persist) or to the
    job's end, and no emergency checkpoint can fit between a notice and the take; or the
    leases are all alike (no random take, a fixed restore, past any scripted moment) and the
    last one moved nothing.  ``before``: progress, segment and clock before that lease."""
    lifetime_s, s = ctx.plan.scenario.interruptions.max_lifetime, ctx.shape
    if lifetime_s is None or ctx.on_demand or not len(runs.row):
        return
    restore_s = least_s(ctx.plan.scenario.restart.restore)
    if s.ephemeral:  # nothing survives a take: the whole job must fit in one lease
        zero = np.zeros(len(runs.row))
        whole_s = Lease.of(s, runs.progress, runs.segment, zero, zero + restore_s).finish
        stuck = whole_s >= lifetime_s
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
