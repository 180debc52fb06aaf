"""The best point of a table of summaries, and what stands beside it (DESIGN.md §4).

A point is feasible when its deadline-miss probability is at most ``max_miss``; the optimum
is the feasible point with the lowest mean of the objective.  Points of different deadlines
answer different questions, so where ``policy.deadline`` is varied there is one optimum per
deadline, never one across them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from preemptsim import analytic
from preemptsim.grid import Point, describe_point

OBJECTIVES = {"cost": "cost_usd", "wall": "wall_h"}
FLAT_TOLERANCE = 0.01  # flat_range: points whose objective mean is within 1% of the best
DEFAULT_MAX_MISS = 0.05  # where a deadline exists and no --max-miss is given
DEADLINE_KEY = "policy.deadline"
THEORY_KEYS = ("young_s", "daly_s", "exact_s")


class NoFeasiblePoint(RuntimeError):
    """No grid point meets ``max_miss``: exit code 1, after the tables are written."""


def effective_max_miss(points: Sequence[Point], max_miss: float | None) -> float | None:
    """``max_miss``, or 0.05 where no value is given and some point has a deadline; None
    (no constraint) without a deadline.  A value of 1 ignores the deadline."""
    if max_miss is not None:
        return max_miss
    has_deadline = any(p.scenario.policy.deadline is not None for p in points)
    return DEFAULT_MAX_MISS if has_deadline else None


def feasible(summary: pd.DataFrame, max_miss: float | None) -> pd.Series:
    """Rows whose deadline-miss probability is at most ``max_miss`` (all, without one)."""
    if max_miss is None:
        return pd.Series(True, index=summary.index)
    miss = summary["deadline_miss_prob"]
    return miss.isna() | (miss <= max_miss)


def find_optimum(
    summary: pd.DataFrame, points: Sequence[Point], objective: str, max_miss: float | None
) -> dict[str, Any] | list[dict[str, Any]]:
    """The optimum of the table, or where ``policy.deadline`` is varied, one per deadline
    (a list in the grid's order of deadlines; a deadline none of whose points is feasible has
    ``point`` None).  NoFeasiblePoint where no point at all meets ``max_miss``."""
    keys = list(points[0].values)
    ok = feasible(summary, max_miss)
    if not ok.any():
        lowest = int(summary["deadline_miss_prob"].idxmin())
        raise NoFeasiblePoint(
            f"no grid point meets --max-miss {max_miss:g}: the lowest deadline miss "
            f"probability is {summary.at[lowest, 'deadline_miss_prob']:.3g}, "
            f"at {describe_point(points[lowest].values, points[lowest].scenario)}"
        )
    if DEADLINE_KEY not in keys:
        return _optimum(summary, points, objective, max_miss, ok)
    others = [k for k in keys if k != DEADLINE_KEY]
    result = []
    for deadline in pd.unique(summary[DEADLINE_KEY]):
        rows = summary.index[summary[DEADLINE_KEY] == deadline]
        if ok[rows].any():
            entry = _optimum(summary.loc[rows], points, objective, max_miss, ok[rows], others)
        else:
            entry = _empty(objective, max_miss)
        result.append({DEADLINE_KEY: float(deadline), **entry})
    return result


def _optimum(
    summary: pd.DataFrame,
    points: Sequence[Point],
    objective: str,
    max_miss: float | None,
    ok: pd.Series,
    flat_keys: list[str] | None = None,
) -> dict[str, Any]:
    column, name = f"{OBJECTIVES[objective]}_mean", OBJECTIVES[objective]
    best = int(summary.loc[ok, column].idxmin())
    keys = list(points[0].values) if flat_keys is None else flat_keys
    flat = flat_range(summary, keys[0], best, column, ok) if len(keys) == 1 else None
    return {
        "objective": objective,
        "max_miss": max_miss,
        "point": points[best].values,
        "value": float(summary.at[best, column]),
        "ci95": [float(summary.at[best, f"{name}_ci95_{end}"]) for end in ("low", "high")],
        "deadline_miss_prob": _nan_to_none(summary.at[best, "deadline_miss_prob"]),
        "flat_range": flat,
        **theory(points[best]),
    }


def _empty(objective: str, max_miss: float | None) -> dict[str, Any]:
    """A deadline with no feasible point: the optimum's keys, without values."""
    keys = ("point", "value", "ci95", "deadline_miss_prob", "flat_range", *THEORY_KEYS)
    return {"objective": objective, "max_miss": max_miss, **dict.fromkeys(keys)}


def _nan_to_none(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def flat_range(
    summary: pd.DataFrame, key: str, best: int, column: str, ok: pd.Series
) -> list[float] | None:
    """The contiguous range of numeric ``key`` around row ``best`` whose feasible rows are
    within 1% of the best objective; None where ``key`` is not numeric."""
    if not pd.api.types.is_numeric_dtype(summary[key]):
        return None
    order = summary.sort_values(key, kind="stable").index.tolist()
    limit = summary.at[best, column] + FLAT_TOLERANCE * abs(summary.at[best, column])
    inside = [bool(ok[i] and summary.at[i, column] <= limit) for i in order]
    low = high = order.index(best)
    while low > 0 and inside[low - 1]:
        low -= 1
    while high < len(order) - 1 and inside[high + 1]:
        high += 1
    return [float(summary.at[order[low], key]), float(summary.at[order[high], key])]


def theory(point: Point) -> dict[str, float | None]:
    """Young, Daly and the exact Lambert-W interval (REFERENCES.md §1) at the best point:
    for Poisson interruptions and blocking (sync) checkpoints, the case they describe."""
    scenario = point.scenario
    poisson_sync = scenario.interruptions.model == "poisson" and scenario.checkpoint.mode == "sync"
    if "checkpoint.interval" not in point.values or not poisson_sync:
        return dict.fromkeys(THEORY_KEYS)
    write_s = scenario.checkpoint.write
    mtbi_s = 1.0 / (scenario.interruptions.rate_per_s * scenario.job.instances)
    return {
        "young_s": analytic.young_interval(write_s, mtbi_s),
        "daly_s": analytic.daly_interval(write_s, mtbi_s),
        "exact_s": analytic.optimal_interval(write_s, mtbi_s),
    }
