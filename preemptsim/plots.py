"""Figures from result tables (DESIGN.md §3–4): the pictures people decide from.

Each function takes a table and an optional Axes, draws on it and returns it; none calls
``plt.show()`` (SALib's convention).  Tables are those of ``sweep`` (summary.csv,
runs.parquet) and ``simulate`` (runs, and ``timeline`` spans, which gantt.py draws); a
sweep's varied keys are its dotted columns (``checkpoint.interval``, ``policy.kind`` …).
A dotted column with one value gives context (the policy, the deadline) without making a
series.  The deadline-risk figures (``risk``, ``miss_vs_deadline``, advise's ``pareto``)
live in riskplot.py and are imported here.  ``figure`` lays a whole figure out for
``preemptsim plot``, on a bare ``Figure`` (no pyplot, no display).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from preemptsim.gantt import timeline
from preemptsim.intervalplot import interval
from preemptsim.plotbase import (
    DEADLINE_LINE,
    ON_DEMAND_LINE,
    Optimum,
    PlotError,
    distinct,
    duration_text,
    group_rows,
    need_columns,
    new_axes,
    optima,
    point_label,
    tab_colours,
    varied,
)
from preemptsim.riskplot import miss_vs_deadline, pareto, pareto_front, risk

__all__ = [
    "KINDS", "MAX_CDF_LINES", "applicable", "cdf", "figure", "interval", "miss_vs_deadline",
    "pareto", "pareto_front", "risk",
]  # fmt: skip
KINDS = ("interval", "risk", "cdf", "timeline")
MAX_CDF_LINES = 10


# --- completion time -------------------------------------------------------------------


def cdf(
    runs: pd.DataFrame,
    *,
    ax: Axes | None = None,
    on_demand_wall_h: float | Sequence[float] | None = None,
    deadline_h: float | None = None,
    by: Sequence[str] | str | None = None,
    optimum: Optimum | None = None,
) -> Axes:
    """Share of runs finished by each wall time, one step line per grid point (or per value
    of the ``by`` columns; at most 10, evenly chosen, and the point of ``optimum`` drawn
    thick, sweep's optimum.json), against each distinct on-demand time and the deadline
    (named in the title).  A long tail is cut at the slowest line's 99th percentile, and
    says so."""
    need_columns(runs, ["wall_h"], "the completion-time plot")
    keys = [by] if isinstance(by, str) else list(by) if by is not None else varied(runs)
    groups = list(group_rows(runs, keys))
    best = _optimum_group(groups, keys, optima(optimum))
    chosen = {round(i) for i in np.linspace(0, len(groups) - 1, MAX_CDF_LINES)}
    shown = sorted(chosen | ({best} if best is not None else set()))
    ax = new_axes(ax)
    ramp = len(keys) == 1 and pd.api.types.is_numeric_dtype(runs[keys[0]]) and len(shown) > 3
    colours = _ramp(len(shown)) if ramp else tab_colours(len(shown))
    for colour, index in zip(colours, shown, strict=True):
        values, rows = groups[index]
        wall = np.sort(rows["wall_h"].to_numpy(float))
        share = np.arange(1, len(wall) + 1) / len(wall)
        name = point_label(values) if keys else f"simulated runs ({len(wall)})"
        width, name = (3.2, f"{name} (the optimum)") if index == best else (1.6, name)
        ax.step(wall, 100 * share, where="post", color=colour, lw=width, label=name)
    marks = _cdf_marks(ax, on_demand_wall_h, deadline_h)
    cut = _cdf_xlim(ax, [groups[i][1]["wall_h"] for i in shown], marks)
    ax.yaxis.set_major_formatter(PercentFormatter())
    ax.set_ylim(0, 102)
    ax.set_xlabel("wall time to finish the job (h)" + cut)
    ax.set_ylabel("share of runs finished")
    note = f" ({len(shown)} of {len(groups)} grid points)" if len(shown) < len(groups) else ""
    each = " each" if len(shown) > 1 else ""
    due = ""
    if deadline_h is not None and math.isfinite(deadline_h):
        due = f", deadline {duration_text(deadline_h * 3600)}"
    ax.set_title(f"When will it finish? Completion time over {len(wall)} runs{each}{note}{due}")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small", loc="lower right")
    return ax


def _optimum_group(
    groups: list[tuple[dict[str, Any], pd.DataFrame]],
    keys: list[str],
    optima: list[Mapping[str, Any]],
) -> int | None:
    """The index of the group that is an optimum's point (all its keys, and every other key
    of the point the rows hold, equal), if any."""
    for point in (o.get("point") or {} for o in optima):
        if not keys or not set(keys) <= set(point):
            continue
        for index, (_, rows) in enumerate(groups):
            held = [k for k in point if k in rows.columns]
            if all(_same(rows[k].iloc[0], point[k]) for k in held):
                return index
    return None


def _same(value: Any, wanted: Any) -> bool:
    if isinstance(value, str) or isinstance(wanted, str):
        return str(value) == str(wanted)
    return bool(np.isclose(float(value), float(wanted)))


def _cdf_marks(
    ax: Axes, on_demand_wall_h: float | Sequence[float] | None, deadline_h: float | None
) -> list[float]:
    """Lines at each distinct on-demand time and the deadline; their times, deadline last."""
    given = [] if on_demand_wall_h is None else on_demand_wall_h
    walls = distinct([given] if isinstance(given, int | float) else given)
    marks = [w for w in walls if math.isfinite(w)]
    for wall in marks:
        label = f"on-demand, never interrupted: {wall:.1f} h"
        ax.axvline(wall, label=label, **ON_DEMAND_LINE)
    if deadline_h is not None and math.isfinite(deadline_h):
        ax.axvline(deadline_h, label=f"deadline: {deadline_h:.4g} h", **DEADLINE_LINE)
        marks.append(deadline_h)
    return marks


def _cdf_xlim(ax: Axes, walls: list[pd.Series], marks: list[float]) -> str:
    """Cut a long tail at the slowest line's 99th percentile; the note for the axis label."""
    longest = max(float(w.max()) for w in walls)
    p99 = max([float(np.percentile(w, 99)) for w in walls] + marks)
    shortest = min([float(w.min()) for w in walls] + marks)
    if longest <= shortest + 1.25 * (p99 - shortest):
        return ""
    ax.set_xlim(shortest - 0.03 * (p99 - shortest), p99 + 0.05 * (p99 - shortest))
    return f"; axis cut at the 99th percentile, the slowest run took {longest:.1f} h"


def _ramp(count: int) -> list[Any]:
    from matplotlib import colormaps

    return [colormaps["viridis"](x) for x in np.linspace(0.0, 0.9, count)]


# --- whole figures for `preemptsim plot` -------------------------------------------------


def applicable(summary: pd.DataFrame | None, runs: pd.DataFrame | None) -> list[str]:
    """The kinds of figure a sweep's or run's results can give, in KINDS order."""
    kinds = []
    if summary is not None and "checkpoint.interval" in summary.columns:
        finite = summary["checkpoint.interval"].astype(float)
        if finite[np.isfinite(finite)].nunique() >= 2:
            kinds.append("interval")
    miss = summary.get("deadline_miss_prob") if summary is not None else None
    if miss is not None and miss.notna().any():
        kinds.append("risk")
    if runs is not None:
        kinds.append("cdf")
    return kinds


def figure(
    kind: str,
    *,
    summary: pd.DataFrame | None = None,
    runs: pd.DataFrame | None = None,
    optimum: Optimum | None = None,
    spans: pd.DataFrame | None = None,
    deadline_h: float | None = None,
    on_demand_wall_h: float | None = None,
) -> Figure:
    """A whole figure of ``kind`` (KINDS) from the tables given; PlotError when they lack it.

    risk: a second panel, miss probability against the deadline, where the deadline varies.
    """
    need = {"interval": summary, "risk": summary, "cdf": runs, "timeline": spans}
    if kind not in need:
        raise PlotError(f"--kind must be one of {', '.join(KINDS)}, got {kind!r}")
    table = need[kind]
    if table is None:
        source = "a timeline CSV (run --timeline)" if kind == "timeline" else "a sweep's folder"
        raise PlotError(f"the {kind} plot needs {source if kind != 'cdf' else 'runs.parquet'}")
    panels = kind == "risk" and "policy.deadline" in varied(table)
    size = (12.0, 3.6) if kind == "timeline" else (15.0, 6.0) if panels else (9.5, 6.5)
    fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(1, 2 if panels else 1, squeeze=False)[0]
    if kind == "interval":
        interval(table, ax=axes[0], optimum=optimum)
    elif kind == "risk":
        risk(table, ax=axes[0], deadline_h=deadline_h)
        if panels:
            miss_vs_deadline(table, ax=axes[1])
    elif kind == "cdf":
        walls = summary.get("on_demand_wall_h") if summary is not None else None
        table, deadline_h = _one_deadline(table, deadline_h, optima(optimum))
        given = walls if on_demand_wall_h is None else on_demand_wall_h
        cdf(table, ax=axes[0], on_demand_wall_h=given, deadline_h=deadline_h, optimum=optimum)
    else:
        timeline(table, ax=axes[0], deadline_h=deadline_h)
    return fig


def _one_deadline(
    runs: pd.DataFrame, deadline_h: float | None, optima: list[Mapping[str, Any]]
) -> tuple[pd.DataFrame, float | None]:
    """A sweep over deadlines has one CDF per deadline: the deadline of the one optimum
    where optimum.json has one across the deadlines, else the scenario's own deadline where
    the grid has it, else the middle one of the grid."""
    if "policy.deadline" not in varied(runs):
        return runs, deadline_h
    values = sorted(runs["policy.deadline"].unique())
    points = [o.get("point") or {} for o in optima]
    at = [float(p["policy.deadline"]) for p in points if "policy.deadline" in p]
    chosen = deadline_h * 3600 if deadline_h is not None else math.nan
    if len(at) == 1:
        chosen = at[0]
    elif not any(math.isclose(chosen, v) for v in values):
        chosen = values[len(values) // 2]
    keep = np.isclose(runs["policy.deadline"].astype(float), chosen)
    return runs[keep], float(chosen) / 3600
