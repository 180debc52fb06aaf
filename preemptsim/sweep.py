"""Sweeps: replications over a grid of scenario keys, and the optimum (DESIGN.md §4).

Every grid point runs the same replications 0…reps−1 with the same seed, so points share
their random numbers (common random numbers) and their differences stand out of the noise.
Work goes out as (grid point, chunk of replications) tasks to an executor (executors.py);
rows come back sorted by point then replication, identical for any executor.  With ``out``,
each finished chunk is a file of its own (store.py), so a killed sweep resumes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from preemptsim import memory, outputs, store
from preemptsim.executors import Engine, executor
from preemptsim.grid import Point, SweepError, Task, grid_points, plan
from preemptsim.offline import gap
from preemptsim.optima import OBJECTIVES, NoFeasiblePoint, effective_max_miss, find_optimum
from preemptsim.progress import progress_bar
from preemptsim.scenario import Scenario
from preemptsim.simulate import on_demand_baseline, summarize

DEFAULT_CHUNK_REPS = 250
FIXED_TABLE = "checkpoint."  # keys that never change the on-demand baseline
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
    "optimum_gap_mean",
)
KIND = "policy.kind"


@dataclass(frozen=True)
class SweepResult:
    """The per-point summary (summary.csv), every replication, and the optimum."""

    summary: pd.DataFrame
    runs: pd.DataFrame
    optimum: dict[str, Any] | list[dict[str, Any]]  # a list: one per policy.deadline
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
    scenario: Scenario,
    points: Sequence[Point],
    runs: pd.DataFrame,
    reps: int,
    seed: int,
    optimum_gap: bool,
) -> pd.DataFrame:
    rows, baselines = [], Baselines(scenario)
    for point in points:
        block = runs.iloc[point.index * reps : (point.index + 1) * reps]
        on_demand = baselines.of(point.values)
        row = flatten(summarize(block, point.scenario, seed, on_demand))
        row["optimum_gap_mean"] = (
            gap.gap_mean(point.scenario, block, seed) if optimum_gap else math.nan
        )
        rows.append({**point.values, **row})
    return pd.DataFrame(rows, columns=[*points[0].values, *SUMMARY_COLUMNS])


class Baselines:
    """The on-demand baseline of each grid point, computed once per distinct job.

    A baseline answers "what would this job cost on on-demand, as the user runs it": the
    user's scenario with the point's values of the keys that change the job, never of
    ``[checkpoint]``, so a sweep over checkpoint settings has one baseline (DESIGN.md §1).
    """

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self._known: dict[str, dict[str, float]] = {}

    def of(self, values: Mapping[str, Any]) -> dict[str, float]:
        job = {k: v for k, v in values.items() if not k.startswith(FIXED_TABLE)}
        key = repr(sorted(job.items()))
        if key not in self._known:
            self._known[key] = on_demand_baseline(self.scenario.with_values(job))
        return self._known[key]


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
    keep_chunks: bool = False,
    objective: Literal["cost", "wall"] = "cost",
    max_miss: float | None = None,
    progress: bool = False,
    optimum_gap: bool | None = None,
) -> SweepResult:
    """``reps`` replications of every point of ``grid`` ({dotted key: values}) and the optimum.

    ``jobs`` workers (0 = all cores) of a process pool, or of Dask (``backend="dask"``, a
    local cluster or the one at ``scheduler``); ``engine`` is simulate's.  With ``out``,
    results are written there and ``resume`` finishes an interrupted sweep; the result is the
    same either way; the chunk files go once the sweep is done unless ``keep_chunks``.
    ``optimum_gap`` (default: where the grid varies ``policy.kind``) adds each point's gap
    to the offline optimum (offline/gap.py; NaN off traces).
    """
    _check_options(reps, jobs, backend, scheduler, chunk_reps, resume, force, objective, max_miss)
    if engine not in ("auto", "simpy", "fast"):
        raise SweepError(f"--engine must be auto, simpy or fast, got {engine!r}")
    points = grid_points(scenario, grid)
    memory.check_reps(reps, memory.SWEEP_BYTES_PER_REP, len(points))
    if max_miss is not None and all(p.scenario.policy.deadline is None for p in points):
        raise SweepError("--max-miss needs a deadline: set policy.deadline")
    tasks = plan(len(points), reps, chunk_reps)
    folder = Path(out) if out is not None else None
    manifest = store.manifest_for(scenario, points, (reps, seed, chunk_reps, engine))
    frames: dict[Task, pd.DataFrame] = {}
    with executor(points, seed, engine, (jobs, backend, scheduler)) as execute:
        if folder is not None:
            store.open_out(folder, manifest, resume=resume, force=force)
            frames = store.load_done(folder, tasks, manifest)
        todo = [task for task in tasks if task not in frames]
        done = sum(t.reps for t in frames)
        with progress_bar(progress, len(points) * reps, done) as bar:
            for task, frame in execute(todo):
                if folder is not None:
                    store.write_chunk(folder, task, frame, manifest)
                frames[task] = frame
                bar.update(task.reps)
    runs = _assemble(points, tasks, frames)
    wants_gap = KIND in grid if optimum_gap is None else optimum_gap
    summary = _summary_table(scenario, points, runs, reps, seed, wants_gap)
    try:
        optimum = find_optimum(summary, points, objective, effective_max_miss(points, max_miss))
    except NoFeasiblePoint:
        if folder is not None:
            store.finish(folder, summary, runs, None, manifest, keep_chunks)
        raise
    if folder is not None:
        store.finish(folder, summary, runs, optimum, manifest, keep_chunks)
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
