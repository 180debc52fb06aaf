"""One replication as a Gantt strip (``simulate.timeline`` spans): what the run did, when."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from preemptsim.plotbase import (
    DEADLINE_LINE,
    INTERRUPTION_COLOUR,
    PlotError,
    duration_text,
    legend_below,
    need_columns,
    new_axes,
)

SPAN_STYLE = {  # kind: (legend text, colour); the order of the legend
    "work": ("useful work", "#4c9a2a"),
    "checkpoint": ("checkpoint write", "#1f4e9c"),
    "lost": ("work lost to an interruption", "#e8743b"),
    "restore": ("restore", "#8e6bbf"),
    "wait": ("waiting for an instance (not billed)", "#c8c8c8"),
    "idle": ("idle after notice (billed)", "#f2c14e"),
    "migrate": ("copying the checkpoint to another zone (not billed)", "#3bb8c4"),
}
ON_DEMAND_HATCH = "///"


def timeline(
    spans: pd.DataFrame, *, ax: Axes | None = None, deadline_h: float | None = None
) -> Axes:
    """One replication as a Gantt strip (``simulate.timeline``): work, checkpoints, lost work,
    restore, waiting, idle; on-demand stretches hatched; interruptions marked above;
    checkpoints also ticked in a lane below (most are too short to see at a run's scale);
    the deadline, where given, as a vertical line labelled "deadline"."""
    need_columns(spans, ["start_h", "end_h", "kind"], "the timeline plot")
    if spans.empty:
        raise PlotError("the timeline plot needs at least one span")
    ax = new_axes(ax, (12.0, 3.2))
    wall = float(spans["end_h"].max())
    no_market = pd.Series(False, index=spans.index)
    hired = spans["market"].eq("on_demand") if "market" in spans.columns else no_market
    handles = [
        _span_bars(ax, spans[spans["kind"] == kind], hired, kind, wall) for kind in SPAN_STYLE
    ]
    if hired.any():
        label = "on an on-demand instance (hatched)"
        handles.append(
            Patch(facecolor="white", edgecolor="black", hatch=ON_DEMAND_HATCH, label=label)
        )
    stops = spans.loc[spans["kind"] == "interruption", "start_h"]
    if not stops.empty:
        ax.vlines(stops, 0.12, 0.8, color=INTERRUPTION_COLOUR, lw=1.0)
        ax.plot(stops, [0.86] * len(stops), "v", color=INTERRUPTION_COLOUR, ms=8)
        handles.append(
            Line2D([], [], color=INTERRUPTION_COLOUR, marker="v", ls="-", label="interruption")
        )
    if deadline_h is not None and math.isfinite(deadline_h):
        handles.append(_deadline_line(ax, deadline_h))
    _zone_changes(ax, spans)
    lost = float((spans["end_h"] - spans["start_h"])[spans["kind"] == "lost"].sum())
    ax.set_xlim(0, max(wall, deadline_h or 0.0) * 1.01)
    ax.set_ylim(0, 1.0)
    ax.set_yticks([])
    ax.set_xlabel("time since the start (h)")
    ax.set_title(
        f"One run: {len(stops)} interruption{'s' if len(stops) != 1 else ''}, "
        f"{lost:.2f} h of work lost, finished at {wall:.2f} h"
    )
    legend_below(ax, [h for h in handles if h is not None], columns=4)
    return ax


def _zone_changes(ax: Axes, spans: pd.DataFrame) -> None:
    """Where the job moves to another zone: "→ zone" above the strip, at the move."""
    if "zone" not in spans.columns:
        return
    zones = spans["zone"].astype(object).fillna("")
    moved = (zones != zones.shift()) & zones.shift().notna()
    for start_h, zone in zip(spans["start_h"][moved], zones[moved], strict=True):
        ax.text(start_h, 0.74, f"→ {zone}", fontsize="x-small", va="bottom")


def _deadline_line(ax: Axes, deadline_h: float) -> Any:
    """The deadline as a vertical line across the strip, "deadline" written by its top."""
    label = f"deadline ({duration_text(deadline_h * 3600)})"
    line = ax.axvline(deadline_h, label=label, **DEADLINE_LINE)
    where = ax.get_xaxis_transform()  # x in hours, y a share of the strip's height
    ax.text(deadline_h, 0.98, "deadline ", transform=where, ha="right", va="top", fontsize="small")
    return line


def _span_bars(ax: Axes, rows: pd.DataFrame, hired: pd.Series, kind: str, wall: float) -> Any:
    """The spans of one kind on the strip (hatched on on-demand); its legend entry or None."""
    if rows.empty:
        return None
    text, colour = SPAN_STYLE[kind]
    thin = float((rows["end_h"] - rows["start_h"]).median()) < wall / 800
    if kind == "checkpoint":
        ax.vlines(rows["start_h"], 0.0, 0.07, color=colour, lw=0.8)
        text += " (ticked below the strip)" if thin else " (also ticked below)"
        if thin:  # under a pixel wide: drawn they would only alias into stray lines
            return Patch(facecolor=colour, label=text)
    on_demand = hired[rows.index]
    for hatch, part in (("", rows[~on_demand]), (ON_DEMAND_HATCH, rows[on_demand])):
        bars = _merged(part["start_h"].to_numpy(float), part["end_h"].to_numpy(float), wall / 800)
        edge = "white" if hatch else "none"
        ax.broken_barh(
            bars, (0.12, 0.6), facecolors=colour, edgecolor=edge, hatch=hatch or None, lw=0
        )
    return Patch(facecolor=colour, label=text)


def _merged(starts: np.ndarray, ends: np.ndarray, gap: float) -> list[tuple[float, float]]:
    """(start, width) bars, neighbours less than ``gap`` apart joined: no hairline seams."""
    bars: list[list[float]] = []
    for start, end in zip(starts, ends, strict=True):
        if bars and start - bars[-1][1] < gap:
            bars[-1][1] = max(bars[-1][1], end)
        else:
            bars.append([start, end])
    return [(start, end - start) for start, end in bars]
