"""The figures of ``advise --plots``: every option's cost against its deadline risk, and
the recommended policy's cost against the checkpoint interval."""

from __future__ import annotations

from matplotlib.figure import Figure

from preemptsim import plots
from preemptsim.advise import INTERVAL, KIND, Advice
from preemptsim.grid import Point
from preemptsim.optima import theory


def advice_figures(advice: Advice) -> dict[str, Figure]:
    """``pareto`` and, where the recommended policy was tried at several intervals,
    ``interval`` (with Young's, Daly's and the exact interval for Poisson): by file stem."""
    figures = {"pareto": Figure(figsize=(8, 5.5), layout="constrained")}
    plots.pareto(advice.candidates, ax=figures["pareto"].add_subplot())
    choice = advice.recommendation
    rows = advice.candidates[advice.candidates[KIND] == choice["policy"]]
    if rows[INTERVAL].nunique() >= 2:
        values = {INTERVAL: choice["checkpoint_interval_s"]}
        point = Point(0, values, advice.scenario.with_values({KIND: choice["policy"], **values}))
        figures["interval"] = Figure(figsize=(8, 5.5), layout="constrained")
        plots.interval(rows, ax=figures["interval"].add_subplot(), optimum=theory(point))
    return figures
