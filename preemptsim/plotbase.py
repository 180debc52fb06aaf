"""What every figure shares (plots.py, gantt.py): labels for keys, values and grid points,
rows grouped into series, colours, a new Axes, a legend below it, and PlotError."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.transforms import ScaledTranslation

from preemptsim.scenario import ScenarioError
from preemptsim.units import format_duration

POLICY_LABELS = {
    "spot": "spot only",
    "greedy": "Greedy",
    "uniform_progress": "Uniform Progress",
    "on_demand": "on-demand",
}
INTERRUPTION_COLOUR = "#c0392b"
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
    """A varied key's value for a person: durations as "30min", policies by name."""
    if key == "policy.kind":
        return POLICY_LABELS.get(str(value), str(value))
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
