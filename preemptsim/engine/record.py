"""What one run of the SimPy engine returns: its leases, its timeline and its tallies."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Market = Literal["spot", "on_demand"]


@dataclass(frozen=True, slots=True)
class Lease:
    """An instance (or gang) held from ``start_s`` to ``end_s`` on one market."""

    start_s: float
    end_s: float
    market: Market
    usd_per_hour: float | None = None  # a trace's mean spot price over the lease


@dataclass(frozen=True, slots=True)
class Span:
    """One stretch of a run's timeline: what the job did from ``start_s`` to ``end_s``."""

    start_s: float
    end_s: float
    kind: Literal[
        "work", "checkpoint", "lost", "wait", "restore", "idle", "interruption", "migrate"
    ]
    market: Market | None
    zone: str = ""  # where the job is (a migrate span: the zone it moves to)


@dataclass(frozen=True, slots=True)
class RunRecord:
    """What happened in one run; times in seconds."""

    wall_s: float
    leases: tuple[Lease, ...]
    interruptions: int
    lost_work_s: float
    checkpoint_s: float
    restore_s: float
    wait_s: float
    idle_s: float
    checkpoints: int
    switched_at_s: float = math.nan
    spans: tuple[Span, ...] | None = None
    migrations: int = 0
    migration_s: float = 0.0
    egress_usd: float = 0.0
    zone: str = ""  # the zone of the last instance


def mark_lost(spans: list[Span], lost_s: float) -> None:
    """Relabel the last ``lost_s`` seconds of logged work in ``spans`` as lost."""
    for index in range(len(spans) - 1, -1, -1):
        span = spans[index]
        if lost_s <= 1e-9:
            return
        if span.kind != "work":
            continue
        cut_s = max(span.start_s, span.end_s - lost_s)
        lost = Span(cut_s, span.end_s, "lost", span.market, span.zone)
        kept = [Span(span.start_s, cut_s, "work", span.market, span.zone)]
        kept = kept if cut_s > span.start_s else []
        spans[index : index + 1] = [*kept, lost]
        lost_s -= span.end_s - cut_s
