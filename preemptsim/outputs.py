"""Result files: written atomically (a file, or a folder of them), and read back for plots."""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from preemptsim.scenario import Scenario, ScenarioError


def write_atomic(path: Path, write: Callable[[Path], object], shown: Path | None = None) -> None:
    """Write a file through ``write(tmp_path)`` then rename it into place: never half a file.
    An OSError (a full disk) names ``shown`` (default ``path``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        with naming(shown or path):  # the message names the file, not the temporary
            write(Path(tmp))
            os.chmod(tmp, 0o666 & ~_umask())  # as a plain open() would: mkstemp makes it 0600
            os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextmanager
def naming(path: Path) -> Iterator[None]:
    """An OSError inside (a full disk, say) is re-raised as "PATH: cannot write (why)",
    naming ``path``, the file written."""
    try:
        yield
    except OSError as exc:
        named = OSError(f"{path}: cannot write ({exc.strerror or exc})")
        named.errno = exc.errno
        raise named from None


@contextmanager
def staged(out: Path) -> Iterator[Path]:
    """A temporary folder beside ``out`` to write results into.  When the block ends well its
    files move into ``out`` (created if need be, replacing files of the same names); when it
    fails, the folder goes: a result folder is never half written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # as mkdir would: mkdtemp makes it 0700
        if out.is_dir():
            for path in tmp.iterdir():
                os.replace(path, out / path.name)
            tmp.rmdir()
        else:
            os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: Path, data: Any, shown: Path | None = None) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2) + "\n"), shown)


class RunsWriter:
    """``runs.parquet`` (a row group a chunk) and ``runs.csv`` in ``folder``, written as the
    replications come; an OSError names the file as ``shown`` (the folder the user named)."""

    def __init__(self, folder: Path, shown: Path) -> None:
        self.folder, self.shown = folder, shown
        self._parquet: Any = None
        self._csv: Any = None

    def add(self, runs: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        with naming(self.shown / "runs.parquet"):
            table = pa.Table.from_pandas(runs, preserve_index=False)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.folder / "runs.parquet", table.schema)
            self._parquet.write_table(table)
        with naming(self.shown / "runs.csv"):
            first = self._csv is None
            if first:
                self._csv = (self.folder / "runs.csv").open("w", encoding="utf-8", newline="")
            runs.to_csv(self._csv, header=first, index=False)

    def __enter__(self) -> RunsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with naming(self.shown / "runs.parquet"):
            if self._parquet is not None:
                self._parquet.close()
        with naming(self.shown / "runs.csv"):
            if self._csv is not None:
                self._csv.close()


def write_run_summary(
    folder: Path, summary: dict[str, Any], scenario: Scenario, shown: Path
) -> None:
    """A run's summary and scenario (JSON), beside its RunsWriter's tables."""
    write_json(folder / "summary.json", summary, shown / "summary.json")
    write_json(folder / "scenario.json", plain_json(scenario.model_dump()), shown / "scenario.json")


def write_advice(
    folder: Path,
    advice: dict[str, Any],
    candidates: pd.DataFrame,
    scenario: Scenario,
    shown: Path | None = None,
) -> None:
    """``advise --out``: the advice (JSON), every option tried (CSV), and the scenario; an
    OSError names the file in ``shown`` (default ``folder``)."""
    shown = shown or folder
    write_json(folder / "advice.json", plain_json(advice), shown / "advice.json")
    write_atomic(folder / "candidates.csv", lambda tmp: candidates.to_csv(tmp, index=False),
                 shown / "candidates.csv")  # fmt: skip
    write_json(folder / "scenario.json", plain_json(scenario.model_dump()), shown / "scenario.json")


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
