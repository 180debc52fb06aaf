"""Hypothesis invariants of the engine, and reproducibility (STYLE.md, layers 2 and 4)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import preemptsim as ps
from preemptsim import analytic
from preemptsim.engine import Plan, run_once
from tests.conftest import scenario

hours = st.floats(min_value=0.5, max_value=30.0)


def feasible(work_h: float, interval_h: float, write_min: float, mtbi_h: float) -> bool:
    """Whether e^{λ(τ+C+R)}, the tries a segment needs, is small enough to simulate quickly."""
    return (min(interval_h, work_h) + (write_min + 3.0) / 60) / mtbi_h < 2.5


minutes = st.floats(min_value=0.0, max_value=20.0)


def poisson(
    work_h: float,
    interval_h: float,
    write_min: float,
    mtbi_h: float,
    restore_min: float = 3.0,
    instances: int = 1,
) -> ps.Scenario:
    return scenario(
        job={"work": work_h * 3600, "instances": instances},
        checkpoint={"interval": interval_h * 3600, "write": write_min * 60},
        restart={"restore": restore_min * 60},
        interruptions={"model": "poisson", "mtbi": mtbi_h * 3600},
    )


@settings(max_examples=60, deadline=None)
@given(work_h=hours, interval_h=hours, write_min=minutes)
def test_no_interruptions_wall_is_work_plus_checkpoints(
    work_h: float, interval_h: float, write_min: float
) -> None:
    sc = scenario(
        job={"work": work_h * 3600},
        checkpoint={"interval": interval_h * 3600, "write": write_min * 60},
    )
    record = run_once(Plan.of(sc), seed=1, rep=0)
    count, _ = analytic.segments(work_h * 3600, interval_h * 3600)
    assert record.wall_s == pytest.approx(work_h * 3600 + (count - 1) * write_min * 60, rel=1e-12)
    assert record.checkpoints == count - 1


@settings(max_examples=40, deadline=None)
@given(
    work_h=hours,
    interval_h=hours,
    write_min=minutes,
    mtbi_h=st.floats(0.3, 20.0),
    notice_s=st.sampled_from([0.0, 30.0, 120.0]),
    mode=st.sampled_from(["sync", "async"]),
    rep=st.integers(0, 10_000),
)
def test_work_is_done_once_and_time_adds_up(
    work_h: float,
    interval_h: float,
    write_min: float,
    mtbi_h: float,
    notice_s: float,
    mode: str,
    rep: int,
) -> None:
    assume(feasible(work_h, interval_h, write_min, mtbi_h))
    sc = poisson(work_h, interval_h, write_min, mtbi_h).with_values(
        {"interruptions.notice": notice_s}
        | (
            {}
            if mode == "sync"
            else {  # the same write, split into a blocking snapshot and a background persist
                "checkpoint.mode": "async",
                "checkpoint.write": 0,
                "checkpoint.snapshot": write_min * 6 + 1,
                "checkpoint.persist": write_min * 54,
            }
        )
    )
    record = run_once(Plan.of(sc), seed=2, rep=rep, trace_events=True)
    assert record.spans is not None
    done_s = sum(s.end_s - s.start_s for s in record.spans if s.kind == "work")
    lost_s = sum(s.end_s - s.start_s for s in record.spans if s.kind == "lost")
    # Progress reaches W exactly once: durable work sums to W, lost work is all the rest.
    assert done_s == pytest.approx(work_h * 3600, rel=1e-9)
    assert lost_s == pytest.approx(record.lost_work_s, rel=1e-9, abs=1e-6)
    parts = (
        work_h * 3600
        + record.checkpoint_s
        + record.restore_s
        + record.wait_s
        + record.idle_s
        + record.lost_work_s
    )
    assert record.wall_s == pytest.approx(parts, rel=1e-9)
    held_s = sum(lease.end_s - lease.start_s for lease in record.leases)
    assert held_s == pytest.approx(record.wall_s - record.wait_s, rel=1e-9)


@settings(max_examples=25, deadline=None)
@given(
    work_h=hours,
    interval_h=hours,
    write_min=minutes,
    mtbi_h=st.floats(0.5, 20.0),
    factor=st.floats(2.0, 5.0),
)
def test_more_frequent_interruptions_never_shorten_the_mean(
    work_h: float, interval_h: float, write_min: float, mtbi_h: float, factor: float
) -> None:
    assume(feasible(work_h, interval_h, write_min, mtbi_h))
    reps = 150
    calm = ps.simulate(poisson(work_h, interval_h, write_min, mtbi_h * factor), reps, seed=5)
    rough = ps.simulate(poisson(work_h, interval_h, write_min, mtbi_h), reps, seed=5)
    diff = rough["wall_h"] - calm["wall_h"]  # common random numbers: paired differences
    assert diff.mean() >= -4 * diff.std(ddof=1) / math.sqrt(reps) - 1e-9


@settings(max_examples=25, deadline=None)
@given(
    work_h=hours,
    interval_h=hours,
    write_min=minutes,
    mtbi_h=st.floats(0.5, 20.0),
    rep=st.integers(0, 1000),
)
def test_cost_is_the_sum_of_leases(
    work_h: float, interval_h: float, write_min: float, mtbi_h: float, rep: int
) -> None:
    assume(feasible(work_h, interval_h, write_min, mtbi_h))
    sc = poisson(work_h, interval_h, write_min, mtbi_h).with_values(
        {"pricing.billing_granularity": "1min", "pricing.minimum_billed": "5min"}
    )
    record = run_once(Plan.of(sc), seed=3, rep=rep)
    billed_s = sum(
        max(math.ceil((lease.end_s - lease.start_s) / 60 - 1e-9) * 60, 300)
        for lease in record.leases
    )
    runs = ps.simulate(sc, reps=1, seed=3, first_rep=rep, engine="simpy")
    assert runs["compute_cost_usd"].iloc[0] == pytest.approx(billed_s / 3600 * 1.0, rel=1e-12)


@settings(max_examples=20, deadline=None)
@given(work_h=hours, interval_h=hours, mtbi_h=st.floats(0.5, 20.0), instances=st.integers(2, 16))
def test_gang_of_n_costs_n_times(
    work_h: float, interval_h: float, mtbi_h: float, instances: int
) -> None:
    assume(feasible(work_h, interval_h, 2, mtbi_h))
    # A gang of N at per-instance rate λ/N sees the rate λ of one instance (REFERENCES.md §1):
    # with common random numbers the timelines are identical and the bill is N times larger.
    one = ps.simulate(poisson(work_h, interval_h, 2, mtbi_h), reps=20, seed=4)
    gang = ps.simulate(
        poisson(work_h, interval_h, 2, mtbi_h * instances, instances=instances), reps=20, seed=4
    )
    pd.testing.assert_series_equal(one["wall_h"], gang["wall_h"], rtol=1e-12)
    pd.testing.assert_series_equal(
        one["compute_cost_usd"] * instances, gang["compute_cost_usd"], rtol=1e-12
    )


def test_same_seed_same_table_different_seed_differs() -> None:
    sc = poisson(20, 1, 2, 4)
    first = ps.simulate(sc, reps=200, seed=11)
    pd.testing.assert_frame_equal(first, ps.simulate(sc, reps=200, seed=11))
    assert not first["wall_h"].equals(ps.simulate(sc, reps=200, seed=12)["wall_h"])
    chunks = pd.concat(
        [ps.simulate(sc, reps=70, seed=11, first_rep=k) for k in (0, 70, 140)]
        + [ps.simulate(sc, reps=60, seed=11, first_rep=210)],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(first, chunks.iloc[:200].reset_index(drop=True))


@settings(max_examples=15, deadline=None)
@given(
    interval_h=st.floats(0.25, 3.0),
    write_min=st.floats(0.5, 10.0),
    notice_min=st.floats(0.1, 15.0),
    mtbi_h=st.floats(1.0, 10.0),
)
def test_a_notice_never_makes_the_mean_worse(
    interval_h: float, write_min: float, notice_min: float, mtbi_h: float
) -> None:
    reps = 200
    assume(feasible(10, interval_h, write_min, mtbi_h))
    quiet = poisson(10, interval_h, write_min, mtbi_h)
    warned = quiet.with_values({"interruptions.notice": notice_min * 60})
    diff = (
        ps.simulate(warned, reps, seed=8, engine="simpy")["wall_h"]
        - ps.simulate(quiet, reps, seed=8, engine="simpy")["wall_h"]
    )
    assert diff.mean() <= 4 * diff.std(ddof=1) / math.sqrt(reps) + 1e-9
