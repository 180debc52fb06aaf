"""The vectorised engine (preemptsim/fast.py) against the SimPy engine (engine/).

Two layers: on scripted interruption times both engines must give the same rows (to 1e-9;
whole seconds keep the arithmetic exact, so ties fall alike); on random interruptions their
means must agree within 4 standard errors of the difference.  Then the engine switch, and
the guarantee that any split of the replications gives the same rows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import preemptsim as ps
from preemptsim import fast
from preemptsim.simulate import COLUMNS
from tests.conftest import scenario

MINUTE = 60


def whole(low: int, high: int, step: int = MINUTE) -> st.SearchStrategy[int]:
    """Whole multiples of ``step`` seconds from ``low`` to ``high`` steps."""
    return st.integers(low, high).map(lambda k: k * step)


@st.composite
def checkpoints(draw: st.DrawFn, interval_s: int | str) -> dict[str, Any]:
    table: dict[str, Any] = {"interval": interval_s}
    if draw(st.booleans()):
        table["write"] = draw(whole(0, 30, 30))
    else:
        table |= {"mode": "async", "snapshot": draw(whole(1, 12, 10))}  # async needs one
        table["persist"] = draw(whole(0, 2 * 14400 // 30, 30))
    table["storage"] = draw(st.sampled_from(["persistent"] * 4 + ["ephemeral"]))
    table["on_notice"] = draw(st.sampled_from([None, True, False]))
    table["emergency_write"] = draw(st.sampled_from([None, 0, 60, 300, 900]))
    table["size_gb"] = draw(st.sampled_from([0, 14, 100]))
    return table


@st.composite
def common(draw: st.DrawFn) -> dict[str, Any]:
    """Restart, pricing and policy tables shared by both layers."""
    restart: dict[str, Any] = {"provision": draw(whole(0, 10)), "restore": draw(whole(0, 15))}
    if draw(st.integers(0, 4)) == 0:
        restart |= {"manual": True, "response": draw(whole(0, 120)), "handling": 900}
    pricing = {
        "spot_usd_per_hour": 0.9,
        "on_demand_usd_per_hour": 3.06,
        "billing_granularity": draw(st.sampled_from([1, 60, 3600])),
        "minimum_billed": draw(st.sampled_from([0, 60, 600])),
        "storage_usd_per_gb_month": 0.07,
        "engineer_usd_per_hour": 80.0,
    }
    policy: dict[str, Any] = {"kind": draw(st.sampled_from(["spot"] * 5 + ["on_demand"]))}
    if draw(st.booleans()):
        policy["deadline"] = draw(whole(60, 2400))
    return {"restart": restart, "pricing": pricing, "policy": policy}


@st.composite
def scripted_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """Scenarios in whole seconds with interruptions scripted near the segment ends, where
    the ties are."""
    tau = draw(whole(5, 240))
    count = draw(st.integers(1, 6))
    notice = draw(st.sampled_from([0, 0, 30, 60, 120, 600, 601, 900]))
    last = draw(whole(1, tau // MINUTE))
    work = (count - 1) * tau + last
    interval: int | str = draw(st.sampled_from([tau] * 5 + ["never"]))
    checkpoint = draw(checkpoints(interval))
    write = checkpoint.get("write", checkpoint.get("snapshot", 0))
    ends = [j * (tau + write) + tau for j in range(count)]
    near = st.sampled_from(ends).flatmap(
        lambda end: st.sampled_from([0, write, notice, -notice, 1, -1, 60]).map(lambda d: end + d)
    )
    at = draw(st.lists(st.one_of(whole(0, 2 * work, 1), near), max_size=8))
    interruptions: dict[str, Any] = {"model": "scripted", "at": [max(t, 0) for t in at]}
    interruptions["notice"] = notice
    if draw(st.integers(0, 3)) == 0:
        interruptions["max_lifetime"] = draw(whole(60, 1800))
    job = {"work": work, "instances": draw(st.integers(1, 4)), "setup": draw(whole(0, 5))}
    tables = {"job": job, "checkpoint": checkpoint, "interruptions": interruptions}
    return tables | draw(common())


def build(tables: dict[str, Any]) -> ps.Scenario:
    data: dict[str, Any] = {"name": "fast-vs-simpy", **tables}
    data["checkpoint"] = {k: v for k, v in data["checkpoint"].items() if v is not None}
    policy = data["policy"]
    if "deadline" in policy:  # one shorter than the work is refused (DESIGN.md §2, limits)
        policy["deadline"] = max(policy["deadline"], data["job"]["work"])
    return ps.load_scenario(data)


def fast_or_reject(sc: ps.Scenario, reps: int, seed: int = 1) -> pd.DataFrame:
    """The fast engine's rows; a scenario refused as one that (practically) never finishes
    is rejected (the SimPy engine would loop for ever on it)."""
    try:
        return ps.simulate(sc, reps, seed, engine="fast")
    except ValueError as exc:
        prefixes = ("interruptions.max_lifetime:", "checkpoint.interval:", "checkpoint.storage:")
        assert str(exc).startswith(prefixes)
        assume(False)
        raise


def assert_same_rows(simpy: pd.DataFrame, vectorised: pd.DataFrame) -> None:
    assert list(vectorised.columns) == list(COLUMNS)
    assert (vectorised.dtypes == simpy.dtypes).all()
    pd.testing.assert_series_equal(simpy["met_deadline"], vectorised["met_deadline"])
    pd.testing.assert_series_equal(simpy["zone"], vectorised["zone"])
    numbers = [c for c in COLUMNS if c not in ("met_deadline", "zone")]
    np.testing.assert_allclose(
        vectorised[numbers].to_numpy(float), simpy[numbers].to_numpy(float), rtol=0, atol=1e-9
    )


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables=scripted_scenarios())
def test_scripted_interruptions_give_the_same_rows(tables: dict[str, Any]) -> None:
    sc = build(tables)
    vectorised = fast_or_reject(sc, 2)
    assert_same_rows(ps.simulate(sc, 2, 1, engine="simpy"), vectorised)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tables=scripted_scenarios(),
    kind=st.sampled_from(["greedy", "uniform_progress"]),
    slack_s=whole(0, 600),
)
def test_deadline_policies_give_the_same_rows_on_scripted_interruptions(
    tables: dict[str, Any], kind: str, slack_s: int
) -> None:
    tables["policy"] = {"kind": kind, "deadline": tables["job"]["work"] + slack_s}
    sc = build(tables)
    vectorised = fast_or_reject(sc, 2)
    assert_same_rows(ps.simulate(sc, 2, 1, engine="simpy"), vectorised)


def test_notice_at_the_very_finish_changes_nothing() -> None:
    # tests/conftest.py's job finishes at 38400 s.  A take at 39100 with 700 s of notice
    # gives the notice at 38400, on the finish: the segment under way ends before the take,
    # so the notice is not acted on and the job is done at 38400, in both engines.
    sc = scenario(interruptions={"model": "scripted", "at": [39100], "notice": 700})
    for engine in ("fast", "simpy"):
        run = ps.simulate(sc, 1, 1, engine=engine).iloc[0]
        assert run["wall_h"] * 3600 == pytest.approx(38400)
        assert (run["lost_work_h"], run["interruptions"], run["checkpoints"]) == (0, 0, 4)


RANDOM_MODELS: dict[str, dict[str, Any]] = {
    "poisson": {"model": "poisson", "mtbi": "6h"},
    "poisson-lifetime": {"model": "poisson", "mtbi": "12h", "max_lifetime": "3h"},
    "weibull-early": {"model": "weibull", "shape": 0.6, "scale": "5h"},
    "weibull-wear": {"model": "weibull", "shape": 2.0, "scale": "6h"},
    "hourly": {"model": "hourly", "rate_per_hour": [0.05] * 8 + [0.4] * 8 + [0.0] * 8},
    "lifetime-only": {"model": "none", "max_lifetime": "150min"},
}
DELAYS = [
    "3min",
    {"dist": "lognormal", "median": "3min", "sigma": 0.7},
    {"dist": "uniform", "low": "1min", "high": "9min"},
    {"dist": "exponential", "mean": "4min"},
    {"dist": "empirical", "values": ["1min", "2min", "12min"]},
]


@st.composite
def random_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """Small jobs (a few dozen segments) under every random model, so that SimPy is quick."""
    work = draw(whole(60, 480))
    interval = draw(st.sampled_from([10, 20, 30, 45, 60, 90, 120])) * MINUTE
    tables = draw(common())
    tables["restart"] |= {
        "provision": draw(st.sampled_from(DELAYS)),
        "restore": draw(st.sampled_from(DELAYS)),
    }
    interruptions = dict(RANDOM_MODELS[draw(st.sampled_from(sorted(RANDOM_MODELS)))])
    interruptions["notice"] = draw(st.sampled_from([0, 0, 30, 120]))
    checkpoint = draw(checkpoints(interval))
    if checkpoint.get("mode") == "async":
        checkpoint["persist"] = min(checkpoint["persist"], 2 * interval)
    if checkpoint["storage"] == "ephemeral":
        work = min(work, 90 * MINUTE)  # the whole job must fit between two interruptions
    job = {"work": work, "instances": draw(st.integers(1, 3)), "setup": draw(whole(0, 5))}
    tables |= {"job": job, "checkpoint": checkpoint, "interruptions": interruptions}
    return tables


def agree(simpy: pd.Series, vectorised: pd.Series) -> None:
    """Means within 4 standard errors of their difference (exactly equal with none).  Both
    samples share one variance if the engines agree: the larger estimate stands for it,
    as a few hundred SimPy runs can miss a rare, costly interruption."""
    a, b = simpy.to_numpy(float), vectorised.to_numpy(float)
    se = np.sqrt(max(a.var(ddof=1), b.var(ddof=1)) * (1 / len(a) + 1 / len(b)))
    assert abs(a.mean() - b.mean()) <= max(4 * se, 1e-9), (simpy.name, a.mean(), b.mean(), se)


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(tables=random_scenarios())
def test_means_agree_on_random_interruptions(tables: dict[str, Any]) -> None:
    sc = build(tables)
    vectorised = fast_or_reject(sc, 4000, seed=2)
    simpy = ps.simulate(sc, 300, 1, engine="simpy")
    for runs in (simpy, vectorised):
        runs["billed_h"] = runs["spot_instance_h"] + runs["on_demand_instance_h"]
    for column in ("wall_h", "billed_h", "interruptions", "lost_work_h"):
        agree(simpy[column], vectorised[column])


def test_fast_refuses_what_it_cannot_run_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    greedy = scenario(policy={"kind": "greedy", "deadline": "20h"})
    monkeypatch.setattr(
        fast, "unsupported", lambda _: "interruptions.paths: needs the SimPy engine"
    )
    with pytest.raises(ValueError, match=r'^engine="fast" cannot .*interruptions\.paths') as caught:
        ps.simulate(greedy, 10, engine="fast")
    assert "\n" not in str(caught.value)
    assert len(ps.simulate(greedy, 10)) == 10  # auto: the SimPy engine
    with pytest.raises(ValueError, match="engine: must be"):
        ps.simulate(greedy, 10, engine="vectorised")  # type: ignore[arg-type]


def test_both_engines_refuse_a_bad_trace_with_the_same_line() -> None:
    trace = scenario(interruptions={"model": "trace", "path": "no-such-trace.json"})
    lines = set()
    for engine in ("fast", "simpy"):
        with pytest.raises(
            ValueError, match=r"^interruptions\.path: no-such-trace.json: no such trace file"
        ) as caught:
            ps.simulate(trace, 10, engine=engine)  # type: ignore[arg-type]
        lines.add(str(caught.value))
    assert len(lines) == 1


def test_auto_picks_the_fast_engine_for_policies_and_traces(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(
        json.dumps({"metadata": {"gap_seconds": 3600}, "data": [0] * 5 + [1] + [0] * 6})
    )
    for sc in (
        scenario(interruptions={"model": "poisson", "mtbi": "8h"}),
        scenario(policy={"kind": "greedy", "deadline": "20h"}),
        scenario(interruptions={"model": "trace", "path": str(path)}),
    ):
        assert fast.applies(sc, "auto")
        pd.testing.assert_frame_equal(ps.simulate(sc, 50, 3), ps.simulate(sc, 50, 3, engine="fast"))


def test_any_split_of_the_replications_gives_the_same_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sc = scenario(
        interruptions={"model": "weibull", "shape": 0.8, "scale": "4h", "notice": "2min"},
        restart={"provision": {"dist": "lognormal", "median": "3min", "sigma": 0.5}},
    )
    whole_run = ps.simulate(sc, 1000, 7, engine="fast")
    pd.testing.assert_frame_equal(whole_run, ps.simulate(sc, 1000, 7, engine="fast"))
    monkeypatch.setattr(fast, "BLOCK", 64)  # blocks inside a call, as well as calls
    parts = [ps.simulate(sc, n, 7, first_rep=first, engine="fast") for first, n in
             ((0, 1), (1, 299), (300, 700))]  # fmt: skip
    pd.testing.assert_frame_equal(whole_run, pd.concat(parts, ignore_index=True))
    assert not whole_run.equals(ps.simulate(sc, 1000, 8, engine="fast"))


def test_a_lifetime_too_short_for_any_checkpoint_is_refused() -> None:
    # Each lease lives 1 h; after the first, a restore of 15 min and a segment of 2 h can
    # never complete; both engines refuse it before running.
    sc = scenario(interruptions={"model": "none", "max_lifetime": "1h"})
    with pytest.raises(ValueError, match=r"^interruptions\.max_lifetime: an instance lives 1h"):
        ps.simulate(sc, 5, engine="fast")
    with pytest.raises(ValueError, match=r"^interruptions\.max_lifetime: an instance lives 1h"):
        ps.simulate(sc, 5, engine="simpy")


def test_a_persist_that_never_ends_before_the_take_is_refused() -> None:
    # Leases live 3 h (10800 s).  After the first, each needs the 900 s restore, 7200 s of
    # work, a 60 s snapshot and a 2640 s persist before anything is durable: 10800 s, and the
    # take wins the tie.  simulate's own check counts snapshot and persist (issue 14; it
    # used to count only the 8100 s of a sync write): both engines refuse it before running.
    sc = scenario(
        checkpoint={"mode": "async", "write": 0, "snapshot": 60, "persist": 2640},
        interruptions={"model": "none", "max_lifetime": "3h"},
    )
    for engine in ("fast", "simpy"):
        with pytest.raises(ValueError, match=r"^interruptions\.max_lifetime: an instance lives"):
            ps.simulate(sc, 5, engine=engine)  # type: ignore[arg-type]
    # One second less of persist and a segment becomes durable in every lease.
    fits = sc.with_values({"checkpoint.persist": 2639})
    pd.testing.assert_frame_equal(
        ps.simulate(fits, 1, engine="fast"), ps.simulate(fits, 1, engine="simpy")
    )


def test_a_notice_saves_a_segment_whose_persist_would_end_after_the_take() -> None:
    # Setup and restore 900 s, leases of 8700 s with 600 s of notice: each lease works
    # 900-8100 s, would snapshot to 8160 s and persist to 8760 s, after the take.  So the
    # notice at 8100 s acts (DESIGN.md §1: the segment would not be durable before the
    # take; this used to be ignored, leaving every lease alike and the job refused): a 30 s
    # emergency checkpoint saves the segment, 570 s idle, taken at 8700.  Leases start
    # every 9000 s (300 s provision); leases 1-4 save segments 0-3 and lease 5 (from
    # 36000) restores to 36900 and finishes the last 7200 s at 44100, before its notice.
    sc = scenario(
        job={"setup": 900},
        checkpoint={
            "mode": "async",
            "write": 0,
            "snapshot": 60,
            "persist": 600,
            "emergency_write": 30,
        },
        interruptions={"model": "none", "max_lifetime": 8700, "notice": 600},
    )
    for engine in ("fast", "simpy"):
        run = ps.simulate(sc, 1, engine=engine).iloc[0]  # type: ignore[arg-type]
        assert run["wall_h"] * 3600 == pytest.approx(44100)
        assert (run["interruptions"], run["checkpoints"], run["lost_work_h"]) == (4, 4, 0)
        assert run["idle_h"] * 3600 == pytest.approx(4 * 570)
