"""Cost against the checkpoint interval (DESIGN.md §4, REFERENCES.md §1): the figure that
says how often to checkpoint, with the closed forms beside the simulated optimum."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FixedLocator, NullLocator

from preemptsim.plotbase import (
    ON_DEMAND_LINE,
    Optimum,
    PlotError,
    distinct,
    group_rows,
    legend_below,
    need_columns,
    new_axes,
    optima,
    point_label,
    prices_text,
    tab_colour,
    varied,
)
from preemptsim.units import format_duration

CURVE_SHARE = 0.6  # the spot cost curve spans at least this share of the cost axis
SAME_INTERVAL = 0.01  # closed-form intervals closer than 1% (or ...
SAME_PLACE = 0.005  # ... than this share of the log axis, a few pixels) share one line
_THEORY = (  # optimum.json key, name, line style, colour
    ("young_s", "Young √(2CM)", ":", "tab:purple"),
    ("daly_s", "Daly (2006)", "--", "tab:green"),
    ("exact_s", "exact optimum, Poisson (Lambert W)", "-", "0.25"),
)
_NICE_MINUTES = (1, 2, 5, 10, 30, 60, 120, 240, 480, 1440, 2880, 5760)


def interval(
    summary: pd.DataFrame, *, ax: Axes | None = None, optimum: Optimum | None = None
) -> Axes:
    """Mean cost (95% band) against the checkpoint interval on a log axis, mean wall time on
    a twin axis, each distinct on-demand cost, the simulated optimum, and where ``optimum``
    (sweep's optimum.json) gives them, Young's, Daly's and the exact interval (REFERENCES.md
    §1; intervals that coincide share one line and its label names them all).  The cost axis
    is set by the spot curves, which span at least CURVE_SHARE of it: an on-demand cost
    that does not fit is noted at the edge ("off scale"), never flattening the minimum."""
    key = "checkpoint.interval"
    need_columns(summary, [key, "cost_usd_mean", "wall_h_mean"], "the interval plot")
    data = summary[np.isfinite(summary[key].astype(float))].sort_values(key, kind="stable")
    if data[key].nunique() < 2:
        raise PlotError("the interval plot needs a sweep over at least two checkpoint.interval")
    ax = new_axes(ax)
    twin = ax.twinx()
    groups = list(group_rows(data, varied(data, [key])))
    handles: list[Any] = []
    for i, (values, rows) in enumerate(groups):
        handles += _interval_series(ax, twin, rows, tab_colour(i), point_label(values))
    baselines = distinct(data.get("on_demand_cost_usd", pd.Series(dtype=float)))
    bands = [data[c] for c in ("cost_usd_ci95_low", "cost_usd_ci95_high") if c in data]
    limits, fits = cost_limits(data["cost_usd_mean"].to_numpy(float), baselines, bands)
    ax.set_ylim(limits)
    handles += _on_demand_costs(ax, groups, baselines, fits)
    minutes = data[key].to_numpy(float) / 60.0
    _minutes_axis(ax, minutes)
    handles += _theory_lines(ax, optimum, math.log(ax.get_xlim()[1] / ax.get_xlim()[0]))
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


def cost_limits(
    curve: np.ndarray, references: Sequence[float], bands: Sequence[pd.Series] = ()
) -> tuple[tuple[float, float], list[bool]]:
    """Cost-axis limits around ``curve`` that it spans at least CURVE_SHARE of, taking in
    each of ``references`` (then the ``bands``' ends) while that still holds; for each
    reference, whether it is inside."""
    low, high = float(np.min(curve)), float(np.max(curve))
    span = high - low or max(0.05 * abs(high), 1e-6)
    pad = 0.05 * span / CURVE_SHARE
    bottom, top = low - pad, high + pad
    fits = []
    ends = [float(np.min(b)) for b in bands] + [float(np.max(b)) for b in bands]
    for i, value in enumerate([*references, *ends]):
        wider = (min(bottom, value - pad), max(top, value + pad))
        fits.append(wider[1] - wider[0] <= span / CURVE_SHARE)
        if fits[-1]:
            bottom, top = wider
        elif i >= len(references):  # a band: show as much of it as the share allows
            room = span / CURVE_SHARE - (top - bottom)
            bottom, top = (bottom - room, top) if value < bottom else (bottom, top + room)
    return (bottom, top), fits[: len(references)]


def _on_demand_costs(
    ax: Axes,
    groups: list[tuple[dict[str, Any], pd.DataFrame]],
    costs: list[float],
    fits: list[bool],
) -> list[Any]:
    """A line at each distinct on-demand cost that ``fits`` (named after its series, in its
    colour, where there are several); those that do not are told in one note at the edge
    they lie beyond, with an arrow out of the axis."""
    handles = []
    for cost in (c for c, inside in zip(costs, fits, strict=True) if inside):
        owners = [i for i, (_, rows) in enumerate(groups) if _holds(rows, cost)]
        names = "; ".join(filter(None, (point_label(groups[i][0]) for i in owners)))
        whose = f" ({names})" if len(costs) > 1 and names else ""
        colour = "black" if len(costs) == 1 else tab_colour(owners[0])
        label = f"on-demand, never interrupted{whose}: ${cost:,.2f}"
        handles.append(ax.axhline(cost, label=label, **{**ON_DEMAND_LINE, "color": colour}))
    top = ax.get_ylim()[1]
    outside = [c for c, inside in zip(costs, fits, strict=True) if not inside]
    for above in (True, False):
        beyond = [c for c in outside if (c > top) == above]
        if beyond:
            _off_scale(ax, above, f"on-demand, never interrupted: {prices_text(beyond)}")
    return handles


def _holds(rows: pd.DataFrame, cost: float) -> bool:
    return bool(np.isclose(rows["on_demand_cost_usd"].to_numpy(float), cost).any())


def _off_scale(ax: Axes, above: bool, text: str) -> None:
    """``text`` + " (off scale)" inside the top (or bottom) edge, an arrow pointing out."""
    edge, step = (1.0, -1) if above else (0.0, 1)
    ax.annotate(
        f"{text} (off scale)",
        xy=(0.985, edge),
        xycoords="axes fraction",
        xytext=(0, 16 * step),
        textcoords="offset points",
        ha="right",
        va="top" if above else "bottom",
        fontsize="small",
        arrowprops={"arrowstyle": "->", "color": "black"},
    )


def _theory_lines(ax: Axes, optimum: Optimum | None, log_span: float) -> list[Any]:
    """Vertical lines at the closed-form intervals of optimum.json, where given; intervals
    within SAME_INTERVAL, or SAME_PLACE of the ``log_span`` axis, share one line, drawn
    where and as the most exact of them (Young, then Daly, then the exact one)."""
    given = next(iter(optima(optimum)), {})  # the closed forms do not depend on the deadline
    found = [
        (float(given[key]), rank)
        for rank, (key, *_) in enumerate(_THEORY)
        if isinstance(given.get(key), int | float) and math.isfinite(given[key])
    ]
    tolerance = max(SAME_INTERVAL, SAME_PLACE * log_span)
    groups: list[list[tuple[float, int]]] = []
    for item in sorted(found):
        if groups and abs(math.log(item[0] / groups[-1][0][0])) < tolerance:
            groups[-1].append(item)
        else:
            groups.append([item])
    lines = []
    for group in groups:
        seconds, rank = max(group, key=lambda item: item[1])
        _, _, style, colour = _THEORY[rank]
        line = ax.axvline(seconds / 60.0, color=colour, ls=style, lw=1.2 + 0.6 * (len(group) - 1))
        line.set_label(_theory_label(group))
        lines.append(line)
    return lines


def _theory_label(group: list[tuple[float, int]]) -> str:
    """ "Young √(2CM): 17.9min; Daly (2006) = exact optimum, …: 17.5min": the names of one
    line, those that print the same interval joined by "="."""
    names: dict[str, list[str]] = {}
    for seconds, rank in sorted(group, key=lambda item: item[1]):
        names.setdefault(format_duration(seconds), []).append(_THEORY[rank][1])
    return "; ".join(f"{' = '.join(same)}: {text}" for text, same in names.items())


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
