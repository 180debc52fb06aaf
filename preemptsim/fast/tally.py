"""The fast engine's tallies (seconds, instance-seconds, USD) to the columns of
DESIGN.md §3, as simulate.row computes them from a SimPy run: the one place the fast
engine builds columns."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pandas as pd

from preemptsim import billing
from preemptsim.fast.state import Tallies
from preemptsim.scenario import Scenario

F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]  # noqa: E741


def columns_of(scenario: Scenario, rep: I, t: Tallies, zone: str) -> dict[str, npt.ArrayLike]:
    """Replications ``rep``'s columns from their tallies ``t``; ``zone``: the one zone's
    name ("" without a trace)."""
    pricing, restart, n = scenario.pricing, scenario.restart, len(rep)
    wall = t["wall"].astype(np.float64)
    compute = t["spot_usd"] + t["on_demand_billed"] / 3600.0 * pricing.on_demand_usd_per_hour
    storage = billing.storage_cost_usd(wall, scenario) + np.zeros(n)  # type: ignore[arg-type]
    human: F = np.zeros(n)
    if restart.manual:
        human = t["interruptions"] * restart.handling / 3600.0 * pricing.engineer_usd_per_hour
    deadline = scenario.policy.deadline
    met = wall <= (math.inf if deadline is None else deadline)
    return {
        "rep": rep,
        "wall_h": wall / 3600.0,
        "cost_usd": compute + storage + human,
        "compute_cost_usd": compute,
        "storage_cost_usd": storage,
        "human_cost_usd": human,
        "spot_instance_h": t["spot_billed"] / 3600.0,
        "on_demand_instance_h": t["on_demand_billed"] / 3600.0,
        "interruptions": t["interruptions"].astype(np.int64),
        "lost_work_h": t["lost"] / 3600.0,
        "checkpoint_h": t["checkpoint"] / 3600.0,
        "restore_h": t["restore"] / 3600.0,
        "wait_h": t["wait"] / 3600.0,
        "idle_h": t["idle"] / 3600.0,
        "checkpoints": t["checkpoints"].astype(np.int64),
        "switched_at_h": t["switched"] / 3600.0,
        "met_deadline": pd.arrays.BooleanArray(met, np.full(n, deadline is None)),
        "migrations": np.zeros(n, dtype=np.int64),  # one zone: the job never moves
        "migration_h": np.zeros(n),
        "egress_cost_usd": np.zeros(n),
        "zone": pd.array([zone or None] * n, dtype="str"),  # NA without a trace
    }
