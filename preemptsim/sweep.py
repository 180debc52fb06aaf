"""Sweeps: replications over a grid of scenario keys, the optimum, executors, resume (DESIGN.md §4).

Every grid point runs the same replications 0…reps−1 with the same seed, so points share
their random numbers (common random numbers) and their differences stand out of the noise.
Work goes out as (grid point, chunk of replications) tasks to a process pool or a Dask
cluster; rows come back sorted by point then replication, identical for any executor.
With ``out``, each finished chunk is a Parquet file of its own, so a killed sweep resumes.
"""

from __future__ import annotations

import importlib
import itertools
import json
import logging
import math
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from preemptsim import analytic, outputs
from preemptsim.scenario import Scenario, ScenarioError
from preemptsim.simulate import COLUMNS, simulate, summarize
from preemptsim.units import format_duration, parse_duration, parse_size_gb

DEFAULT_CHUNK_REPS = 250
CONNECT_TIMEOUT_S = 5
FORMAT = "preemptsim-sweep/1"
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
FINAL_FILES = ("summary.csv", "runs.parquet", "optimum.json", "manifest.json")
FLAT_TOLERANCE = 0.01  # flat_range: points whose objective mean is within 1% of the best
_RANGE = re.compile(r"(?P<start>[^:]+):(?P<end>[^:]+):(?P<kind>lin|log)(?P<count>[-+]?\d+)")
_CHUNK = re.compile(r"p\d{5}-r\d{9}\.parquet")
Executor = Callable[[Sequence["Task"]], Iterator[tuple["Task", pd.DataFrame]]]
Engine = Literal["auto", "simpy", "fast"]  # simulate's engines (DESIGN.md §5)


class SweepError(ScenarioError):
    """Bad sweep input (values, a range, --out, --resume): exit code 2."""


class NoFeasiblePoint(RuntimeError):
    """No grid point meets ``max_miss``: exit code 1, after the tables are written."""


@dataclass(frozen=True)
class Point:
    """One grid point: its index, the varied keys' canonical values, its scenario."""

    index: int
    values: dict[str, Any]
    scenario: Scenario


@dataclass(frozen=True, order=True)
class Task:
    """Replications ``first_rep … first_rep+reps−1`` of grid point ``point``."""

    point: int
    first_rep: int
    reps: int

    @property
    def filename(self) -> str:
        return f"p{self.point:05d}-r{self.first_rep:09d}.parquet"


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


# --- values and grid -------------------------------------------------------------------


def parse_values(key: str, text: str) -> list[Any]:
    """The values of ``--vary KEY=VALUES``.

    ``5min,10min,1h`` (a list), ``5min:4h:log20`` (20 values evenly spaced in log),
    ``24h:48h:lin13`` (13 evenly spaced), or words (``spot,greedy``).  Range ends are
    numbers, durations (to seconds) or sizes (to GB).  Values are checked against a
    scenario by ``grid_points``.
    """
    text = text.strip()
    if ":" in text:
        return _range(key, text)
    items = [item.strip() for item in text.split(",")]
    if not text:
        raise SweepError(
            f"{key}: no values; expected VALUES such as 5min,10min,1h or 5min:4h:log20"
        )
    if not all(items):
        raise SweepError(f"{key}: empty value in {text!r}; expected VALUES such as 5min,10min,1h")
    return [_scalar(item) for item in items]


def _range(key: str, text: str) -> list[Any]:
    match = _RANGE.fullmatch(text)
    if match is None:
        raise SweepError(f"{key}: bad range {text!r}; expected START:END:linN or START:END:logN")
    start, end, count = (
        _number(key, match["start"]),
        _number(key, match["end"]),
        int(match["count"]),
    )
    if count < 1 or end < start or (count == 1 and end != start):
        raise SweepError(f"{key}: empty range {text!r}; need START <= END and N >= 2")
    if match["kind"] == "log" and start <= 0:
        raise SweepError(f"{key}: log range {text!r} needs START > 0")
    spaced = np.geomspace if match["kind"] == "log" else np.linspace
    return [_snap(float(v)) for v in spaced(start, end, count)]


def _number(key: str, text: str) -> float:
    for parse in (float, parse_duration, parse_size_gb):
        try:
            return float(parse(text.strip()))
        except ValueError:
            continue
    raise SweepError(f"{key}: range end {text!r} is not a number, duration or size")


def _snap(value: float) -> float:
    """``value``, rounded to a whole number when float rounding is all that separates them."""
    whole = round(value)
    return float(whole) if abs(value - whole) <= 1e-9 * max(1.0, abs(value)) else value


def _scalar(text: str) -> Any:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def grid_points(scenario: Scenario, grid: Mapping[str, Sequence[Any]]) -> list[Point]:
    """Every combination of the grid's values (the last key varies fastest), validated."""
    if not grid:
        raise SweepError("nothing to sweep: give at least one --vary KEY=VALUES")
    axes = {key: _canonical(scenario, key, values) for key, values in grid.items()}
    points = []
    for index, combo in enumerate(itertools.product(*axes.values())):
        values = dict(zip(axes, combo, strict=True))
        points.append(Point(index, values, scenario.with_values(values)))
    return points


def _canonical(scenario: Scenario, key: str, values: Sequence[Any]) -> list[Any]:
    if isinstance(values, str) or len(values) == 0:
        raise SweepError(f"{key}: no values to sweep")
    canonical: list[Any] = []
    for value in values:
        found = scenario.with_values({key: value}).value(key)
        if isinstance(found, dict | list):
            raise SweepError(f"{key}: sweep values must be single values, got {value!r}")
        if found in canonical:
            raise SweepError(f"{key}: {value!r} repeats an earlier value")
        canonical.append(found)
    return canonical


def plan(points: int, reps: int, chunk_reps: int) -> list[Task]:
    """Tasks of at most ``chunk_reps`` replications, sorted by point then replication."""
    return [
        Task(p, first, min(chunk_reps, reps - first))
        for p in range(points)
        for first in range(0, reps, chunk_reps)
    ]


# --- executors -------------------------------------------------------------------------


def run_task(scenario: Scenario, task: Task, seed: int, engine: Engine) -> pd.DataFrame:
    """The rows of one task: what a worker runs."""
    return simulate(scenario, task.reps, seed, first_rep=task.first_rep, engine=engine)


@contextmanager
def _executor(
    points: Sequence[Point], seed: int, engine: Engine, workers: tuple[int, str, str | None]
) -> Iterator[Executor]:
    """A function running tasks and yielding (task, rows) as they finish, in any order."""
    jobs, backend, scheduler = workers
    if backend == "dask":
        with _dask_client(scheduler, jobs) as client:
            yield lambda tasks: _run_dask(client, tasks, points, seed, engine)
    else:
        yield lambda tasks: _run_pool(tasks, points, seed, engine, jobs)


def _run_pool(
    tasks: Sequence[Task], points: Sequence[Point], seed: int, engine: Engine, jobs: int
) -> Iterator[tuple[Task, pd.DataFrame]]:
    if jobs == 1 or len(tasks) <= 1:
        for task in tasks:
            yield task, run_task(points[task.point].scenario, task, seed, engine)
        return
    with ProcessPoolExecutor(max_workers=min(jobs, len(tasks))) as pool:
        futures = {
            pool.submit(run_task, points[t.point].scenario, t, seed, engine): t
            for t in _largest_first(tasks)
        }
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _largest_first(tasks: Sequence[Task]) -> list[Task]:
    """Full chunks before remainders, so that workers finish together."""
    return sorted(tasks, key=lambda task: -task.reps)


def _distributed() -> Any:
    """The dask.distributed module (untyped: held as Any)."""
    try:
        return importlib.import_module("distributed")
    except ImportError:
        raise RuntimeError("--backend dask needs dask: pip install 'preemptsim[dask]'") from None


@contextmanager
def _dask_client(scheduler: str | None, jobs: int) -> Iterator[Any]:
    """A client of a local cluster of ``jobs`` processes, or of the one at ``scheduler``."""
    dd = _distributed()
    if scheduler is None:
        cluster = dd.LocalCluster(
            n_workers=jobs,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.CRITICAL,
        )
        with cluster, dd.Client(cluster) as client:
            yield client
        return
    try:
        client = dd.Client(scheduler, timeout=CONNECT_TIMEOUT_S)
    except Exception as exc:  # any failure to connect is one line, exit 1
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise RuntimeError(f"cannot reach the Dask scheduler at {scheduler}: {reason}") from None
    with client:
        yield client


def _run_dask(
    client: Any, tasks: Sequence[Task], points: Sequence[Point], seed: int, engine: Engine
) -> Iterator[tuple[Task, pd.DataFrame]]:
    futures = {
        client.submit(run_task, points[t.point].scenario, t, seed, engine, pure=False): t
        for t in _largest_first(tasks)
    }
    try:
        for future in _distributed().as_completed(list(futures)):
            yield futures[future], future.result()
    finally:
        client.cancel(list(futures))


# --- the output folder -----------------------------------------------------------------


def _manifest(
    scenario: Scenario, points: Sequence[Point], runs: tuple[int, int, int, Engine]
) -> dict[str, Any]:
    """What the chunks depend on: a resumed sweep must match it, "complete" aside."""
    reps, seed, chunk_reps, engine = runs
    grid = {key: [p.values[key] for p in points] for key in points[0].values}
    grid = {key: list(dict.fromkeys(values)) for key, values in grid.items()}
    data = {
        "format": FORMAT,
        "scenario": scenario.model_dump(),
        "grid": grid,
        "seed": seed,
        "reps": reps,
        "chunk_reps": chunk_reps,
        "engine": engine,
        "versions": _versions(),
        "complete": False,
    }
    plain: dict[str, Any] = json.loads(json.dumps(outputs.plain_json(data)))
    return plain


def _versions() -> dict[str, str]:
    import preemptsim

    found = {"preemptsim": preemptsim.__version__}
    for name in ("numpy", "pandas", "pyarrow", "scipy", "simpy"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "unknown"
    return found


def _open_out(out: Path, manifest: dict[str, Any], *, resume: bool, force: bool) -> None:
    """Check ``out`` (new, or the same sweep when resuming), then write the manifest first."""
    if out.exists() and not out.is_dir():
        raise SweepError(f"{out}: exists and is not a folder")
    used = out.is_dir() and any(out.iterdir())
    if used and resume:
        _check_manifest(out / "manifest.json", manifest)
    elif used and not force:
        raise SweepError(f"{out}: already exists; add --resume to finish it or --force to redo it")
    elif used:
        _clear(out)
    (out / "chunks").mkdir(parents=True, exist_ok=True)
    for stale in (out / "chunks").glob(".*"):  # temporary files of a killed writer
        stale.unlink()
    outputs.write_json(out / "manifest.json", manifest)


def _check_manifest(path: Path, manifest: dict[str, Any]) -> None:
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SweepError(f"{path.parent}: no manifest.json, nothing to resume") from None
    except (OSError, ValueError) as exc:
        raise SweepError(f"{path}: unreadable ({exc}); use --force to start over") from None
    old = {**old, "complete": False} if isinstance(old, dict) else old
    where = _difference(old, manifest, "")
    if where is not None:
        raise SweepError(f"{path} is another sweep's ({where} differs); use --force to redo it")


def _difference(old: Any, new: Any, where: str) -> str | None:
    """The dotted place of the first difference between two JSON values, or None."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            found = _difference(old.get(key), new.get(key), f"{where}.{key}".lstrip("."))
            if found is not None:
                return found
        return None
    return None if old == new else where or "manifest"


def _clear(out: Path) -> None:
    """Remove a previous sweep's files from ``out`` (--force), and nothing else."""
    for name in FINAL_FILES:
        (out / name).unlink(missing_ok=True)
    chunks = out / "chunks"
    if chunks.is_dir():
        for path in chunks.iterdir():
            if _CHUNK.fullmatch(path.name) or path.name.startswith("."):
                path.unlink()


def _load_done(out: Path, tasks: Sequence[Task]) -> dict[Task, pd.DataFrame]:
    """The chunks a previous run finished; unreadable or wrong ones are run again."""
    done = {}
    for task in tasks:
        path = out / "chunks" / task.filename
        if not path.exists():
            continue
        try:
            frame = pd.read_parquet(path)
        except (OSError, ValueError):
            continue
        expected = list(range(task.first_rep, task.first_rep + task.reps))
        if list(frame.columns) == list(COLUMNS) and frame["rep"].tolist() == expected:
            done[task] = frame
    return done


def _write_chunk(out: Path, task: Task, frame: pd.DataFrame) -> None:
    path = out / "chunks" / task.filename
    outputs.write_atomic(path, lambda tmp: frame.to_parquet(tmp, index=False))


def _write_tables(out: Path, summary: pd.DataFrame, runs: pd.DataFrame) -> None:
    outputs.write_atomic(out / "summary.csv", lambda tmp: summary.to_csv(tmp, index=False))
    outputs.write_atomic(out / "runs.parquet", lambda tmp: runs.to_parquet(tmp, index=False))


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
                f"at {_describe_point(points[lowest].values, points[lowest].scenario)}"
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
    poisson_sync = (
        scenario.interruptions.model == "poisson" and scenario.checkpoint.mode == "sync"
    )
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
    manifest = _manifest(scenario, points, (reps, seed, chunk_reps, engine))
    workers = (jobs or _all_cores(), backend, scheduler)
    frames: dict[Task, pd.DataFrame] = {}
    with _executor(points, seed, engine, workers) as execute:
        if folder is not None:
            _open_out(folder, manifest, resume=resume, force=force)
            frames = _load_done(folder, tasks)
        todo = [task for task in tasks if task not in frames]
        with _progress(progress, len(points) * reps, sum(t.reps for t in frames)) as bar:
            for task, frame in execute(todo):
                if folder is not None:
                    _write_chunk(folder, task, frame)
                frames[task] = frame
                bar.update(task.reps)
    runs = _assemble(points, tasks, frames)
    summary = _summary_table(points, runs, reps, seed)
    try:
        optimum = find_optimum(summary, points, objective, max_miss)
    except NoFeasiblePoint:
        if folder is not None:
            _finish(folder, summary, runs, None, manifest)
        raise
    if folder is not None:
        _finish(folder, summary, runs, optimum, manifest)
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


def _all_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _progress(show: bool, total: int, done: int) -> Any:
    if not (show and sys.stderr.isatty()):
        return nullcontext(_NoBar())
    from tqdm import tqdm

    return tqdm(total=total, initial=done, unit="run", desc="sweep", leave=False)


class _NoBar:
    def update(self, n: int) -> None:
        """Nothing: no terminal to draw on."""


def _finish(
    out: Path,
    summary: pd.DataFrame,
    runs: pd.DataFrame,
    optimum: dict[str, Any] | None,
    manifest: dict[str, Any],
) -> None:
    """The final files, each written atomically; optimum.json only when there is one."""
    _write_tables(out, summary, runs)
    if optimum is not None:
        outputs.write_json(out / "optimum.json", outputs.plain_json(optimum))
    else:
        (out / "optimum.json").unlink(missing_ok=True)
    outputs.write_json(out / "manifest.json", {**manifest, "complete": True})


# --- presentation ----------------------------------------------------------------------


def _describe_point(values: Mapping[str, Any], scenario: Scenario | None = None) -> str:
    return ", ".join(f"{key}={_show(value, key, scenario)}" for key, value in values.items())


def _show(value: Any, key: str, scenario: Scenario | None) -> str:
    """A value of a varied key for a person: durations as "30min", numbers to 4 digits."""
    if isinstance(value, float) and scenario is not None and _is_duration(scenario, key):
        return format_duration(value)
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _is_duration(scenario: Scenario, key: str) -> bool:
    try:
        return bool(scenario.with_values({key: "1min"}).value(key) == 60.0)
    except ScenarioError:
        return False


def format_sweep(result: SweepResult) -> str:
    """What ``preemptsim sweep`` prints: the best point at a glance, then the whole grid."""
    best, summary = result.optimum, result.summary
    index = next(p.index for p in result.points if p.values == best["point"])
    row = summary.loc[index]
    keys = list(result.points[0].values)
    lines = [
        f"sweep of {', '.join(keys)}: {_count(len(result.points), 'point')} x "
        f"{_count(result.reps, 'replication')} "
        f"(seed {result.seed}, same random numbers at every point)",
        "",
        f"{'best':16s}{_describe_point(best['point'], result.scenario)}"
        f"   (lowest mean {'cost' if best['objective'] == 'cost' else 'wall time'}"
        + (f", deadline miss <= {best['max_miss']:g})" if best["max_miss"] is not None else ")"),
        f"{'cost':16s}${row['cost_usd_mean']:,.2f} mean  "
        f"[{row['cost_usd_ci95_low']:,.2f}, {row['cost_usd_ci95_high']:,.2f}]",
        f"{'wall time':16s}{row['wall_h_mean']:.2f} h mean, {row['wall_h_p95']:.2f} h p95",
    ]
    if not math.isnan(row["deadline_miss_prob"]):
        low, high = row["deadline_miss_prob_ci95_low"], row["deadline_miss_prob_ci95_high"]
        lines.append(
            f"{'deadline miss':16s}{row['deadline_miss_prob']:.1%}  [{low:.1%}, {high:.1%}]"
        )
    lines.append(
        f"{'vs on-demand':16s}{'saves' if row['savings_vs_on_demand'] >= 0 else 'costs'} "
        f"{abs(row['savings_vs_on_demand']):.1%} (on-demand ${row['on_demand_cost_usd']:,.2f}, "
        f"{row['on_demand_wall_h']:.2f} h)"
    )
    if best["flat_range"] is not None:
        low, high = (_show(v, keys[0], result.scenario) for v in best["flat_range"])
        lines.append(f"{'within 1%':16s}{keys[0]} from {low} to {high}")
    if best["exact_s"] is not None:
        young, daly, exact = (format_duration(best[k]) for k in ("young_s", "daly_s", "exact_s"))
        lines.append(f"{'closed forms':16s}Young {young}, Daly {daly}, exact {exact} (Poisson)")
    return "\n".join([*lines, "", *_grid_lines(result, index)])


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _grid_lines(result: SweepResult, best: int) -> list[str]:
    keys = list(result.points[0].values)
    widths = [max(len(key), 9) for key in keys]
    miss = not result.summary["deadline_miss_prob"].isna().all()
    head = "  " + "  ".join(f"{k:>{w}s}" for k, w in zip(keys, widths, strict=True))
    head += f"{'cost $':>10s}{'±95%':>8s}{'wall h':>9s}{'p95 h':>9s}"
    lines = [head + (f"{'miss':>8s}" if miss else "") + f"{'saves':>8s}"]
    max_miss = result.optimum["max_miss"]
    for point, (_, row) in zip(result.points, result.summary.iterrows(), strict=True):
        excluded = max_miss is not None and not row["deadline_miss_prob"] <= max_miss
        mark = "*" if point.index == best else "x" if excluded else " "
        values = (_show(point.values[k], k, result.scenario) for k in keys)
        line = f"{mark} " + "  ".join(f"{v:>{w}s}" for v, w in zip(values, widths, strict=True))
        half = (row["cost_usd_ci95_high"] - row["cost_usd_ci95_low"]) / 2
        line += f"{row['cost_usd_mean']:>10,.2f}{half:>8.2f}"
        line += f"{row['wall_h_mean']:>9.2f}{row['wall_h_p95']:>9.2f}"
        line += f"{row['deadline_miss_prob']:>8.1%}" if miss else ""
        lines.append(line + f"{row['savings_vs_on_demand']:>8.1%}")
    note = "* best" + ("; x excluded by --max-miss" if max_miss is not None else "")
    return [*lines, note]
