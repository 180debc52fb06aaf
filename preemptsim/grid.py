"""The sweep's grid (DESIGN.md §4): ``--vary`` values, grid points, tasks, points for a person.

Values are parsed once (lists, ``lin``/``log`` ranges, words), then checked against a
scenario and held in canonical units (seconds for durations).  A grid point's replications
go out as tasks of at most ``chunk_reps`` replications.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from preemptsim.errors import quoted
from preemptsim.scenario import Scenario, ScenarioError
from preemptsim.tracefile import expand, zone_name
from preemptsim.units import format_duration, parse_duration, parse_size_gb

PATH_KEYS = ("interruptions.path",)  # keys whose values are files: a glob lists them
MAX_POINTS = 10_000  # grid points of one sweep (and values of one key)
_RANGE = re.compile(r"(?P<start>[^:]+):(?P<end>[^:]+):(?P<kind>lin|log)(?P<count>[-+]?\d+)")


class SweepError(ScenarioError):
    """Bad sweep input (values, a range, --out, --resume): exit code 2."""


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


def parse_values(key: str, text: str) -> list[Any]:
    """The values of ``--vary KEY=VALUES``.

    ``5min,10min,1h`` (a list), ``5min:4h:log20`` (20 values evenly spaced in log),
    ``24h:48h:lin13`` (13 evenly spaced), or words (``spot,greedy``).  Range ends are
    numbers, durations (to seconds) or sizes (to GB).  A file key (``interruptions.path``)
    also takes a glob, ``traces/*.json``: the files it matches, in sorted order (where no
    file does, the shipped traces it names: ``gcp-h100/*``).  Values
    are checked against a scenario by ``grid_points``.
    """
    text = text.strip()
    if key in PATH_KEYS and any(mark in text for mark in "*?["):
        return _files(key, text)
    if ":" in text:
        return _range(key, text)
    items = [item.strip() for item in text.split(",")]
    if not text:
        raise SweepError(
            f"{key}: no values; expected VALUES such as 5min,10min,1h or 5min:4h:log20"
        )
    if not all(items):
        raise SweepError(f"{key}: empty value in {text!r}; expected VALUES such as 5min,10min,1h")
    if len(items) > MAX_POINTS:
        raise SweepError(f"{key}: {len(items)} values; at most {MAX_POINTS}")
    return [_scalar(item) for item in items]


def _files(key: str, pattern: str) -> list[Any]:
    if not (found := expand(pattern)):
        raise SweepError(f"{key}: no file matches {quoted(pattern)}")
    return found


def _range(key: str, text: str) -> list[Any]:
    match = _RANGE.fullmatch(text)
    if match is None:
        raise SweepError(f"{key}: bad range {text!r}; expected START:END:linN or START:END:logN")
    start, end, count = (
        _number(key, match["start"]),
        _number(key, match["end"]),
        int(match["count"]),
    )
    if count > MAX_POINTS:
        raise SweepError(f"{key}: {count} values in {quoted(text)}; at most {MAX_POINTS}")
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
    count = math.prod(len(values) for values in grid.values())
    if count > MAX_POINTS:
        raise SweepError(f"the grid has {count} points; at most {MAX_POINTS} in one sweep")
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
    seen: set[Any] = set()  # a linear check for repeats (1 == 1.0 == True, as with lists)
    for value in values:
        found = scenario.with_values({key: value}).value(key)
        if isinstance(found, dict | list):
            raise SweepError(f"{key}: sweep values must be single values, got {quoted(value)}")
        if found in seen:
            raise SweepError(f"{key}: {quoted(value)} repeats an earlier value")
        seen.add(found)
        canonical.append(found)
    return canonical


def plan(points: int, reps: int, chunk_reps: int) -> list[Task]:
    """Tasks of at most ``chunk_reps`` replications, sorted by point then replication."""
    return [
        Task(p, first, min(chunk_reps, reps - first))
        for p in range(points)
        for first in range(0, reps, chunk_reps)
    ]


def describe_point(values: Mapping[str, Any], scenario: Scenario | None = None) -> str:
    """A grid point for a person: "checkpoint.interval=30min, policy.kind=greedy"."""
    return ", ".join(f"{key}={show_value(value, key, scenario)}" for key, value in values.items())


def show_value(value: Any, key: str, scenario: Scenario | None) -> str:
    """A value of a varied key for a person: durations as "30min", numbers to 4 digits,
    trace files by zone."""
    if key in PATH_KEYS:
        return zone_name(str(value))
    if isinstance(value, float) and scenario is not None and _is_duration(scenario, key):
        return format_duration(value)
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _is_duration(scenario: Scenario, key: str) -> bool:
    try:
        return bool(scenario.with_values({key: "1min"}).value(key) == 60.0)
    except ScenarioError:
        return False
