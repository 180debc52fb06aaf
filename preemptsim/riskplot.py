"""Figures of deadline risk (DESIGN.md §4): a sweep's cost against the probability of missing
the deadline (``risk``), that probability against the deadline (``miss_vs_deadline``), and
advise's candidates with its recommendation (``pareto``).  The on-demand baseline appears
once per distinct baseline (a sweep over ``[checkpoint]`` keys has one), and the Pareto front
is taken among the points of one deadline, never across deadlines."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import PercentFormatter

from preemptsim.plotbase import (
    MARKERS,
    ON_DEMAND_LINE,
    PlotError,
    PointLabels,
    distinct,
    duration_text,
    group_rows,
    legend_below,
    need_columns,
    new_axes,
    point_label,
    prices_text,
    series_line,
    tab_colour,
    value_text,
    varied,
)

CANDIDATE_COLUMNS = [
    "policy.kind",
    "checkpoint.interval",
    "cost_usd_mean",
    "cost_usd_ci95_low",
    "cost_usd_ci95_high",
    "deadline_miss_prob",
    "wall_h_p95",
    "on_demand_cost_usd",
    "recommended",
]
_RING: dict[str, Any] = {"color": "0.3", "lw": 1, "ms": 17, "mfc": "none", "zorder": 1}
_FRONT_LABEL = "Pareto frontier (ringed): nothing is both cheaper and safer"


def pareto_front(miss: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Indices of the points no other point beats on both risk and cost, by rising risk."""
    order = np.lexsort((cost, miss))
    front, best = [], math.inf
    for i in order:
        if cost[i] < best:
            front.append(int(i))
            best = cost[i]
    return np.array(front, dtype=int)


# --- a sweep's cost against deadline risk ----------------------------------------------


def risk(summary: pd.DataFrame, *, ax: Axes | None = None, deadline_h: float | None = None) -> Axes:
    """Mean cost against deadline miss probability, one series per policy (and interval)
    over the grid's other keys, whose values label the points (as many as fit, the Pareto
    points first); each distinct on-demand baseline as a star (at 0% where it meets the
    deadline: ``policy.deadline`` column or ``deadline_h``); the Pareto front of each
    deadline ringed."""
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
        miss = 100 * rows["deadline_miss_prob"]
        handles.append(series_line(ax, i, miss, rows["cost_usd_mean"], name))
    points = _risk_points(data, deadline_h, rest)
    handles += _baseline_stars(ax, points[points["baseline"]])
    handles += _fronts(ax, points)
    if rest:
        _label_points(ax, points[~points["baseline"]])
    ax.xaxis.set_major_formatter(PercentFormatter())
    right = max(10.0, 1.08 * float(points["miss"].max()))
    ax.set_xlim(-0.04 * right, right)
    ax.set_xlabel("probability of missing the deadline (share of runs)")
    ax.set_ylabel("mean cost per run (USD)")
    ax.set_title(f"Cost against deadline risk{_deadline_note(data, deadline_h)}")
    ax.grid(True, alpha=0.3)
    legend_below(ax, handles)
    return ax


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


def _risk_points(data: pd.DataFrame, deadline_h: float | None, rest: list[str]) -> pd.DataFrame:
    """Every grid point and every distinct on-demand baseline of each deadline: deadline_h,
    miss (%), cost, text (the ``rest`` keys' values) and baseline (bool)."""
    deadline = _deadline_h(data, deadline_h)
    texts = [", ".join(value_text(k, row[k]) for k in rest) for _, row in data.iterrows()]
    points = pd.DataFrame(
        {
            "deadline_h": deadline,
            "miss": 100 * data["deadline_miss_prob"],
            "cost": data["cost_usd_mean"],
            "text": texts,
            "baseline": False,
        }
    )
    if not {"on_demand_cost_usd", "on_demand_wall_h"} <= set(data.columns):
        return points.reset_index(drop=True)
    base = pd.DataFrame(
        {
            "deadline_h": deadline,
            "cost": data["on_demand_cost_usd"],
            "wall": data["on_demand_wall_h"],
        }
    )
    base = base.loc[base.round(9).drop_duplicates().index]
    late = base["wall"] > base["deadline_h"]
    base = base.assign(miss=100.0 * late, text="", baseline=True).drop(columns="wall")
    return pd.concat([points, base], ignore_index=True)


def _baseline_stars(ax: Axes, base: pd.DataFrame) -> list[Any]:
    """One star per distinct (miss, cost) of the on-demand baselines."""
    if base.empty:
        return []
    stars = base.loc[base[["miss", "cost"]].round(9).drop_duplicates().index]
    label = f"on-demand, never interrupted: {prices_text(distinct(stars['cost']))}"
    return ax.plot(stars["miss"], stars["cost"], "*k", ms=18, zorder=2, ls="none", label=label)


def _fronts(ax: Axes, points: pd.DataFrame) -> list[Any]:
    """The Pareto front of each deadline's points, ringed; marks points["front"]."""
    points["front"] = False
    groups = list(points.groupby("deadline_h", sort=True))
    label = _FRONT_LABEL + (", per deadline" if len(groups) > 1 else "")
    lines: list[Any] = []
    for _, rows in groups:
        front = rows.index[pareto_front(rows["miss"].to_numpy(), rows["cost"].to_numpy())]
        points.loc[front, "front"] = True
        lines += ax.plot(points.loc[front, "miss"], points.loc[front, "cost"], "--o", **_RING)
    lines[0].set_label(label)
    return lines[:1]


def _label_points(ax: Axes, points: pd.DataFrame) -> None:
    """Each point's text (coinciding points share one label, texts joined), front first."""
    key = points[["miss", "cost"]].round(9)
    merged = points.groupby([key["miss"], key["cost"]], sort=False).agg(
        text=("text", lambda t: ", ".join(dict.fromkeys(t))), front=("front", "any")
    )
    merged = merged.reset_index().sort_values("front", ascending=False, kind="stable")
    PointLabels(ax, list(zip(merged["miss"], merged["cost"], strict=True)), list(merged["text"]))


def _policy(rows: pd.DataFrame) -> str:
    return str(rows["policy.kind"].iloc[0]) if "policy.kind" in rows.columns else "spot"


def _deadline_note(data: pd.DataFrame, deadline_h: float | None) -> str:
    hours = _deadline_h(data, deadline_h)
    if hours.nunique() == 1 and math.isfinite(hours.iloc[0]):
        return f" (deadline {duration_text(hours.iloc[0] * 3600)})"
    return ""


# --- miss probability against the deadline ---------------------------------------------


def miss_vs_deadline(summary: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Deadline miss probability (Wilson 95% band) against the deadline, one line per policy
    (and interval), with each distinct on-demand completion time marked."""
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
        series_line(ax, i, hours, 100 * rows["deadline_miss_prob"], name)
    for wall in distinct(data.get("on_demand_wall_h", pd.Series(dtype=float))):
        ax.axvline(wall, label=f"on-demand finishes: {wall:.1f} h", **ON_DEMAND_LINE)
    ax.yaxis.set_major_formatter(PercentFormatter())
    ax.set_xlabel("deadline (h after the start)")
    ax.set_ylabel("probability of missing it (95% band)")
    ax.set_title("Deadline miss probability against the deadline")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return ax


# --- advise's candidates ---------------------------------------------------------------


def pareto(candidates: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """advise's candidates: mean cost (95% interval as error bars) against the deadline-miss
    probability, or against the p95 wall time where there is no deadline (the x label says
    so); one series per policy, the recommended candidate starred and labelled, the
    Pareto points labelled with their interval, each distinct on-demand cost as a line."""
    need_columns(candidates, CANDIDATE_COLUMNS, "the Pareto plot")
    chosen = candidates["recommended"].astype(bool).to_numpy()
    if chosen.sum() != 1:
        raise PlotError(
            f"the Pareto plot needs exactly one recommended candidate, got {chosen.sum()}"
        )
    data = candidates.reset_index(drop=True)
    by_risk = bool(data["deadline_miss_prob"].notna().any())
    x = 100 * data["deadline_miss_prob"] if by_risk else data["wall_h_p95"]
    cost = data["cost_usd_mean"]
    ax = new_axes(ax)
    handles = [
        _error_bars(ax, i, x[rows.index], rows, value_text("policy.kind", values["policy.kind"]))
        for i, (values, rows) in enumerate(group_rows(data, ["policy.kind"]))
    ]
    best = int(np.flatnonzero(chosen)[0])
    star: dict[str, Any] = {"color": "crimson", "mec": "black", "ms": 22, "zorder": 9}
    label = f"recommended: {_candidate_text(data.iloc[best])}"
    handles += ax.plot(x[best], cost[best], "*", label=label, **star)
    for value in distinct(data["on_demand_cost_usd"]):
        label = f"on-demand, never interrupted: ${value:,.2f}"
        handles.append(ax.axhline(value, label=label, **ON_DEMAND_LINE))
    front = [int(i) for i in pareto_front(x.to_numpy(float), cost.to_numpy(float)) if i != best]
    every = [value_text("checkpoint.interval", data.at[i, "checkpoint.interval"]) for i in front]
    texts = ["recommended", *every]
    PointLabels(ax, [(x[i], cost[i]) for i in [best, *front]], texts)
    if by_risk:
        top = max(1.08 * float(x.max()), 5.0)  # percent; a probability is never negative
        ax.set_xlim(-0.02 * top, top)
        ax.xaxis.set_major_formatter(PercentFormatter())
        ax.set_xlabel("probability of missing the deadline (share of runs)")
    else:
        ax.set_xlabel("p95 wall time (h): no deadline, so cost against completion time")
    ax.set_ylabel("mean cost per run (USD), 95% interval")
    ax.set_title("Candidates: cost against " + ("deadline risk" if by_risk else "wall time"))
    ax.grid(True, alpha=0.3)
    legend_below(ax, handles)
    return ax


def _error_bars(ax: Axes, i: int, x: pd.Series, rows: pd.DataFrame, name: str) -> Any:
    y = rows["cost_usd_mean"].to_numpy(float)
    low, high = (
        rows["cost_usd_ci95_low"].to_numpy(float),
        rows["cost_usd_ci95_high"].to_numpy(float),
    )
    marker, colour = MARKERS[i % len(MARKERS)], tab_colour(i)
    style: dict[str, Any] = {"ms": 7, "capsize": 2, "elinewidth": 1, "zorder": 3 + i}
    spread = [y - low, high - y]
    return ax.errorbar(
        x.to_numpy(float), y, yerr=spread, fmt=marker, color=colour, label=name, **style
    )


def _candidate_text(row: pd.Series) -> str:
    policy = value_text("policy.kind", row["policy.kind"])
    every = value_text("checkpoint.interval", row["checkpoint.interval"])
    return f"{policy}, checkpoint every {every}, ${row['cost_usd_mean']:,.2f}"
