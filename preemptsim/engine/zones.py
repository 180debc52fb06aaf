"""Where a job on many zones starts its spot instances, and what a move between zones
costs (DESIGN.md §1, Many zones; bandwidths and egress prices: REFERENCES.md §8)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from preemptsim.interruptions import Model, Trace
from preemptsim.scenario import Migration, Scenario, ScenarioError

Strategy = Literal["stay", "failover", "eager_next", "cheapest"]
Route = Literal["same_region", "other_region", "other_continent"]


def region(zone: str) -> str:
    """A zone's region: its name without the last ``-x`` part (us-central1-a → us-central1)."""
    return zone.rsplit("-", 1)[0]


def continent(zone: str) -> str:
    """A zone's continent: its region's first ``-`` part (us, europe, asia)."""
    return region(zone).split("-", 1)[0]


def route(source: str, target: str) -> Route:
    """The kind of move from zone ``source`` to another zone ``target``."""
    if region(source) == region(target):
        return "same_region"
    return "other_region" if continent(source) == continent(target) else "other_continent"


@dataclass(frozen=True, slots=True)
class Move:
    """Copying the last durable checkpoint to another zone: seconds, and egress USD."""

    copy_s: float = 0.0
    egress_usd: float = 0.0

    @classmethod
    def of(cls, kind: Route, migration: Migration, size_gb: float) -> Move:
        """A copy of ``size_gb`` GB (once, whatever the gang's size) over route ``kind``."""
        gbps: float = getattr(migration, f"{kind}_gbps")
        usd_per_gb: float = getattr(migration, f"{kind}_usd_per_gb")
        return cls(size_gb * 8.0 / gbps, size_gb * usd_per_gb)


STAY_PUT = Move()


@dataclass(frozen=True, slots=True)
class Zones:
    """The zones of a scenario as the engine needs them, the same for every replication."""

    names: tuple[str, ...]
    strategy: Strategy
    start: int  # index of the zone of the first start
    moves: tuple[tuple[Move, ...], ...]  # moves[a][b]: from zone a to zone b

    @classmethod
    def of(cls, scenario: Scenario, traces: tuple[Trace, ...]) -> Zones:
        """The zones of ``traces`` (one unnamed zone without a trace)."""
        names = tuple(trace.zone for trace in traces) or ("",)
        placement, size_gb = scenario.placement, scenario.checkpoint.size_gb
        moves = tuple(
            tuple(
                STAY_PUT if a == b else Move.of(route(source, target), scenario.migration, size_gb)
                for b, target in enumerate(names)
            )
            for a, source in enumerate(names)
        )
        return cls(names, placement.strategy, _start(placement.start_zone, names, traces), moves)


def _start(start_zone: str | None, names: tuple[str, ...], traces: tuple[Trace, ...]) -> int:
    if start_zone is None or not traces:
        return 0
    if start_zone not in names:
        raise ScenarioError(
            f"placement.start_zone: no zone named {start_zone!r}; zones: {', '.join(names)}"
        )
    return names.index(start_zone)


@dataclass(frozen=True, slots=True)
class Start:
    """Where and when a spot instance starts: the zone chosen at ``chosen_s``, when a copy
    of the checkpoint (``move``) begins, and the instance at ``ready_s``."""

    chosen_s: float
    zone: int
    move: Move
    ready_s: float


@dataclass(frozen=True, slots=True)
class Placement:
    """One run's zones: their interruption models (one clock) and the strategy's choice."""

    zones: Zones
    models: tuple[Model, ...]
    spot_usd_per_hour: float  # where a trace gives no price

    def start(self, t_s: float, current: int, lost: bool, carries: bool) -> Start:
        """A spot start from ``t_s`` on: the strategy's zone, then, where it is not the
        current one and the job ``carries`` a durable checkpoint, its copy, after which the
        instance starts at the first moment the zone has capacity."""
        chosen_s, zone = self.choose(t_s, current, lost)
        move = self.zones.moves[current][zone] if carries else STAY_PUT
        if move.copy_s == 0:
            return Start(chosen_s, zone, move, chosen_s)
        ready_s = self.models[zone].capacity_at(chosen_s + move.copy_s)
        return Start(chosen_s, zone, move, ready_s)

    def choose(self, t_s: float, current: int, lost: bool) -> tuple[float, int]:
        """The first moment at or after ``t_s`` at which a zone the strategy accepts has
        capacity, and the zone it takes then; ``lost``: the current zone was just lost."""
        order = self._order(current, lost)
        moments_s = [self.models[zone].capacity_at(t_s) for zone in order]
        first_s = min(moments_s)  # a zone has capacity then iff its first moment is then
        if math.isinf(first_s):
            return first_s, current
        ready = [zone for zone, at_s in zip(order, moments_s, strict=True) if at_s == first_s]
        return first_s, self._pick(ready, first_s)

    def has_capacity(self, t_s: float, current: int) -> bool:
        """Whether a zone the strategy accepts has capacity at ``t_s`` (no zone just lost)."""
        order = self._order(current, lost=False)
        return any(self.models[zone].capacity_at(t_s) == t_s for zone in order)

    def _order(self, current: int, lost: bool) -> tuple[int, ...]:
        """The zones in the strategy's order of preference (stay: the current one only)."""
        count = len(self.models)
        if self.zones.strategy == "stay" or count == 1:
            return (current,)
        after = tuple((current + k) % count for k in range(1, count))
        if self.zones.strategy == "eager_next" and lost:
            return (*after, current)
        return (current, *after)

    def _pick(self, ready: list[int], t_s: float) -> int:
        """The first zone ready in order; cheapest: the least spot price at ``t_s``."""
        if self.zones.strategy != "cheapest":
            return ready[0]
        return min(ready, key=lambda zone: self._price(zone, t_s))

    def _price(self, zone: int, t_s: float) -> float:
        price = self.models[zone].price_at(t_s)
        return self.spot_usd_per_hour if price is None else price
