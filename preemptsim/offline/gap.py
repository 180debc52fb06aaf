"""Each policy's gap to the offline optimum: the mean over replications of cost / the
optimum's cost from the same trace start (Can't Be Late Table 3, SkyNomad; REFERENCES.md
§5, §8).  The optimum depends on the start and the job, never on the policy or the
checkpoint settings, so it is computed once per distinct (job, start) and kept."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from preemptsim.offline import optimum_costs, run_key, starts_of
from preemptsim.scenario import Scenario

CELLS = 500  # a coarser grid than offline_optimum's: a looser (still valid) bound, faster
STARTS = 200  # the gap is the mean over the first replications, at most this many
ZONES_STARTS = 20  # with several zones, whose optimum costs about as many times more
_KNOWN: dict[tuple[object, float], float] = {}
_KNOWN_MAX = 100_000


def applies(scenario: Scenario) -> bool:
    """A trace scenario with a deadline: the optimum exists (else the gap is NaN)."""
    spec = scenario.interruptions
    return spec.model == "trace" and scenario.policy.deadline is not None


def gap_mean(scenario: Scenario, runs: pd.DataFrame, seed: int) -> float:
    """Mean of cost / optimum over the first ``STARTS`` (``ZONES_STARTS`` on several zones)
    replications of ``runs`` (columns
    ``rep`` and ``cost_usd``); NaN where no optimum applies or none meets the deadline."""
    if not applies(scenario) or runs.empty:
        return math.nan
    head = runs.iloc[: STARTS if scenario.interruptions.paths is None else ZONES_STARTS]
    optimum = optima_of(scenario, seed, [int(r) for r in head["rep"]])
    ratio = head["cost_usd"].to_numpy(dtype=float) / optimum
    finite = np.isfinite(ratio)
    return float(ratio[finite].mean()) if finite.any() else math.nan


def optima_of(scenario: Scenario, seed: int, reps: Sequence[int]) -> np.ndarray:
    """The optimum's cost from each replication's start, computed once per (job, start)."""
    key = run_key(scenario)
    starts = starts_of(scenario, seed, reps)
    todo = sorted({s for s in starts if (key, s) not in _KNOWN})
    if todo:
        if len(_KNOWN) + len(todo) > _KNOWN_MAX:
            _KNOWN.clear()
        costs = optimum_costs(scenario, todo, CELLS)
        _KNOWN.update(zip(((key, s) for s in todo), costs, strict=True))
    return np.array([_KNOWN[(key, s)] for s in starts])
