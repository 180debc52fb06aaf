"""The deadline-risk figures (preemptsim/riskplot.py) and the point labels they share: on a
small real sweep and on tables written by hand, each distinct on-demand baseline drawn once,
the Pareto front taken within one deadline, advise's candidates with the recommendation
starred, and labels that the renderer shows never overlapping."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection

from preemptsim import load_scenario, plots
from preemptsim.plotbase import PlotError, PointLabels, distinct
from preemptsim.sweep import SweepResult, sweep
from tests.conftest import small_job_toml
from tests.plotkit import assert_apart, axes, drawn_labels, labelled, legend_texts

H = 3600.0


@pytest.fixture(scope="module")
def by_policy() -> SweepResult:
    import tomllib

    scenario = load_scenario(tomllib.loads(small_job_toml("risk-test", deadline="12h")))
    grid = {"policy.kind": ["spot", "greedy", "on_demand"], "policy.deadline": ["11h", "13h"]}
    return sweep(scenario, grid, reps=50, seed=1, max_miss=1)


def risk_table(rows: list[tuple[str, float, float, float]], **columns: Any) -> pd.DataFrame:
    """A summary written by hand: (policy, deadline h, miss probability, mean cost) per row;
    on-demand $30 finishing in 10 h unless ``columns`` say otherwise."""
    table = pd.DataFrame(rows, columns=["policy.kind", "deadline_h", "deadline_miss_prob", "cost"])
    table = table.assign(
        **{"policy.deadline": table["deadline_h"] * H, "cost_usd_mean": table["cost"]},
        on_demand_cost_usd=30.0,
        on_demand_wall_h=10.0,
    )
    return table.drop(columns=["deadline_h", "cost"]).assign(**columns)


def stars(ax: Any) -> list[tuple[float, float]]:
    [line] = labelled(ax, "on-demand, never interrupted")
    return list(zip(line.get_xdata(), line.get_ydata(), strict=True))


def rings(ax: Any) -> list[set[tuple[float, float]]]:
    """The points of each ring line (dashed, open circles)."""
    lines = [x for x in ax.get_lines() if x.get_marker() == "o" and x.get_linestyle() == "--"]
    return [set(zip(x.get_xdata(), x.get_ydata(), strict=True)) for x in lines]


# --- the Pareto front ------------------------------------------------------------------


def test_pareto_front_keeps_what_nothing_beats() -> None:
    miss = np.array([0.0, 10.0, 5.0, 20.0, 0.0])
    cost = np.array([10.0, 5.0, 7.0, 6.0, 12.0])
    # (0, 10) then (5, 7) then (10, 5); (20, 6) costs more than (10, 5); (0, 12) than (0, 10)
    assert plots.pareto_front(miss, cost).tolist() == [0, 2, 1]


def test_risk_rings_the_front_of_each_deadline_not_across_them() -> None:
    # 11 h: spot (50%, $12), greedy (0%, $20), on-demand (0%, $30): front (0, 20), (50, 12).
    # 13 h: spot (0%, $10), greedy (0%, $15), on-demand (0%, $30): front (0, 10) alone.
    # Across deadlines (0, 10) would beat both 11 h points: neither would be ringed.
    table = risk_table(
        [
            ("spot", 11, 0.5, 12.0),
            ("greedy", 11, 0.0, 20.0),
            ("spot", 13, 0.0, 10.0),
            ("greedy", 13, 0.0, 15.0),
        ]
    )
    ax = plots.risk(table, ax=axes())
    assert sorted(map(sorted, rings(ax))) == [[(0.0, 10.0)], [(0.0, 20.0), (50.0, 12.0)]]
    assert legend_texts(ax)[-1].endswith("cheaper and safer, per deadline")
    assert stars(ax) == [(0.0, 30.0)]  # one baseline, meeting both deadlines: one star


def test_risk_one_star_per_distinct_baseline() -> None:
    rows = [("spot", 40, 0.1, 12.0), ("greedy", 40, 0.0, 15.0)]
    # Two jobs (job.work varied): two baselines, $30 and $60, both on time: two stars.
    table = pd.concat(
        [
            risk_table(rows, **{"job.work": 10 * H}),
            risk_table(rows, **{"job.work": 20 * H, "on_demand_cost_usd": 60.0}),
        ]
    )
    ax = plots.risk(table, ax=axes())
    assert sorted(stars(ax)) == [(0.0, 30.0), (0.0, 60.0)]
    assert "on-demand, never interrupted: $30.00–60.00 (2 baselines)" in legend_texts(ax)
    # One baseline, finishing at 12 h: late for 11 h (100%), on time for 13 h (0%).
    table = risk_table([("spot", 11, 0.9, 12.0), ("spot", 13, 0.1, 12.0)], on_demand_wall_h=12.0)
    assert sorted(stars(plots.risk(table, ax=axes()))) == [(0.0, 30.0), (100.0, 30.0)]


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
    assert len(stars(ax)) == len(distinct(summary["on_demand_cost_usd"]))  # on time for both
    assert stars(ax)[0] == (0.0, pytest.approx(summary["on_demand_cost_usd"].iloc[0]))
    for ring, hours in zip(rings(ax), (11, 13), strict=True):
        rows = summary[summary["policy.deadline"] == hours * H]
        mine = {
            *zip(100 * rows["deadline_miss_prob"], rows["cost_usd_mean"], strict=True),
            *stars(ax),
        }
        assert ring <= mine  # nothing of its deadline is both safer (or as safe) and cheaper
        for x, y in ring:
            assert not any(a <= x and b < y for a, b in mine)
    assert "probability of missing" in ax.get_xlabel() and "USD" in ax.get_ylabel()
    shown, _ = drawn_labels(ax)
    assert shown and {part for t in shown for part in t.split(", ")} <= {"11h", "13h"}


def test_risk_with_one_deadline_names_it(by_policy: SweepResult) -> None:
    summary = by_policy.summary[by_policy.summary["policy.deadline"] == 13 * H]
    summary = summary.drop(columns="policy.deadline")
    ax = plots.risk(summary, ax=axes(), deadline_h=13)
    assert ax.get_title() == "Cost against deadline risk (deadline 13h)"
    assert legend_texts(ax)[:2] == ["spot only", "Greedy"]
    assert len(rings(ax)) == 1


def test_risk_without_deadline_is_refused(by_policy: SweepResult) -> None:
    summary = by_policy.summary.assign(deadline_miss_prob=np.nan)
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
    walls = labelled(ax, "on-demand finishes")
    assert [w.get_xdata()[0] for w in walls] == distinct(summary["on_demand_wall_h"])
    assert ax.get_xlabel().startswith("deadline (h")


# --- labels ----------------------------------------------------------------------------


def test_risk_labels_never_overlap_however_crowded() -> None:
    # 3 policies × 15 deadlines, all within 3% and $1 of each other: most labels cannot fit.
    rng = np.random.default_rng(1)
    rows = [
        (kind, 20 + d, rng.uniform(0, 0.03), 12 + rng.uniform(0, 1))
        for kind in ("spot", "greedy", "uniform_progress")
        for d in range(15)
    ]
    ax = plots.risk(risk_table(rows), ax=axes((6.0, 4.0)))
    for dpi in (100.0, 200.0):  # placed again when drawn at another size
        shown, boxes = drawn_labels(ax, dpi)
        assert 1 <= len(shown) < 45
        assert_apart(boxes, ax.get_window_extent())


def test_point_labels_go_first_come_first_served() -> None:
    ax = axes()
    ax.plot([0, 1], [0, 1], "o")
    ax.set_xlim(-1, 2)
    ax.set_ylim(-1, 2)
    PointLabels(ax, [(0.5, 0.5)] * 30, [f"label {i}" for i in range(30)])
    shown, boxes = drawn_labels(ax)
    assert shown[:2] == ["label 0", "label 1"] and len(shown) < 30
    assert_apart(boxes, ax.get_window_extent())


# --- advise's candidates ---------------------------------------------------------------


def candidates(**columns: Any) -> pd.DataFrame:
    """Spot at 10 min, 30 min, 1 h; Greedy at 30 min, 1 h; on-demand: Greedy every 30 min is
    the cheapest within a 5% miss probability, so it is the recommendation."""
    table = pd.DataFrame(
        {
            "policy.kind": ["spot", "spot", "spot", "greedy", "greedy", "on_demand"],
            "checkpoint.interval": [600.0, 1800.0, 3600.0, 1800.0, 3600.0, 1800.0],
            "cost_usd_mean": [14.0, 11.0, 12.0, 18.0, 19.0, 30.0],
            "deadline_miss_prob": [0.3, 0.2, 0.4, 0.02, 0.01, 0.0],
            "wall_h_p95": [14.0, 13.0, 15.0, 11.5, 11.4, 10.5],
            "on_demand_cost_usd": 30.0,
            "recommended": [False, False, False, True, False, False],
        }
    )
    table["cost_usd_ci95_low"] = table["cost_usd_mean"] - 0.5
    table["cost_usd_ci95_high"] = table["cost_usd_mean"] + 0.75
    return table.assign(**columns)


def test_pareto_series_per_policy_with_intervals_star_and_on_demand() -> None:
    ax = plots.pareto(candidates(), ax=axes((8.0, 5.0)))
    assert legend_texts(ax) == [
        "spot only",
        "Greedy",
        "on-demand",
        "recommended: Greedy, checkpoint every 30min, $18.00",
        "on-demand, never interrupted: $30.00",
    ]
    spot = ax.containers[0]
    data_line, _, (bars,) = spot.lines
    np.testing.assert_allclose(data_line.get_xdata(), [30, 20, 40])  # miss, %
    np.testing.assert_allclose(data_line.get_ydata(), [14, 11, 12])
    ends = [(seg[0][1], seg[1][1]) for seg in bars.get_segments()]
    np.testing.assert_allclose(ends, [(13.5, 14.75), (10.5, 11.75), (11.5, 12.75)])
    [star] = labelled(ax, "recommended")
    assert (star.get_xdata()[0], star.get_ydata()[0]) == (pytest.approx(2.0), 18.0)
    [line] = labelled(ax, "on-demand, never interrupted")
    assert line.get_ydata()[0] == 30.0
    # By rising risk: on-demand (0%, $30), Greedy 1 h (1%, $19), Greedy 30 min (2%, $18),
    # spot 30 min (20%, $11): the front, labelled with its intervals after "recommended".
    shown, boxes = drawn_labels(ax)
    assert shown[0] == "recommended" and set(shown) <= {"recommended", "30min", "1h"}
    assert_apart(boxes, ax.get_window_extent())
    assert "deadline" in ax.get_xlabel()


def test_pareto_without_deadline_plots_against_p95_wall_time() -> None:
    ax = plots.pareto(candidates(deadline_miss_prob=np.nan), ax=axes())
    assert "p95 wall time" in ax.get_xlabel() and "no deadline" in ax.get_xlabel()
    np.testing.assert_allclose(ax.containers[0].lines[0].get_xdata(), [14, 13, 15])
    [star] = labelled(ax, "recommended")
    assert star.get_xdata()[0] == 11.5


@pytest.mark.parametrize("chosen", [[], [0, 3]])
def test_pareto_needs_one_recommendation(chosen: list[int]) -> None:
    table = candidates(recommended=False)
    table.loc[chosen, "recommended"] = True
    with pytest.raises(PlotError, match=f"exactly one recommended candidate, got {len(chosen)}"):
        plots.pareto(table, ax=axes())
