"""What every figure shares (plots.py, riskplot.py, gantt.py): labels for keys, values and
grid points, rows grouped into series, colours and line styles, a new Axes, a legend below
it, point labels that never overlap, and PlotError."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.text import Text
from matplotlib.transforms import Bbox, IdentityTransform, ScaledTranslation

from preemptsim.grid import PATH_KEYS
from preemptsim.scenario import ScenarioError
from preemptsim.tracefile import zone_name
from preemptsim.units import format_duration

POLICY_LABELS = {
    "spot": "spot only",
    "greedy": "Greedy",
    "uniform_progress": "Uniform Progress",
    "on_demand": "on-demand",
}
INTERRUPTION_COLOUR = "#c0392b"
ON_DEMAND_LINE: dict[str, Any] = {"color": "black", "ls": "--", "lw": 1.2}
DEADLINE_LINE: dict[str, Any] = {"color": INTERRUPTION_COLOUR, "ls": ":", "lw": 1.6}
MARKERS = "osD^vP*Xh<>"
Optimum = Mapping[str, Any] | Sequence[Mapping[str, Any]]  # optimum.json: one, or per deadline
_DURATION_KEYS = {  # last parts of dotted keys whose values are seconds
    "interval", "deadline", "mtbi", "write", "provision", "restore", "notice", "scale",
    "work", "max_lifetime", "snapshot", "persist", "setup", "response", "handling",
    "step_time", "checkpoint_interval", "billing_granularity", "minimum_billed",
    "emergency_write",
}  # fmt: skip


class PlotError(ScenarioError):
    """Results that cannot give the asked-for figure: exit code 2 on the command line."""


# --- labels ----------------------------------------------------------------------------


def value_text(key: str, value: Any) -> str:
    """A varied key's value for a person: durations as "30min", policies by name, trace
    files by zone."""
    if key == "policy.kind":
        return POLICY_LABELS.get(str(value), str(value))
    if key in PATH_KEYS:
        return zone_name(str(value))
    if isinstance(value, int | float) and not isinstance(value, bool):
        if key.rsplit(".", 1)[-1] in _DURATION_KEYS:
            return duration_text(float(value))
        return f"{value:.4g}"
    return str(value)


def duration_text(seconds: float) -> str:
    """ "30min", "1.5h", "100h" (hours rather than days: deadlines read in hours), "never"."""
    if math.isinf(seconds):
        return "never"
    if seconds < 3600:
        return format_duration(seconds)
    hours = seconds / 3600
    return f"{hours:.3g}h" if hours < 100 else f"{hours:.0f}h"


def point_label(values: Mapping[str, Any]) -> str:
    """A legend entry for a group of rows: "Greedy, checkpoint every 30min"."""
    parts = []
    for key, value in values.items():
        text = value_text(key, value)
        if key == "policy.kind":
            parts.append(text)
        elif key == "checkpoint.interval":
            parts.append(f"checkpoint every {text}")
        elif key == "policy.deadline":
            parts.append(f"deadline {text}")
        elif key in PATH_KEYS:
            parts.append(f"zone {text}")
        else:
            parts.append(f"{key} = {text}")
    return ", ".join(parts)


def varied(table: pd.DataFrame, exclude: Sequence[str] = ()) -> list[str]:
    """The sweep keys that take more than one value in ``table`` (dotted columns)."""
    return [c for c in table.columns if "." in c and c not in exclude and table[c].nunique() > 1]


def group_rows(
    table: pd.DataFrame, keys: list[str]
) -> Iterator[tuple[dict[str, Any], pd.DataFrame]]:
    """(key values, rows) for each combination of ``keys`` in order of first appearance."""
    if not keys:
        yield {}, table
        return
    for values, rows in table.groupby(keys, sort=False, dropna=False):
        yield dict(zip(keys, values, strict=True)), rows


def new_axes(ax: Axes | None, size: tuple[float, float] = (9.0, 5.5)) -> Axes:
    """``ax``, or the Axes of a new pyplot figure of ``size`` inches (for a notebook)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt  # only here: a figure that a notebook shows

    return plt.subplots(figsize=size, layout="constrained")[1]


def need_columns(table: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """PlotError naming the ``columns`` that ``table`` lacks, if any."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise PlotError(f"{what} needs the column(s) {', '.join(missing)}")


def legend_below(ax: Axes, handles: list[Any], columns: int = 2) -> None:
    """The legend under the Axes and its x label (about 36 points down), outside the data."""
    below = ax.transAxes + ScaledTranslation(0.0, -36 / 72, ax.figure.dpi_scale_trans)
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        bbox_transform=below,
        ncols=columns,
        frameon=False,
        fontsize="small",
    )


def tab_colour(i: int) -> Any:
    """Series ``i``'s colour: matplotlib's tab10, round again after ten."""
    from matplotlib import colormaps

    return colormaps["tab10"](i % 10)


def tab_colours(count: int) -> list[Any]:
    return [tab_colour(i) for i in range(count)]


def series_line(ax: Axes, i: int, x: Any, y: Any, name: str) -> Any:
    """Series i: its own colour and marker, markers shrinking so coinciding points all show."""
    marker, size = MARKERS[i % len(MARKERS)], max(4.0, 10.0 - 1.5 * i)
    style: dict[str, Any] = {"color": tab_colour(i), "lw": 1, "zorder": 3 + i, "label": name}
    (line,) = ax.plot(x, y, "-", marker=marker, ms=size, **style)
    return line


def prices_text(costs_usd: Sequence[float]) -> str:
    """ "$31.90", or "$30.20–41.90 (7 baselines)" for several (one dollar sign: two would
    start a formula in matplotlib's text)."""
    if len(costs_usd) == 1:
        return f"${costs_usd[0]:,.2f}"
    low, high = min(costs_usd), max(costs_usd)
    return f"${low:,.2f}–{high:,.2f} ({len(costs_usd)} baselines)"


def distinct(values: Sequence[float] | pd.Series) -> list[float]:
    """The different values, in order of first appearance; a rounding error apart is one."""
    kept: list[float] = []
    for value in map(float, values):
        if not any(math.isclose(value, k, rel_tol=1e-9) for k in kept):
            kept.append(value)
    return kept


def optima(optimum: Optimum | None) -> list[Mapping[str, Any]]:
    """optimum.json as a list: one optimum, or one per deadline."""
    if optimum is None:
        return []
    return [optimum] if isinstance(optimum, Mapping) else list(optimum)


# --- point labels ----------------------------------------------------------------------

_OFFSETS_PT = [(6, 4), (6, -4), (-6, 4), (-6, -4), (0, 10), (0, -10)]
_OFFSETS_PT += [(2 * x, 2 * y) for x, y in _OFFSETS_PT]  # and twice as far, no farther
_MARKER_HALF_PT = 5.0  # a point's marker (up to 10 pt wide), kept clear of other labels


class PointLabels(Artist):
    """Short labels beside data points, placed when the figure is drawn (after its layout, at
    the size it is drawn at): each takes the first of a few offsets around its point where it
    stays inside the Axes and overlaps neither a label placed before it nor another point.
    A label that fits nowhere is left out, so give the important ones first.  ``shown``: the
    Text artists drawn last time."""

    def __init__(self, ax: Axes, xy: Sequence[tuple[float, float]], texts: Sequence[str]):
        super().__init__()
        self._data_xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        style: dict[str, Any] = {"fontsize": "x-small", "color": "0.25"}
        self.texts = [Text(0, 0, t, transform=IdentityTransform(), **style) for t in texts]
        self.shown: list[Text] = []
        self.set_zorder(20)  # above the markers
        self.set_in_layout(False)
        ax.add_artist(self)
        for text in self.texts:
            text.set_figure(self.figure)

    def draw(self, renderer: RendererBase) -> None:
        ax = self.axes
        if ax is None or not self.get_visible():
            return
        frame = ax.get_window_extent(renderer)
        points = ax.transData.transform(self._data_xy)
        pt = ax.figure.dpi / 72.0  # pixels per point, at the dpi drawn at
        half = _MARKER_HALF_PT * pt
        marks = [Bbox.from_bounds(x - half, y - half, 2 * half, 2 * half) for x, y in points]
        placed: list[Bbox] = []
        self.shown = []
        for i, (text, (x, y)) in enumerate(zip(self.texts, points, strict=True)):
            others = placed + marks[:i] + marks[i + 1 :]
            for dx, dy in _OFFSETS_PT:
                text.set_position((x + dx * pt, y + dy * pt))
                text.set_horizontalalignment("left" if dx > 0 else "right" if dx < 0 else "center")
                text.set_verticalalignment("bottom" if dy > 0 else "top")
                box = text.get_window_extent(renderer)
                if _inside(box, frame) and not any(box.overlaps(o) for o in others):
                    text.draw(renderer)
                    placed.append(box)
                    self.shown.append(text)
                    break


def _inside(box: Bbox, frame: Bbox) -> bool:
    return bool(
        frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
    )
