"""Both engines on random traces: the same rows, with and without deadline policies.

Every random draw that differs between the engines is fixed away (downtime and restore
are durations), and a trace's random start is the one keyed draw both engines make
(keyed.py), on a grid of 2⁻²⁰ s; with whole minutes everywhere else every sum is exact,
so ties (a segment ending on a tick's start, a return to spot the moment capacity is
back) fall alike and the rows agree to 1e-9 h and 1e-9 USD.  Traces in both formats,
irregular ticks, per-tick prices, notice, async persists, gangs, lifetimes, manual
restarts; each ends in 12 h of capacity so that every job can finish.

``PREEMPTSIM_AGREEMENT_EXAMPLES=5000`` runs more examples than CI's 150.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import preemptsim as ps
from tests.test_fast import (
    MINUTE,
    assert_same_rows,
    build,
    checkpoints,
    common,
    fast_or_reject,
    whole,
)

EXAMPLES = int(os.environ.get("PREEMPTSIM_AGREEMENT_EXAMPLES", "150"))
TAIL_S = 12 * 3600  # capacity at the end of every trace


@st.composite
def traces(draw: st.DrawFn) -> tuple[str, str]:
    """A small trace (file name, text): JSON on a regular grid with optional prices, or
    CSV with irregular whole-minute ticks."""
    if draw(st.booleans()):
        gap_s = draw(st.sampled_from([5, 10, 30, 60])) * MINUTE
        data = draw(st.lists(st.sampled_from([0, 1, 1]), min_size=1, max_size=30))
        data += [0] * (TAIL_S // gap_s)
        doc: dict[str, Any] = {"metadata": {"gap_seconds": gap_s}, "data": data}
        if draw(st.booleans()):
            doc["prices"] = draw(st.lists(st.sampled_from([0.5, 0.9, 1.7]), min_size=len(data),
                                          max_size=len(data)))  # fmt: skip
        return "trace.json", json.dumps(doc)
    gaps = draw(st.lists(whole(5, 120), min_size=1, max_size=25))
    available = draw(st.lists(st.sampled_from([0, 0, 1]), min_size=len(gaps), max_size=len(gaps)))
    gaps, available = [*gaps, *[3600] * 12], [*available, *[1] * 12]
    moments = [sum(gaps[:i]) for i in range(len(gaps))]
    rows = [f"{_iso(t)},{a}" for t, a in zip(moments, available, strict=True)]
    return "trace.csv", "date,availability\n" + "\n".join(rows) + "\n"


def _iso(seconds: int) -> str:
    """A time ``seconds`` after 2024-03-31 00:00 (a daylight-saving night in Europe),
    without a zone: UTC (DESIGN.md §1)."""
    return (datetime(2024, 3, 31) + timedelta(seconds=seconds)).isoformat()


@st.composite
def trace_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    tables = draw(common())
    work = draw(whole(30, 480))
    interval = draw(st.sampled_from([10, 20, 30, 45, 60, 90, 120])) * MINUTE
    checkpoint = draw(checkpoints(interval))
    if checkpoint.get("mode") == "async":
        checkpoint["persist"] = min(checkpoint["persist"], 2 * interval)
    if checkpoint["storage"] == "ephemeral":
        work = min(work, 90 * MINUTE)
    start = draw(st.one_of(st.just("random"), whole(0, 48 * 60, MINUTE)))
    interruptions: dict[str, Any] = {"model": "trace", "start": start}
    interruptions["notice"] = draw(st.sampled_from([0, 0, 30, 120, 600]))
    if draw(st.integers(0, 4)) == 0:
        interruptions["max_lifetime"] = draw(whole(60, 600))
    kind = draw(st.sampled_from(["spot", "greedy", "greedy", "uniform_progress",
                                 "uniform_progress", "on_demand"]))  # fmt: skip
    tables["policy"] = {"kind": kind}
    if kind in ("greedy", "uniform_progress") or draw(st.booleans()):
        tables["policy"]["deadline"] = work + draw(whole(0, 2 * work // MINUTE))
    if draw(st.booleans()):
        tables["on_demand"] = {"provision": draw(whole(0, 10))}
    job = {"work": work, "instances": draw(st.integers(1, 4)), "setup": draw(whole(0, 5))}
    return tables | {"job": job, "checkpoint": checkpoint, "interruptions": interruptions,
                     "trace": draw(traces())}  # fmt: skip


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow,
                                 HealthCheck.function_scoped_fixture])  # fmt: skip
@given(tables=trace_scenarios())
def test_both_engines_give_the_same_rows_on_traces(tables: dict[str, Any], tmp_path: Path) -> None:
    name, text = tables.pop("trace")
    path = tmp_path / name
    path.write_text(text)
    tables["interruptions"]["path"] = str(path)
    sc = build(tables)
    vectorised = fast_or_reject(sc, 3, seed=5)
    simpy = ps.simulate(sc, 3, 5, engine="simpy")
    assert_same_rows(simpy, vectorised)
