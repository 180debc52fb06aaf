"""One replication of the SimPy engine: its random streams, its zones' interruption
models, the job process, and the record it leaves (DESIGN.md §1, §5)."""

from __future__ import annotations

import simpy

from preemptsim import interruptions
from preemptsim.engine.job import Job
from preemptsim.engine.plan import Plan, Streams
from preemptsim.engine.record import RunRecord
from preemptsim.engine.zones import Placement


def run_once(plan: Plan, seed: int, rep: int, *, trace_events: bool = False) -> RunRecord:
    """Simulate replication ``rep`` of ``plan`` with its own random streams."""
    rngs = Streams(seed, rep)
    scenario = plan.scenario
    models = interruptions.build(
        scenario.interruptions, scenario.job.instances, rngs[0], plan.traces
    )
    placement = Placement(plan.zones, models, scenario.pricing.spot_usd_per_hour)
    env = simpy.Environment()
    job = Job(env, plan, placement, rngs, [] if trace_events else None, zone=plan.zones.start)
    job.process = env.process(job.run())
    env.run(until=job.process)
    return job.record()
