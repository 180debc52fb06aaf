"""`preemptsim advise`: the recommendation against closed forms and hand-worked break-evens."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from preemptsim import analytic
from preemptsim.advise import advise, coarse_grid, mean_lifetime_s, settings
from preemptsim.breakeven import spot_discount
from preemptsim.cli import main
from preemptsim.scenario import Scenario
from tests.conftest import scenario as make

REPS = 200


def poisson_job(**tables: dict[str, object]) -> Scenario:
    """20 h of work, 2 min writes, an interruption every 3 h, spot $1/h, on-demand $3/h."""
    base = {
        "job": {"work": "20h"},
        "checkpoint": {"interval": "1h", "write": "2min"},
        "restart": {"provision": "3min", "restore": "2min"},
        "interruptions": {"model": "poisson", "mtbi": "3h"},
    }
    for table, values in tables.items():
        base[table] = {**base.get(table, {}), **values}
    return make(**base)


@pytest.fixture(scope="module")
def no_deadline() -> tuple[Scenario, object]:
    scenario = poisson_job()
    return scenario, advise(scenario, reps=REPS, seed=3)


def test_without_deadline_agrees_with_the_exact_optimum(no_deadline) -> None:
    """Poisson, sync writes: the cost-optimal interval is Lambert W's τ* (REFERENCES.md §1),
    for C = 120 s, M = 3 h: Young √(2CM) = 1610 s, Daly 1610·(1 + ⅓√(C/2M) + C/18M) − C
    = 1530 s, τ* ≈ 1531 s.  τ* must lie in the recommendation's 1% range."""
    _, found = no_deadline
    exact_s = analytic.optimal_interval(120.0, 3 * 3600.0)
    assert exact_s == pytest.approx(1530, abs=2)
    choice = found.recommendation
    assert choice["policy"] == "spot" and choice["deadline_miss_prob"] is None
    low, high = choice["flat_range_s"]
    assert low <= exact_s <= high
    assert found.max_miss is None and [o["policy"] for o in found.alternatives] == ["on_demand"]


def test_on_demand_is_the_job_as_written(no_deadline) -> None:
    """On-demand at the written 1 h interval: 20 h + 19 writes of 2 min = 20.633 h at $3/h."""
    _, found = no_deadline
    assert found.on_demand["wall_h"] == pytest.approx(20 + 19 * 2 / 60)
    assert found.on_demand["cost_usd"] == pytest.approx(3 * (20 + 19 * 2 / 60))
    assert found.recommendation["savings_vs_on_demand"] == pytest.approx(
        1 - found.recommendation["cost_usd"] / found.on_demand["cost_usd"]
    )


def test_break_even_discount_and_mtbi_match_the_closed_form(no_deadline) -> None:
    """Spot cost is linear in its price: break-even price p* = on-demand cost / E[held h]
    with E[held] from the closed form at the recommended interval (MC within 2%).  At the
    break-even MTBI M*, the closed-form spot cost straddles the on-demand cost."""
    scenario, found = no_deadline
    choice, even = found.recommendation, found.break_even
    at = scenario.with_values({"checkpoint.interval": choice["checkpoint_interval_s"]})
    held_h = analytic.expected_run(at).held_s / 3600.0
    price = found.on_demand["cost_usd"] / held_h
    assert 1.0 - price / 3.0 == pytest.approx(even["spot_discount"], abs=0.02)
    assert even["spot_discount_now"] == pytest.approx(1 - 1 / 3)
    mtbi_s = even["mtbi_s"]
    assert mtbi_s < 3 * 3600.0

    def spot_cost(mtbi: float) -> float:
        interval = choice["checkpoint_interval_s"] * math.sqrt(mtbi / (3 * 3600.0))
        varied = scenario.with_values({"interruptions.mtbi": mtbi, "checkpoint.interval": interval})
        return analytic.expected_run(varied).held_s / 3600.0 * 1.0

    assert spot_cost(mtbi_s * 1.3) < found.on_demand["cost_usd"] < spot_cost(mtbi_s / 1.3)


def test_spot_discount_by_hand() -> None:
    """One option: cost $10, of which spot compute $6 over 6 h ($1/h); on-demand $12 at
    $3/h.  cost(f) = 4 + 6f = 12 at f = 4/3: a spot price of $1.333, a discount of 5/9."""
    rows = pd.DataFrame(
        {"feasible": [True, False], "spot_usd_mean": [6.0, 1.0], "spot_instance_h_mean": [6.0, 1.0],
         "cost_usd_mean": [10.0, 2.0]}
    )  # fmt: skip
    found = spot_discount(poisson_job(), rows, 12.0)
    assert found["spot_discount"] == pytest.approx(5 / 9)
    assert found["spot_discount_now"] == pytest.approx(2 / 3)


def test_a_tight_deadline_is_met_in_95_percent_of_runs() -> None:
    """10 h of work, a 12 h deadline, an interruption every 3 h: spot alone misses often;
    the recommendation must miss in at most 5% of runs, and spot is listed with its risk."""
    scenario = poisson_job(job={"work": "10h"}, policy={"deadline": "12h"})
    found = advise(scenario, reps=REPS, seed=1)
    choice = found.recommendation
    assert found.max_miss == 0.05
    assert choice["policy"] in ("greedy", "uniform_progress", "on_demand")
    assert choice["deadline_miss_prob"] <= 0.05 and choice["feasible"]
    spot = next(o for o in found.alternatives if o["policy"] == "spot")
    assert spot["deadline_miss_prob"] > 0.05 and not spot["feasible"]


def test_on_demand_wins_when_the_discount_is_tiny() -> None:
    """Spot at $2.97 against $3: the lost work and restores cost more than 1% of the job,
    so on-demand is recommended; spot would pay only with rarer interruptions."""
    scenario = poisson_job(pricing={"spot_usd_per_hour": 2.97})
    found = advise(scenario, reps=REPS, seed=1)
    assert found.recommendation["policy"] == "on_demand"
    assert found.recommendation["savings_vs_on_demand"] == 0.0
    assert found.break_even["spot_discount"] > 0.01
    assert found.break_even["mtbi_s"] > 3 * 3600.0


def test_settings_in_steps_and_minutes() -> None:
    """10 min at 0.5 s a step is 1,200 steps; without steps, Lightning's time interval."""
    steps = make(job={"work": None, "steps": 100_000, "step_time": "0.5s"})
    found = settings(steps, 600.0)
    assert found["save_steps"] == 1200
    assert found["huggingface"] == 'TrainingArguments(save_strategy="steps", save_steps=1200)'
    assert found["lightning"] == "ModelCheckpoint(every_n_train_steps=1200)"
    timed = settings(make(), 600.0)
    assert timed["save_steps"] is None and "timedelta(minutes=10)" in timed["lightning"]


def test_mean_lifetime_by_model() -> None:
    """Weibull k = 0.5, λ = 2 h: mean λΓ(3) = 4 h; a gang of 4: λ·4^(−2) = 7.5 min, mean
    15 min.  Hourly 0.5/h all day: 2 h.  Poisson every 3 h, capped at 1 h: 1 h."""
    weibull = {"model": "weibull", "shape": 0.5, "scale": "2h"}
    assert mean_lifetime_s(make(interruptions=weibull)) == pytest.approx(4 * 3600)
    gang = make(interruptions=weibull, job={"instances": 4})
    assert mean_lifetime_s(gang) == pytest.approx(15 * 60)
    hourly = make(interruptions={"model": "hourly", "rate_per_hour": [0.5] * 24})
    assert mean_lifetime_s(hourly) == pytest.approx(2 * 3600)
    capped = poisson_job(interruptions={"max_lifetime": "1h"})
    assert mean_lifetime_s(capped) == 3600.0 and math.isinf(mean_lifetime_s(make()))


def test_coarse_grid_spans_eight_times_either_side_of_the_closed_form() -> None:
    """τ0 = 1531 s: the grid is τ0·2^k, k = −3…3 (191 s … 12,248 s)."""
    grid = coarse_grid(poisson_job())
    assert len(grid) == 7
    assert grid[0] == pytest.approx(1531 / 8, abs=1) and grid[-1] == pytest.approx(1531 * 8, abs=4)


def test_cli_json_text_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "job.toml"
    path.write_text(
        'name = "job"\n[job]\nwork = "10h"\n[checkpoint]\ninterval = "1h"\nwrite = "2min"\n'
        '[interruptions]\nmodel = "poisson"\nmtbi = "3h"\n'
        "[pricing]\nspot_usd_per_hour = 1.0\non_demand_usd_per_hour = 3.0\n"
    )
    assert main(["advise", str(path), "--reps", "60", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert set(shown["recommendation"]) >= {
        "policy", "checkpoint_interval_s", "cost_usd", "wall_h", "deadline_miss_prob",
        "savings_vs_on_demand", "flat_range_s",
    }  # fmt: skip
    assert set(shown["on_demand"]) == {"cost_usd", "wall_h"} and "mtbi_s" in shown["break_even"]
    assert main(["advise", str(path), "--reps", "60"]) == 0
    text = capsys.readouterr().out
    assert "no deadline: advised on cost alone" in text and "recommended     spot" in text
    assert main(["advise", str(path), "--max-miss", "5%"]) == 2
    assert "needs a deadline" in capsys.readouterr().err
