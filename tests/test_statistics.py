"""Monte Carlo against the exact Poisson results of REFERENCES.md §1.

Each case runs 1500 replications; means must fall within 4.5 standard errors of the closed
form (a false alarm about once in 150,000 checks).  Billing granularity is 1 ms, so rounding
adds at most a millisecond a lease.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import preemptsim as ps
from preemptsim import analytic
from tests.conftest import scenario

REPS = 1500
CASES = {
    # name: (work, interval, write, mtbi, provision, restore, instances)
    "plain": ("20h", "1h", "2min", "6h", "0s", "0s", 1),
    "downtime-and-restore": ("20h", "2h", "5min", "5h", "10min", "10min", 1),
    "partial-last-segment": ("10h", "3h", "5min", "4h", "3min", "5min", 1),
    "gang-of-4": ("12h", "1h", "1min", "20h", "2min", "3min", 4),
    "no-checkpoints": ("3h", "never", "0s", "8h", "1min", "1min", 1),
}


@pytest.mark.parametrize("case", CASES)
def test_poisson_means_match_closed_form(case: str) -> None:
    work, interval, write, mtbi, provision, restore, instances = CASES[case]
    sc = scenario(
        job={"work": work, "instances": instances},
        checkpoint={"interval": interval, "write": write},
        restart={"provision": provision, "restore": restore},
        interruptions={"model": "poisson", "mtbi": mtbi},
        pricing={"billing_granularity": "1ms"},
    )
    expected = analytic.expected_run(sc)
    runs = ps.simulate(sc, reps=REPS, seed=7)
    held_h = runs["spot_instance_h"] / instances
    for column, values, target in [
        ("wall", runs["wall_h"] * 3600, expected.wall_s),
        ("held", held_h * 3600, expected.held_s),
        ("interruptions", runs["interruptions"], expected.interruptions),
    ]:
        sem = values.std(ddof=1) / math.sqrt(REPS)
        assert abs(values.mean() - target) < 4.5 * sem + 1e-6, (column, values.mean(), target)


def test_daly_worked_cases() -> None:
    # Daly (FGCS 2006): C = 5 min, R = 10 min; M = 24 h → 117 min, 6 h → 57 min, 15 min →
    # 9.1 min; Young 120, 60, 12.2; exact τ* 116.7, 56.7, 9.17 (REFERENCES.md §1).
    for mtbi_min, daly, young, exact in [
        (1440, 117, 120, 116.7),
        (360, 57, 60, 56.7),
        (15, 9.1, 12.2, 9.17),
    ]:
        assert analytic.daly_interval(300, mtbi_min * 60) / 60 == pytest.approx(daly, abs=0.6)
        assert analytic.young_interval(300, mtbi_min * 60) / 60 == pytest.approx(young, abs=0.06)
        assert analytic.optimal_interval(300, mtbi_min * 60) / 60 == pytest.approx(exact, abs=0.05)


def test_exact_optimum_minimises_the_closed_form() -> None:
    sc = scenario(
        interruptions={"model": "poisson", "mtbi": "6h"},
        checkpoint={"write": "5min"},
        job={"work": "1000h"},
    )
    best = analytic.optimal_interval(300, 6 * 3600)

    def wall_per_work(tau: float) -> float:
        one = analytic.expected_segment(tau, 300, 1 / (6 * 3600), 900, 300)
        return one.wall_s / tau

    grid = np.linspace(0.5 * best, 1.5 * best, 101)
    assert min(grid, key=wall_per_work) == pytest.approx(best, rel=0.011)
    assert analytic.expected_run(sc.with_values({"checkpoint.interval": best})).wall_s > 0


def test_monthly_probability_matches_its_rate() -> None:
    # p = 50 % a month: λ = ln 2 / 730 h (REFERENCES.md §3); the simulated interruption count
    # must match the closed form at that rate.
    sc = scenario(
        interruptions={"model": "poisson", "monthly_probability": 0.5},
        job={"work": "200h"},
        checkpoint={"interval": "10h"},
        pricing={"billing_granularity": "1ms"},
    )
    assert sc.interruptions.rate_per_s == pytest.approx(math.log(2) / (730 * 3600))
    runs = ps.simulate(sc, reps=REPS, seed=3)
    target = analytic.expected_run(sc).interruptions
    sem = runs["interruptions"].std(ddof=1) / math.sqrt(REPS)
    assert abs(runs["interruptions"].mean() - target) < 4.5 * sem
