"""A vectorised engine: many replications of one scenario at once, in NumPy (DESIGN.md §1).

The SimPy engine (engine/) runs one replication at a time and stays the reference.  Here
every replication still running advances together, one lease at a time (an "attempt", in
lockstep arrays), and a lease's segments are summed in closed form.  So the cost is per
lease, spread over arrays of replications.  It runs every interruption model (traces
too: takes and capacity are array searches on the trace's change points) and every
policy (the deadline policies call policies.py's rules with arrays).  Where no random
draw differs (a trace with fixed downtime and restore, scripted interruptions) the two
engines give the same rows (tests/test_fast.py, tests/test_fast_traces.py).

Random numbers are keyed by (seed, source, replication, draw) (keyed.py): a
replication's row does not depend on which others share its call, so any split of the
replications gives the same rows (DESIGN.md §5).  They are not the SimPy engine's
numbers, only the same distributions, except a trace's random start, which both draw
from keyed.py.

Modules: lease.py (the lease kernel), attempt.py (one lease of every running
replication), block.py (a block run to the end), takes.py (when instances are taken),
policy.py (policies over arrays), draws.py (random delays), state.py (a block's state),
tally.py (tallies to columns).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from preemptsim.engine import Plan
from preemptsim.fast.block import run_block
from preemptsim.fast.lease import Shape
from preemptsim.fast.state import Context, Runs, Tallies
from preemptsim.fast.takes import Takes
from preemptsim.fast.tally import columns_of
from preemptsim.interruptions import Trace, start_offsets_s
from preemptsim.keyed import Keyed
from preemptsim.scenario import Scenario

Engine = Literal["auto", "simpy", "fast"]
BLOCK = 1 << 14  # replications per block: fits the caches; any split gives the same rows


def unsupported(scenario: Scenario) -> str | None:
    """Why the fast engine cannot run ``scenario`` (one line naming the key), or None."""
    if scenario.interruptions.paths is not None:
        return "interruptions.paths (zones) needs the SimPy engine (placement, migration)"
    return None  # every other scenario of DESIGN.md §2 runs here


def applies(scenario: Scenario, engine: str) -> bool:
    """Whether ``engine`` runs ``scenario`` on the fast engine ("auto": wherever it can)."""
    if engine not in ("auto", "simpy", "fast"):
        raise ValueError(f'engine: must be "auto", "simpy" or "fast", got {engine!r}')
    reason = None if engine == "simpy" else unsupported(scenario)
    if engine == "fast" and reason is not None:
        raise ValueError(f'engine="fast" cannot run this scenario: {reason}')
    return engine != "simpy" and reason is None


def columns(
    scenario: Scenario, reps: int, seed: int, *, first_rep: int = 0, trace: Trace | None = None
) -> dict[str, npt.ArrayLike]:
    """Replications ``first_rep … first_rep+reps−1``: the columns of simulate.COLUMNS.
    A trace scenario needs its ``trace``, loaded by the caller (the engine reads no files)."""
    reason = unsupported(scenario)
    if reason is not None:
        raise ValueError(f'engine="fast" cannot run this scenario: {reason}')
    plan = Plan.of(scenario, traces=() if trace is None else (trace,))
    takes = Takes(scenario.interruptions, scenario.job.instances, trace)
    rep = np.arange(first_rep, first_rep + reps, dtype=np.int64)
    parts: list[Tallies] = [{name: np.zeros(0) for name in (*Runs.__slots__, "wall")}]
    for begin in range(0, reps, BLOCK):
        block = rep[begin : begin + BLOCK]
        parts.append(run_block(_context(plan, takes, seed, block), len(block)))
    tallies = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    return columns_of(scenario, rep, tallies, "" if trace is None else trace.zone)


def _context(plan: Plan, takes: Takes, seed: int, block: npt.NDArray[np.int64]) -> Context:
    spec, trace = plan.scenario.interruptions, (plan.traces or (None,))[0]
    offsets = np.zeros(len(block))
    if trace is not None:
        offsets = start_offsets_s(spec, trace.period_s, seed, block)
    on_demand = plan.first_market == "on_demand"
    streams = Keyed(seed, block)
    return Context(
        plan, Shape.of(plan), takes, streams, offsets, on_demand, _alike(plan), _stall_limit(plan)
    )


def _stall_limit(plan: Plan) -> int | None:
    """A trace replayed with fixed downtime and restore, on spot alone, is deterministic:
    while the durable point stays put, each lease starts at a capacity return or at a take
    plus the downtime (two moments per run of the trace), and does what it did the last
    time it started there.  So more stalled leases in a row than such moments (and the
    first) repeat for ever: the run never finishes.  None where that does not hold."""
    scenario, trace = plan.scenario, (plan.traces or (None,))[0]
    fixed = scenario.restart.provision.is_fixed and scenario.restart.restore.is_fixed
    if trace is None or not fixed or plan.policy.deadline_aware:
        return None
    runs = int(np.count_nonzero(trace.available[1:] != trace.available[:-1])) + 1
    return 2 * runs + 2


def _alike(plan: Plan) -> float | None:
    """The moment after which every lease is alike (taken ``max_lifetime`` after it starts,
    with a fixed restore), or None where takes or restores are random."""
    spec = plan.scenario.interruptions
    if spec.model not in ("none", "scripted") or not plan.scenario.restart.restore.is_fixed:
        return None
    return max(spec.at or [0.0]) if spec.model == "scripted" else 0.0
