"""One replication of the SimPy engine: its random streams, its zones' interruption
models, the job process, and the record it leaves (DESIGN.md §1, §5)."""

from __future__ import annotations

import numpy as np
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
    spec, traces = scenario.interruptions, plan.traces
    offset_s = 0.0  # one start for every zone: the first zone's keyed draw
    if traces:
        offsets_s = interruptions.start_offsets_s(spec, traces[0].period_s, seed, np.array([rep]))
        offset_s = float(offsets_s[0])
    models = interruptions.build(spec, scenario.job.instances, rngs[0], traces, offset_s)
    placement = Placement(plan.zones, models, scenario.pricing.spot_usd_per_hour)
    env = simpy.Environment()
    job = Job(env, plan, placement, rngs, [] if trace_events else None, zone=plan.zones.start)
    job.process = env.process(job.run())
    env.run(until=job.process)
    return job.record()
