"""Result files: written atomically, and read back for plots."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from preemptsim.scenario import Scenario, ScenarioError


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Write a file through ``write(tmp_path)`` then rename it into place: never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())  # as a plain open() would: mkstemp makes it 0600
        os.replace(tmp, path)
    except OSError as exc:  # a full disk, say: the message names the file, not the temporary
        raise OSError(f"{path}: cannot write ({exc.strerror or exc})") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: Path, data: Any) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2) + "\n"))


def write_run(
    folder: Path, runs: pd.DataFrame, summary: dict[str, Any], scenario: Scenario
) -> None:
    """One scenario's replications (Parquet and CSV), its summary, and the scenario (JSON)."""
    write_atomic(folder / "runs.parquet", lambda tmp: runs.to_parquet(tmp, index=False))
    write_atomic(folder / "runs.csv", lambda tmp: runs.to_csv(tmp, index=False))
    write_json(folder / "summary.json", summary)
    write_json(folder / "scenario.json", plain_json(scenario.model_dump()))


def write_advice(
    folder: Path, advice: dict[str, Any], candidates: pd.DataFrame, scenario: Scenario
) -> None:
    """``advise --out``: the advice (JSON), every option tried (CSV), and the scenario."""
    write_json(folder / "advice.json", plain_json(advice))
    write_atomic(folder / "candidates.csv", lambda tmp: candidates.to_csv(tmp, index=False))
    write_json(folder / "scenario.json", plain_json(scenario.model_dump()))


def plain_json(value: Any) -> Any:
    """``value`` fit for strict JSON: NaN as null, an infinite interval as "never"."""
    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_json(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else "never"
    if value is pd.NA:
        return None
    return value


class ResultsError(ScenarioError):
    """A results folder or file that cannot be read: bad input, exit code 2."""


def _read(path: Path, reader: Callable[[Path], Any]) -> Any:
    try:
        return reader(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ResultsError(f"{path}: unreadable ({reason})") from None


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _object(value: Any, source: Path) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ResultsError(f"{source}: expected a JSON object, got {type(value).__name__}")
    return value


def read_results(path: Path) -> dict[str, Any]:
    """What `preemptsim plot` draws from: a timeline CSV, or a sweep's or a run's --out.

    Tables by name (summary, runs, optimum, spans), the deadline in hours, and for a run
    the on-demand wall time."""
    if path.is_file() and path.suffix.lower() == ".csv":
        return {"spans": _read(path, pd.read_csv)}
    if not path.is_dir():
        what = "not" if path.exists() else "no such"
        raise ResultsError(f"{path}: {what} results folder or timeline CSV (run or sweep --out)")
    names = {"summary": "summary.csv", "runs": "runs.parquet", "optimum": "optimum.json"}
    readers = {"summary": pd.read_csv, "runs": pd.read_parquet, "optimum": _json}
    tables = {k: _read(path / f, readers[k]) for k, f in names.items() if (path / f).is_file()}
    if "summary" not in tables and "runs" not in tables:
        raise ResultsError(f"{path}: no summary.csv or runs.parquet: not a sweep's or run's --out")
    described = [path / "manifest.json", path / "scenario.json"]
    source = next((f for f in described if f.is_file()), None)
    if source is not None:
        described_by = _read(source, _json)
        scenario = _object(described_by, source).get("scenario", described_by)  # a manifest
        policy = _object(_object(scenario, source).get("policy", {}), source)
        deadline = policy.get("deadline")
        tables["deadline_h"] = deadline / 3600 if isinstance(deadline, int | float) else None
        if "summary" in tables and "policy.kind" not in tables["summary"]:
            tables["summary"]["policy.kind"] = policy.get("kind", "spot")
    if (path / "summary.json").is_file():
        wall = _read(path / "summary.json", lambda p: float(_json(p)["on_demand"]["wall_h"]))
        tables["on_demand_wall_h"] = wall
    return tables
