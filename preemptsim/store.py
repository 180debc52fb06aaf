"""A sweep's --out folder (DESIGN.md §4): manifest, chunks, resume checks, final tables.

``manifest.json`` is written first and says what the chunks depend on, input files' hashes
included; each finished task is a chunk file of its own (chunks.py), so a killed sweep
resumes; every file is written atomically (outputs.py), and ``--force`` deletes only the
sweep's own files.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from preemptsim import chunks, outputs
from preemptsim.grid import Point, SweepError, Task
from preemptsim.scenario import Scenario
from preemptsim.tracefile import trace_paths

FORMAT = "preemptsim-sweep/2"
FINAL_FILES = ("summary.csv", "runs.parquet", "optimum.json", "manifest.json")
_GLOB = set("*?[")
PATH_KEYS = ("interruptions.path", "interruptions.paths", "calibration.probe")  # input files


def manifest_for(
    scenario: Scenario, points: Sequence[Point], runs: tuple[int, int, int, str]
) -> dict[str, Any]:
    """What the chunks depend on: a resumed sweep must match it, "complete" aside.

    ``runs`` is (reps, seed, chunk_reps, engine)."""
    reps, seed, chunk_reps, engine = runs
    grid = {key: [_absolute(key, p.values[key]) for p in points] for key in points[0].values}
    grid = {key: list(dict.fromkeys(values)) for key, values in grid.items()}
    resolved = scenario.model_dump()
    for key in PATH_KEYS:
        table, name = key.split(".")
        if isinstance(resolved.get(table), dict):
            resolved[table][name] = _absolute(key, resolved[table].get(name))
    data = {
        "format": FORMAT,
        "scenario": resolved,
        "grid": grid,
        "inputs": _input_hashes(points),
        "seed": seed,
        "reps": reps,
        "chunk_reps": chunk_reps,
        "engine": engine,
        "versions": _versions(),
        "complete": False,
    }
    plain: dict[str, Any] = json.loads(json.dumps(outputs.plain_json(data)))
    return plain


def _absolute(key: str, value: object) -> object:
    """A path key's files (or glob) as absolute paths, so that resuming from elsewhere
    matches; a name that is neither (a trace shipped with the package) as written."""
    if isinstance(value, list):
        return [_absolute(key, item) for item in value]
    if key not in PATH_KEYS or not isinstance(value, str):
        return value
    return os.path.abspath(value) if Path(value).is_file() or _GLOB & set(value) else value


def _input_hashes(points: Sequence[Point]) -> dict[str, str]:
    """SHA-256 of every file the points read (traces, probes), by absolute path."""
    named = set()
    for point in points:
        named.update(trace_paths(point.scenario.interruptions))
        if point.scenario.calibration is not None:
            named.add(point.scenario.calibration.probe)
    files = sorted({os.path.abspath(path) for path in named if Path(path).is_file()})
    return {file: hashlib.sha256(Path(file).read_bytes()).hexdigest() for file in files}


def sweep_id(manifest: dict[str, Any]) -> str:
    """The hash of what the chunks depend on (the manifest, "complete" aside)."""
    text = json.dumps({**manifest, "complete": False}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[: chunks.HASH_DIGITS]


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
    stale = [*(out / "chunks").glob(".*"), *(p for n in FINAL_FILES for p in out.glob(f".{n}.*"))]
    for path in stale:  # temporary files of a killed writer (outputs.write_atomic)
        path.unlink()
    outputs.write_json(out / "manifest.json", manifest)


def _check_manifest(path: Path, manifest: dict[str, Any]) -> None:
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SweepError(f"{path.parent}: no manifest.json, nothing to resume") from None
    except (OSError, ValueError) as exc:
        raise SweepError(f"{path}: unreadable ({exc}); use --force to start over") from None
    old = {**old, "complete": False} if isinstance(old, dict) else old
    hashed = old.get("inputs") if isinstance(old, dict) else None
    for file, sha256 in manifest["inputs"].items():
        if isinstance(hashed, dict) and file in hashed and hashed[file] != sha256:
            raise SweepError(f"{file}: changed since the sweep began; use --force to redo it")
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
    chunks.remove_all(out / "chunks")


def load_done(
    out: Path, tasks: Sequence[Task], manifest: dict[str, Any]
) -> dict[Task, pd.DataFrame]:
    """The chunks a previous run of this sweep finished; the ones that fail their check are
    deleted, named on stderr, and run again."""
    done, rejected = chunks.load(out / "chunks", tasks, manifest["seed"], sweep_id(manifest))
    if rejected:
        first = rejected[0]
        print(
            f"preemptsim: warning: {len(rejected)} chunk file(s) failed their check and run "
            f"again (first: {first.path}: {first.reason})",
            file=sys.stderr,
        )
    return done


def write_chunk(out: Path, task: Task, frame: pd.DataFrame, manifest: dict[str, Any]) -> None:
    owner = chunks.identity(task, manifest["seed"], sweep_id(manifest))
    chunks.write(out / "chunks", task, frame, owner)


def finish(
    out: Path,
    summary: pd.DataFrame,
    runs: pd.DataFrame,
    optimum: dict[str, Any] | list[dict[str, Any]] | None,
    manifest: dict[str, Any],
    keep_chunks: bool = False,
) -> None:
    """The final files, each written atomically; optimum.json only when there is one; then
    the chunk files go, unless ``keep_chunks`` (they hold the data again, 2.7 times over)."""
    outputs.write_atomic(out / "summary.csv", lambda tmp: summary.to_csv(tmp, index=False))
    outputs.write_atomic(out / "runs.parquet", lambda tmp: runs.to_parquet(tmp, index=False))
    if optimum is not None:
        outputs.write_json(out / "optimum.json", outputs.plain_json(optimum))
    else:
        (out / "optimum.json").unlink(missing_ok=True)
    outputs.write_json(out / "manifest.json", {**manifest, "complete": True})
    if not keep_chunks:
        chunks.remove_all(out / "chunks")
