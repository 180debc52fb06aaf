"""What the figure tests share: a bare Axes, its legend and lines by label, and the point
labels as the renderer drew them (to check that none overlap)."""

from __future__ import annotations

from itertools import combinations
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from preemptsim.plotbase import PointLabels


def axes(size: tuple[float, float] = (6.4, 4.8)) -> Axes:
    """A bare Axes (no pyplot state to leak between tests)."""
    return Figure(figsize=size, layout="constrained").subplots()


def legend_texts(ax: Axes) -> list[str]:
    legend = ax.get_legend()
    assert legend is not None
    return [text.get_text() for text in legend.get_texts()]


def labelled(ax: Axes, start: str) -> list[Any]:
    """The lines of ``ax`` whose label starts with ``start``."""
    return [line for line in ax.get_lines() if str(line.get_label()).startswith(start)]


def drawn_labels(ax: Axes, dpi: float = 100.0) -> tuple[list[str], list[Bbox]]:
    """Draw the figure on Agg at ``dpi``; the point labels shown and their boxes in pixels,
    as the renderer measured them, after the layout."""
    ax.figure.set_dpi(dpi)
    canvas = FigureCanvasAgg(ax.figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    shown = [text for a in ax.artists if isinstance(a, PointLabels) for text in a.shown]
    return [t.get_text() for t in shown], [t.get_window_extent(renderer) for t in shown]


def assert_apart(boxes: list[Bbox], frame: Bbox) -> None:
    """No two boxes overlap, and each lies inside ``frame``."""
    for a, b in combinations(boxes, 2):
        assert not a.overlaps(b), (a, b)
    for box in boxes:
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1, (box, frame)
        assert frame.y0 <= box.y0 and box.y1 <= frame.y1, (box, frame)
