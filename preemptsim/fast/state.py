"""What the fast engine knows of a block of replications while they run, and what it
needs of the scenario: the context every lease of the block shares."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from preemptsim.engine import Plan
from preemptsim.fast.lease import Shape
from preemptsim.fast.takes import Takes
from preemptsim.keyed import Keyed

F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]  # noqa: E741
B = npt.NDArray[np.bool_]
Tallies = dict[str, npt.NDArray[Any]]

_INTS = ("row", "segment", "interruptions", "checkpoints", "stalls")
_BOOLS = ("to_on_demand", "taken")


@dataclass(slots=True)
class Runs:
    """Replications still running, one entry each: where they stand and their tallies
    (seconds; instance-seconds billed × instances; spot USD)."""

    row: I  # position in the block
    now: F
    progress: F  # durable progress, where the next lease resumes
    segment: I  # the segment it lies in
    wait: F
    restore: F
    checkpoint: F
    idle: F
    lost: F
    spot_billed: F
    on_demand_billed: F
    spot_usd: F
    interruptions: I
    checkpoints: I
    switched: F  # when the run first moved to on-demand (NaN: never)
    to_on_demand: B  # the policy left spot: the next lease is on-demand
    taken: B  # the last lease was taken (a manual restart's response follows)
    stalls: I  # leases in a row that moved the durable point nowhere

    @classmethod
    def start(cls, count: int) -> Runs:
        def zeros(name: str) -> npt.NDArray[Any]:
            kind = np.int64 if name in _INTS else bool if name in _BOOLS else np.float64
            return np.zeros(count, kind)

        runs = cls(**{f.name: zeros(f.name) for f in fields(cls)})
        runs.row, runs.switched = np.arange(count, dtype=np.int64), np.full(count, np.nan)
        return runs

    def keep(self, mask: B) -> Runs:
        return Runs(*(getattr(self, f.name)[mask] for f in fields(self)))


@dataclass(frozen=True, slots=True)
class Context:
    """A block's shared numbers: the plan, its shape, takes, random streams and trace
    offsets (one per replication of the block)."""

    plan: Plan
    shape: Shape
    takes: Takes
    streams: Keyed
    offsets: F
    on_demand: bool  # policy.kind = "on_demand": one on-demand lease, never taken
    alike_after: float | None  # leases starting after this moment are all alike, if ever
    stall_limit: int | None  # stalled leases after which a run certainly never finishes

    def uniform(self, source: int, attempt: int, runs: Runs) -> F:
        return self.streams.uniform(source, attempt, runs.row)
