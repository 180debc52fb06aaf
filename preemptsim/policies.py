"""Where to run: spot, on-demand, or spot with a deadline-aware move to on-demand.

Greedy and Uniform Progress follow Can't Be Late (Wu et al., NSDI'24; REFERENCES.md §5).
C(t) is the job's remaining time on an uninterrupted instance (work and checkpoint writes
left), R(t) the time left to the deadline, d the changeover to on-demand (its provision
plus the restore).  Decisions are moments computed in closed form, never polled.

Margins (DESIGN.md §1, Deadline policies): a spot instance that is running may start its
next segment (``segment_s`` to its checkpoint) while R − C − d ≥ segment_s: if taken just
before that checkpoint, the job is back where it was, later by the segment, with d left to
pay for on-demand.  Idle, the paper's 2d holds: one changeover to relaunch, one to leave.

These rules are the one copy both engines use: the SimPy engine calls them with floats,
the fast engine with NumPy arrays (one entry per replication), so each is plain arithmetic
and comparisons (``&``, and a minimum and a choice that take either) that works on both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from preemptsim.scenario import Scenario

Num = Any  # a float (SimPy engine) or an array of them (fast engine)


@dataclass(frozen=True, slots=True)
class Policy:
    kind: str
    deadline_s: float
    changeover_s: float  # d: on-demand provision + restore (means)
    relaunch_s: float  # a voluntary move to spot: spot provision + restore (means)
    work_s: float
    interval_s: float
    segments: int
    snapshot_s: float  # the blocking write that follows every segment but the last

    @classmethod
    def of(
        cls, scenario: Scenario, grid: tuple[float, float, int, float], baseline: bool = False
    ) -> Policy:
        """The scenario's policy over the checkpoint ``grid`` (work, interval, segments,
        snapshot, in seconds); the on-demand baseline has none to apply."""
        restart = scenario.restart
        provision = scenario.on_demand.provision
        if provision is None:
            provision = restart.provision.mean_s
        changeover_s = provision + restart.restore.mean_s
        relaunch_s = restart.provision.mean_s + restart.restore.mean_s
        deadline_s = scenario.policy.deadline or math.inf
        kind = "on_demand" if baseline else scenario.policy.kind
        return cls(kind, deadline_s, changeover_s, relaunch_s, *grid)

    @property
    def deadline_aware(self) -> bool:
        """Whether the policy ever moves between markets."""
        return self.kind in ("greedy", "uniform_progress")

    @property
    def returns_to_spot(self) -> bool:
        """Whether the policy ever leaves on-demand for spot (Uniform Progress)."""
        return self.kind == "uniform_progress"

    @property
    def total_s(self) -> float:
        """C(0): the whole job on an uninterrupted instance."""
        return self.work_s + (self.segments - 1) * self.snapshot_s

    def remaining_s(self, progress_s: Num, segment: Num) -> Num:
        """C(t) from the durable point (``progress_s`` in ``segment``): work and blocking
        checkpoint writes left."""
        return self.work_s - progress_s + (self.segments - 1 - segment) * self.snapshot_s

    def next_segment_s(self, progress_s: Num, segment: Num) -> Num:
        """Work and blocking write from the durable point to its next checkpoint."""
        last = segment == self.segments - 1
        end_s = _where(last, self.work_s, (segment + 1) * self.interval_s)
        return end_s - progress_s + _where(last, 0.0, self.snapshot_s)

    def switch_at(self, remaining_s: Num) -> Num:
        """While idle (no spot instance), the moment to move to on-demand; inf for never.

        Greedy: once R(t) < C(t) + 2d.  Uniform Progress: also once the job's progress
        cp = C(0) − C(t) falls behind ep(t) = t·C(0)/R(0), with Greedy's safety net.
        """
        if not self.deadline_aware:
            return _like(remaining_s, math.inf)
        greedy_s = self.deadline_s - remaining_s - 2 * self.changeover_s
        if self.kind == "greedy":
            return greedy_s
        behind_s = (self.total_s - remaining_s) * self.deadline_s / self.total_s
        return np.minimum(greedy_s, behind_s) if _is_array(greedy_s) else min(greedy_s, behind_s)

    def margin_s(self, start_s: Num, remaining_s: Num) -> Num:
        """R(start) − C − d: the time a spot instance working from ``start_s`` may spend
        on its next segment and still leave d to move to on-demand."""
        return self.deadline_s - start_s - remaining_s - self.changeover_s

    def leave_spot(self, start_s: Num, remaining_s: Num, segment_s: Num) -> Num:
        """The safety net, at a durable point: whether a spot instance working from
        ``start_s`` must not start its next segment, because a take just before that
        segment's checkpoint would leave less than d to move to on-demand."""
        if not self.deadline_aware:
            return _like(segment_s, False)
        return self.margin_s(start_s, remaining_s) < segment_s

    def leave_on_demand(self, now_s: Num, remaining_s: Num, segment_s: Num) -> Num:
        """Uniform Progress goes back to spot once cp(t) ≥ ep(t + 2d), and only if the
        safety net would let the spot instance work once relaunched (``relaunch_s`` from
        now): a return the net would undo at once is never made (no flapping)."""
        if not self.returns_to_spot:
            return _like(segment_s, False)
        ahead = self.total_s - remaining_s >= (now_s + 2 * self.changeover_s) * (
            self.total_s / self.deadline_s
        )
        return ahead & (self.margin_s(now_s + self.relaunch_s, remaining_s) >= segment_s)


# On floats the rules stay plain Python (NumPy's ufuncs cost microseconds a call on a
# scalar, and the SimPy engine calls these at every segment start).


def _is_array(value: Num) -> bool:
    return isinstance(value, np.ndarray)


def _where(condition: Num, if_true: Num, if_false: Num) -> Num:
    """``np.where`` on arrays; the plain choice on a single value."""
    if _is_array(condition):
        return np.where(condition, if_true, if_false)
    return if_true if condition else if_false


def _like(shape_of: Num, value: float | bool) -> Num:
    """``value`` in the shape of ``shape_of``: the value itself for a single value."""
    return np.full(shape_of.shape, value) if _is_array(shape_of) else value
