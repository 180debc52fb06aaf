"""Where to run: spot, on-demand, or spot with a deadline-aware move to on-demand.

Greedy and Uniform Progress follow Can't Be Late (Wu et al., NSDI'24; REFERENCES.md §5).
C(t) is the job's remaining time on an uninterrupted instance (work and checkpoint writes
left), R(t) the time left to the deadline, d the changeover to on-demand (its provision
plus the restore).  Decisions are moments computed in closed form, never polled.

Margins (DESIGN.md §1, Deadline policies): a spot instance that is running may start its
next segment (``segment_s`` to its checkpoint) while R − C − d ≥ segment_s: if taken just
before that checkpoint, the job is back where it was, later by the segment, with d left to
pay for on-demand.  Idle, the paper's 2d holds: one changeover to relaunch, one to leave.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from preemptsim.scenario import Scenario


@dataclass(frozen=True, slots=True)
class Policy:
    kind: str
    deadline_s: float
    changeover_s: float  # d: on-demand provision + restore (means)
    relaunch_s: float  # a voluntary move to spot: spot provision + restore (means)
    total_s: float  # C(0): the whole job on an uninterrupted instance

    @classmethod
    def of(cls, scenario: Scenario, total_s: float, baseline: bool = False) -> Policy:
        """The scenario's policy; the on-demand baseline has none to apply."""
        restart = scenario.restart
        provision = scenario.on_demand.provision
        if provision is None:
            provision = restart.provision.mean_s
        changeover_s = provision + restart.restore.mean_s
        relaunch_s = restart.provision.mean_s + restart.restore.mean_s
        deadline_s = scenario.policy.deadline or math.inf
        kind = "on_demand" if baseline else scenario.policy.kind
        return cls(kind, deadline_s, changeover_s, relaunch_s, total_s)

    @property
    def deadline_aware(self) -> bool:
        """Whether the policy ever moves between markets."""
        return self.kind in ("greedy", "uniform_progress")

    def switch_at(self, remaining_s: float) -> float:
        """While idle (no spot instance), the moment to move to on-demand; inf for never.

        Greedy: once R(t) < C(t) + 2d.  Uniform Progress: also once the job's progress
        cp = C(0) − C(t) falls behind ep(t) = t·C(0)/R(0), with Greedy's safety net.
        """
        if not self.deadline_aware:
            return math.inf
        greedy_s = self.deadline_s - remaining_s - 2 * self.changeover_s
        if self.kind == "greedy":
            return greedy_s
        behind_s = (self.total_s - remaining_s) * self.deadline_s / self.total_s
        return min(greedy_s, behind_s)

    def leave_spot(self, start_s: float, remaining_s: float, segment_s: float) -> bool:
        """The safety net, at a durable point: whether a spot instance working from
        ``start_s`` must not start its next segment, because a take just before that
        segment's checkpoint would leave less than d to move to on-demand:
        R(start) − C − d < segment_s."""
        if not self.deadline_aware:
            return False
        return self.deadline_s - start_s - remaining_s - self.changeover_s < segment_s

    def leave_on_demand(self, now_s: float, remaining_s: float, segment_s: float) -> bool:
        """Uniform Progress goes back to spot once cp(t) ≥ ep(t + 2d), and only if the
        safety net would let the spot instance work once relaunched (``relaunch_s`` from
        now): a return the net would undo at once is never made (no flapping)."""
        if self.kind != "uniform_progress":
            return False
        ahead = self.total_s - remaining_s >= (now_s + 2 * self.changeover_s) * (
            self.total_s / self.deadline_s
        )
        return ahead and not self.leave_spot(now_s + self.relaunch_s, remaining_s, segment_s)
