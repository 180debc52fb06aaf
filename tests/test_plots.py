"""Figures (preemptsim/plots.py, gantt.py) and ``preemptsim plot``: each plot function, on a
small real sweep, draws the artists a reader needs (checked on the Axes, not on pixels); the
command line writes real PNG and SVG files and turns bad input into one line and exit code 2.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from preemptsim import gantt, load_scenario, plots
from preemptsim.cli import main
from preemptsim.plotbase import PlotError
from preemptsim.scenario import Scenario
from preemptsim.simulate import timeline
from preemptsim.sweep import SweepResult, sweep
from preemptsim.units import parse_duration
from tests.conftest import small_job_toml

INTERVALS = ["10min", "30min", "1h", "2h"]
REPS = 50
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


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


def axes() -> Axes:
    """A bare Axes (no pyplot state to leak between tests)."""
    return Figure(layout="constrained").subplots()


def legend_texts(ax: Axes) -> list[str]:
    legend = ax.get_legend()
    assert legend is not None
    return [text.get_text() for text in legend.get_texts()]


def labelled(ax: Axes, start: str) -> list[Any]:
    """The lines of ``ax`` whose label starts with ``start``."""
    return [line for line in ax.get_lines() if str(line.get_label()).startswith(start)]


# --- interval --------------------------------------------------------------------------


def test_interval_cost_band_wall_twin_on_demand_and_optima(by_interval: SweepResult) -> None:
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
    assert labelled(ax, "on-demand")
    for name, key in (("Young", "young_s"), ("Daly", "daly_s"), ("exact", "exact_s")):
        [line] = labelled(ax, name)
        assert line.get_xdata()[0] == pytest.approx(optimum[key] / 60)
    texts = legend_texts(ax)
    assert len(texts) == 7 and any("Young" in t and "min" in t for t in texts)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["10min", "30min", "1h", "2h"]


def test_interval_without_optimum_draws_no_theory(by_interval: SweepResult) -> None:
    ax = plots.interval(by_interval.summary, ax=axes())
    assert not labelled(ax, "Young") and not labelled(ax, "exact")
    assert len(legend_texts(ax)) == 4


def test_interval_one_series_per_other_varied_key(scenario: Scenario) -> None:
    grid = {"interruptions.mtbi": ["2h", "6h"], "checkpoint.interval": ["15min", "1h"]}
    result = sweep(scenario, grid, reps=20, seed=1)
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


# --- risk ------------------------------------------------------------------------------


def test_pareto_keeps_what_nothing_beats() -> None:
    miss = np.array([0.0, 10.0, 5.0, 20.0, 0.0])
    cost = np.array([10.0, 5.0, 7.0, 6.0, 12.0])
    # (0, 10) then (5, 7) then (10, 5); (20, 6) costs more than (10, 5); (0, 12) than (0, 10)
    assert plots.pareto(miss, cost).tolist() == [0, 2, 1]


def test_risk_series_per_policy_on_demand_and_frontier(by_policy: SweepResult) -> None:
    summary = by_policy.summary
    ax = plots.risk(summary, ax=axes())
    texts = legend_texts(ax)
    assert texts[:3] == ["spot only", "Greedy", "on-demand"]
    assert texts[3].startswith("on-demand, never interrupted: $")
    assert texts[4].startswith("Pareto frontier")
    for name, kind in (("spot only", "spot"), ("Greedy", "greedy")):
        [line] = labelled(ax, name)
        rows = summary[summary["policy.kind"] == kind]
        np.testing.assert_allclose(line.get_xdata(), 100 * rows["deadline_miss_prob"])
        np.testing.assert_allclose(line.get_ydata(), rows["cost_usd_mean"])
    [star] = labelled(ax, "on-demand, never")
    assert star.get_xdata().tolist() == [0.0]  # on-demand meets both deadlines
    assert star.get_ydata()[0] == pytest.approx(summary["on_demand_cost_usd"].iloc[0])
    [frontier] = labelled(ax, "Pareto")
    points = set(zip(frontier.get_xdata(), frontier.get_ydata(), strict=True))
    miss, cost = 100 * summary["deadline_miss_prob"], summary["cost_usd_mean"]
    everything = list(zip(miss, cost, strict=True))
    for x, y in points:  # nothing is both safer (or as safe) and cheaper
        assert not any(a <= x and b < y for a, b in everything)
    assert "probability of missing" in ax.get_xlabel() and "USD" in ax.get_ylabel()
    assert {t.get_text() for t in ax.texts} <= {"11h", "13h"}  # deadlines labelled


def test_risk_with_one_deadline_names_it(scenario: Scenario) -> None:
    result = sweep(scenario, {"policy.kind": ["spot", "greedy"]}, reps=20, seed=1)
    ax = plots.risk(result.summary, ax=axes(), deadline_h=12)
    assert ax.get_title() == "Cost against deadline risk (deadline 12h)"
    assert legend_texts(ax)[:2] == ["spot only", "Greedy"]


def test_risk_of_an_interval_sweep_is_one_series_along_the_intervals(
    by_interval: SweepResult,
) -> None:
    summary = by_interval.summary
    ax = plots.risk(summary, ax=axes(), deadline_h=12)
    assert legend_texts(ax)[0] == "spot only" and len(legend_texts(ax)) == 3
    [line] = labelled(ax, "spot only")
    np.testing.assert_allclose(line.get_ydata(), summary["cost_usd_mean"])
    [star] = labelled(ax, "on-demand, never")  # the cheapest on-demand baseline, once
    assert star.get_ydata().tolist() == [summary["on_demand_cost_usd"].min()]


def test_risk_without_deadline_is_refused(by_interval: SweepResult) -> None:
    summary = by_interval.summary.assign(deadline_miss_prob=math.nan)
    with pytest.raises(PlotError, match="deadline"):
        plots.risk(summary, ax=axes())


def test_miss_vs_deadline_lines_bands_and_on_demand(by_policy: SweepResult) -> None:
    summary = by_policy.summary
    ax = plots.miss_vs_deadline(summary, ax=axes())
    assert legend_texts(ax)[:3] == ["spot only", "Greedy", "on-demand"]
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 3
    [spot] = labelled(ax, "spot only")
    np.testing.assert_allclose(spot.get_xdata(), [11, 13])
    rows = summary[summary["policy.kind"] == "spot"]
    np.testing.assert_allclose(spot.get_ydata(), 100 * rows["deadline_miss_prob"])
    [wall] = labelled(ax, "on-demand finishes")
    assert wall.get_xdata()[0] == pytest.approx(summary["on_demand_wall_h"].min())
    assert ax.get_xlabel().startswith("deadline (h")


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


def test_cdf_by_a_column_and_many_points_thinned(by_interval: SweepResult) -> None:
    runs = by_interval.runs.assign(zone=np.where(by_interval.runs["rep"] % 2 == 0, "a", "b"))
    ax = plots.cdf(runs, ax=axes(), by="zone")
    assert legend_texts(ax) == ["zone = a", "zone = b"]
    many = pd.concat([by_interval.runs.assign(**{"x.k": i}) for i in range(12)])
    ax = plots.cdf(many, ax=axes(), by="x.k")
    assert len(ax.get_lines()) == plots.MAX_CDF_LINES
    assert "(10 of 12 grid points)" in ax.get_title()


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
    assert plots.applicable(by_policy.summary, by_policy.runs) == ["risk", "cdf"]
    assert plots.applicable(by_interval.summary, None) == ["interval", "risk"]
    with pytest.raises(PlotError, match="timeline CSV"):
        plots.figure("timeline", summary=by_interval.summary)


# --- the command line ------------------------------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 1000


def test_sweep_plots_writes_every_plot_that_applies(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sweep"
    vary = "checkpoint.interval=15min,1h"
    args = ["--vary", vary, "--reps", 20, "--out", out, "--plots", "--max-miss", "100%"]
    code, stdout, err = run_cli(capsys, "sweep", scenario_file, *args)
    assert (code, err) == (0, "")
    for kind in ("interval", "risk", "cdf"):
        assert_png(out / f"{kind}.png")
        assert f"{kind} plot written to {out / f'{kind}.png'}" in stdout
    code, stdout, _ = run_cli(capsys, "plot", out, "--kind", "risk", "--out", tmp_path / "r.svg")
    assert code == 0 and (tmp_path / "r.svg").read_text().lstrip().startswith("<?xml")
    code, stdout, _ = run_cli(capsys, "plot", out)  # default kind: interval
    assert code == 0 and stdout == f"interval plot written to {out / 'interval.png'}\n"


def test_run_timeline_and_run_folder(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "tl.csv"
    code, _, _ = run_cli(
        capsys, "run", scenario_file, "--reps", 20, "--out", tmp_path / "run", "--timeline", csv
    )
    assert code == 0
    spans = pd.read_csv(csv)
    assert list(spans.columns) == ["start_h", "end_h", "kind", "market"]
    pd.testing.assert_frame_equal(
        spans, timeline(load_scenario(scenario_file), 0, 1), check_dtype=False
    )
    assert run_cli(capsys, "plot", csv)[0] == 0
    assert_png(tmp_path / "tl.png")
    assert run_cli(capsys, "plot", tmp_path / "run")[0] == 0
    assert_png(tmp_path / "run" / "cdf.png")


def test_run_without_timeline_does_not_trace(
    scenario_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("timeline() ran without --timeline")

    monkeypatch.setattr("preemptsim.cli.timeline", refuse)
    assert run_cli(capsys, "run", scenario_file, "--reps", 10)[0] == 0


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        (None, ["missing"], "missing: no such results folder or timeline CSV"),
        ("empty", ["DIR"], "not a sweep's or run's --out"),
        ("garbage", ["DIR"], "summary.csv: unreadable"),
        ("timeline", ["DIR/tl.csv", "--kind", "interval"], "needs a sweep's folder"),
        ("timeline", ["DIR/tl.csv", "--out", "DIR/x.jpg"], "must end in .png or .svg"),
        ("policies", ["DIR", "--kind", "interval"], "needs the column(s) checkpoint.interval"),
    ],
)
def test_plot_errors_are_one_line_exit_2(
    setup: str | None,
    args: list[str],
    message: str,
    scenario_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if setup == "garbage":
        (tmp_path / "summary.csv").write_bytes(b'"unterminated')
    elif setup == "timeline":
        timeline(load_scenario(scenario_file), 0, 1).to_csv(tmp_path / "tl.csv", index=False)
    elif setup == "policies":
        grid = "policy.kind=spot,greedy"
        run_cli(
            capsys,
            "sweep",
            scenario_file,
            "--vary",
            grid,
            "--reps",
            10,
            "--out",
            tmp_path,
            "--force",
        )
    root = str(tmp_path)
    code, _, err = run_cli(capsys, "plot", *(a.replace("DIR", root) for a in args))
    assert code == 2
    assert err.startswith("preemptsim: error: ") and message in err and err.count("\n") == 1


def test_sweep_plots_needs_out(scenario_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(
        capsys, "sweep", scenario_file, "--vary", "checkpoint.interval=1h,2h", "--plots"
    )
    assert code == 2 and err == (
        "preemptsim: error: --plots needs --out DIR: the plots are written beside the results\n"
    )


def test_run_folder_records_its_scenario_for_the_deadline(tmp_path: Path) -> None:
    from preemptsim import outputs

    out = tmp_path / "run"
    assert main(["run", "--reps", "30", "--out", str(out), "--set", "policy.deadline=31h"]) == 0
    tables = outputs.read_results(out)
    assert tables["deadline_h"] == 31
    assert main(["plot", str(out), "--kind", "cdf", "--out", str(tmp_path / "c.png")]) == 0
