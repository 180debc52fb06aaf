"""Figures from result tables (DESIGN.md §3–4): the pictures people decide from.

Each function takes a table and an optional Axes, draws on it and returns it; none calls
``plt.show()`` (SALib's convention).  Tables are those of ``sweep`` (summary.csv,
runs.parquet) and ``simulate`` (runs, and ``timeline`` spans, which gantt.py draws); a
sweep's varied keys are its dotted columns (``checkpoint.interval``, ``policy.kind`` …).
A dotted column with one value gives context (the policy, the deadline) without making a
series.  ``figure`` lays a whole figure out for ``preemptsim plot``, on a bare ``Figure``
(no pyplot, no display).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullLocator, PercentFormatter

from preemptsim.gantt import timeline
from preemptsim.plotbase import (
    INTERRUPTION_COLOUR,
    PlotError,
    duration_text,
    group_rows,
    legend_below,
    need_columns,
    new_axes,
    point_label,
    tab_colour,
    tab_colours,
    value_text,
    varied,
)
from preemptsim.units import format_duration

KINDS = ("interval", "risk", "cdf", "timeline")
MAX_CDF_LINES = 10
ON_DEMAND_LINE: dict[str, Any] = {"color": "black", "ls": "--", "lw": 1.2}
DEADLINE_LINE: dict[str, Any] = {"color": INTERRUPTION_COLOUR, "ls": ":", "lw": 1.6}
LABEL_TEXT: dict[str, Any] = {
    "textcoords": "offset points",
    "xytext": (7, 5),
    "fontsize": "x-small",
}
_NICE_MINUTES = (1, 2, 5, 10, 30, 60, 120, 240, 480, 1440, 2880, 5760)


# --- cost against checkpoint interval --------------------------------------------------


def interval(
    summary: pd.DataFrame, *, ax: Axes | None = None, optimum: Mapping[str, Any] | None = None
) -> Axes:
    """Mean cost (95% band) against the checkpoint interval on a log axis, mean wall time on
    a twin axis, the on-demand cost, the simulated optimum, and where ``optimum`` (sweep's
    optimum.json) gives them, Young's, Daly's and the exact interval (REFERENCES.md §1)."""
    key = "checkpoint.interval"
    need_columns(summary, [key, "cost_usd_mean", "wall_h_mean"], "the interval plot")
    data = summary[np.isfinite(summary[key].astype(float))].sort_values(key, kind="stable")
    if data[key].nunique() < 2:
        raise PlotError("the interval plot needs a sweep over at least two checkpoint.interval")
    ax = new_axes(ax)
    twin = ax.twinx()
    handles: list[Any] = []
    for colour, (values, rows) in zip(
        tab_colours(10), group_rows(data, varied(data, [key])), strict=False
    ):
        handles += _interval_series(ax, twin, rows, colour, point_label(values))
    handles += _on_demand_cost(ax, data)
    handles += _theory_lines(ax, optimum or {})
    _minutes_axis(ax, data[key].to_numpy(float) / 60.0)
    ax.set_xlabel("checkpoint interval: useful work between checkpoints (log scale)")
    ax.set_ylabel("mean cost per run (USD), 95% band")
    twin.set_ylabel("mean wall time (h), dotted")
    ax.set_title("Cost against checkpoint interval")
    ax.grid(True, which="major", alpha=0.3)
    legend_below(ax, handles)
    return ax


def _interval_series(ax: Axes, twin: Axes, rows: pd.DataFrame, colour: Any, name: str) -> list[Any]:
    minutes = rows["checkpoint.interval"].to_numpy(float) / 60.0
    prefix = f"{name}: " if name else ""
    if {"cost_usd_ci95_low", "cost_usd_ci95_high"} <= set(rows.columns):
        low, high = rows["cost_usd_ci95_low"], rows["cost_usd_ci95_high"]
        ax.fill_between(minutes, low, high, color=colour, alpha=0.2, linewidth=0)
    (cost,) = ax.plot(
        minutes, rows["cost_usd_mean"], "o-", color=colour, ms=4, label=f"{prefix}mean cost, spot"
    )
    label = f"{prefix}mean wall time (right axis)"
    (wall,) = twin.plot(minutes, rows["wall_h_mean"], ":", color=colour, lw=1.5, label=label)
    best = int(np.argmin(rows["cost_usd_mean"].to_numpy()))
    best_cost = float(rows["cost_usd_mean"].iloc[best])
    text = f"simulated optimum: {format_duration(minutes[best] * 60)}, ${best_cost:,.2f}"
    (star,) = ax.plot(minutes[best], best_cost, "*", color="crimson", ms=14, zorder=5, label=text)
    return [cost, wall, star]


def _on_demand_cost(ax: Axes, data: pd.DataFrame) -> list[Any]:
    if "on_demand_cost_usd" not in data.columns:
        return []
    costs = data["on_demand_cost_usd"]
    if costs.nunique() == 1:
        label = f"on-demand, never interrupted: ${costs.iloc[0]:,.2f}"
        return [ax.axhline(costs.iloc[0], label=label, **ON_DEMAND_LINE)]
    minutes = data["checkpoint.interval"].to_numpy(float) / 60.0
    label = "on-demand, never interrupted (same checkpoints)"
    return ax.plot(minutes, costs, label=label, **ON_DEMAND_LINE)


def _theory_lines(ax: Axes, optimum: Mapping[str, Any]) -> list[Any]:
    """Vertical lines at the closed-form intervals of optimum.json, where given."""
    lines = []
    for key, name, style, colour in (
        ("young_s", "Young √(2CM)", ":", "tab:purple"),
        ("daly_s", "Daly (2006)", "--", "tab:green"),
        ("exact_s", "exact optimum, Poisson (Lambert W)", "-", "0.25"),
    ):
        seconds = optimum.get(key)
        if isinstance(seconds, int | float) and math.isfinite(seconds):
            line = ax.axvline(seconds / 60.0, color=colour, ls=style, lw=1.2)
            line.set_label(f"{name}: {format_duration(seconds)}")
            lines.append(line)
    return lines


def _minutes_axis(ax: Axes, minutes: np.ndarray) -> None:
    """A log axis in minutes, ticks at round durations labelled "5min", "1h"."""
    ax.set_xscale("log")
    low, high = float(minutes.min()), float(minutes.max())
    ax.set_xlim(low / 1.15, high * 1.15)
    ticks = [m for m in _NICE_MINUTES if low / 1.15 <= m <= high * 1.15]
    if len(ticks) > 10:
        ticks = ticks[:: math.ceil(len(ticks) / 10)]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([format_duration(m * 60.0) for m in ticks])


# --- deadline risk ---------------------------------------------------------------------


def _series_keys(summary: pd.DataFrame) -> list[str]:
    """One series per policy, and per interval where something else (a deadline) varies
    along it; a sweep over intervals alone is one series along the intervals."""
    keys = varied(summary)
    series: list[str] = [k for k in ("policy.kind", "checkpoint.interval") if k in keys]
    if len(series) == len(keys) and "checkpoint.interval" in series:
        series.remove("checkpoint.interval")
    return series


def _deadline_h(summary: pd.DataFrame, deadline_h: float | None) -> pd.Series:
    if "policy.deadline" in summary.columns:
        return summary["policy.deadline"].astype(float) / 3600.0
    return pd.Series(np.inf if deadline_h is None else deadline_h, index=summary.index)


def risk(summary: pd.DataFrame, *, ax: Axes | None = None, deadline_h: float | None = None) -> Axes:
    """Mean cost against deadline miss probability, one series per policy (and interval)
    over the grid's other keys, on-demand as the zero-risk point (where it meets the
    deadline: ``policy.deadline`` column or ``deadline_h``), and the Pareto frontier."""
    need_columns(summary, ["cost_usd_mean", "deadline_miss_prob"], "the risk plot")
    data = summary.dropna(subset=["deadline_miss_prob"])
    if data.empty:
        raise PlotError("the risk plot needs a deadline: set policy.deadline")
    ax = new_axes(ax)
    series = _series_keys(data)
    rest = varied(data, series)
    handles: list[Any] = []
    for i, (values, rows) in enumerate(group_rows(data, series)):
        rows = rows.sort_values(rest, kind="stable") if rest else rows
        name = point_label(values) or point_label({"policy.kind": _policy(rows)})
        handles.append(
            _series_line(ax, i, 100 * rows["deadline_miss_prob"], rows["cost_usd_mean"], name)
        )
    miss, cost = _with_on_demand(ax, data, deadline_h, handles)
    if len(rest) == 1 and len(data) <= 40:
        _annotate(ax, data, rest[0])
    front = pareto(miss, cost)
    label = "Pareto frontier (ringed): nothing is both cheaper and safer"
    ring: dict[str, Any] = {"color": "0.3", "lw": 1, "ms": 17, "mfc": "none", "zorder": 1}
    handles += ax.plot(miss[front], cost[front], "--o", label=label, **ring)
    ax.xaxis.set_major_formatter(PercentFormatter())
    right = max(10.0, 1.08 * float(miss.max()))
    ax.set_xlim(-0.04 * right, right)
    ax.set_xlabel("probability of missing the deadline (share of runs)")
    ax.set_ylabel("mean cost per run (USD)")
    ax.set_title(f"Cost against deadline risk{_deadline_note(data, deadline_h)}")
    ax.grid(True, alpha=0.3)
    legend_below(ax, handles)
    return ax


_MARKERS = "osD^vP*Xh<>"


def _series_line(ax: Axes, i: int, x: Any, y: Any, name: str) -> Any:
    """Series i: its own colour and marker, markers shrinking so coinciding points all show."""
    marker, size = _MARKERS[i % len(_MARKERS)], max(4.0, 10.0 - 1.5 * i)
    style: dict[str, Any] = {"color": tab_colour(i), "lw": 1, "zorder": 3 + i, "label": name}
    (line,) = ax.plot(x, y, "-", marker=marker, ms=size, **style)
    return line


def _annotate(ax: Axes, data: pd.DataFrame, key: str) -> None:
    """Label each point with its value of ``key`` (e.g. "80h"), except where points coincide
    or crowd: a label within 4% of the axes' span of an earlier one is left out."""
    x = 100 * data["deadline_miss_prob"].to_numpy(float)
    y = data["cost_usd_mean"].to_numpy(float)
    ambiguous = pd.DataFrame({"x": x, "y": y}).duplicated(keep=False).to_numpy()
    scale = np.array([max(np.ptp(x), 10.0), max(np.ptp(y), 1e-9)])
    placed: list[np.ndarray] = []
    for xi, yi, value, same in zip(x, y, data[key], ambiguous, strict=True):
        here = np.array([xi, yi]) / scale
        if same or any(np.hypot(*(here - p)) < 0.04 for p in placed):
            continue
        placed.append(here)
        ax.annotate(value_text(key, value), (xi, yi), color="0.25", **LABEL_TEXT)


def _policy(rows: pd.DataFrame) -> str:
    return str(rows["policy.kind"].iloc[0]) if "policy.kind" in rows.columns else "spot"


def _deadline_note(data: pd.DataFrame, deadline_h: float | None) -> str:
    hours = _deadline_h(data, deadline_h)
    if hours.nunique() == 1 and math.isfinite(hours.iloc[0]):
        return f" (deadline {duration_text(hours.iloc[0] * 3600)})"
    return ""


def _with_on_demand(
    ax: Axes, data: pd.DataFrame, deadline_h: float | None, handles: list[Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Every point's (miss %, cost), with the on-demand baselines drawn and added."""
    miss = list(100 * data["deadline_miss_prob"].to_numpy(float))
    cost = list(data["cost_usd_mean"].to_numpy(float))
    if {"on_demand_cost_usd", "on_demand_wall_h"} <= set(data.columns):
        late = data["on_demand_wall_h"] > _deadline_h(data, deadline_h)
        base = pd.DataFrame({"miss": 100.0 * late, "cost": data["on_demand_cost_usd"]})
        base = base.groupby("miss", as_index=False)["cost"].min()  # its cheapest checkpoints
        label = f"on-demand, never interrupted: ${base['cost'].min():,.2f}"
        handles += ax.plot(base["miss"], base["cost"], "*k", ms=18, zorder=2, label=label)
        miss += list(base["miss"])
        cost += list(base["cost"])
    return np.array(miss), np.array(cost)


def pareto(miss: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Indices of the points no other point beats on both risk and cost, by rising risk."""
    order = np.lexsort((cost, miss))
    front, best = [], math.inf
    for i in order:
        if cost[i] < best:
            front.append(int(i))
            best = cost[i]
    return np.array(front, dtype=int)


def miss_vs_deadline(summary: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Deadline miss probability (Wilson 95% band) against the deadline, one line per policy
    (and interval), with the on-demand completion time marked."""
    key = "policy.deadline"
    need_columns(summary, [key, "deadline_miss_prob"], "the miss-against-deadline plot")
    data = summary.dropna(subset=["deadline_miss_prob"]).sort_values(key, kind="stable")
    if data[key].nunique() < 2:
        raise PlotError("the miss-against-deadline plot needs a sweep over policy.deadline")
    ax = new_axes(ax)
    for i, (values, rows) in enumerate(group_rows(data, _series_keys(data))):
        hours = rows[key].to_numpy(float) / 3600.0
        name = point_label(values) or point_label({"policy.kind": _policy(rows)})
        if {"deadline_miss_prob_ci95_low", "deadline_miss_prob_ci95_high"} <= set(rows.columns):
            low, high = rows["deadline_miss_prob_ci95_low"], rows["deadline_miss_prob_ci95_high"]
            ax.fill_between(hours, 100 * low, 100 * high, color=tab_colour(i), alpha=0.12, lw=0)
        _series_line(ax, i, hours, 100 * rows["deadline_miss_prob"], name)
    if "on_demand_wall_h" in data.columns:
        wall = float(data["on_demand_wall_h"].min())
        ax.axvline(wall, label=f"on-demand finishes: {wall:.1f} h", **ON_DEMAND_LINE)
    ax.yaxis.set_major_formatter(PercentFormatter())
    ax.set_xlabel("deadline (h after the start)")
    ax.set_ylabel("probability of missing it (95% band)")
    ax.set_title("Deadline miss probability against the deadline")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return ax


# --- completion time -------------------------------------------------------------------


def cdf(
    runs: pd.DataFrame,
    *,
    ax: Axes | None = None,
    on_demand_wall_h: float | None = None,
    deadline_h: float | None = None,
    by: Sequence[str] | str | None = None,
) -> Axes:
    """Share of runs finished by each wall time, one step line per grid point (or per value
    of the ``by`` columns; at most 10, evenly chosen), against the on-demand time and the
    deadline.  A long tail is cut at the slowest line's 99th percentile, and says so."""
    need_columns(runs, ["wall_h"], "the completion-time plot")
    keys = [by] if isinstance(by, str) else list(by) if by is not None else varied(runs)
    groups = list(group_rows(runs, keys))
    shown = sorted({round(i) for i in np.linspace(0, len(groups) - 1, MAX_CDF_LINES)})
    ax = new_axes(ax)
    ramp = len(keys) == 1 and pd.api.types.is_numeric_dtype(runs[keys[0]]) and len(shown) > 3
    colours = _ramp(len(shown)) if ramp else tab_colours(len(shown))
    for colour, index in zip(colours, shown, strict=True):
        values, rows = groups[index]
        wall = np.sort(rows["wall_h"].to_numpy(float))
        share = np.arange(1, len(wall) + 1) / len(wall)
        name = point_label(values) if keys else f"simulated runs ({len(wall)})"
        ax.step(wall, 100 * share, where="post", color=colour, lw=1.6, label=name)
    marks = _cdf_marks(ax, on_demand_wall_h, deadline_h)
    cut = _cdf_xlim(ax, [groups[i][1]["wall_h"] for i in shown], marks)
    ax.yaxis.set_major_formatter(PercentFormatter())
    ax.set_ylim(0, 102)
    ax.set_xlabel("wall time to finish the job (h)" + cut)
    ax.set_ylabel("share of runs finished")
    note = f" ({len(shown)} of {len(groups)} grid points)" if len(shown) < len(groups) else ""
    each = " each" if len(shown) > 1 else ""
    ax.set_title(f"When will it finish? Completion time over {len(wall)} runs{each}{note}")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small", loc="lower right")
    return ax


def _cdf_marks(ax: Axes, on_demand_wall_h: float | None, deadline_h: float | None) -> list[float]:
    marks = []
    if on_demand_wall_h is not None and math.isfinite(on_demand_wall_h):
        label = f"on-demand, never interrupted: {on_demand_wall_h:.1f} h"
        ax.axvline(on_demand_wall_h, label=label, **ON_DEMAND_LINE)
        marks.append(on_demand_wall_h)
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


# --- one run ---------------------------------------------------------------------------


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
    optimum: Mapping[str, Any] | None = None,
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
        if on_demand_wall_h is None and summary is not None and "on_demand_wall_h" in summary:
            on_demand_wall_h = float(summary["on_demand_wall_h"].min())
        table, deadline_h = _one_deadline(table, deadline_h)
        cdf(table, ax=axes[0], on_demand_wall_h=on_demand_wall_h, deadline_h=deadline_h)
    else:
        timeline(table, ax=axes[0])
    return fig


def _one_deadline(
    runs: pd.DataFrame, deadline_h: float | None
) -> tuple[pd.DataFrame, float | None]:
    """A sweep over deadlines has one CDF per deadline: keep the scenario's own deadline
    where the grid has it, else the middle one of the grid."""
    if "policy.deadline" not in varied(runs):
        return runs, deadline_h
    values = sorted(runs["policy.deadline"].unique())
    chosen = deadline_h * 3600 if deadline_h is not None else math.nan
    if not any(math.isclose(chosen, v) for v in values):
        chosen = values[len(values) // 2]
    keep = np.isclose(runs["policy.deadline"].astype(float), chosen)
    return runs[keep], float(chosen) / 3600
