"""Instance lifetimes from history: an availability trace or a log of interruptions.

A lifetime is how long one spot instance lived: from its start until it was interrupted
(``ended``), or until the record stops while it still runs (right-censored, not an
interruption).  Clock times are seconds since a midnight (UTC), so the hour of day of a
moment is ``floor(t_s / 3600) % 24`` (DESIGN.md §4, fit).
"""

from __future__ import annotations

import csv
import itertools
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from preemptsim.scenario import ScenarioError
from preemptsim.tracefile import load_trace, trace_origin, trace_path
from preemptsim.units import parse_duration

SECONDS_PER_DAY = 86400.0
TIME_COLUMNS = ("time", "instance")
LEASE_COLUMNS = ("start", "end", "instance", "preempted")


class FitError(ValueError):
    """A history file that cannot be read: one line naming the file and row."""


@dataclass(frozen=True)
class Lifetimes:
    """Lifetimes in hours with their end (True: interrupted) and clock start (seconds)."""

    source: str
    kind: str  # "trace", "interruption log" or "lease log"
    duration_h: np.ndarray
    ended: np.ndarray
    start_clock_s: np.ndarray
    first: datetime | None  # the record's first and last moments, where it has dates
    last: datetime | None
    outage_h: np.ndarray  # runs without capacity (traces only)

    @property
    def interruptions(self) -> int:
        return int(self.ended.sum())

    @property
    def exposure_h(self) -> float:
        return float(self.duration_h.sum())


def read(source: str | Path) -> Lifetimes:
    """The lifetimes in ``source``: a JSON or ``date,availability`` CSV trace (or a shipped
    trace's name), or a CSV log."""
    path = trace_path(str(source))  # a shipped trace's name (gcp-h100/us-west1-a) or a path
    if not path.is_file():
        raise FitError(f"{path}: {'not a regular file' if path.exists() else 'no such file'}")
    if path.suffix in (".json", ".gz") or _header(path) == ["date", "availability"]:
        return from_trace(path, str(source))
    return from_log(path)


def _header(path: Path) -> list[str]:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return [cell.strip().lower() for cell in next(csv.reader(handle), [])]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise FitError(f"{path}: cannot read ({exc})") from None


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and one-past-last indices of the runs of True in ``mask``."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(int), [0]])))
    return edges[::2], edges[1::2]


def from_trace(path: Path, name: str | None = None) -> Lifetimes:
    """Each run of available ticks is one lifetime (an instance started as capacity returns,
    taken by the next unavailable tick, as in the replay, DESIGN.md §1); the first run counts
    from the trace's start; a run still available at the end is censored.  ``name``: the
    source as the user named it (a shipped trace's name), else the path."""
    try:
        trace = load_trace(str(path))
    except ScenarioError as exc:
        raise FitError(str(exc).removeprefix("interruptions.path: ")) from None
    origin = trace_origin(str(path))
    ends_s = np.append(trace.starts_s[1:], trace.period_s)
    first, stop = _runs(trace.available)
    down_first, down_stop = _runs(~trace.available)
    midnight_s = 0.0 if origin is None else _seconds_after_midnight(origin)
    return Lifetimes(
        source=name or str(path),
        kind="trace",
        duration_h=(ends_s[stop - 1] - trace.starts_s[first]) / 3600.0,
        ended=stop < len(trace.starts_s),
        start_clock_s=trace.starts_s[first] + midnight_s,
        first=origin,
        last=None if origin is None else origin + timedelta(seconds=trace.period_s),
        outage_h=(ends_s[down_stop - 1] - trace.starts_s[down_first]) / 3600.0,
    )


def _seconds_after_midnight(moment: datetime) -> float:
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return (moment - midnight).total_seconds()


@dataclass(frozen=True)
class _Row:
    """A log row: an interruption at ``end_s`` (``time`` rows, no start), or a lease
    (``end_s`` NaN while it still runs)."""

    line: int
    instance: str
    start_s: float
    end_s: float
    preempted: bool


class _Clock:
    """Reads a log's times, all dates (UTC where no zone is given) or all durations."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.dates: bool | None = None
        self.origin: datetime | None = None

    def seconds(self, text: str, line: int, column: str) -> float:
        """Seconds since the first date seen (dates), or the duration itself."""
        is_date, value = self._parse(text.strip(), line, column)
        if self.dates is not None and is_date != self.dates:
            raise FitError(f"{self.path}: row {line}: {column}: mixes dates and durations")
        self.dates = is_date
        if isinstance(value, float):
            return value
        self.origin = self.origin or value
        return (value - self.origin).total_seconds()

    def _parse(self, text: str, line: int, column: str) -> tuple[bool, float | datetime]:
        try:
            return False, parse_duration(text)
        except ValueError:
            pass
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise FitError(
                f"{self.path}: row {line}: {column}: expected a date (2025-10-04T13:20:00Z) "
                f'or a duration ("5h", 3600), got {text!r}'
            ) from None
        return True, moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def from_log(path: Path) -> Lifetimes:
    """Lifetimes from a CSV log: ``time`` rows (interruptions of an instance that is
    replaced at once: the gaps between them per ``instance``), or ``start,end`` lease rows
    (an empty ``end`` still runs when the log stops: censored there; ``preempted`` = 0
    marks a lease that ended for another reason, also censored)."""
    clock = _Clock(path)
    rows = _log_rows(path, clock)
    if not rows:
        raise FitError(f"{path}: no rows after the header")
    leases = not math.isnan(rows[0].start_s)
    duration_s, ended, start_s = _from_leases(rows, path) if leases else _from_times(rows, path)
    midnight_s = 0.0 if clock.origin is None else _seconds_after_midnight(clock.origin)
    moments = [t for r in rows for t in (r.start_s, r.end_s) if not math.isnan(t)]
    return Lifetimes(
        source=str(path),
        kind="lease log" if leases else "interruption log",
        duration_h=duration_s / 3600.0,
        ended=ended,
        start_clock_s=start_s + midnight_s,
        first=None if clock.origin is None else clock.origin + timedelta(seconds=min(moments)),
        last=None if clock.origin is None else clock.origin + timedelta(seconds=max(moments)),
        outage_h=np.empty(0),
    )


def _log_rows(path: Path, clock: _Clock) -> list[_Row]:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            table = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise FitError(f"{path}: cannot read ({exc})") from None
    header = [cell.strip().lower() for cell in table[0]] if table else []
    columns = set(header)
    timed = "time" in columns and columns <= set(TIME_COLUMNS)
    leased = {"start", "end"} <= columns <= set(LEASE_COLUMNS)
    if len(columns) < len(header) or not (timed or leased):
        raise FitError(
            f"{path}: row 1: expected a header 'time[,instance]' or "
            f"'start,end[,instance][,preempted]' (or a trace), got {','.join(header)!r}"
        )
    return [
        _row(dict(zip(header, cells, strict=True)), line, path, clock)
        for line, cells in _numbered(table[1:], len(header), path)
    ]


def _numbered(body: list[list[str]], width: int, path: Path) -> list[tuple[int, list[str]]]:
    numbered = [(line, cells) for line, cells in enumerate(body, start=2) if any(cells)]
    for line, cells in numbered:
        if len(cells) != width:
            raise FitError(f"{path}: row {line}: expected {width} columns, got {len(cells)}")
    return numbered


def _row(cells: dict[str, str], line: int, path: Path, clock: _Clock) -> _Row:
    def moment(column: str, *, optional: bool = False) -> float:
        text = cells[column].strip()
        if not text and optional:
            return math.nan
        if not text:
            raise FitError(f"{path}: row {line}: {column}: missing")
        return clock.seconds(text, line, column)

    flag = cells.get("preempted", "1").strip().lower()
    if flag not in ("0", "1", "true", "false"):
        raise FitError(f"{path}: row {line}: preempted: expected 0 or 1, got {flag!r}")
    instance = cells.get("instance", "").strip()
    if "time" in cells:
        return _Row(line, instance, math.nan, moment("time"), preempted=True)
    start_s = moment("start")
    return _Row(line, instance, start_s, moment("end", optional=True), flag in ("1", "true"))


def _from_times(rows: list[_Row], path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    durations, starts = [], []
    for name in dict.fromkeys(r.instance for r in rows):
        mine = sorted((r for r in rows if r.instance == name), key=lambda r: r.end_s)
        for before, after in itertools.pairwise(mine):
            if after.end_s == before.end_s:
                raise FitError(f"{path}: row {after.line}: repeats row {before.line}'s time")
            durations.append(after.end_s - before.end_s)
            starts.append(before.end_s)
    if not durations:
        raise FitError(f"{path}: needs two interruption times of one instance, at least")
    return np.array(durations), np.ones(len(durations), dtype=bool), np.array(starts)


def _from_leases(rows: list[_Row], path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    stop_s = max(t for r in rows for t in (r.start_s, r.end_s) if not math.isnan(t))
    running = np.array([math.isnan(r.end_s) for r in rows])
    starts = np.array([r.start_s for r in rows])
    ends = np.where(running, stop_s, [r.end_s for r in rows])
    for row, start, end in zip(rows, starts, ends, strict=True):
        if end <= start:
            raise FitError(f"{path}: row {row.line}: end: must come after start")
    ended = ~running & np.array([r.preempted for r in rows])
    return ends - starts, ended, starts
