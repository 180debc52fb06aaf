"""The lease kernel of the fast engine: one lease of many replications in closed form.

A lease works in phases from its durable point: phase 0 finishes the segment of that
point, each later one is a whole segment; every phase but the job's last ends in a
blocking wait for the last persist (where it outlasts τ) and a snapshot, so a middle phase
lasts ``period``.  Where the lease stands at any moment (its notice, its take, a phase
start) is arithmetic on these, never a loop over segments.  The semantics are the SimPy
engine's (engine/job.py): the fixed checkpoint grid, ties to the interruption, the notice
and its emergency checkpoint, async persists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from preemptsim.engine import Plan

F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]  # noqa: E741
B = npt.NDArray[np.bool_]
Rows = Any  # an index array, or slice(None) for every replication


@dataclass(frozen=True, slots=True)
class Shape:
    """A plan's numbers (seconds) as the closed forms use them."""

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
    def of(cls, plan: Plan) -> Shape:
        n, work = plan.segments, plan.work_s
        tau = plan.interval_s if n > 1 else work  # one segment: τ is never used
        blocking = (max(plan.persist_s, tau) - tau) + plan.snapshot_s
        ephemeral = plan.scenario.checkpoint.storage == "ephemeral"
        notices = plan.on_notice and plan.notice_s > 0
        return cls(work, tau, n, plan.snapshot_s, plan.persist_s, blocking, tau + blocking,
                   work - (n - 1) * tau, plan.emergency_write_s, plan.notice_s, notices,
                   ephemeral)  # fmt: skip


@dataclass(slots=True)
class Lease:
    """One lease of every running replication: held from ``t``, working from ``t0``, from
    durable ``progress`` in ``segment``."""

    shape: Shape
    t: F
    t0: F
    progress: F
    segment: I
    last: I  # the phase of the job's last segment (J)
    first_work: F
    first_end: F
    finish: F

    @classmethod
    def of(cls, shape: Shape, progress: F, segment: I, t: F, t0: F) -> Lease:
        last = shape.segments - 1 - segment
        only = last == 0
        first_work = np.where(only, shape.work, (segment + 1) * shape.tau) - progress
        first_end = t0 + (first_work + np.where(only, 0.0, shape.snapshot))
        later = first_end + (last - 1) * shape.period + shape.last_work
        return cls(shape, t, t0, progress, segment, last, first_work, first_end,
                   np.where(only, first_end, later))  # fmt: skip

    def blocking_before(self, phase: I) -> F:
        """Blocking time of the phases before ``phase``, all complete."""
        s = self.shape
        return np.where(phase >= 1, s.snapshot + (phase - 1) * s.blocking, 0.0)

    def phase_start(self, phase: I, rows: Rows = slice(None)) -> F:
        """When ``phase`` starts (its work, after the restore or the last snapshot)."""
        return np.where(
            phase == 0, self.t0[rows], self.first_end[rows] + (phase - 1) * self.shape.period
        )

    def phase_s(self, phase: I, rows: Rows = slice(None)) -> F:
        """Work and blocking wait of ``phase``: what a policy weighs at its start."""
        s, last, first = self.shape, self.last[rows], self.first_work[rows]
        middle = np.where(phase == 0, first + s.snapshot, s.period)
        return np.where(phase == last, np.where(last == 0, first, s.last_work), middle)

    def boundary(self, phase: I, rows: Rows = slice(None)) -> tuple[F, I]:
        """Progress and segment at the end of the phases before ``phase``."""
        k, progress = self.segment[rows], self.progress[rows]
        return np.where(phase == 0, progress, (k + phase) * self.shape.tau), k + phase

    def durable_at_start(self, phase: I, rows: Rows = slice(None)) -> tuple[F, I]:
        """The durable point at the start of ``phase``: the checkpoint of the phase before
        (sync), or of the one before that (async: the last persist is still running)."""
        lag = 0 if self.shape.persist == 0 else 1
        done = np.maximum(phase - lag, 0)
        return self.boundary(done, rows)

    def phase_at(self, x: F) -> I:
        """The phase under way at ``x`` (t0 < x ≤ finish); a phase ending at ``x`` still is:
        the interruption wins the tie."""
        s = self.shape
        m = np.ceil(np.maximum(x - self.first_end, 0.0) / s.period).astype(np.int64) - 1
        m = np.maximum(np.minimum(m, self.last - 1), 0)
        m = np.where((m >= 1) & (self.first_end + m * s.period >= x), m - 1, m)
        ahead = (m + 1 <= self.last - 1) & (self.first_end + (m + 1) * s.period < x)
        return np.where(x <= self.first_end, 0, 1 + np.where(ahead, m + 1, m))

    def finished_count(self) -> I:
        """Checkpoints made durable by a lease that finishes the job: every one of its
        phases but the last ends in one; an async one is durable if its persist ends by
        the finish."""
        s = self.shape
        if s.persist == 0:
            return self.last
        return np.maximum(self.last - 1, 0) + ((self.last >= 1) & (s.persist <= s.last_work))


@dataclass(slots=True)
class Stop:
    """Where each lease stands at moment ``x`` (its notice or take)."""

    in_restore: B
    phase: I
    phase_start: F
    blocked: F  # time into the phase's blocking wait and snapshot
    base: F  # progress at the phase's start
    progress: F

    @classmethod
    def at(cls, lease: Lease, x: F) -> Stop:
        s, j = lease.shape, lease.phase_at(x)
        in_restore = x <= lease.t0
        start = lease.phase_start(j)
        work = np.where(j == 0, lease.first_work, np.where(j == lease.last, s.last_work, s.tau))
        elapsed = np.where(in_restore, 0.0, x - start)
        worked = np.minimum(elapsed, work)
        base = lease.boundary(j)[0]
        return cls(in_restore, j, start, elapsed - worked, base, base + worked)

    def durable(self, lease: Lease, y: F) -> tuple[F, I, I]:
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


def notice_helps(lease: Lease, notice: F, take: F) -> B:
    """Where acting on the notice helps, as in engine/job.py: at work or in a checkpoint
    (not the restore) of a phase that would not be saved (checkpoint durable, or job done)
    before the take, with progress not yet durable, and an emergency checkpoint shorter
    than the notice's lead (exact: ties go to the take)."""
    s = lease.shape
    live = (notice < take) & (notice <= lease.finish) & (notice > lease.t0)
    at = np.where(live, notice, lease.t)  # elsewhere any moment of the lease will do
    stop = Stop.at(lease, at)
    saved_at = np.where(
        stop.phase == lease.last, lease.finish, lease.first_end + stop.phase * s.period + s.persist
    )
    saves = stop.progress > stop.durable(lease, at)[0]
    lead = np.minimum(s.notice, take - lease.t)
    return live & (saved_at >= take) & saves & (s.emergency < lead)


def drain(
    lease: Lease, stop: Stop, x: F, take: F, noticed: B, settled: tuple[F, I, I]
) -> tuple[F, I, I, F, F]:
    """After a notice at ``x`` that helps (notice_helps): an emergency checkpoint of the
    progress not yet durable, which ends before the take; then idle until taken
    (DESIGN.md §1, Notice).  Returns the durable point and count after the take, extra
    checkpoint time and idle."""
    s = lease.shape
    _, _, count_x = stop.durable(lease, x)
    written = x + s.emergency
    boundary = stop.progress >= (lease.segment + stop.phase + 1) * s.tau
    segment = np.minimum(lease.segment + stop.phase + boundary, s.segments - 1)
    return (
        np.where(noticed, stop.progress, settled[0]),
        np.where(noticed, segment, settled[1]),
        np.where(noticed, count_x + 1, settled[2]),
        np.where(noticed, s.emergency, 0.0),
        np.where(noticed, take - written, 0.0),
    )
