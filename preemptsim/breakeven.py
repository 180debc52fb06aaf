"""Break-even points of a piece of advice: how small the spot discount may get, and how
often interruptions may come, before on-demand is the better choice (DESIGN.md §4).

The discount is exact for the simulated runs: nothing a run does depends on the spot price
(the policies decide on time, not money), so each option's mean cost is linear in it,
cost(f) = f · spot compute + the rest, for spot prices scaled by f.  The interruption rate
is searched: the best spot option's cost with every rate scaled by f (its interval scaled by
f^−½, as Young's formula moves), doubling f until on-demand wins, then bisecting in log f.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from preemptsim.executors import Engine
from preemptsim.scenario import Scenario, ScenarioError
from preemptsim.simulate import miss_probability, simulate

DOUBLINGS = 16  # look for the break-even rate within 2^±16 of today's
BISECTIONS = 4  # then narrow it to a factor 2^(1/16), about 4%
MIN_INTERVAL_S = 30.0


def break_even(
    scenario: Scenario,
    candidates: pd.DataFrame,
    choice: dict[str, Any],
    baseline: dict[str, float],
    max_miss: float | None,
    seed: int,
    reps: int,
    engine: Engine,
) -> dict[str, Any]:
    """``spot_discount`` (the least discount at which a spot option still beats on-demand;
    None where none does at any price), ``spot_discount_now``, and for Poisson ``mtbi_s``,
    for Weibull and hour-of-day models ``rate_factor`` (None where no rate is found)."""
    result: dict[str, Any] = spot_discount(scenario, candidates, baseline["cost_usd"])
    name = rate_key(scenario)
    if name is None:
        return result
    spot = candidates[candidates["feasible"] & (candidates["spot_usd_mean"] > 0)]
    if choice["policy"] != "on_demand":
        option = (choice["policy"], choice["checkpoint_interval_s"])
    elif len(spot):
        row = spot.loc[spot["cost_usd_mean"].idxmin()]
        option = (str(row["policy.kind"]), float(row["checkpoint.interval"]))
    else:
        return result | {name: None}
    pays = _Pays(scenario, option, baseline["cost_usd"], max_miss, seed, max(50, reps // 4), engine)
    factor = _search(pays, choice["policy"] != "on_demand")
    if name == "mtbi_s":
        life_s = 1.0 / scenario.interruptions.rate_per_s
        return result | {"mtbi_s": None if factor is None else life_s / factor}
    return result | {"rate_factor": factor}


def spot_discount(
    scenario: Scenario, candidates: pd.DataFrame, on_demand_usd: float
) -> dict[str, float | None]:
    """The spot discount (1 − spot price / on-demand price) below which no feasible option
    beats on-demand, and today's, from each option's spot compute cost (exact: linear)."""
    od_usd_per_h = scenario.pricing.on_demand_usd_per_hour
    rows = candidates[candidates["feasible"] & (candidates["spot_usd_mean"] > 0)]
    if not len(rows) or od_usd_per_h <= 0:
        return {"spot_discount": None, "spot_discount_now": None}
    price_now = rows["spot_usd_mean"] / rows["spot_instance_h_mean"]
    rest_usd = rows["cost_usd_mean"] - rows["spot_usd_mean"]
    factor = (on_demand_usd - rest_usd) / rows["spot_usd_mean"]
    best = factor.idxmax()
    now = 1.0 - float(price_now[best]) / od_usd_per_h
    if factor[best] <= 0:
        return {"spot_discount": None, "spot_discount_now": now}
    return {
        "spot_discount": 1.0 - float(factor[best] * price_now[best]) / od_usd_per_h,
        "spot_discount_now": now,
    }


def rate_key(scenario: Scenario) -> str | None:
    """How the break-even rate is told: ``mtbi_s`` (Poisson), ``rate_factor`` (Weibull,
    hour of day), or None where rates are not a model's (traces, scripted, none)."""
    model = scenario.interruptions.model
    return {"poisson": "mtbi_s", "weibull": "rate_factor", "hourly": "rate_factor"}.get(model)


def scaled(scenario: Scenario, factor: float) -> Scenario:
    """``scenario`` with every interruption rate × ``factor`` (a Weibull hazard × factor is
    its scale × factor^(−1/shape))."""
    spec = scenario.interruptions
    if spec.model == "poisson":
        return scenario.with_values(
            {
                "interruptions.mtbi": 1.0 / (spec.rate_per_s * factor),
                "interruptions.rate_per_hour": None,
                "interruptions.monthly_probability": None,
            }
        )
    if spec.model == "weibull":
        scale_s = float(spec.scale) * factor ** (-1.0 / float(spec.shape))  # type: ignore[arg-type]
        return scenario.with_values({"interruptions.scale": scale_s})
    rates = [rate * factor for rate in spec.rate_per_hour]  # type: ignore[union-attr]
    return scenario.with_values({"interruptions.rate_per_hour": rates})


class _Pays:
    """Whether the option (policy, interval) on spot still beats on-demand with every
    interruption rate scaled by f, on the same random numbers for every f."""

    def __init__(
        self,
        scenario: Scenario,
        option: tuple[str, float],
        on_demand_usd: float,
        max_miss: float | None,
        seed: int,
        reps: int,
        engine: Engine,
    ) -> None:
        self.scenario = scenario.with_values({"policy.kind": option[0]})
        self.interval_s, self.on_demand_usd, self.max_miss = option[1], on_demand_usd, max_miss
        self.seed, self.reps, self.engine = seed, reps, engine

    def __call__(self, factor: float) -> bool:
        work_s = self.scenario.job.work_s
        interval_s = min(max(self.interval_s / math.sqrt(factor), MIN_INTERVAL_S), work_s)
        try:
            scenario = scaled(self.scenario, factor).with_values(
                {"checkpoint.interval": round(interval_s)}
            )
            runs = simulate(scenario, self.reps, self.seed, engine=self.engine)
        except ScenarioError:  # the job could (practically) never finish at this rate
            return False
        miss = miss_probability(runs)
        within = self.max_miss is None or miss is None or miss["value"] <= self.max_miss
        return within and float(runs["cost_usd"].mean()) < self.on_demand_usd


def _search(pays: _Pays, pays_now: bool) -> float | None:
    """The rate factor at which spot stops (or starts) paying: doubling (halving) from 1,
    then bisection in log f; None where it does not change within 2^±16."""
    step = 2.0 if pays_now else 0.5
    inside = 1.0
    for _ in range(DOUBLINGS):
        outside = inside * step
        if pays(outside) != pays_now:
            break
        inside = outside
    else:
        return None
    for _ in range(BISECTIONS):
        middle = math.sqrt(inside * outside)
        if pays(middle) == pays_now:
            inside = middle
        else:
            outside = middle
    return math.sqrt(inside * outside)
