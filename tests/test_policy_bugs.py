"""The policy and engine bugs of issue 14 §3, one test each, on timelines worked by hand.

Unless a test says otherwise the job is tests/conftest.py's (W = 10 h = 36000 s, τ = 2 h,
C = 600 s, D = 300 s, R = 900 s, spot $1/h).  Where an engine cannot run a scenario (deadline
policies and traces: SimPy only) the test says so; elsewhere both engines are checked.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import preemptsim as ps
from preemptsim import ScenarioError, shipped
from preemptsim.engine import Plan, run_once
from preemptsim.interruptions import Replay, Trace
from preemptsim.tracefile import load_trace
from tests.conftest import scenario

ENGINES = ("simpy", "fast")


def one(sc: ps.Scenario, engine: str = "simpy") -> dict[str, Any]:
    """Replication 0's row, with times in seconds for the hand-worked comparisons."""
    values: dict[str, Any] = ps.simulate(sc, reps=1, seed=1, engine=engine).iloc[0].to_dict()  # type: ignore[arg-type]
    for name in ("wall", "lost_work", "checkpoint", "restore", "wait", "idle", "switched_at"):
        values[f"{name}_s"] = values[f"{name}_h"] * 3600
    return values


def leases(sc: ps.Scenario) -> list[tuple[float, float, str]]:
    record = run_once(Plan.of(sc), seed=1, rep=0)
    return [(lease.start_s, lease.end_s, lease.market) for lease in record.leases]


def scripted(*at_s: float, **more: Any) -> dict[str, Any]:
    return {"model": "scripted", "at": list(at_s), **more}


# 1. Greedy keeps a running spot instance -------------------------------------------------


def short_segments(
    policy: dict[str, Any], interruptions: dict[str, Any] | None = None
) -> ps.Scenario:
    """10 h of work in 10 min segments with no write; d = 6 min + 6 min = 720 s."""
    return scenario(
        checkpoint={"interval": "10min", "write": 0},
        restart={"provision": "6min", "restore": "6min"},
        interruptions=interruptions or {"model": "none"},
        policy=policy,
    )


@pytest.mark.parametrize("kind", ["greedy", "uniform_progress"])
def test_greedy_keeps_a_running_spot_instance(kind: str) -> None:
    # No interruption, deadline 10 h 30 min = 37800 s.  With no write R − C stays 1800 s; a
    # running instance needs d + its next segment: 1800 − 720 = 1080 ≥ 600, so it stays on
    # spot (the old 2d margin, 1800 − 1440 = 360 < 600, moved it to on-demand at t = 0).
    # The same safety net guards Uniform Progress, never idle here.
    run = one(short_segments({"kind": kind, "deadline": "10h30min"}))
    assert run["wall_s"] == pytest.approx(36000)
    assert run["spot_instance_h"] == pytest.approx(10.0) and run["on_demand_instance_h"] == 0
    assert math.isnan(run["switched_at_h"])


def test_greedy_counts_the_restore_when_capacity_returns() -> None:
    # Deadline 38160 s; taken at 2700 (durable 2400, 300 s lost): C = 33600.  Idle, greedy
    # would switch at 38160 − 33600 − 2·720 = 3120; capacity is back after the 360 s
    # provision, at 3060.  Relaunching pays the 360 s restore first: R − C − d from 3420 is
    # 38160 − 3420 − 33600 − 720 = 420 < 600, so it moves to on-demand at 3060 (without the
    # restore it would see 780 ≥ 600 and relaunch).  On-demand provision −3420, restore
    # −3780, 33600 s of work: 37380 ≤ 38160.
    sc = short_segments({"kind": "greedy", "deadline": "10h36min"}, scripted(2700))
    run = one(sc)
    assert run["switched_at_s"] == pytest.approx(3060)
    assert run["wall_s"] == pytest.approx(37380) and run["met_deadline"]
    assert run["lost_work_s"] == pytest.approx(300)
    assert run["spot_instance_h"] == pytest.approx(0.75)
    assert run["on_demand_instance_h"] * 3600 == pytest.approx(37380 - 3420)


# 2. Async checkpoints made durable during the last segment -------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_async_checkpoints_durable_in_the_last_segment_count(engine: str) -> None:
    # W = 3 h, τ = 1 h, snapshot 0, persist 600 s.  Snapshots at 3600 and 7200 persist to
    # 4200 and 7800; the last segment runs 7200-10800, after both: 2 durable checkpoints.
    sc = scenario(
        job={"work": "3h"},
        checkpoint={
            "interval": "1h",
            "write": 0,
            "mode": "async",
            "snapshot": 0,
            "persist": "10min",
        },
    )
    run = one(sc, engine)
    assert run["wall_s"] == pytest.approx(10800)
    assert run["checkpoints"] == 2


# 3. Uniform Progress with d = 0 does not flap ----------------------------------------------


def zero_changeover(interval: str) -> ps.Scenario:
    return scenario(
        checkpoint={"interval": interval, "write": 0},
        restart={"provision": 0, "restore": 0},
        interruptions=scripted(1800),
        policy={"kind": "uniform_progress", "deadline": "10h36min"},
    )


def test_uniform_progress_with_no_changeover_does_not_flap() -> None:
    # W = 36000, deadline 38160, d = 0.  τ = 1 h: at t = 0, R − C − d = 2160 < 3600, the
    # first segment, so the safety net starts the job on on-demand; the return rule needs
    # the same net to pass after a relaunch (also 2160 < 3600, for ever: R − C is constant
    # on on-demand), so it stays: done at 36000, all on-demand, the take at 1800 finds no
    # spot instance.  (It used to go back and forth at t = 0 until 100,000 leases.)
    run = one(zero_changeover("1h"))
    assert run["wall_s"] == pytest.approx(36000)
    assert run["switched_at_s"] == 0 and run["spot_instance_h"] == 0
    assert leases(zero_changeover("1h")) == [(0, 36000, "on_demand")]
    # τ = 30 min: 2160 ≥ 1800, so it starts on spot; taken at 1800, the instant segment 0
    # ends (the take wins: 1800 s lost).  Then R − C − d = 360 < 1800: on-demand at once,
    # never back (360 stays 360), done at 1800 + 36000 = 37800 = 10.5 h.
    half = zero_changeover("30min")
    assert leases(half) == [(0, 1800, "spot"), (1800, 37800, "on_demand")]
    assert one(half)["wall_s"] == pytest.approx(37800)


# 4. A voluntary move back to spot needs no human -------------------------------------------


def returns_to_spot(**tables: dict[str, Any]) -> ps.Scenario:
    """Uniform Progress that leaves spot after a take and comes back (tests 4, 6 and the
    ephemeral precision): W = 36000 in 1 h segments with no write, provision and restore
    300 s (d = 600, a relaunch 600), one take at 1800, deadline 19 h = 68400 s."""
    checkpoint = {"interval": "1h", "write": 0, **tables.pop("checkpoint", {})}
    return scenario(
        checkpoint=checkpoint,
        restart={"provision": "5min", "restore": "5min", **tables.pop("restart", {})},
        interruptions=scripted(1800),
        policy={"kind": "uniform_progress", "deadline": "19h"},
        **tables,
    )


def test_manual_response_only_after_an_interruption() -> None:
    # Taken at 1800 (1800 s lost, durable 0): behind (cp = 0 < ep), so on-demand at once
    # (the 1 h response would have held spot until 5700).  Provision −2100, restore −2400;
    # segment k starts at 2400 + 3600k with cp = 3600k, and goes back once
    # cp ≥ ep(t + 2d) = (t + 1200)·36000/68400: k = 1: 3600 < 3789; k = 2: 7200 ≥ 5684 at
    # 9600, the net passing (68400 − 10200 − 28800 − 600 ≥ 3600).  A voluntary move has no
    # response: spot provision −9900, restore −10200, 28800 s of work: 39000 (with the
    # response, 42600).  One interruption is handled by hand: 15 min at $80/h = $20.
    sc = returns_to_spot(
        restart={"manual": True, "response": "1h", "handling": "15min"},
        pricing={"engineer_usd_per_hour": 80.0},
    )
    assert leases(sc) == [(0, 1800, "spot"), (2100, 9600, "on_demand"), (9900, 39000, "spot")]
    run = one(sc)
    assert run["wall_s"] == pytest.approx(39000) and run["wait_s"] == pytest.approx(600)
    assert run["human_cost_usd"] == pytest.approx(20.0)


def test_a_voluntary_move_keeps_ephemeral_checkpoints() -> None:
    # DESIGN.md §1: a planned move copies its checkpoint to the new instance.  As above
    # (the take at 1800 leaves nothing durable either way): the move at 9600 carries the
    # 7200 s done on on-demand, done at 39000; starting over would end at 10200 + 36000.
    sc = returns_to_spot(checkpoint={"storage": "ephemeral"})
    assert one(sc)["wall_s"] == pytest.approx(39000)


# 5. No emergency checkpoint on ephemeral storage -------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_no_emergency_checkpoint_on_ephemeral_storage(engine: str) -> None:
    # Take at 10800 with 601 s of notice: a 600 s emergency checkpoint would fit, but it dies
    # with the instance, so none is written.  As tests/test_timelines.py's ephemeral case:
    # all 10200 s lost, done at 50400; 1 checkpoint in the first lease + 4: 5; no idle; 600 s
    # of checkpoint in the first lease and 2400 in the second.
    sc = scenario(interruptions=scripted(10800, notice=601), checkpoint={"storage": "ephemeral"})
    run = one(sc, engine)
    assert run["wall_s"] == pytest.approx(50400)
    assert run["lost_work_s"] == pytest.approx(10200)
    assert run["checkpoints"] == 5 and run["idle_s"] == 0
    assert run["checkpoint_s"] == pytest.approx(3000)


# 6. Uniform Progress leaves on-demand at a durable point only ---------------------------


def test_uniform_progress_leaves_on_demand_only_when_durable() -> None:
    # As test 4's job, async: snapshot 0, persist 600 s.  On on-demand from 2400, segment
    # k starts at 2400 + 3600k with checkpoint k−1 durable (cp = 3600(k−1)) and checkpoint
    # k's persist in flight.  cp ≥ ep(t + 1200) first at k = 4 (t = 16800: 10800 ≥ 9474).
    # It holds the instance idle until that persist ends at 17400, carrying 14400 s of
    # durable work: spot provision −17700, restore −18000, 21600 s of work: 39600.  (It
    # used to leave at 16800 with undurable work: 39000.)  Checkpoints: 4 on on-demand, 5
    # on spot, the last persisting 36000-36600 before the finish.
    sc = returns_to_spot(checkpoint={"mode": "async", "snapshot": 0, "persist": "10min"})
    assert leases(sc) == [(0, 1800, "spot"), (2100, 17400, "on_demand"), (17700, 39600, "spot")]
    run = one(sc)
    assert run["wall_s"] == pytest.approx(39600) and run["idle_s"] == pytest.approx(600)
    assert run["checkpoints"] == 9 and run["lost_work_s"] == pytest.approx(1800)


# 7. Trace repetitions and the tick tolerance ---------------------------------------------


def test_a_moment_just_short_of_a_repetition_is_in_its_first_tick() -> None:
    # Two hourly ticks, the first available: period 7200.  With offset o, capacity that
    # returns at the fifth repetition is reported at (4·7200 − o) + 7200, which for this o
    # (found by search) comes back a rounding error short of 36000 when o is added again.
    # It is in tick 0 of the next repetition: available, taken at the start of tick 1,
    # 3600 s later; not in the last (unavailable) tick, which took it 3600 s before it began.
    trace = Trace.of(np.array([0.0, 3600.0]), np.array([True, False]), 7200.0)
    offset_s = 74.88171186383603
    t_s = (4 * 7200 - offset_s) + 7200
    assert t_s + offset_s < 36000  # the rounding this test is about
    replay = Replay(trace, offset_s)
    assert replay.capacity_at(t_s) == t_s
    assert replay.take_at(t_s) == pytest.approx(t_s + 3600)
    rng = np.random.default_rng(5)
    for offset_s in rng.uniform(0, 7200, 2000):  # the same, anywhere
        t_s = (3 * 7200 - offset_s) + 7200
        assert Replay(trace, offset_s).take_at(t_s) > t_s


# 8. An emergency checkpoint as long as the notice is not made ---------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_an_emergency_checkpoint_ending_at_the_take_is_not_made(engine: str) -> None:
    # Take T = 10499.174 with notice and emergency write N = 597.924: the checkpoint would
    # end at the take itself, which the take wins.  Computed as (T − N) + N it ends a
    # rounding error before T; the rule compares N with the notice's lead, exactly.  So, as
    # without notice: durable 7200, T − 7800 lost, restart T + 300 + 900, segments 1-3
    # (3·7800) and the last 7200: T + 31800.
    take_s, notice_s = 10499.174, 597.924
    assert (take_s - notice_s) + notice_s < take_s  # the rounding this test is about
    sc = scenario(
        interruptions=scripted(take_s, notice=notice_s),
        checkpoint={"emergency_write": notice_s},
    )
    run = one(sc, engine)
    assert run["wall_s"] == pytest.approx(take_s + 31800)
    assert run["lost_work_s"] == pytest.approx(take_s - 7800)
    assert run["checkpoints"] == 4 and run["idle_s"] == 0


# 9. With no downtime one scripted time takes one instance -------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_one_scripted_time_takes_one_instance(engine: str) -> None:
    # Provision 0.  Takes at a = 582.248 and b = 4800.378, where a + (b − a) < b by a
    # rounding error.  Lease 1: 0-a; lease 2: a-b (restore to a + 900, no checkpoint);
    # lease 3: from b, restore and the whole 38400 s: b + 39300.  Two interruptions; billed
    # per second: ⌈a⌉ + ⌈b − a⌉ + 39300 = 583 + 4219 + 39300 s (a phantom lease from b − ε
    # to b would add a third interruption and a billed second).
    a_s, b_s = 582.248, 4800.378
    assert a_s + (b_s - a_s) < b_s  # the rounding this test is about
    sc = scenario(restart={"provision": 0}, interruptions=scripted(a_s, b_s))
    run = one(sc, engine)
    assert run["interruptions"] == 2
    assert run["wall_s"] == pytest.approx(b_s + 39300)
    assert run["spot_instance_h"] * 3600 == pytest.approx(583 + 4219 + 39300)


# 10. CSV traces are read in UTC -----------------------------------------------------------


@pytest.fixture(params=["UTC", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"])
def zone(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test with the process's local time zone set to ``request.param``."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    yield request.param
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


def test_csv_trace_times_are_utc_whatever_the_local_zone(tmp_path: Path, zone: str) -> None:
    # 20 min ticks across 2023-03-12 01:00-04:00, when New York skips 02:00-03:00 (and Lord
    # Howe moves by 30 min on other dates): read as UTC the ticks are 1200 s apart, in any
    # zone; read in New York's local time 02:20 came after 03:00 ("must increase").
    stamps = [f"2023-03-12 {h:02d}:{m:02d}:00" for h in range(1, 4) for m in (0, 20, 40)]
    path = tmp_path / "trace.csv"
    path.write_text("date,availability\n" + "".join(f"{s},1\n" for s in stamps))
    trace = load_trace(str(path))
    np.testing.assert_array_equal(trace.starts_s, np.arange(9) * 1200.0)
    # A stated zone is honoured: +01:00 on the second row is 1 h earlier than UTC.
    path.write_text("date,availability\n2023-03-12 01:00:00,1\n2023-03-12 02:20:00+01:00,0\n")
    assert load_trace(str(path)).starts_s[1] == 1200.0


def test_shipped_aws_traces_load_in_new_york() -> None:
    # Each file of aws-v100 loads under TZ=America/New_York (a fresh process: the zone is
    # read at start) with the same ticks as in UTC.
    script = (
        "import sys, numpy as np; from preemptsim.tracefile import load_trace;"
        "print(sum(float(load_trace(p).starts_s.sum()) for p in sys.argv[1:]))"
    )
    files = [name for name in shipped.traces() if name.startswith("aws-v100/")]
    sums = [
        subprocess.run(
            [sys.executable, "-c", script, *files],
            env={**os.environ, "TZ": tz},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for tz in ("UTC", "America/New_York")
    ]
    assert sums[0] == sums[1]


# 11-12. Jobs that can never finish are refused up front, with the right reason --------


def test_an_async_job_never_durable_within_the_lifetime_is_refused() -> None:
    # Leases live 3 h = 10800 s; after the first, each needs its 900 s restore, 7200 s of
    # work, the 60 s snapshot and the 2640 s persist before anything is durable: 10800 s,
    # and the take wins the tie.  Refused before either engine runs (the sync check alone,
    # 8100 s, let it through).
    sc = scenario(
        checkpoint={"mode": "async", "write": 0, "snapshot": 60, "persist": 2640},
        interruptions={"model": "none", "max_lifetime": "3h"},
    )
    for engine in ENGINES:
        with pytest.raises(ScenarioError, match=r"^interruptions\.max_lifetime: .*\(3h\)"):
            ps.simulate(sc, 2, engine=engine)  # type: ignore[arg-type]


def test_an_ephemeral_job_that_cannot_fit_one_lease_is_refused() -> None:
    # Ephemeral checkpoints die with the instance, so the whole job runs on one: 36000 s of
    # work, 4 × 600 s of checkpoints, 900 s of restore = 39300 s ≥ the 10 h = 36000 s an
    # instance lives.  Checkpointing more often would not help: the message says so.
    sc = scenario(
        checkpoint={"storage": "ephemeral"}, interruptions={"model": "none", "max_lifetime": "10h"}
    )
    with pytest.raises(ScenarioError, match=r"^checkpoint\.storage: .*use persistent storage"):
        ps.simulate(sc, 2)
    # Poisson every 1 h: the 39300 s job needs e^(39300/3600) ≈ 5.5e4 > 10⁴ tries.
    poisson = scenario(
        checkpoint={"storage": "ephemeral"}, interruptions={"model": "poisson", "mtbi": "1h"}
    )
    with pytest.raises(ScenarioError, match=r"^checkpoint\.storage: .*: 6e\+04 tries"):
        ps.simulate(poisson, 2)
