"""Sweeps: replications over a grid of scenario keys, and the optimum (DESIGN.md §4).

Every grid point runs the same replications 0…reps−1 with the same seed, so points share
their random numbers (common random numbers) and their differences stand out of the noise.
Work goes out as (grid point, chunk of replications) tasks to an executor (executors.py);
rows come back sorted by point then replication, identical for any executor.  With ``out``,
each finished chunk is a file of its own (store.py), so a killed sweep resumes.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from preemptsim import analytic, outputs, store
from preemptsim.executors import Engine, executor
from preemptsim.grid import Point, SweepError, Task, describe_point, grid_points, plan
from preemptsim.scenario import Scenario
from preemptsim.simulate import summarize

DEFAULT_CHUNK_REPS = 250
STATS = ("mean", "sem", "ci95_low", "ci95_high", "p50", "p90", "p95", "p99")
SUMMARY_COLUMNS = (
    *(f"{name}_{stat}" for name in ("wall_h", "cost_usd") for stat in STATS),
    "interruptions_mean",
    "lost_work_h_mean",
    "billed_instance_h_mean",
    "deadline_miss_prob",
    "deadline_miss_prob_ci95_low",
    "deadline_miss_prob_ci95_high",
    "on_demand_wall_h",
    "on_demand_cost_usd",
    "savings_vs_on_demand",
)
OBJECTIVES = {"cost": "cost_usd", "wall": "wall_h"}
FLAT_TOLERANCE = 0.01  # flat_range: points whose objective mean is within 1% of the best


class NoFeasiblePoint(RuntimeError):
    """No grid point meets ``max_miss``: exit code 1, after the tables are written."""


@dataclass(frozen=True)
class SweepResult:
    """The per-point summary (summary.csv), every replication, and the optimum."""

    summary: pd.DataFrame
    runs: pd.DataFrame
    optimum: dict[str, Any]
    points: tuple[Point, ...]
    scenario: Scenario
    reps: int
    seed: int

    def to_json(self) -> dict[str, Any]:
        """``{"points": [rows of summary.csv], "optimum": {...}}`` with NaN as null."""
        rows = self.summary.to_dict(orient="records")
        return {"points": outputs.plain_json(rows), "optimum": outputs.plain_json(self.optimum)}


# --- tables and the optimum ------------------------------------------------------------


def _assemble(
    points: Sequence[Point], tasks: Sequence[Task], frames: Mapping[Task, pd.DataFrame]
) -> pd.DataFrame:
    """Every replication, sorted by point then replication, with the varied keys first."""
    parts = []
    for task in sorted(tasks):
        frame = frames[task].reset_index(drop=True)
        for position, (key, value) in enumerate(points[task.point].values.items()):
            frame.insert(position, key, value)
        parts.append(frame)
    return pd.concat(parts, ignore_index=True)


def flatten(summary: Mapping[str, Any]) -> dict[str, float]:
    """A summary of DESIGN.md §3 as one row of summary.csv (DESIGN.md §4)."""
    row: dict[str, float] = {}
    for name in ("wall_h", "cost_usd"):
        stats = summary[name]
        low, high = stats["ci95"]
        row.update({f"{name}_{s}": stats[s] for s in ("mean", "sem")})
        row.update({f"{name}_ci95_low": low, f"{name}_ci95_high": high})
        row.update({f"{name}_p{q}": stats[f"p{q}"] for q in (50, 90, 95, 99)})
    for name in ("interruptions", "lost_work_h", "billed_instance_h"):
        row[f"{name}_mean"] = summary[name]["mean"]
    miss = summary["deadline_miss_prob"] or {"value": math.nan, "ci95": [math.nan, math.nan]}
    row["deadline_miss_prob"] = miss["value"]
    row["deadline_miss_prob_ci95_low"], row["deadline_miss_prob_ci95_high"] = miss["ci95"]
    row["on_demand_wall_h"] = summary["on_demand"]["wall_h"]
    row["on_demand_cost_usd"] = summary["on_demand"]["cost_usd"]
    row["savings_vs_on_demand"] = summary["savings_vs_on_demand"]
    return row


def _summary_table(
    points: Sequence[Point], runs: pd.DataFrame, reps: int, seed: int
) -> pd.DataFrame:
    rows = []
    for point in points:
        block = runs.iloc[point.index * reps : (point.index + 1) * reps]
        rows.append({**point.values, **flatten(summarize(block, point.scenario, seed))})
    return pd.DataFrame(rows, columns=[*points[0].values, *SUMMARY_COLUMNS])


def find_optimum(
    summary: pd.DataFrame, points: Sequence[Point], objective: str, max_miss: float | None
) -> dict[str, Any]:
    """The grid point with the lowest mean of the objective among those meeting max_miss."""
    column = f"{OBJECTIVES[objective]}_mean"
    feasible = pd.Series(True, index=summary.index)
    if max_miss is not None:
        feasible = summary["deadline_miss_prob"] <= max_miss
        if not feasible.any():
            lowest = summary["deadline_miss_prob"].idxmin()
            raise NoFeasiblePoint(
                f"no grid point meets --max-miss {max_miss:g}: the lowest deadline miss "
                f"probability is {summary.at[lowest, 'deadline_miss_prob']:.3g}, "
                f"at {describe_point(points[lowest].values, points[lowest].scenario)}"
            )
    best = int(summary.loc[feasible, column].idxmin())
    name = OBJECTIVES[objective]
    return {
        "objective": objective,
        "max_miss": max_miss,
        "point": points[best].values,
        "value": float(summary.at[best, column]),
        "ci95": [float(summary.at[best, f"{name}_ci95_{end}"]) for end in ("low", "high")],
        "flat_range": _flat_range(summary, list(points[0].values), best, column, feasible),
        **_theory(points[best]),
    }


def _flat_range(
    summary: pd.DataFrame, keys: list[str], best: int, column: str, feasible: pd.Series
) -> list[float] | None:
    """Range of the single numeric varied key, around the best, within 1% of its objective."""
    if len(keys) != 1 or not pd.api.types.is_numeric_dtype(summary[keys[0]]):
        return None
    order = summary.sort_values(keys[0], kind="stable").index.tolist()
    limit = summary.at[best, column] + FLAT_TOLERANCE * abs(summary.at[best, column])
    inside = [bool(feasible[i] and summary.at[i, column] <= limit) for i in order]
    low = high = order.index(best)
    while low > 0 and inside[low - 1]:
        low -= 1
    while high < len(order) - 1 and inside[high + 1]:
        high += 1
    return [float(summary.at[order[low], keys[0]]), float(summary.at[order[high], keys[0]])]


def _theory(point: Point) -> dict[str, float | None]:
    """Young, Daly and the exact Lambert-W interval (REFERENCES.md §1) at the best point:
    for Poisson interruptions and blocking (sync) checkpoints, the case they describe."""
    scenario = point.scenario
    poisson_sync = scenario.interruptions.model == "poisson" and scenario.checkpoint.mode == "sync"
    if "checkpoint.interval" not in point.values or not poisson_sync:
        return {"young_s": None, "daly_s": None, "exact_s": None}
    write_s = scenario.checkpoint.write
    mtbi_s = 1.0 / (scenario.interruptions.rate_per_s * scenario.job.instances)
    return {
        "young_s": analytic.young_interval(write_s, mtbi_s),
        "daly_s": analytic.daly_interval(write_s, mtbi_s),
        "exact_s": analytic.optimal_interval(write_s, mtbi_s),
    }


# --- the sweep -------------------------------------------------------------------------


def sweep(
    scenario: Scenario,
    grid: Mapping[str, Sequence[Any]],
    reps: int = 1000,
    seed: int = 1,
    *,
    jobs: int = 1,
    backend: Literal["process", "dask"] = "process",
    scheduler: str | None = None,
    chunk_reps: int = DEFAULT_CHUNK_REPS,
    engine: Engine = "auto",
    out: str | Path | None = None,
    resume: bool = False,
    force: bool = False,
    objective: Literal["cost", "wall"] = "cost",
    max_miss: float | None = None,
    progress: bool = False,
) -> SweepResult:
    """``reps`` replications of every point of ``grid`` ({dotted key: values}) and the optimum.

    ``jobs`` workers (0 = all cores) of a process pool, or of Dask (``backend="dask"``, a
    local cluster or the one at ``scheduler``); ``engine`` is simulate's.  With ``out``,
    results are written there and ``resume`` finishes an interrupted sweep; the result is the
    same either way.
    """
    _check_options(reps, jobs, backend, scheduler, chunk_reps, resume, force, objective, max_miss)
    if engine not in ("auto", "simpy", "fast"):
        raise SweepError(f"--engine must be auto, simpy or fast, got {engine!r}")
    points = grid_points(scenario, grid)
    if max_miss is not None and all(p.scenario.policy.deadline is None for p in points):
        raise SweepError("--max-miss needs a deadline: set policy.deadline")
    tasks = plan(len(points), reps, chunk_reps)
    folder = Path(out) if out is not None else None
    manifest = store.manifest_for(scenario, points, (reps, seed, chunk_reps, engine))
    frames: dict[Task, pd.DataFrame] = {}
    with executor(points, seed, engine, (jobs, backend, scheduler)) as execute:
        if folder is not None:
            store.open_out(folder, manifest, resume=resume, force=force)
            frames = store.load_done(folder, tasks)
        todo = [task for task in tasks if task not in frames]
        with _progress(progress, len(points) * reps, sum(t.reps for t in frames)) as bar:
            for task, frame in execute(todo):
                if folder is not None:
                    store.write_chunk(folder, task, frame)
                frames[task] = frame
                bar.update(task.reps)
    runs = _assemble(points, tasks, frames)
    summary = _summary_table(points, runs, reps, seed)
    try:
        optimum = find_optimum(summary, points, objective, max_miss)
    except NoFeasiblePoint:
        if folder is not None:
            store.finish(folder, summary, runs, None, manifest)
        raise
    if folder is not None:
        store.finish(folder, summary, runs, optimum, manifest)
    return SweepResult(summary, runs, optimum, tuple(points), scenario, reps, seed)


def _check_options(
    reps: int,
    jobs: int,
    backend: str,
    scheduler: str | None,
    chunk_reps: int,
    resume: bool,
    force: bool,
    objective: str,
    max_miss: float | None,
) -> None:
    problems = {
        "--reps must be at least 1": reps < 1,
        "--jobs must be 0 (all cores) or more": jobs < 0,
        "--backend must be process or dask": backend not in ("process", "dask"),
        "--scheduler needs --backend dask": scheduler is not None and backend != "dask",
        "--chunk-reps must be at least 1": chunk_reps < 1,
        "--resume and --force exclude each other": resume and force,
        "--objective must be cost or wall": objective not in OBJECTIVES,
        "--max-miss must be a probability between 0 and 1": max_miss is not None
        and not 0 <= max_miss <= 1,
    }
    for message, bad in problems.items():
        if bad:
            raise SweepError(message)


def _progress(show: bool, total: int, done: int) -> Any:
    if not (show and sys.stderr.isatty()):
        return nullcontext(_NoBar())
    from tqdm import tqdm

    return tqdm(total=total, initial=done, unit="run", desc="sweep", leave=False)


class _NoBar:
    def update(self, n: int) -> None:
        """Nothing: no terminal to draw on."""
