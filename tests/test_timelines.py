"""Scripted interruptions against timelines worked by hand (DESIGN.md §1).

The base job (tests/conftest.py): W = 10 h = 36000 s in segments of τ = 7200 s, each but the
last followed by a C = 600 s checkpoint; downtime D = 300 s; restore R = 900 s; spot $1/h.
Every expected number below is derived in the comment above it.
"""

from __future__ import annotations

import pytest

from preemptsim.engine import Plan, run_once
from preemptsim.simulate import COLUMNS, row
from tests.conftest import scenario


def timeline(**tables: dict[str, object]) -> dict[str, object]:
    sc = scenario(**tables)
    record = run_once(Plan.of(sc), seed=1, rep=0)
    values = dict(zip(COLUMNS, row(0, record, sc), strict=True))
    values["leases"] = [(lease.start_s, lease.end_s) for lease in record.leases]
    values["wall_s"] = record.wall_s
    return values


def scripted(*at_s: float) -> dict[str, object]:
    return {"model": "scripted", "at": list(at_s)}


def test_uninterrupted() -> None:
    # 5 segments, 4 checkpoints: 36000 + 4·600 = 38400 s.
    run = timeline()
    assert run["wall_s"] == 38400
    assert run["checkpoints"] == 4 and run["interruptions"] == 0
    assert run["cost_usd"] == pytest.approx(38400 / 3600)


def test_interruption_during_work() -> None:
    # Segment 0: work 0–7200, checkpoint –7800 (durable 7200).  Segment 1 works from 7800
    # and is taken at 10800: 3000 s lost.  Wait 10800–11100, restore –12000, then segments
    # 1–3 of 7800 s each (–35400) and the last 7200 s: done at 42600.
    run = timeline(interruptions=scripted(10800))
    assert run["wall_s"] == 42600
    assert run["leases"] == [(0, 10800), (11100, 42600)]
    assert run["lost_work_h"] == pytest.approx(3000 / 3600)
    assert run["checkpoint_h"] == pytest.approx(2400 / 3600)
    assert (run["restore_h"], run["wait_h"]) == (pytest.approx(0.25), pytest.approx(300 / 3600))
    assert run["checkpoints"] == 4 and run["interruptions"] == 1
    assert run["spot_instance_h"] == pytest.approx(42300 / 3600)  # billed: held 10800 + 31500


def test_interruption_during_checkpoint_loses_it() -> None:
    # Taken at 7500, 300 s into segment 0's checkpoint: all 7200 s of work lost, 300 s of
    # checkpoint spent.  Restart: 7800 + 900 restore = 8700, then the whole job: 8700 + 38400.
    run = timeline(interruptions=scripted(7500))
    assert run["wall_s"] == 47100
    assert run["lost_work_h"] == pytest.approx(2.0)
    assert run["checkpoint_h"] == pytest.approx(2700 / 3600)


def test_interruption_at_the_instant_a_checkpoint_ends_wins() -> None:
    # Taken at 7800, the very instant segment 0's checkpoint would complete: it is lost.
    # 7800 + 300 + 900 + 38400 = 47400.
    run = timeline(interruptions=scripted(7800))
    assert run["wall_s"] == 47400
    assert run["checkpoints"] == 4  # only the second run's checkpoints


def test_interruption_during_restore_and_during_downtime() -> None:
    # A second interruption 400 s into the restore (11500) costs 400 s of restore; then wait
    # 11500–11800, restore –12700, and the 30600 s of segments left: 43300.
    run = timeline(interruptions=scripted(10800, 11500))
    assert run["wall_s"] == 43300
    assert run["interruptions"] == 2
    assert run["restore_h"] == pytest.approx(1300 / 3600)
    # One at 10900 falls in the downtime 10800–11100: no instance is held, nothing happens.
    quiet = timeline(interruptions=scripted(10800, 10900))
    assert quiet["wall_s"] == 42600 and quiet["interruptions"] == 1


def test_notice_long_enough_for_an_emergency_checkpoint() -> None:
    # Notice 601 s before the take at 10800: at 10199 segment 1 has 2399 s of work; its
    # 600 s emergency checkpoint ends at 10799 < 10800, so progress 9599 is durable; 1 s idle.
    # Restart at 11100, restore -12000, finish segment 1 (4801 s) -16801, checkpoint -17401,
    # segments 2-3 (-33001) and the last 7200 s: 40201.
    run = timeline(interruptions={**scripted(10800), "notice": 601})
    assert run["wall_s"] == 40201
    assert run["lost_work_h"] == 0
    assert run["idle_h"] == pytest.approx(1 / 3600)
    assert run["checkpoints"] == 5
    assert run["checkpoint_h"] == pytest.approx(3000 / 3600)


def test_notice_too_short_for_the_emergency_checkpoint_changes_nothing() -> None:
    # Notice 300 s: an emergency checkpoint from 10500 would end at 11100, after the take at
    # 10800, so the job carries on as without notice: 42600, 3000 s lost.  With exactly
    # 600 s it would end at the take itself, which the take wins: the same.
    for notice_s in (300, 600):
        run = timeline(interruptions={**scripted(10800), "notice": notice_s})
        assert run["wall_s"] == 42600
        assert run["lost_work_h"] == pytest.approx(3000 / 3600)
        assert run["checkpoint_h"] == pytest.approx(2400 / 3600)


def test_notice_during_a_checkpoint_that_will_finish_lets_it_finish() -> None:
    # Taken at 7830 with 120 s of notice (7710): segment 0's checkpoint (7200-7800) ends
    # before the take, so it is kept and only 30 s of segment 1 are lost.  Wait -8130,
    # restore -9030, segments 1-3 (3 x 7800) -32430, the last 7200 s: 39630, as without notice.
    run = timeline(interruptions={**scripted(7830), "notice": 120})
    assert run["wall_s"] == 39630
    assert run["lost_work_h"] == pytest.approx(30 / 3600)


def test_notice_ignored_when_on_notice_is_false() -> None:
    run = timeline(
        interruptions={**scripted(10800), "notice": 601}, checkpoint={"on_notice": False}
    )
    assert run["wall_s"] == 42600


def test_ephemeral_storage_starts_over() -> None:
    # All 10200 s of progress are lost; 11100 + 900 = 12000, then the whole job: 50400.
    run = timeline(interruptions=scripted(10800), checkpoint={"storage": "ephemeral"})
    assert run["wall_s"] == 50400
    assert run["lost_work_h"] == pytest.approx(10200 / 3600)


def test_max_lifetime_with_provision_and_restore() -> None:
    # Leases live 18000 s.  Lease 1: segments 0-1 done at 15600, taken at 18000 (2400 s lost).
    # Wait -18300; lease 2 lives 18300-36300: restore -19200, segments 2-3 done at 34800, the
    # last segment taken at 36300 (1500 s lost).  Wait -36600, restore -37500, last 7200 s:
    # 44700.
    run = timeline(interruptions={"model": "none", "max_lifetime": "5h"})
    assert run["wall_s"] == 44700
    assert run["leases"] == [(0, 18000), (18300, 36300), (36600, 44700)]
    assert run["lost_work_h"] == pytest.approx(3900 / 3600)


def test_async_checkpoint_durable_only_after_its_persist() -> None:
    # Snapshot 60 s then persist 540 s.  Segment 0: work -7200, snapshot -7260, persist -7800.
    # Taken at 8000 (persist done): 740 s of segment 1 lost.  Restart 8300 + 900 = 9200, then
    # segments 1-3 at 7260 s each (-30980) and the last 7200: 38180.
    run = timeline(
        checkpoint={"mode": "async", "write": 0, "snapshot": "60s", "persist": "540s"},
        interruptions=scripted(8000),
    )
    assert run["wall_s"] == 38180
    assert run["lost_work_h"] == pytest.approx(740 / 3600)
    # Taken at 7500, mid-persist: segment 0 is not durable, 7200 + 240 s lost.
    # 7800 + 900 = 8700, then 4 × 7260 + 7200: 44940.
    mid = timeline(
        checkpoint={"mode": "async", "write": 0, "snapshot": "60s", "persist": "540s"},
        interruptions=scripted(7500),
    )
    assert mid["wall_s"] == 44940
    assert mid["lost_work_h"] == pytest.approx(7440 / 3600)


def test_snapshot_waits_for_the_last_persist() -> None:
    # Persist 9000 s > τ: segment 1's snapshot waits from 14460 to the persist's end at 16260.
    # Each later snapshot waits likewise (persist ends 9060 s after its snapshot starts):
    # snapshots start at 7200, 16260, 25320, 34380; the last segment runs 34440-41640.
    run = timeline(checkpoint={"mode": "async", "write": 0, "snapshot": "60s", "persist": "9000s"})
    assert run["wall_s"] == 41640
    assert run["checkpoint_h"] == pytest.approx((41640 - 36000) / 3600)


def test_manual_restart_costs_response_and_engineer_time() -> None:
    # Response 2 h joins the downtime: 42600 + 7200.  Handling 15 min at $100/h: $25.
    run = timeline(
        interruptions=scripted(10800),
        restart={"manual": True, "response": "2h", "handling": "15min"},
        pricing={"engineer_usd_per_hour": 100.0},
    )
    assert run["wall_s"] == 49800
    assert run["human_cost_usd"] == pytest.approx(25.0)


def test_gang_billing_and_granularity() -> None:
    # 4 instances for 38400 s at $1/h each; hourly billing rounds 38400 s up to 11 h.
    run = timeline(job={"instances": 4}, pricing={"billing_granularity": "1h"})
    assert run["spot_instance_h"] == 44
    assert run["compute_cost_usd"] == pytest.approx(44.0)


def test_storage_cost() -> None:
    # 100 GB × $0.02/GB-month over 38400 s of a 730 h month.
    run = timeline(checkpoint={"size_gb": 100}, pricing={"storage_usd_per_gb_month": 0.02})
    assert run["storage_cost_usd"] == pytest.approx(100 * 0.02 * 38400 / (730 * 3600))


def test_on_demand_policy_is_never_interrupted() -> None:
    run = timeline(interruptions=scripted(10800), policy={"kind": "on_demand"})
    assert run["wall_s"] == 38400 and run["interruptions"] == 0
    assert run["on_demand_instance_h"] == pytest.approx(38400 / 3600)
    assert run["cost_usd"] == pytest.approx(3 * 38400 / 3600)
