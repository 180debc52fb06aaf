"""Where to run: spot, on-demand, or spot with a deadline-aware move to on-demand.

Greedy and Uniform Progress follow Can't Be Late (Wu et al., NSDI'24; REFERENCES.md §5).
C(t) is the job's remaining time on an uninterrupted instance (work and checkpoint writes
left), R(t) the time left to the deadline, d the changeover to on-demand (its provision
plus the restore).  Decisions are moments computed in closed form, never polled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from preemptsim.scenario import Scenario


@dataclass(frozen=True, slots=True)
class Policy:
    kind: str
    deadline_s: float
    changeover_s: float
    total_s: float  # C(0): the whole job on an uninterrupted instance

    @classmethod
    def of(cls, scenario: Scenario, total_s: float, baseline: bool = False) -> Policy:
        """The scenario's policy; the on-demand baseline has none to apply."""
        provision = scenario.on_demand.provision
        if provision is None:
            provision = scenario.restart.provision.mean_s
        changeover_s = provision + scenario.restart.restore.mean_s
        deadline_s = scenario.policy.deadline or math.inf
        kind = "on_demand" if baseline else scenario.policy.kind
        return cls(kind, deadline_s, changeover_s, total_s)

    @property
    def deadline_aware(self) -> bool:
        """Whether the policy ever moves between markets."""
        return self.kind in ("greedy", "uniform_progress")

    def switch_at(self, remaining_s: float) -> float:
        """While idle (no spot instance), the moment to move to on-demand; inf for never.

        Greedy: once R(t) < C(t) + 2d.  Uniform Progress: also once the job's progress
        cp = C(0) − C(t) falls behind ep(t) = t·C(0)/R(0), with Greedy's safety net.
        """
        if self.kind not in ("greedy", "uniform_progress"):
            return math.inf
        greedy_s = self.deadline_s - remaining_s - 2 * self.changeover_s
        if self.kind == "greedy":
            return greedy_s
        behind_s = (self.total_s - remaining_s) * self.deadline_s / self.total_s
        return min(greedy_s, behind_s)

    def leave_spot(self, now_s: float, remaining_s: float, segment_s: float) -> bool:
        """The safety net on a running spot instance, at a durable point: leave for
        on-demand when the next segment (``segment_s`` to its checkpoint) would eat the
        margin R(t) − C(t) − 2d, so that a take during it could not leave room for on-demand.
        """
        if self.kind not in ("greedy", "uniform_progress"):
            return False
        return self.deadline_s - now_s - remaining_s - 2 * self.changeover_s < segment_s

    def leave_on_demand(self, now_s: float, remaining_s: float) -> bool:
        """Uniform Progress goes back to spot once cp(t) ≥ ep(t + 2d), out of the safety net."""
        if self.kind != "uniform_progress":
            return False
        ahead = self.total_s - remaining_s >= (now_s + 2 * self.changeover_s) * (
            self.total_s / self.deadline_s
        )
        safe = self.deadline_s - now_s >= remaining_s + 2 * self.changeover_s
        return ahead and safe
