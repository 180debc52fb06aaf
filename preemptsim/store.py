"""A sweep's --out folder (DESIGN.md §4): manifest, chunks, resume checks, final tables.

``manifest.json`` is written first and says what the chunks depend on; each finished task is
a chunk file of its own, so a killed sweep resumes; every file is written atomically
(outputs.py), and ``--force`` deletes only the sweep's own files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from preemptsim import outputs
from preemptsim.grid import Point, SweepError, Task
from preemptsim.scenario import Scenario
from preemptsim.simulate import COLUMNS

FORMAT = "preemptsim-sweep/1"
FINAL_FILES = ("summary.csv", "runs.parquet", "optimum.json", "manifest.json")
_CHUNK = re.compile(r"p\d{5}-r\d{9}\.parquet")


def chunk_path(out: Path, task: Task) -> Path:
    """Where one task's rows live: ``chunks/pNNNNN-rNNNNNNNNN.parquet``."""
    return out / "chunks" / f"p{task.point:05d}-r{task.first_rep:09d}.parquet"


def manifest_for(
    scenario: Scenario, points: Sequence[Point], runs: tuple[int, int, int, str]
) -> dict[str, Any]:
    """What the chunks depend on: a resumed sweep must match it, "complete" aside.

    ``runs`` is (reps, seed, chunk_reps, engine)."""
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


def open_out(out: Path, manifest: dict[str, Any], *, resume: bool, force: bool) -> None:
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


def load_done(out: Path, tasks: Sequence[Task]) -> dict[Task, pd.DataFrame]:
    """The chunks a previous run finished; unreadable or wrong ones are run again."""
    done = {}
    for task in tasks:
        path = chunk_path(out, task)
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


def write_chunk(out: Path, task: Task, frame: pd.DataFrame) -> None:
    outputs.write_atomic(chunk_path(out, task), lambda tmp: frame.to_parquet(tmp, index=False))


def finish(
    out: Path,
    summary: pd.DataFrame,
    runs: pd.DataFrame,
    optimum: dict[str, Any] | list[dict[str, Any]] | None,
    manifest: dict[str, Any],
) -> None:
    """The final files, each written atomically; optimum.json only when there is one."""
    outputs.write_atomic(out / "summary.csv", lambda tmp: summary.to_csv(tmp, index=False))
    outputs.write_atomic(out / "runs.parquet", lambda tmp: runs.to_parquet(tmp, index=False))
    if optimum is not None:
        outputs.write_json(out / "optimum.json", outputs.plain_json(optimum))
    else:
        (out / "optimum.json").unlink(missing_ok=True)
    outputs.write_json(out / "manifest.json", {**manifest, "complete": True})
