"""The offline optimum (DESIGN.md §1, Precisions (offline optimum)): hand-worked traces,
and the invariants that make it a reference — a lower bound on every run that meets the
deadline, and a schedule that meets it whenever on-demand from the start would."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import preemptsim as ps
from preemptsim import offline
from preemptsim.cli import main
from preemptsim.offline import dp
from preemptsim.report import format_sweep
from tests.conftest import scenario

# W = 10 h; spot $1/h, on-demand $3/h; D = 3 min, R = 9 min: a changeover of 12 min.  The
# programme's grid (18-25 s here) rounds on the optimum's side: a few cents below at most,
# never above.
DELAYS = {"provision": "3min", "restore": "9min"}


def write_trace(folder: Path, preempted: list[int], prices: list[float] | None = None) -> str:
    path = folder / "trace.json"
    doc: dict[str, object] = {"metadata": {"gap_seconds": 3600}, "data": preempted}
    if prices is not None:
        doc["prices"] = prices
    path.write_text(json.dumps(doc))
    return str(path)


def on_trace(path: str, deadline: str, start: float = 0.0, **tables: dict) -> ps.Scenario:
    return scenario(
        restart=DELAYS,
        interruptions={"model": "trace", "path": path, "start": start},
        policy={"kind": "greedy", "deadline": deadline},
        **tables,
    )


GAP = [0, 0, 0, 1, 1] + [0] * 19  # capacity gone from 3 h to 5 h


def test_all_spot_when_capacity_never_goes(tmp_path: Path) -> None:
    best = ps.offline_optimum(on_trace(write_trace(tmp_path, [0] * 24), "12h"))
    assert best.cost_usd == pytest.approx(10.0)  # 10 h at $1
    assert best.on_demand_instance_h == 0 and best.met_deadline


def test_waits_out_a_gap_when_the_deadline_allows(tmp_path: Path) -> None:
    # Deadline 14 h: starting at 5 h would end at 15 h.  Spot until 3 h; taken, capacity at
    # 5 h (the provision overlaps the wait), restore 9 min at $1, 7 h of work: done at
    # 12:09, $10 + $0.15; on-demand would cost more.
    best = ps.offline_optimum(on_trace(write_trace(tmp_path, GAP), "14h"))
    assert 10.15 - 0.05 <= best.cost_usd <= 10.15 + 1e-9
    assert best.on_demand_instance_h == 0
    assert [lease.market for lease in best.leases] == ["spot", "spot"]


def test_bridges_a_gap_on_demand_when_waiting_would_miss(tmp_path: Path) -> None:
    # Deadline 12 h: waiting ends at 12:09.  Slack 2 h; bridging with w of on-demand work
    # spends 12 min + (5:09 − 3:12 − w) of slack, ≤ 120 min ⇒ w ≥ 9 min.  Cost: on-demand
    # restore 9 min and work 9 min at $3 ($0.90), spot restore $0.15, 9.85 h of spot:
    # $10.90, finishing at 12 h.  Rounding on the optimum's side may shave a few cents.
    best = ps.offline_optimum(on_trace(write_trace(tmp_path, GAP), "12h"))
    assert 10.90 - 0.1 <= best.cost_usd <= 10.90 + 1e-9
    assert [lease.market for lease in best.leases] == ["spot", "on_demand", "spot"]
    assert best.on_demand_instance_h == pytest.approx(0.3, abs=0.05)


def test_a_tight_deadline_forces_on_demand_throughout(tmp_path: Path) -> None:
    # Deadline = W: no slack for any changeover, and spot goes at 5 h: on-demand, $30.
    preempted = [0] * 5 + [1] + [0] * 18
    best = ps.offline_optimum(on_trace(write_trace(tmp_path, preempted), "10h"))
    assert best.cost_usd == pytest.approx(30.0)
    assert best.met_deadline and best.spot_instance_h == 0


def test_no_schedule_can_meet_an_impossible_deadline(tmp_path: Path) -> None:
    # A deadline shorter than the work is refused up front; one hour of setup makes 10.5 h
    # too short for 10 h of work: on-demand from the start (setup, then work) takes 11 h.
    job = {"work": "10h", "setup": "1h"}
    best = ps.offline_optimum(on_trace(write_trace(tmp_path, [0] * 24), "10.5h", job=job))
    assert not best.met_deadline
    assert best.cost_usd == pytest.approx(33.0) and best.wall_h == pytest.approx(11.0)


def test_waits_for_capacity_rather_than_pay_a_changeover(tmp_path: Path) -> None:
    # Deadline 15 h: starting at 5 h, 10 h of spot with no changeover ends at 15 h: $10.
    best = ps.offline_optimum(on_trace(write_trace(tmp_path, GAP), "15h"))
    assert 10.0 - 0.05 <= best.cost_usd <= 10.0 + 1e-9
    assert len(best.leases) == 1 and best.leases[0].start_s == pytest.approx(5 * 3600, abs=60)


def test_a_start_in_a_gap_waits_for_capacity_without_a_changeover(tmp_path: Path) -> None:
    # Starting 3 h into the trace: capacity at run time 2 h, the first start pays nothing.
    best = ps.offline_optimum(on_trace(write_trace(tmp_path, GAP), "13h"), start_s=3 * 3600.0)
    assert 10.0 - 0.05 <= best.cost_usd <= 10.0 + 1e-9
    assert best.leases[0].start_s == pytest.approx(7200.0, abs=60)


def test_prices_gang_and_storage_are_billed(tmp_path: Path) -> None:
    # No gap, $2/h then $0.5/h from 5 h; two instances; 100 GB at $0.73/GB-month ($0.1/h).
    # Deadline 10 h: 2 × (5 × $2 + 5 × $0.5) + $1 of storage.  Deadline 11 h: wait 1 h at
    # the start (free), then 2 × (4 × $2 + 6 × $0.5) + $1.1.
    path = write_trace(tmp_path, [0] * 24, [2.0] * 5 + [0.5] * 19)
    tables = {"job": {"instances": 2}, "checkpoint": {"size_gb": 100}}
    storage = {"pricing": {"storage_usd_per_gb_month": 0.73}}
    exact = ps.offline_optimum(on_trace(path, "10h", **tables, **storage))
    assert 26.0 - 0.05 <= exact.cost_usd <= 26.0 + 1e-9  # a price change is seen 2u early
    later = ps.offline_optimum(on_trace(path, "11h", **tables, **storage))
    assert 23.1 - 0.05 <= later.cost_usd <= 23.1 + 1e-9
    assert later.leases[0].start_s == pytest.approx(3600, abs=60)


def test_needs_a_trace_and_a_deadline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ps.ScenarioError, match=r"interruptions\.model"):
        ps.offline_optimum(scenario(policy={"deadline": "12h"}), start_s=0.0)
    sc = scenario(interruptions={"model": "trace", "path": write_trace(tmp_path, [0] * 24)})
    with pytest.raises(ps.ScenarioError, match=r"policy\.deadline"):
        ps.offline_optimum(sc, start_s=0.0)
    assert main(["optimum", "runpod-a6000-lora-7b"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "interruptions.model" in err


def test_cli_prints_the_optimum_of_each_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = tmp_path / "sc.toml"
    toml.write_text(
        f"""name = "gap"\n[job]\nwork = "10h"\n[checkpoint]\ninterval = "2h"\n
[restart]\nprovision = "3min"\nrestore = "9min"\n
[interruptions]\nmodel = "trace"\npath = "{write_trace(tmp_path, GAP)}"\nstart = "random"\n
[pricing]\nspot_usd_per_hour = 1\non_demand_usd_per_hour = 3\n
[policy]\nkind = "greedy"\ndeadline = "15h"\n"""
    )
    assert main(["optimum", str(toml), "--starts", "2", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    sc = ps.load_scenario(toml)
    starts = offline.starts_of(sc, 1, range(2))
    assert [o["start_s"] for o in doc["optima"]] == starts
    assert doc["optima"][0]["cost_usd"] == ps.offline_optimum(sc, starts[0]).cost_usd


def test_starts_are_the_engines_draws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from preemptsim import interruptions

    build, seen = interruptions.build, []

    def spy(*args: object, **kwargs: object) -> object:
        models = build(*args, **kwargs)  # type: ignore[arg-type]
        seen.extend(model.offset_s for model in models)  # type: ignore[attr-defined]
        return models

    monkeypatch.setattr(interruptions, "build", spy)
    sc = on_trace(write_trace(tmp_path, GAP), "14h", start="random")
    ps.simulate(sc, 4, seed=5, engine="simpy")
    assert offline.starts_of(sc, 5, range(4)) == seen


def test_sweep_over_policies_reports_the_gap(tmp_path: Path) -> None:
    sc = on_trace(write_trace(tmp_path, GAP), "14h", start="random")
    result = ps.sweep(sc, {"policy.kind": ["spot", "greedy"]}, reps=4, seed=3)
    optimum = offline.optimum_costs(sc, offline.starts_of(sc, 3, range(4)), cells=1000)
    for index, kind in enumerate(["spot", "greedy"]):
        runs = result.runs[result.runs["policy.kind"] == kind]
        expected = np.mean(runs["cost_usd"].to_numpy() / optimum)
        assert result.summary.at[index, "optimum_gap_mean"] == pytest.approx(expected)
    assert "vs optimum" in format_sweep(result)
    plain = ps.sweep(scenario(), {"policy.kind": ["spot", "on_demand"]}, reps=2)
    assert plain.summary["optimum_gap_mean"].isna().all()


# --- invariants -----------------------------------------------------------------------------

# At least one tick with capacity: a trace that never has any is refused when it loads.
ticks = st.lists(st.integers(0, 1), min_size=6, max_size=16).filter(lambda t: 0 in t)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    preempted=ticks,
    prices=st.lists(st.sampled_from([0.5, 1.0, 1.5]), min_size=16, max_size=16),
    work_h=st.sampled_from([2.0, 3.0, 4.5]),
    slack_h=st.sampled_from([0.0, 0.5, 1.5, 4.0]),
    interval=st.sampled_from(["5min", "10min"]),  # restore, segment, write fit a 30 min tick
    delays=st.sampled_from([("0s", "0s"), ("3min", "9min"), ("10min", "2min")]),
    instances=st.sampled_from([1, 2]),
    setup=st.sampled_from(["0s", "5min"]),
)
def test_the_optimum_bounds_every_run_that_meets_the_deadline(
    tmp_path: Path,
    preempted: list[int],
    prices: list[float],
    work_h: float,
    slack_h: float,
    interval: str,
    delays: tuple[str, str],
    instances: int,
    setup: str,
) -> None:
    doc = {"metadata": {"gap_seconds": 1800}, "data": preempted, "prices": prices[: len(preempted)]}
    text = json.dumps(doc)
    path = tmp_path / f"t{hash(text)}.json"  # traces are cached by path: one path a trace
    path.write_text(text)
    deadline_s = (work_h + slack_h) * 3600 + 1.0
    sc = scenario(
        job={"work": f"{work_h}h", "instances": instances, "setup": setup},
        checkpoint={"interval": interval, "write": "2min", "size_gb": 50},
        restart={"provision": delays[0], "restore": delays[1]},
        interruptions={"model": "trace", "path": str(path), "start": "random", "notice": "30s"},
        pricing={"storage_usd_per_gb_month": 0.5},
        policy={"kind": "greedy", "deadline": deadline_s},
    )
    reps, seed = 3, 7
    optimum = offline.optimum_costs(sc, offline.starts_of(sc, seed, range(reps)), cells=400)
    setup_s = sc.job.setup
    if work_h * 3600 + setup_s <= deadline_s:  # on-demand from the start would meet it
        assert np.isfinite(optimum).all()
    for kind in ("spot", "greedy", "uniform_progress"):
        try:
            runs = ps.simulate(sc.with_values({"policy.kind": kind}), reps, seed, engine="simpy")
        except ps.ScenarioError:
            continue  # a job that could never finish is refused before it runs
        met = runs["met_deadline"].to_numpy(dtype=bool)
        costs = runs["cost_usd"].to_numpy()
        assert (costs[met] >= optimum[met] - 1e-9).all()
        assert not (met & ~np.isfinite(optimum)).any()
    assert all(math.isfinite(c) or c == math.inf for c in optimum)


# --- the neutral programme with several zones ------------------------------------------------


def zone(name: str, available: list[bool], spot: float = 1.0) -> dp.Zone:
    ticks = len(available)
    return dp.Zone(name, np.arange(ticks) * 3600.0, np.array(available), np.full(ticks, spot), 3.0)


def hours_job(work_h: float, deadline_h: float, restore_s: float = 0.0) -> dp.Job:
    return dp.Job(work_h * 3600, deadline_h * 3600, 0.0, 0.0, 0.0, restore_s, 1, 0.0)


def test_two_zones_whose_gaps_alternate_run_on_spot_throughout() -> None:
    # A has capacity in hours 0-4 and from 10, B in 5-9: with free moves, 5 h in A then 5 h
    # in B, $10; with a 6 min restore, B's restore ends its stretch 6 min short, and the
    # last 6 min of work go back to A: two restores at $0.10.
    a = zone("a", [True] * 5 + [False] * 5 + [True] * 14)
    b = zone("b", [False] * 5 + [True] * 5 + [False] * 14)
    free = np.zeros((2, 2))
    job = hours_job(10, 12)
    both = dp.solve([a, b], job, free, free, dp.step_s(job))
    assert both.cost_usd == pytest.approx(10.0, abs=0.02)
    assert {lease.zone for lease in both.leases} == {"a", "b"}  # free moves: ties abound
    on_demand_s = sum(x.end_s - x.start_s for x in both.leases if x.market == "on_demand")
    assert on_demand_s < 60  # at most a grid cell, in a tie of free changeovers
    alone = dp.solve([a], job, free[:1, :1], free[:1, :1], dp.step_s(job))
    assert alone.cost_usd > 10.5  # one zone must bridge 5 h with on-demand or waiting
    slow = hours_job(10, 12, restore_s=360)
    assert dp.solve([a, b], slow, free, free, dp.step_s(slow)).cost_usd == pytest.approx(
        10.2, abs=0.03
    )  # two moves, a restore each


def test_a_move_is_paid_and_a_zone_without_capacity_changes_nothing() -> None:
    a = zone("a", [True] * 5 + [False] * 5 + [True] * 14)
    b = zone("b", [False] * 5 + [True] * 5 + [False] * 14)
    never = zone("never", [False] * 24, spot=0.1)
    job = hours_job(10, 12)
    u = dp.step_s(job)
    usd = np.array([[0.0, 0.25], [0.25, 0.0]])
    paid = dp.solve([a, b], job, np.zeros((2, 2)), usd, u)
    assert paid.cost_usd == pytest.approx(10.25, abs=0.02)  # one move to B, $0.25
    three_s, three_usd = np.zeros((3, 3)), np.full((3, 3), 0.25) - 0.25 * np.eye(3)
    with_never = dp.solve([a, b, never], job, three_s, three_usd, u)
    assert with_never.cost_usd == paid.cost_usd
