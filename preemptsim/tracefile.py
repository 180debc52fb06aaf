"""Availability trace files (DESIGN.md §2, traces): read, checked value by value, cached.

Two formats, as in preemptsim/traces/README.md.  JSON: ``metadata.gap_seconds`` and
``data`` with 1 = preempted (optional ``prices``, spot USD/h per tick).  CSV:
``date,availability`` rows with 1 = available, irregular ticks honoured; the last tick
lasts the median gap.  The format decides the convention.  Either may be gzip-compressed
(``.json.gz``); a shipped trace is named ``SET/ZONE`` (shipped.py).
"""

from __future__ import annotations

import csv
import functools
import glob
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from preemptsim import inputs, shipped
from preemptsim.errors import quoted
from preemptsim.interruptions import Trace
from preemptsim.scenario import Interruptions, ScenarioError

KEY = "interruptions.path"


class _TraceError(ScenarioError):
    pass


def trace_path(path: str) -> Path:
    """The file of a trace path: a shipped trace's name (``gcp-h100/us-west1-a``) or a path."""
    return shipped.trace_file(path) or Path(path)


def _is_json(file: Path) -> bool:
    return file.name.removesuffix(".gz").endswith(".json")


def zone_name(path: str | Path) -> str:
    """The zone a trace file stands for, where its metadata names none: the file's name up
    to its first dot (``traces/us-west1-a.json.gz`` → ``us-west1-a``)."""
    return Path(path).name.split(".", 1)[0]


def trace_paths(spec: Interruptions) -> list[str]:
    """The traces a trace scenario replays, one a zone: ``path``, the ``paths`` list, or
    what the ``paths`` glob matches — files, else shipped traces' names —, sorted; [] for
    other models."""
    if spec.model != "trace":
        return []
    if spec.path is not None:
        return [spec.path]
    if isinstance(spec.paths, list):
        return spec.paths
    pattern = spec.paths or ""
    if not (matches := expand(pattern)):
        raise ScenarioError(f"interruptions.paths: no trace file matches {quoted(pattern)}")
    return matches


def expand(pattern: str) -> list[str]:
    """The trace files a glob matches, sorted; where no file does, the shipped traces'
    names it matches (``gcp-h100/*``)."""
    return sorted(glob.glob(pattern)) or shipped.matching_traces(pattern)


def load_traces(spec: Interruptions) -> tuple[Trace, ...]:
    """The traces of a trace scenario's zones, in order (DESIGN.md §1, Many zones)."""
    key = KEY if spec.path is not None else "interruptions.paths"
    return tuple(load_trace(path, key) for path in trace_paths(spec))


def _read(path: str, key: str) -> tuple[Path, str]:
    file = trace_path(path)
    try:
        text = inputs.read_text(file, "trace file", _TraceError)
    except _TraceError as exc:
        hint = "; shipped traces are named SET/ZONE, e.g. gcp-h100/us-west1-a"
        raise ScenarioError(f"{key}: {exc}{hint if not file.exists() else ''}") from None
    return file, text


@functools.lru_cache(maxsize=64)
def load_trace(path: str, key: str = KEY) -> Trace:
    """The trace at ``path`` (a file or a shipped name), every tick and price checked;
    errors name ``key``."""
    file, text = _read(path, key)
    try:
        if not text.strip():
            raise ValueError("the trace is empty")
        starts_s, available, period_s, prices, zone = (
            _json_trace(text, file) if _is_json(file) else (*_csv_trace(text), "")
        )
        if not available.any():
            raise ValueError("no tick is available: spot capacity is never there")
    except _TraceError as exc:
        raise ScenarioError(f"{key}: {exc}") from None
    except ValueError as exc:
        raise ScenarioError(f"{key}: {file}: {exc}") from None
    return Trace.of(starts_s, available, period_s, prices, zone or zone_name(file))


def _ticks(values: Any, file_kind: str) -> np.ndarray:
    if not isinstance(values, list) or not values:
        raise ValueError(f"{file_kind}: expected a non-empty list of ticks (0 or 1)")
    for i, v in enumerate(values):
        if type(v) not in (int, float) or v not in (0, 1):
            raise ValueError(f"{file_kind}[{i}]: must be 0 or 1, got {quoted(v, 40)}")
    return np.asarray(values, dtype=int)


def _finite(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def _prices(values: Any, ticks: int) -> np.ndarray | None:
    if values is None or values == []:
        return None
    if not isinstance(values, list) or len(values) != ticks:
        raise ValueError("'prices' must be a list with one value per tick")
    for i, v in enumerate(values):
        if not (_finite(v) and v >= 0):
            raise ValueError(
                f"prices[{i}]: must be a non-negative USD/h price, got {quoted(v, 40)}"
            )
    return np.asarray(values, dtype=float)


def _json_trace(
    text: str, file: Path
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray | None, str]:
    doc = inputs.parse(text, file, "trace file", _TraceError)
    if not isinstance(doc, dict) or "data" not in doc or not isinstance(doc.get("metadata"), dict):
        raise ValueError("not a trace: expected JSON with 'metadata' and 'data'")
    preempted = _ticks(doc["data"], "data")
    gap_s = doc["metadata"].get("gap_seconds")
    if not (_finite(gap_s) and gap_s > 0):
        raise ValueError(
            f"metadata.gap_seconds: must be a positive number, got {quoted(gap_s, 40)}"
        )
    prices = _prices(doc.get("prices"), len(preempted))
    zone = doc["metadata"].get("zone")
    zone = zone if isinstance(zone, str) else ""
    starts_s = np.arange(len(preempted)) * float(gap_s)
    return starts_s, preempted == 0, len(preempted) * gap_s, prices, zone


def _utc_timestamp(text: str) -> float:
    """Seconds since the epoch of an ISO time; one without a zone is UTC, never the
    machine's local time (whose daylight-saving jumps would reorder the ticks)."""
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _csv_trace(text: str) -> tuple[np.ndarray, np.ndarray, float, None]:
    rows = list(csv.reader(text.splitlines()))
    if not rows or [c.strip() for c in rows[0]] != ["date", "availability"]:
        raise ValueError("not a trace: expected JSON, or CSV with header 'date,availability'")
    body = [(line, row) for line, row in enumerate(rows[1:], start=2) if row]
    for line, row in body:
        if len(row) != 2:
            raise ValueError(
                f"line {line}: expected DATE,AVAILABILITY, got {quoted(','.join(row))}"
            )
        if row[1].strip() not in ("0", "1"):
            raise ValueError(f"line {line}: availability must be 0 or 1, got {quoted(row[1], 40)}")
    available = _ticks([int(row[1]) for _, row in body], "availability")
    times = np.array([_utc_timestamp(row[0].strip()) for _, row in body])
    starts_s = times - times[0]
    if len(starts_s) > 1 and np.any(np.diff(starts_s) <= 0):
        raise ValueError("timestamps must increase")
    last_s = float(np.median(np.diff(starts_s))) if len(starts_s) > 1 else 1.0
    return starts_s, available == 1, float(starts_s[-1] + last_s), None


def trace_origin(path: str) -> datetime | None:
    """When a trace's first tick starts, in UTC (JSON ``metadata.start_time``; a CSV's first
    date), for what needs the clock (hour-of-day fits).  A date without a zone is UTC."""
    file, text = _read(path, KEY)
    try:
        if _is_json(file):
            stamp = inputs.parse(text, file, "trace file", ScenarioError)["metadata"]
            stamp = stamp.get("start_time")
        else:
            stamp = next(row[0] for row in list(csv.reader(text.splitlines()))[1:] if row)
        moment = datetime.fromisoformat(stamp)
    except (ValueError, KeyError, TypeError, StopIteration, AttributeError):
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
