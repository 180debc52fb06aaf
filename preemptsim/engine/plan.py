"""A scenario as the SimPy engine needs it (a Plan), and its random streams (DESIGN.md §5)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from preemptsim import interruptions
from preemptsim.analytic import segments
from preemptsim.engine.record import Market
from preemptsim.engine.zones import Zones
from preemptsim.policies import Policy
from preemptsim.scenario import Delay, Scenario


@dataclass(frozen=True, slots=True)
class Plan:
    """A scenario as the engine needs it, in seconds, computed once for all replications."""

    scenario: Scenario
    policy: Policy
    first_market: Market
    work_s: float
    interval_s: float
    segments: int
    snapshot_s: float  # blocking part of a checkpoint (the whole write in sync mode)
    persist_s: float  # background part (0 in sync mode)
    emergency_write_s: float
    on_notice: bool
    notice_s: float
    response_s: float
    od_provision_s: float
    zones: Zones
    traces: tuple[interruptions.Trace, ...] = ()

    @classmethod
    def of(
        cls,
        scenario: Scenario,
        baseline: bool = False,
        traces: tuple[interruptions.Trace, ...] = (),
    ) -> Plan:
        """The plan of ``scenario``; ``baseline=True`` gives its on-demand baseline.  A trace
        scenario needs its ``traces``, one a zone, loaded by the caller (the engine reads no
        files)."""
        checkpoint, restart = scenario.checkpoint, scenario.restart
        interval_s = checkpoint.interval
        if baseline and scenario.on_demand.checkpoint_interval is not None:
            interval_s = scenario.on_demand.checkpoint_interval
        sync = checkpoint.mode == "sync"
        snapshot_s = checkpoint.write if sync else checkpoint.snapshot
        persist_s = 0.0 if sync else checkpoint.persist
        od_provision_s = scenario.on_demand.provision
        work_s = scenario.job.work_s
        count = segments(work_s, interval_s)[0]
        return cls(
            scenario=scenario,
            policy=Policy.of(scenario, (work_s, interval_s, count, snapshot_s), baseline),
            first_market="on_demand" if baseline or scenario.policy.kind == "on_demand" else "spot",
            work_s=work_s,
            interval_s=interval_s,
            segments=count,
            snapshot_s=snapshot_s,
            persist_s=persist_s,
            emergency_write_s=(
                checkpoint.emergency_write
                if checkpoint.emergency_write is not None
                else snapshot_s + persist_s
            ),
            # an emergency checkpoint on ephemeral storage dies with the instance: none
            on_notice=scenario.on_notice and checkpoint.storage != "ephemeral",
            notice_s=scenario.interruptions.notice,
            response_s=restart.response if restart.manual else 0.0,
            od_provision_s=(
                od_provision_s if od_provision_s is not None else restart.provision.mean_s
            ),
            zones=Zones.of(scenario, traces),
            traces=traces,
        )

    def position(self, progress_s: float, segment: int) -> tuple[float, int]:
        """Progress and its segment; a completed segment's end is the next one's start."""
        return progress_s, segment + (progress_s >= (segment + 1) * self.interval_s)


class Streams:
    """One generator per random source of replication ``rep`` (DESIGN.md §5), each made
    on first use: ``streams[k]`` equals ``SeedSequence(seed).spawn(reps)[rep].spawn(3)[k]``,
    without spawning the rest."""

    __slots__ = ("_made", "rep", "seed")

    def __init__(self, seed: int, rep: int) -> None:
        self.seed, self.rep = seed, rep
        self._made: dict[int, np.random.Generator] = {}

    def __getitem__(self, source: int) -> np.random.Generator:
        if source not in self._made:
            sequence = np.random.SeedSequence(self.seed, spawn_key=(self.rep, source))
            self._made[source] = np.random.Generator(np.random.PCG64(sequence))
        return self._made[source]


def draw(delay: Delay, streams: Streams, source: int) -> float:
    """A value of ``delay`` in seconds from stream ``source``; fixed delays draw nothing."""
    if delay.dist == "fixed":
        return delay.value  # type: ignore[return-value]
    rng = streams[source]
    match delay.dist:
        case "lognormal":
            return delay.median * math.exp(delay.sigma * rng.standard_normal())  # type: ignore[operator]
        case "uniform":
            return rng.uniform(delay.low, delay.high)  # type: ignore[arg-type]
        case "exponential":
            return rng.exponential(delay.mean)  # type: ignore[arg-type]
    return float(rng.choice(delay.values))  # type: ignore[arg-type]
