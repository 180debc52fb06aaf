"""Many zones (DESIGN.md §1, Many zones): placement strategies and checkpoint migration,
against timelines worked by hand, and invariants (Hypothesis)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import preemptsim as ps
from preemptsim import ScenarioError
from preemptsim.engine import Plan, run_once
from preemptsim.engine.zones import continent, region, route
from preemptsim.interruptions import Trace
from preemptsim.simulate import row, table

GAP_S = 600  # ten-minute ticks
STRATEGIES = ("stay", "failover", "eager_next", "cheapest")


def write_zone(folder: Path, zone: str, down: list[int], price: float, ticks: int = 30) -> str:
    """A trace of ``ticks`` ten-minute ticks, preempted at the ticks ``down``."""
    path = folder / f"{zone}.json"
    data = [int(tick in down) for tick in range(ticks)]
    doc = {
        "metadata": {"gap_seconds": GAP_S, "zone": zone},
        "data": data,
        "prices": [price] * ticks,
    }
    path.write_text(json.dumps(doc))
    return str(path)


def zones_scenario(paths: list[str], strategy: str, **tables: dict[str, Any]) -> ps.Scenario:
    """W = 120 min in two 60 min segments, write 6 min, provision 12 min, restore 6 min; a
    36 GB checkpoint over 0.8 Gbps between continents: a 6 min copy, 36 × $0.147 egress."""
    data: dict[str, Any] = {
        "name": "zones",
        "job": {"work": "120min"},
        "checkpoint": {"interval": "60min", "write": "6min", "size_gb": 36},
        "restart": {"provision": "12min", "restore": "6min"},
        "interruptions": {"model": "trace", "paths": paths, "start": 0},
        "pricing": {"spot_usd_per_hour": 1.0, "on_demand_usd_per_hour": 3.0},
        "placement": {"strategy": strategy},
        "migration": {"other_continent_gbps": 0.8},
    }
    for name, values in tables.items():
        data[name] = {**data.get(name, {}), **values}
    return ps.load_scenario(data)


def one_run(sc: ps.Scenario) -> dict[str, Any]:
    return ps.simulate(sc, reps=1, seed=1).iloc[0].to_dict()


def zones_visited(sc: ps.Scenario) -> list[str]:
    """The zones of the instances of replication 0, in order."""
    spans = ps.timeline(sc, rep=0, seed=1)
    held = spans[spans["market"].notna()]["zone"].tolist()
    return [zone for i, zone in enumerate(held) if i == 0 or held[i - 1] != zone]


@pytest.fixture
def alternating(tmp_path: Path) -> list[str]:
    # A (us-east1-a, $2/h) loses capacity at 90-100 min; B (europe-west1-b, $1/h) at 40-60.
    return [
        write_zone(tmp_path, "us-east1-a", [9], 2.0),
        write_zone(tmp_path, "europe-west1-b", [4, 5], 1.0),
    ]


def test_stay_and_failover_restart_in_the_zone_that_has_capacity_again(
    alternating: list[str],
) -> None:
    # A: segment 0-60, checkpoint -66, work from 66, taken at 90 (24 min lost); provision
    # -102, A has capacity again (tick 10): restore -108, work -168.  Leases 0-90 and
    # 102-168 at $2/h: $5.20.  Failover takes A too: B is never needed.
    for strategy in ("stay", "failover"):
        sc = zones_scenario(alternating, strategy)
        run = one_run(sc)
        assert run["wall_h"] * 60 == pytest.approx(168)
        assert run["compute_cost_usd"] == pytest.approx(156 / 60 * 2.0)
        assert (run["migrations"], run["migration_h"], run["egress_cost_usd"]) == (0, 0, 0)
        assert run["zone"] == "us-east1-a"
        assert zones_visited(sc) == ["us-east1-a"]


def test_eager_next_moves_to_the_next_zone_with_its_checkpoint(alternating: list[str]) -> None:
    # As stay until the take at 90 and the provision to 102; then B (never the zone just
    # lost while another has capacity): a 6 min copy -108 (36 GB × 8 / 0.8 Gbps = 360 s),
    # restore -114, work -174.  A 0-90 at $2 = $3, B 108-174 at $1 = $1.10, egress
    # 36 GB × $0.147 (other continent, REFERENCES.md §8) = $5.292.
    sc = zones_scenario(alternating, "eager_next")
    run = one_run(sc)
    assert run["wall_h"] * 60 == pytest.approx(174)
    assert run["migrations"] == 1
    assert run["migration_h"] * 60 == pytest.approx(6)
    assert run["egress_cost_usd"] == pytest.approx(36 * 0.147)
    assert run["compute_cost_usd"] == pytest.approx(3.0 + 1.1)
    assert run["cost_usd"] == pytest.approx(3.0 + 1.1 + 36 * 0.147)
    assert zones_visited(sc) == ["us-east1-a", "europe-west1-b"]
    spans = ps.timeline(sc, rep=0, seed=1)
    move = spans[spans["kind"] == "migrate"]
    assert move[["start_h", "end_h"]].to_numpy().ravel() == pytest.approx([102 / 60, 108 / 60])
    assert move["zone"].tolist() == ["europe-west1-b"]
    wall_h = 2.0 + sum(run[k] for k in ("checkpoint_h", "restore_h", "wait_h", "idle_h"))
    assert run["wall_h"] == pytest.approx(wall_h + run["lost_work_h"] + run["migration_h"])


def test_a_gang_moves_whole_and_copies_its_one_checkpoint_once(alternating: list[str]) -> None:
    # As eager_next above with two instances: every lease billed twice ($8.20), the one
    # 36 GB checkpoint copied once ($5.292), the same timeline.
    run = one_run(zones_scenario(alternating, "eager_next", job={"work": "120min", "instances": 2}))
    assert run["wall_h"] * 60 == pytest.approx(174)
    assert run["compute_cost_usd"] == pytest.approx(2 * (3.0 + 1.1))
    assert run["egress_cost_usd"] == pytest.approx(36 * 0.147)


def test_cheapest_moves_without_a_copy_before_the_first_checkpoint(
    alternating: list[str],
) -> None:
    # t=0: B is cheaper; taken at 40 (nothing durable: 40 min lost); at 52 B has none, A
    # has: A (a migration with nothing to copy), restore -58, taken at 90 (32 min lost);
    # at 102 both have capacity: B, restore -108, 60 + 6 + 60 of work and checkpoint: 234.
    # Leases B 0-40 and 102-234 at $1, A 52-90 at $2: (40 + 132 + 76) / 60 = $4.1333.
    sc = zones_scenario(alternating, "cheapest")
    run = one_run(sc)
    assert zones_visited(sc) == ["europe-west1-b", "us-east1-a", "europe-west1-b"]
    assert run["wall_h"] * 60 == pytest.approx(234)
    assert run["lost_work_h"] * 60 == pytest.approx(72)
    assert run["compute_cost_usd"] == pytest.approx(248 / 60)
    assert (run["migrations"], run["migration_h"], run["egress_cost_usd"]) == (2, 0, 0)
    assert run["zone"] == "europe-west1-b"


def test_failover_waits_for_the_same_zone_when_only_it_has_capacity(tmp_path: Path) -> None:
    # A down 90-110, B down 90-150: at 102 no zone has capacity; A first has it at 110, so
    # both failover and eager_next (the lost zone, as no other has capacity) restart in A:
    # wait 90-110, restore -116, work -176.
    paths = [
        write_zone(tmp_path, "us-east1-a", [9, 10], 1.0),
        write_zone(tmp_path, "europe-west1-b", list(range(9, 15)), 1.0),
    ]
    for strategy in ("failover", "eager_next"):
        run = one_run(zones_scenario(paths, strategy))
        assert run["wall_h"] * 60 == pytest.approx(176)
        assert run["wait_h"] * 60 == pytest.approx(20)
        assert (run["migrations"], run["zone"]) == (0, "us-east1-a")


def test_moving_can_cost_more_than_waiting(tmp_path: Path) -> None:
    # Why "with free migration and equal prices, moving never costs more than staying" is
    # not exact: A down 90-110; B has capacity at 102 but is taken at 150.  Stay: wait to
    # 110, restore -116, work -176: leases 90 + 66 min.  Failover: B 102-150 (42 min of work
    # lost), at 162 B again, restore -168, work -228: leases 90 + 48 + 66 min.
    paths = [
        write_zone(tmp_path, "us-east1-a", [9, 10], 1.0),
        write_zone(tmp_path, "us-east1-b", [15], 1.0),
    ]
    free = {"checkpoint": {"interval": "60min", "write": "6min", "size_gb": 0}}
    stay = one_run(zones_scenario(paths, "stay", **free))
    failover = one_run(zones_scenario(paths, "failover", **free))
    assert stay["compute_cost_usd"] * 60 == pytest.approx(156)
    assert failover["compute_cost_usd"] * 60 == pytest.approx(204)


def test_zone_names_regions_and_routes() -> None:
    assert (region("us-central1-a"), continent("us-central1-a")) == ("us-central1", "us")
    assert continent("asia-southeast1-b") == "asia"
    assert route("us-central1-a", "us-central1-c") == "same_region"
    assert route("us-central1-a", "us-east4-a") == "other_region"
    assert route("us-central1-a", "europe-west1-c") == "other_continent"


def test_bad_zone_input(tmp_path: Path, alternating: list[str]) -> None:
    with pytest.raises(ScenarioError, match=r"^placement\.start_zone: no zone named 'x'"):
        ps.simulate(zones_scenario(alternating, "stay", placement={"start_zone": "x"}), 1)
    with pytest.raises(ScenarioError, match=r"^interruptions\.paths: no trace file matches"):
        ps.simulate(zones_scenario(str(tmp_path / "none-*.json"), "stay"), 1)  # type: ignore[arg-type]
    with pytest.raises(ScenarioError, match=r"^interruptions\.paths: give either path"):
        zones_scenario(alternating, "stay", interruptions={"path": alternating[0]})
    with pytest.raises(ScenarioError, match=r"^interruptions\.paths: zones replay traces"):
        zones_scenario(alternating, "stay", interruptions={"model": "poisson", "mtbi": "1h"})
    poisson = {"model": "poisson", "mtbi": "1h", "paths": None, "start": "random"}
    with pytest.raises(ScenarioError, match=r"^placement\.start_zone: names a trace's zone"):
        zones_scenario([], "stay", interruptions=poisson, placement={"start_zone": "a"})


def test_a_glob_gives_the_zones_sorted_and_start_zone_picks_one(
    tmp_path: Path, alternating: list[str]
) -> None:
    sc = zones_scenario(str(tmp_path / "*.json"), "stay", placement={"start_zone": "us-east1-a"})  # type: ignore[arg-type]
    assert one_run(sc)["wall_h"] * 60 == pytest.approx(168)  # in A, as stay above


def test_the_fast_engine_refuses_zones_and_writes_zero_columns(alternating: list[str]) -> None:
    with pytest.raises(ValueError, match=r"interruptions\.paths"):
        ps.simulate(zones_scenario(alternating, "failover"), 1, engine="fast")
    sc = zones_scenario(alternating, "stay").with_values(
        {"interruptions": {"model": "poisson", "mtbi": "3h"}, "placement": {}}
    )
    runs = ps.simulate(sc, 3, 1, engine="fast")
    assert (runs["migrations"] == 0).all() and (runs["egress_cost_usd"] == 0).all()
    assert runs["zone"].isna().all()


# --- invariants -------------------------------------------------------------------------

ticks = st.lists(st.booleans(), min_size=4, max_size=40)


def trace(available: list[bool], gap_s: float, zone: str, price: float = 1.0) -> Trace:
    starts_s = np.arange(len(available)) * gap_s
    prices = np.full(len(available), price)
    return Trace.of(starts_s, np.array(available), len(available) * gap_s, prices, zone)


def runs(sc: ps.Scenario, traces: tuple[Trace, ...], reps: int = 3) -> pd.DataFrame:
    """``reps`` replications on ``traces`` (built here, not read from files)."""
    plan = Plan.of(sc, traces=traces)
    return table([row(i, run_once(plan, 7, i), sc) for i in range(reps)])


def with_a_long_run(available: list[bool], gap_min: int) -> list[bool]:
    """``available`` and 2.5 h of capacity: some segment always fits (no endless runs)."""
    return available + [True] * -(-150 // gap_min)


def random_job(
    work_h: float, interval_h: float, write_min: float, policy: str, strategy: str, gb: float
) -> ps.Scenario:
    return ps.load_scenario(
        {
            "name": "zones-property",
            "job": {"work": work_h * 3600},
            "checkpoint": {"interval": interval_h * 3600, "write": write_min * 60, "size_gb": gb},
            "restart": {"provision": "5min", "restore": "4min"},
            "interruptions": {"model": "trace", "paths": ["a", "b"], "start": "random"},
            "pricing": {"spot_usd_per_hour": 1.0, "on_demand_usd_per_hour": 3.0},
            "policy": {"kind": policy, "deadline": work_h * 3600 * 3},
            "placement": {"strategy": strategy},
        }
    )


jobs = {
    "work_h": st.floats(0.5, 6.0),
    "interval_h": st.floats(0.25, 2.0),
    "write_min": st.floats(0.0, 10.0),
    "policy": st.sampled_from(["spot", "greedy", "uniform_progress"]),
    "gb": st.floats(0.0, 500.0),
}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(available=ticks, gap_min=st.integers(5, 60), **jobs)
def test_one_zone_and_a_zone_without_capacity_change_nothing(
    available: list[bool], gap_min: int, **job: Any
) -> None:
    """With one zone every strategy gives today's single-trace rows; a second zone that
    never has capacity changes nothing either (same zone column, no migration)."""
    zone = trace(with_a_long_run(available, gap_min), gap_min * 60.0, "us-east1-a")
    never = trace([False] * 7, 900.0, "europe-west1-b", 0.5)
    today = runs(random_job(strategy="stay", **job), (zone,))
    assert (today["migrations"] == 0).all() and (today["zone"] == "us-east1-a").all()
    for strategy in STRATEGIES:
        sc = random_job(strategy=strategy, **job)
        pd.testing.assert_frame_equal(runs(sc, (zone,)), today)
        pd.testing.assert_frame_equal(runs(sc, (zone, never)), today)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(available=ticks, gap_min=st.integers(5, 60), **{**jobs, "policy": st.just("spot")})
def test_moving_free_to_a_zone_always_there_never_costs_more(
    available: list[bool], gap_min: int, **job: Any
) -> None:
    """The invariant that holds exactly (test_moving_can_cost_more_than_waiting shows why
    the looser one does not): with free migration (size 0) and equal prices, a spot job
    that may move to a zone that always has capacity costs no more, and ends no later,
    than one that stays: until its first move it does what stay does, and from then on it
    pays the least any instance could, a restore and the work left."""
    job["gb"] = 0.0
    zone = trace(with_a_long_run(available, gap_min), gap_min * 60.0, "us-east1-a")
    always = trace([True] * 5, 3600.0, "us-east1-b")
    stay = runs(random_job(strategy="stay", **job), (zone, always))
    for strategy in ("failover", "eager_next", "cheapest"):
        moved = runs(random_job(strategy=strategy, **job), (zone, always))
        assert (moved["cost_usd"] <= stay["cost_usd"] + 1e-9).all()
        assert (moved["wall_h"] <= stay["wall_h"] + 1e-9).all()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a=ticks, b=ticks, gap_min=st.integers(5, 60), **jobs)
def test_wall_time_identity_holds_with_migrations(
    a: list[bool], b: list[bool], gap_min: int, **job: Any
) -> None:
    """wall = W + checkpoint + restore + wait + idle + lost work + migration, exactly."""
    zones = (
        trace(with_a_long_run(a, gap_min), gap_min * 60.0, "us-east1-a"),
        trace(with_a_long_run(b, 10), 600.0, "europe-west1-b", 2.0),
    )
    parts = ["checkpoint_h", "restore_h", "wait_h", "idle_h", "lost_work_h", "migration_h"]
    for strategy in STRATEGIES:
        moved = runs(random_job(strategy=strategy, **job), zones)
        total_h = job["work_h"] + moved[parts].sum(axis=1)
        np.testing.assert_allclose(moved["wall_h"], total_h, rtol=0, atol=1e-9)
        assert (moved["migration_h"][moved["migrations"] == 0] == 0).all()
