"""Figures (preemptsim/plots.py, intervalplot.py, gantt.py) : each
plot function, on a small real sweep or a table written by hand, draws the artists a reader
needs (checked on the Axes, not on pixels).  The deadline-risk figures are in
test_riskplot.py, ``preemptsim plot`` in test_plot_cli.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection

from preemptsim import gantt, intervalplot, load_scenario, plots
from preemptsim.plotbase import PlotError, distinct
from preemptsim.scenario import Scenario
from preemptsim.simulate import timeline
from preemptsim.sweep import SweepResult, sweep
from preemptsim.units import parse_duration
from tests.conftest import small_job_toml
from tests.plotkit import axes, labelled, legend_texts

INTERVALS = ["10min", "30min", "1h", "2h"]
REPS = 50


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("plots") / "scenario.toml"
    path.write_text(small_job_toml("plots-test", deadline="12h"))
    return path


@pytest.fixture(scope="module")
def scenario(scenario_file: Path) -> Scenario:
    return load_scenario(scenario_file)


@pytest.fixture(scope="module")
def by_interval(scenario: Scenario) -> SweepResult:
    # every interval misses the 12 h deadline often: max_miss=1 asks for the cheapest anyway
    return sweep(scenario, {"checkpoint.interval": INTERVALS}, reps=REPS, seed=1, max_miss=1)


@pytest.fixture(scope="module")
def by_policy(scenario: Scenario) -> SweepResult:
    grid = {"policy.kind": ["spot", "greedy", "on_demand"], "policy.deadline": ["11h", "13h"]}
    return sweep(scenario, grid, reps=REPS, seed=1, max_miss=1)


def on_demand_notes(ax: Axes) -> list[str]:
    return [t.get_text() for t in ax.texts if t.get_text().startswith("on-demand")]


def interval_table(**columns: Any) -> pd.DataFrame:
    """A summary written by hand: spot costs $12, $10, $11 at 10 min, 30 min, 1 h (95% band
    ±$0.2), on-demand $30, updated column by column from ``columns``."""
    table = pd.DataFrame(
        {
            "checkpoint.interval": [600.0, 1800.0, 3600.0],
            "cost_usd_mean": [12.0, 10.0, 11.0],
            "cost_usd_ci95_low": [11.8, 9.8, 10.8],
            "cost_usd_ci95_high": [12.2, 10.2, 11.2],
            "wall_h_mean": [12.0, 11.0, 11.5],
            "on_demand_cost_usd": 30.0,
            "on_demand_wall_h": 10.0,
        }
    )
    return table.assign(**columns)


# --- interval --------------------------------------------------------------------------


def test_interval_cost_band_wall_twin_and_optima(by_interval: SweepResult) -> None:
    summary, optimum = by_interval.summary, by_interval.optimum
    ax = plots.interval(summary, ax=axes(), optimum=optimum)
    assert ax.get_xscale() == "log"
    assert "checkpoint interval" in ax.get_xlabel()
    assert "USD" in ax.get_ylabel()
    [cost] = labelled(ax, "mean cost")
    np.testing.assert_allclose(cost.get_xdata(), [10, 30, 60, 120])  # minutes
    np.testing.assert_allclose(cost.get_ydata(), summary["cost_usd_mean"])
    [band] = [c for c in ax.collections if isinstance(c, PolyCollection)]
    low, high = summary["cost_usd_ci95_low"].min(), summary["cost_usd_ci95_high"].max()
    np.testing.assert_allclose(band.get_paths()[0].vertices[:, 1].min(), low)
    np.testing.assert_allclose(band.get_paths()[0].vertices[:, 1].max(), high)
    [twin] = [a for a in ax.figure.axes if a is not ax]
    assert twin.get_ylabel().startswith("mean wall time (h)")
    np.testing.assert_allclose(twin.get_lines()[0].get_ydata(), summary["wall_h_mean"])
    [star] = labelled(ax, "simulated optimum")
    best = summary["cost_usd_mean"].idxmin()
    assert star.get_xdata()[0] == summary.at[best, "checkpoint.interval"] / 60
    # C = 2 min, M = 3 h: Young √(2·120·10800) = 1610 s = 26.8 min; Daly 1610·(1 + √(C/2M)/3
    # + C/18M) − 120 = 1531.0 s and the exact (Lambert W) 1531.0 s agree to 1e-5: one line
    # named after both, 5% from Young's line.
    [young] = labelled(ax, "Young")
    assert young.get_xdata()[0] == pytest.approx(optimum["young_s"] / 60)
    [both] = labelled(ax, "Daly (2006) = exact optimum")
    assert both.get_xdata()[0] == pytest.approx(optimum["exact_s"] / 60)
    assert both.get_xdata()[0] == pytest.approx(1531.0 / 60, rel=1e-3)
    assert not labelled(ax, "exact")
    texts = legend_texts(ax)
    assert any("Young" in t and "26.8min" in t for t in texts)
    assert any(t.startswith("Daly (2006) = exact") and "25.5min" in t for t in texts)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["10min", "30min", "1h", "2h"]


@pytest.mark.parametrize(("ratio", "lines"), [(1.005, 1), (1.02, 2), (1.10, 2)])
def test_interval_closed_forms_share_a_line_only_when_they_coincide(
    ratio: float, lines: int
) -> None:
    # The axis spans 10 min/1.15 to 60 min·1.15: ln(6·1.3225) = 2.07, so "a few pixels"
    # (0.5% of it) is 1.04% apart; 0.5% merges, 2% and 10% stay two lines.
    ax = plots.interval(
        interval_table(), ax=axes(), optimum={"daly_s": 1500.0, "exact_s": 1500.0 * ratio}
    )
    names = [str(x.get_label()) for x in ax.get_lines() if x.get_linestyle() in ("-", "--")]
    theory = [n for n in names if "Daly" in n or "exact" in n]
    assert len(theory) == lines  # each name on exactly one of them
    assert sum("Daly" in n for n in theory) == 1 and sum("exact" in n for n in theory) == 1
    if lines == 1:  # 25min and 25.1min: both printed
        assert theory == ["Daly (2006): 25min; exact optimum, Poisson (Lambert W): 25.1min"]


def test_interval_names_every_closed_form_on_a_shared_line() -> None:
    # 2 min to 8 h: ln(240·1.3225) = 5.77, so 0.5% of the axis is 2.9%; Young 1074 s is 2.3%
    # from Daly's 1050 s: one line, at the exact interval, each value printed.
    table = interval_table(**{"checkpoint.interval": [120.0, 1800.0, 28800.0]})
    ax = plots.interval(
        table, ax=axes(), optimum={"young_s": 1074.0, "daly_s": 1050.0, "exact_s": 1050.2}
    )
    [line] = [x for x in ax.get_lines() if "Young" in str(x.get_label())]
    assert line.get_label() == (
        "Young √(2CM): 17.9min; Daly (2006) = exact optimum, Poisson (Lambert W): 17.5min"
    )
    assert line.get_xdata()[0] == pytest.approx(1050.2 / 60)


def test_interval_without_optimum_draws_no_theory(by_interval: SweepResult) -> None:
    ax = plots.interval(by_interval.summary, ax=axes())
    assert not labelled(ax, "Young") and not labelled(ax, "Daly") and not labelled(ax, "exact")


def test_cost_limits_let_the_curve_span_the_axis() -> None:
    # Curve $10–12 (span 2): the axis may be at most 2/0.6 = 3.33 high; pad 0.05·3.33 = 0.167.
    curve = np.array([12.0, 10.0, 11.0])
    (bottom, top), fits = intervalplot.cost_limits(curve, [])
    assert (bottom, top) == pytest.approx((10 - 1 / 6, 12 + 1 / 6))
    # $12.5 fits: 9.833 to 12.667 is 2.83 high; $14 would make it 4.33, more than 3.33.
    (bottom, top), fits = intervalplot.cost_limits(curve, [12.5, 14.0])
    assert fits == [True, False] and (bottom, top) == pytest.approx((10 - 1 / 6, 12.5 + 1 / 6))
    # A band to $5 is cut where the axis reaches 3.33: bottom 12.667 − 3.333 = 9.333.
    (bottom, top), _ = intervalplot.cost_limits(curve, [12.5], [pd.Series([5.0, 13.0])])
    assert (bottom, top) == pytest.approx((12.5 + 1 / 6 - 2 / 0.6, 12.5 + 1 / 6))


def test_interval_on_demand_off_scale_is_a_note_not_the_range() -> None:
    table = interval_table()  # on-demand $30, three times the spot minimum
    ax = plots.interval(table, ax=axes())
    bottom, top = ax.get_ylim()
    assert bottom <= 10 and top >= 12  # the whole spot curve ...
    assert 2.0 / (top - bottom) >= intervalplot.CURVE_SHARE  # ... spanning 60% of the axis
    assert not labelled(ax, "on-demand")
    assert on_demand_notes(ax) == ["on-demand, never interrupted: $30.00 (off scale)"]


def test_interval_on_demand_inside_is_one_labelled_line() -> None:
    ax = plots.interval(interval_table(on_demand_cost_usd=12.5), ax=axes())
    [line] = labelled(ax, "on-demand, never interrupted: $12.50")
    assert line.get_ydata()[0] == 12.5 and ax.get_ylim()[1] > 12.5
    assert not on_demand_notes(ax)


def test_interval_one_line_or_note_per_distinct_baseline() -> None:
    # Two jobs: 10 h (spot $10–12, on-demand $30) and 20 h (twice both).  The curves span
    # $10–24, so the axis may be 23.3 high: $30 fits (8.8 to 31.2), $60 does not.
    short = interval_table(**{"job.work": 36000.0})
    long = short.assign(**{"job.work": 72000.0, "on_demand_cost_usd": 60.0})
    for column in ("cost_usd_mean", "cost_usd_ci95_low", "cost_usd_ci95_high"):
        long[column] *= 2
    ax = plots.interval(pd.concat([short, long], ignore_index=True), ax=axes())
    [line] = labelled(ax, "on-demand, never interrupted (job.work = 10h): $30.00")
    assert line.get_ydata()[0] == 30.0 and ax.get_ylim()[1] > 30.0
    assert on_demand_notes(ax) == ["on-demand, never interrupted: $60.00 (off scale)"]
    # The same baseline on every row (a sweep over [checkpoint] keys): one line, one label.
    ax = plots.interval(pd.concat([short, long.assign(on_demand_cost_usd=30.0)]), ax=axes())
    assert len(labelled(ax, "on-demand")) + len(on_demand_notes(ax)) == 1
    assert labelled(ax, "on-demand, never interrupted: $30.00")


def test_interval_of_a_sweep_shows_each_baseline_once(by_interval: SweepResult) -> None:
    summary = by_interval.summary
    ax = plots.interval(summary, ax=axes())
    told = [re.search(r"\((\d+) baselines\)", n) for n in on_demand_notes(ax)]
    count = len(labelled(ax, "on-demand")) + sum(int(m[1]) if m else 1 for m in told)
    assert count == len(distinct(summary["on_demand_cost_usd"]))


def test_interval_one_series_per_other_varied_key(scenario: Scenario) -> None:
    grid = {"interruptions.mtbi": ["2h", "6h"], "checkpoint.interval": ["15min", "1h"]}
    result = sweep(scenario, grid, reps=20, seed=1, max_miss=1)
    ax = plots.interval(result.summary, ax=axes())
    costs = labelled(ax, "interruptions.mtbi = ")
    assert [str(c.get_label()).split(":")[0] for c in costs if "cost" in str(c.get_label())] == [
        "interruptions.mtbi = 2h",
        "interruptions.mtbi = 6h",
    ]


def test_interval_needs_an_interval_sweep(by_policy: SweepResult) -> None:
    with pytest.raises(PlotError, match=r"checkpoint\.interval"):
        plots.interval(by_policy.summary, ax=axes())


def test_interval_without_ax_uses_pyplot(by_interval: SweepResult) -> None:
    import matplotlib.pyplot as plt

    ax = plots.interval(by_interval.summary)
    assert isinstance(ax, Axes) and plt.gcf() is ax.figure
    plt.close("all")


# --- cdf -------------------------------------------------------------------------------


def test_cdf_one_line_per_grid_point_with_on_demand_and_deadline(
    by_interval: SweepResult,
) -> None:
    ax = plots.cdf(by_interval.runs, ax=axes(), on_demand_wall_h=10.5, deadline_h=12)
    names = [f"checkpoint every {v}" for v in INTERVALS]
    assert legend_texts(ax) == [*names, "on-demand, never interrupted: 10.5 h", "deadline: 12 h"]
    for name, value in zip(names, INTERVALS, strict=True):
        [line] = labelled(ax, name)
        seconds = parse_duration(value)
        walls = by_interval.runs.loc[by_interval.runs["checkpoint.interval"] == seconds, "wall_h"]
        assert line.get_xdata().tolist() == sorted(walls)
        assert line.get_ydata()[-1] == pytest.approx(100)
    assert ax.get_xlabel().startswith("wall time") and "finished" in ax.get_ylabel()
    assert ax.get_title().endswith("over 50 runs each, deadline 12h")
    [deadline] = labelled(ax, "deadline")
    assert deadline.get_xdata()[0] == 12


def test_cdf_draws_the_optimum_thick_and_each_on_demand_time_once(
    by_interval: SweepResult,
) -> None:
    optimum = by_interval.optimum
    best = optimum["point"]["checkpoint.interval"]
    ax = plots.cdf(by_interval.runs, ax=axes(), optimum=optimum, on_demand_wall_h=[10.5, 10.5, 11])
    [line] = [line for line in ax.get_lines() if "(the optimum)" in str(line.get_label())]
    runs = by_interval.runs
    assert line.get_xdata().tolist() == sorted(
        runs.loc[runs["checkpoint.interval"] == best, "wall_h"]
    )
    others = [x for x in labelled(ax, "checkpoint every") if x is not line]
    assert all(line.get_linewidth() >= 2 * x.get_linewidth() for x in others)
    assert len(labelled(ax, "checkpoint every")) == len(INTERVALS)
    assert [str(w.get_label()) for w in labelled(ax, "on-demand")] == [
        "on-demand, never interrupted: 10.5 h",
        "on-demand, never interrupted: 11.0 h",
    ]


def test_cdf_by_a_column_and_many_points_thinned(by_interval: SweepResult) -> None:
    runs = by_interval.runs.assign(zone=np.where(by_interval.runs["rep"] % 2 == 0, "a", "b"))
    ax = plots.cdf(runs, ax=axes(), by="zone")
    assert legend_texts(ax) == ["zone = a", "zone = b"]
    many = pd.concat([by_interval.runs.assign(**{"x.k": i}) for i in range(12)])
    ax = plots.cdf(many, ax=axes(), by="x.k")
    assert len(ax.get_lines()) == plots.MAX_CDF_LINES
    assert "(10 of 12 grid points)" in ax.get_title()
    # 10 of 0..11 evenly: round(11·i/9) = 0, 1, 2, 4, 5, 6, 7, 9, 10, 11; the optimum's 3 joins.
    ax = plots.cdf(many, ax=axes(), by="x.k", optimum={"point": {"x.k": 3}})
    assert "(11 of 12 grid points)" in ax.get_title()
    assert [str(line.get_label()) for line in ax.get_lines()][3] == "x.k = 3 (the optimum)"


def test_cdf_of_a_single_run_table(scenario: Scenario) -> None:
    from preemptsim import simulate

    ax = plots.cdf(simulate(scenario, reps=30, seed=1), ax=axes())
    assert legend_texts(ax) == ["simulated runs (30)"]


# --- timeline --------------------------------------------------------------------------


def test_timeline_strip_of_a_scripted_run(scenario: Scenario) -> None:
    scripted = scenario.with_values({"interruptions.model": "scripted", "interruptions.at": [3600]})
    spans = timeline(scripted, 0, 1)
    ax = gantt.timeline(spans, ax=axes())
    # 30 min segments: 30 min of work, 2 min checkpoint, 28 min of work lost at 1 h.
    assert ax.get_title().startswith("One run: 1 interruption, 0.47 h of work lost")
    assert legend_texts(ax) == [
        "useful work",
        "checkpoint write (also ticked below)",
        "work lost to an interruption",
        "restore",
        "waiting for an instance (not billed)",
        "interruption",
    ]
    [marker] = [line for line in ax.get_lines() if line.get_marker() == "v"]
    assert marker.get_xdata().tolist() == [1.0]
    assert ax.get_xlim()[1] == pytest.approx(spans["end_h"].max() * 1.01)
    assert ax.get_xlabel() == "time since the start (h)"


def test_timeline_hatches_on_demand() -> None:
    spans = pd.DataFrame(
        {
            "start_h": [0.0, 1.0, 1.0, 1.1, 1.2],
            "end_h": [1.0, 1.0, 1.1, 1.2, 3.0],
            "kind": ["work", "interruption", "wait", "restore", "work"],
            "market": ["spot", "spot", None, "on_demand", "on_demand"],
        }
    )
    ax = gantt.timeline(spans, ax=axes())
    hatches = [c.get_hatch() for c in ax.collections if isinstance(c, PolyCollection)]
    assert gantt.ON_DEMAND_HATCH in hatches
    assert "on an on-demand instance (hatched)" in legend_texts(ax)
    with pytest.raises(PlotError, match="start_h"):
        gantt.timeline(spans.drop(columns="start_h"), ax=axes())


def test_timeline_marks_the_deadline() -> None:
    spans = pd.DataFrame({"start_h": [0.0], "end_h": [3.0], "kind": ["work"]})
    ax = gantt.timeline(spans, ax=axes(), deadline_h=4.0)
    [line] = labelled(ax, "deadline")
    assert line.get_xdata()[0] == 4.0 and line.get_label() == "deadline (4h)"
    assert "deadline (4h)" in legend_texts(ax)
    assert [t.get_text().strip() for t in ax.texts] == ["deadline"]
    assert ax.get_xlim()[1] == pytest.approx(4.0 * 1.01)  # the strip reaches the deadline
    assert not labelled(gantt.timeline(spans, ax=axes()), "deadline")
    fig = plots.figure("timeline", spans=spans, deadline_h=2.5)
    assert labelled(fig.axes[0], "deadline (2.5h)")


def test_figures_for_the_command_line(by_interval: SweepResult, by_policy: SweepResult) -> None:
    fig = plots.figure("interval", summary=by_interval.summary, optimum=by_interval.optimum)
    assert len(fig.axes) == 2  # the cost axis and its wall-time twin
    fig = plots.figure("risk", summary=by_policy.summary)
    assert [ax.get_title() for ax in fig.axes] == [
        "Cost against deadline risk",
        "Deadline miss probability against the deadline",
    ]
    # A sweep over deadlines: the CDF of one deadline, the scenario's or the grid's middle.
    fig = plots.figure("cdf", runs=by_policy.runs, summary=by_policy.summary, deadline_h=12)
    assert legend_texts(fig.axes[0])[-1] == "deadline: 13 h"
    assert len(fig.axes[0].get_lines()) == 3 + 2
    assert fig.axes[0].get_title().endswith("deadline 13h")
    # optimum.json per deadline: the one of the deadline shown, drawn thick.
    at = [
        {"point": {"policy.kind": k, "policy.deadline": d}}
        for k, d in [("spot", 39600.0), ("greedy", 46800.0)]
    ]
    fig = plots.figure("cdf", runs=by_policy.runs, optimum=at, deadline_h=13)
    assert [
        str(x.get_label()) for x in fig.axes[0].get_lines() if "optimum" in str(x.get_label())
    ] == ["Greedy (the optimum)"]
    # One optimum across the deadlines: its deadline, even where the scenario's is in the grid.
    fig = plots.figure("cdf", runs=by_policy.runs, optimum=at[0], deadline_h=13)
    assert legend_texts(fig.axes[0])[-1] == "deadline: 11 h"
    assert "spot only (the optimum)" in legend_texts(fig.axes[0])
    assert plots.applicable(by_policy.summary, by_policy.runs) == ["risk", "cdf"]
    assert plots.applicable(by_interval.summary, None) == ["interval", "risk"]
    with pytest.raises(PlotError, match="timeline CSV"):
        plots.figure("timeline", summary=by_interval.summary)
