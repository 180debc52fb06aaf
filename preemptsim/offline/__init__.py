"""The offline optimum: the cheapest schedule that meets the deadline knowing the whole
future of the trace from a start (DESIGN.md §1, Precisions (offline optimum)), and each
policy's gap to it (Can't Be Late Table 3, SkyNomad; REFERENCES.md §5, §8).

``offline_optimum(scenario, start_s)`` adapts a trace scenario to the neutral programme of
dp.py: ``zones_of`` names the zones a scenario replays (``interruptions.path``, one zone,
or ``interruptions.paths``), ``_moves`` what carrying the checkpoint between two costs
(engine/zones.py, the engine's own rule), ``job_of`` the job with its least delays,
``starts_of`` the trace starts of replications exactly as the engine draws them.  gap.py
averages cost / optimum over runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from preemptsim import interruptions
from preemptsim.billing import SECONDS_PER_MONTH
from preemptsim.engine.zones import Zones
from preemptsim.interruptions import Trace
from preemptsim.offline import dp
from preemptsim.scenario import Scenario, ScenarioError
from preemptsim.tracefile import load_traces

BATCH = 25  # starts solved together

__all__ = [
    "Optimum",
    "job_of",
    "offline_optimum",
    "optimum_costs",
    "run_key",
    "starts_of",
    "zones_of",
]


@dataclass(frozen=True)
class Optimum:
    """The offline optimum of one start: a lower bound on the cost of every run from that
    start that meets the deadline (``met_deadline`` False: no schedule can, and the
    schedule is on-demand from the start, the one that finishes first)."""

    start_s: float
    cost_usd: float
    spot_instance_h: float
    on_demand_instance_h: float
    wall_h: float
    met_deadline: bool
    leases: tuple[dp.Lease, ...]


def zones_of(scenario: Scenario) -> list[tuple[str, Trace]]:
    """The zones a scenario replays, each with its trace, in the order given: one for
    ``interruptions.path``, each of ``interruptions.paths`` on one clock.  The optimum may
    use every zone, whatever ``placement.strategy`` the policies follow."""
    spec = scenario.interruptions
    if spec.model != "trace":
        raise ScenarioError(
            f'interruptions.model: the offline optimum needs a trace (model = "trace"), '
            f"got {spec.model!r}"
        )
    return [(trace.zone, trace) for trace in load_traces(spec)]


def job_of(scenario: Scenario) -> dp.Job:
    """The job as the optimum sees it: work, deadline, and the least of each delay."""
    deadline_s = scenario.policy.deadline
    if deadline_s is None:
        raise ScenarioError("policy.deadline: the offline optimum needs a deadline")
    restart, pricing = scenario.restart, scenario.pricing
    on_demand_s = scenario.on_demand.provision
    storage = scenario.checkpoint.size_gb * pricing.storage_usd_per_gb_month / SECONDS_PER_MONTH
    return dp.Job(
        work_s=scenario.job.work_s,
        deadline_s=deadline_s,
        setup_s=scenario.job.setup,
        spot_provision_s=restart.provision.least_s,
        on_demand_provision_s=restart.provision.mean_s if on_demand_s is None else on_demand_s,
        restore_s=restart.restore.least_s,
        instances=scenario.job.instances,
        storage_usd_per_s=storage,
    )


def starts_of(scenario: Scenario, seed: int, reps: Sequence[int]) -> list[float]:
    """The trace start of each replication, drawn as both engines draw it (the keyed draw
    of interruptions.start_offsets_s, over the first zone's trace)."""
    spec = scenario.interruptions
    period_s = zones_of(scenario)[0][1].period_s
    reps_array = np.asarray(reps, dtype=np.int64)
    return [float(s) for s in interruptions.start_offsets_s(spec, period_s, seed, reps_array)]


def run_key(scenario: Scenario) -> tuple[object, ...]:
    """What the optimum depends on besides the start: the job, its zones, what a move
    costs, and prices."""
    pricing, traces = scenario.pricing, repr(scenario.interruptions.model_dump())
    moves = (scenario.checkpoint.size_gb, repr(scenario.migration.model_dump()))
    prices = (pricing.spot_usd_per_hour, pricing.on_demand_usd_per_hour)
    return (job_of(scenario), traces, moves, prices)


def run_zones(scenario: Scenario, start_s: float, horizon_s: float) -> list[dp.Zone]:
    """The scenario's zones in run time from ``start_s`` into their traces, unrolled (the
    trace repeats) over ``horizon_s``; spot at the trace's price where it gives one."""
    pricing = scenario.pricing
    zones = []
    for name, trace in zones_of(scenario):
        offset_s = start_s % trace.period_s
        cycles = np.arange(math.ceil((offset_s + horizon_s) / trace.period_s) + 1)
        starts = (cycles[:, None] * trace.period_s + trace.starts_s[None, :]).ravel() - offset_s
        prices = trace.prices_usd_per_hour
        if prices is None:
            prices = np.full(len(trace.starts_s), pricing.spot_usd_per_hour)
        repeat = len(cycles)
        zones.append(
            dp.Zone(
                name,
                starts,
                np.tile(trace.available.astype(bool), repeat),
                np.tile(prices, repeat),
                pricing.on_demand_usd_per_hour,
            )
        )
    return zones


def _moves(scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Wait (copy seconds) and egress USD of carrying the checkpoint from zone a to b, as
    the engine charges them (engine/zones.py; none within a zone)."""
    traces = tuple(trace for _, trace in zones_of(scenario))
    moves = Zones.of(scenario, traces).moves
    copy_s = np.array([[move.copy_s for move in row] for row in moves])
    return copy_s, np.array([[move.egress_usd for move in row] for row in moves])


def offline_optimum(scenario: Scenario, start_s: float | None = None) -> Optimum:
    """The offline optimum of ``scenario`` from ``start_s`` seconds into its trace (default
    ``interruptions.start``, which must then be a duration)."""
    start = scenario.interruptions.start if start_s is None else start_s
    if isinstance(start, str):
        raise ScenarioError("interruptions.start: give a start, the scenario draws it")
    job = job_of(scenario)
    u = dp.step_s(job)
    zones = run_zones(scenario, start, job.deadline_s + 4 * u)
    solution = dp.solve(zones, job, *_moves(scenario), u)
    if math.isinf(solution.cost_usd):
        return _on_demand_first(scenario, start, job, zones[0].name)
    return _optimum(start, solution, job)


def _optimum(start_s: float, solution: dp.Solution, job: dp.Job) -> Optimum:
    hours = {"spot": 0.0, "on_demand": 0.0}
    for lease in solution.leases:
        hours[lease.market] += (lease.end_s - lease.start_s) * job.instances / 3600.0
    return Optimum(
        start_s,
        solution.cost_usd,
        hours["spot"],
        hours["on_demand"],
        solution.finish_s / 3600.0,
        True,
        solution.leases,
    )


def _on_demand_first(scenario: Scenario, start_s: float, job: dp.Job, zone: str) -> Optimum:
    """No schedule meets the deadline: on-demand from the start (setup, then the work)."""
    wall_s = job.setup_s + job.work_s
    instance_h = wall_s * job.instances / 3600.0
    cost = instance_h * scenario.pricing.on_demand_usd_per_hour + job.storage_usd_per_s * wall_s
    lease = dp.Lease(zone, "on_demand", 0.0, wall_s)
    return Optimum(start_s, cost, 0.0, instance_h, wall_s / 3600.0, False, (lease,))


def optimum_costs(scenario: Scenario, starts_s: list[float], cells: int = dp.CELLS) -> np.ndarray:
    """The optimum's cost from each start (vectorised; inf where no schedule meets the
    deadline), on a grid of at most ``cells`` progress cells."""
    job = job_of(scenario)
    u = dp.step_s(job, cells)
    horizon_s = job.deadline_s + 4 * u
    per_start = [run_zones(scenario, s, horizon_s) for s in starts_s]
    moves = _moves(scenario)
    batches = range(0, len(per_start), BATCH)  # small batches stay in the CPU's caches
    parts = [dp.costs(per_start[b : b + BATCH], job, *moves, u) for b in batches]
    return np.concatenate(parts) if parts else np.array([])
