"""``preemptsim advise``: how to run this job — policy and checkpoint interval (DESIGN.md §4).

A joint search over the policy (spot; with a deadline also greedy and uniform_progress) and
the checkpoint interval, every point on the same random numbers (common random numbers):

1. a coarse log grid, τ0·2^k for k = −3…3, around the closed-form optimum τ0 (REFERENCES.md
   §1, with the mean time an instance lives under the scenario's model), at a quarter of
   the replications;
2. for the policy whose coarse best is cheapest (among those meeting the deadline), a fine
   grid at ratio 2^¼ between the coarse neighbours of its best, at all replications,
   widened on a side while the range within 1% of the best cost reaches that side (the
   curve is flat there).  The other policies are reported at their coarse best.

The recommendation is the cheapest point whose deadline-miss probability is at most
``max_miss`` (5% by default where there is a deadline), against the on-demand baseline of
the job as written; on-demand is recommended where no spot option beats it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from preemptsim import analytic, breakeven, optima
from preemptsim.executors import Engine
from preemptsim.scenario import Scenario, ScenarioError
from preemptsim.simulate import check_can_finish, on_demand_baseline, trace_of
from preemptsim.sweep import SweepResult, sweep

INTERVAL = "checkpoint.interval"
KIND = "policy.kind"
COARSE_STEPS = range(-3, 4)  # coarse grid: τ0 · 2^k
FINE_RATIO = 2.0**0.25
MIN_INTERVAL_S = 30.0
EXTENSIONS = 4  # at most this many widenings of a fine grid on each side


@dataclass(frozen=True)
class Advice:
    """The recommendation, its runners-up, the break-even points and every point tried.

    ``candidates``: one row per (policy, interval) in the final picture — the fine grid of
    a refined policy, the coarse grid of the others — with summary.csv's columns, ``reps``,
    ``feasible`` and ``recommended``.
    """

    scenario: Scenario
    reps: int
    seed: int
    max_miss: float | None
    recommendation: dict[str, Any]
    on_demand: dict[str, Any]
    alternatives: list[dict[str, Any]]
    break_even: dict[str, Any]
    candidates: pd.DataFrame

    def to_json(self) -> dict[str, Any]:
        """The shape ``advise --json`` prints (DESIGN.md §4)."""
        return {
            "scenario": self.scenario.name,
            "reps": self.reps,
            "seed": self.seed,
            "max_miss": self.max_miss,
            "recommendation": self.recommendation,
            "on_demand": self.on_demand,
            "alternatives": self.alternatives,
            "break_even": self.break_even,
            "settings": settings(self.scenario, self.recommendation["checkpoint_interval_s"]),
        }


def advise(
    scenario: Scenario,
    *,
    max_miss: float | None = None,
    reps: int = 500,
    seed: int = 1,
    jobs: int = 1,
    engine: Engine = "auto",
) -> Advice:
    """The policy and checkpoint interval that make ``scenario``'s job cheapest while it
    misses its deadline in at most ``max_miss`` of runs (default 5%; no bound without a
    deadline), from ``reps`` replications per point (a quarter of them on the coarse grid)."""
    deadline_s = scenario.policy.deadline
    if max_miss is not None and deadline_s is None:
        raise ScenarioError("--max-miss needs a deadline: set policy.deadline")
    bound: float | None = None
    if deadline_s is not None:
        bound = optima.DEFAULT_MAX_MISS if max_miss is None else max_miss
    search = _Search(scenario, reps, seed, jobs, engine, bound)
    baseline = on_demand_baseline(scenario)
    best, lead = search.run()
    on_demand = _on_demand_option(scenario, baseline)
    choice = _choose(best, lead, on_demand)
    for option in [*best.values(), on_demand]:
        option["savings_vs_on_demand"] = 1.0 - option["cost_usd"] / baseline["cost_usd"]
    candidates = search.candidates(choice)
    even = breakeven.break_even(scenario, candidates, choice, baseline, bound, seed, reps, engine)
    return Advice(
        scenario=scenario,
        reps=reps,
        seed=seed,
        max_miss=bound,
        recommendation=choice,
        on_demand={"cost_usd": baseline["cost_usd"], "wall_h": baseline["wall_h"]},
        alternatives=[o for o in [*best.values(), on_demand] if o is not choice],
        break_even=even,
        candidates=candidates,
    )


def policies(scenario: Scenario) -> list[str]:
    """The spot-using policies to search: the deadline-aware ones only with a deadline."""
    if scenario.policy.deadline is None:
        return ["spot"]
    return ["spot", "greedy", "uniform_progress"]


class _Search:
    """The coarse grid, then the fine grids of the policies within reach of the best."""

    def __init__(
        self,
        scenario: Scenario,
        reps: int,
        seed: int,
        jobs: int,
        engine: Engine,
        max_miss: float | None,
    ) -> None:
        self.scenario, self.reps, self.seed = scenario, reps, seed
        self.jobs, self.engine, self.max_miss = jobs, engine, max_miss
        self.rows: dict[str, pd.DataFrame] = {}  # each policy's final rows

    def run(self) -> tuple[dict[str, dict[str, Any]], str | None]:
        """Each policy's best option (dicts of option()), and the policy refined: the one
        whose coarse best is cheapest among those meeting the deadline (ties go to the
        simpler policy, in the order of policies()); None where none meets it."""
        grid = coarse_grid(self.scenario)
        kinds = policies(self.scenario)
        coarse = self._sweep(self.scenario, {KIND: kinds, INTERVAL: grid}, max(50, self.reps // 4))
        table = self._table(coarse)
        for kind in kinds:
            self.rows[kind] = table[table[KIND] == kind].reset_index(drop=True)
        best = {kind: self._best(kind) for kind in kinds}
        feasible = [o for o in best.values() if o["feasible"]]
        if not feasible:
            return best, None
        lead = min(feasible, key=lambda o: o["cost_usd"])["policy"]
        best[lead] = self._refine(lead, grid)
        return best, lead

    def _sweep(self, scenario: Scenario, grid: dict[str, list[Any]], reps: int) -> SweepResult:
        """Every point of ``grid``; feasibility is decided here, not by the sweep."""
        every = None if scenario.policy.deadline is None else 1.0
        return sweep(scenario, grid, reps, self.seed, jobs=self.jobs, engine=self.engine,
                     max_miss=every, optimum_gap=True)  # fmt: skip

    def _table(self, result: SweepResult) -> pd.DataFrame:
        """The sweep's summary with what the break-even needs: mean spot compute cost."""
        table = result.summary.copy()
        runs = result.runs
        usd = self.scenario.pricing.on_demand_usd_per_hour
        spot_usd = runs["compute_cost_usd"] - runs["on_demand_instance_h"] * usd
        per_point = np.arange(len(runs)) // result.reps
        table["spot_usd_mean"] = spot_usd.groupby(per_point).mean().to_numpy()
        table["spot_instance_h_mean"] = runs["spot_instance_h"].groupby(per_point).mean().to_numpy()
        if KIND not in table:
            table.insert(0, KIND, result.scenario.policy.kind)
        table["reps"] = result.reps
        table["feasible"] = optima.feasible(table, self.max_miss)
        return table

    def _best(self, kind: str) -> dict[str, Any]:
        """The policy's best row: the cheapest feasible one, else the one that misses least."""
        rows = self.rows[kind]
        if rows["feasible"].any():
            index = int(rows.loc[rows["feasible"], "cost_usd_mean"].idxmin())
        else:
            index = int(rows["deadline_miss_prob"].idxmin())
        return option(rows.loc[index], self._flat(rows, index))

    def _flat(self, rows: pd.DataFrame, index: int) -> list[float] | None:
        if not rows.at[index, "feasible"]:
            return None
        return optima.flat_range(rows, INTERVAL, index, "cost_usd_mean", rows["feasible"])

    def _refine(self, kind: str, coarse: list[float]) -> dict[str, Any]:
        """The fine grid around ``kind``'s coarse best at all replications, widened by a
        factor 2 on a side while the flat range reaches that side.  Points already run are
        not run again: with common random numbers a point's rows do not depend on the rest."""
        scenario = self.scenario.with_values({KIND: kind})
        position = coarse.index(self._best(kind)["checkpoint_interval_s"])
        low_s, high_s = coarse[max(position - 1, 0)], coarse[min(position + 1, len(coarse) - 1)]
        done: list[pd.DataFrame] = []
        for _ in range(EXTENSIONS):
            known = set().union(*(set(t[INTERVAL]) for t in done))
            todo = [v for v in fine_grid(scenario, low_s, high_s) if v not in known]
            if todo:
                done.append(self._table(self._sweep(scenario, {INTERVAL: todo}, self.reps)))
            rows = pd.concat(done, ignore_index=True).sort_values(INTERVAL, ignore_index=True)
            self.rows[kind] = rows
            flat = self._best(kind)["flat_range_s"]
            if flat is None:
                break
            wider = (
                low_s / 2 if flat[0] <= rows[INTERVAL].iloc[0] else low_s,
                high_s * 2 if flat[1] >= rows[INTERVAL].iloc[-1] else high_s,
            )
            wider = (max(wider[0], MIN_INTERVAL_S), min(wider[1], scenario.job.work_s))
            if wider == (low_s, high_s):
                break
            low_s, high_s = wider
        return self._best(kind)

    def candidates(self, choice: dict[str, Any]) -> pd.DataFrame:
        """Every policy's final rows, the recommended one marked."""
        table = pd.concat(list(self.rows.values()), ignore_index=True)
        table["recommended"] = (table[KIND] == choice["policy"]) & (
            table[INTERVAL] == choice["checkpoint_interval_s"]
        )
        return table


def option(row: pd.Series, flat: list[float] | None) -> dict[str, Any]:
    """One (policy, interval) as advise reports it (DESIGN.md §4)."""
    miss, gap = row["deadline_miss_prob"], row["optimum_gap_mean"]
    return {
        "policy": str(row[KIND]),
        "checkpoint_interval_s": float(row[INTERVAL]),
        "cost_usd": float(row["cost_usd_mean"]),
        "cost_usd_ci95": [float(row["cost_usd_ci95_low"]), float(row["cost_usd_ci95_high"])],
        "wall_h": float(row["wall_h_mean"]),
        "wall_h_p95": float(row["wall_h_p95"]),
        "deadline_miss_prob": None if math.isnan(miss) else float(miss),
        "deadline_miss_prob_ci95": None
        if math.isnan(miss)
        else [float(row[f"deadline_miss_prob_ci95_{end}"]) for end in ("low", "high")],
        "flat_range_s": flat,
        "feasible": bool(row["feasible"]),
        "reps": int(row["reps"]),
        "optimum_gap_mean": None if math.isnan(gap) else float(gap),
    }


def _on_demand_option(scenario: Scenario, baseline: dict[str, float]) -> dict[str, Any]:
    """On-demand as the user runs it: the baseline, at the interval of the scenario."""
    deadline_s = scenario.policy.deadline
    interval_s = scenario.on_demand.checkpoint_interval or scenario.checkpoint.interval
    miss = None if deadline_s is None else float(baseline["wall_h"] * 3600.0 > deadline_s)
    return {
        "policy": "on_demand",
        "checkpoint_interval_s": interval_s,
        "cost_usd": baseline["cost_usd"],
        "cost_usd_ci95": [baseline["cost_usd"]] * 2,
        "wall_h": baseline["wall_h"],
        "wall_h_p95": baseline["wall_h"],
        "deadline_miss_prob": miss,
        "deadline_miss_prob_ci95": None if miss is None else [miss, miss],
        "flat_range_s": None,
        "feasible": miss is None or miss == 0.0,
        "reps": 1,
        "optimum_gap_mean": None,
    }


def _choose(
    best: dict[str, dict[str, Any]], lead: str | None, on_demand: dict[str, Any]
) -> dict[str, Any]:
    """The refined policy's best against on-demand, both at all replications: the cheaper
    of those that meet the deadline; where neither does, the option that misses least."""
    if lead is not None and best[lead]["feasible"]:
        cheaper = best[lead]["cost_usd"] < on_demand["cost_usd"] or not on_demand["feasible"]
        return best[lead] if cheaper else on_demand
    if on_demand["feasible"]:
        return on_demand
    return min([*best.values(), on_demand], key=lambda o: (o["deadline_miss_prob"], o["cost_usd"]))


def settings(scenario: Scenario, interval_s: float) -> dict[str, Any]:
    """The checkpoint interval as the training frameworks take it: minutes, and where the
    job is given as steps, every N steps (Hugging Face ``save_steps``, Lightning
    ``ModelCheckpoint(every_n_train_steps=N)``); else Lightning's ``train_time_interval``."""
    minutes = interval_s / 60.0
    step_s = scenario.job.step_time if scenario.job.steps is not None else None
    steps = None if step_s is None or math.isinf(interval_s) else max(1, round(interval_s / step_s))
    timed = f"ModelCheckpoint(train_time_interval=timedelta(minutes={minutes:.0f}))"
    return {
        "interval_min": minutes,
        "save_steps": steps,
        "huggingface": None
        if steps is None
        else f'TrainingArguments(save_strategy="steps", save_steps={steps})',
        "lightning": timed if steps is None else f"ModelCheckpoint(every_n_train_steps={steps})",
    }


# --- the grid --------------------------------------------------------------------------


def mean_lifetime_s(scenario: Scenario) -> float:
    """How long a (gang of) instance(s) lives on average under the scenario's model: the M
    of the closed forms (REFERENCES.md §1); inf without interruptions."""
    spec, n = scenario.interruptions, scenario.job.instances
    match spec.model:
        case "poisson":
            life_s = 1.0 / (spec.rate_per_s * n)
        case "weibull":
            shape, scale_s = float(spec.shape), float(spec.scale)  # type: ignore[arg-type]
            life_s = scale_s * n ** (-1.0 / shape) * math.gamma(1.0 + 1.0 / shape)
        case "hourly":
            rate_per_h = sum(spec.rate_per_hour) / 24.0 * n  # type: ignore[arg-type]
            life_s = math.inf if rate_per_h <= 0 else 3600.0 / rate_per_h
        case "trace":
            life_s = _mean_run_s(scenario)
        case "scripted":
            life_s = scenario.job.work_s / max(1, len(spec.at or []))
        case _:
            life_s = math.inf
    return min(life_s, spec.max_lifetime or math.inf)


def _mean_run_s(scenario: Scenario) -> float:
    """The mean stretch of capacity of a trace: available time over the number of runs."""
    trace = trace_of(scenario)
    assert trace is not None
    lengths_s = np.diff(np.append(trace.starts_s, trace.period_s))
    available = trace.available.astype(bool)
    runs = int(np.sum(available & ~np.roll(available, 1))) or 1
    return float(lengths_s[available].sum()) / runs if available.any() else 0.0


def coarse_grid(scenario: Scenario) -> list[float]:
    """Intervals τ0·2^k (k = −3…3) around the closed-form optimum, within [30 s, W], that
    could finish (simulate.check_can_finish); seconds, ascending."""
    checkpoint, work_s = scenario.checkpoint, scenario.job.work_s
    blocking_s = checkpoint.write if checkpoint.mode == "sync" else checkpoint.snapshot
    life_s = mean_lifetime_s(scenario)
    centre_s = work_s
    if math.isfinite(life_s):
        centre_s = analytic.optimal_interval(max(blocking_s, 1.0), life_s)
    centre_s = min(max(centre_s, MIN_INTERVAL_S), work_s)
    values = [min(max(round(centre_s * 2.0**k), MIN_INTERVAL_S), work_s) for k in COARSE_STEPS]
    return _finishing(scenario, sorted(set(values)))


def fine_grid(scenario: Scenario, low_s: float, high_s: float) -> list[float]:
    """Intervals at ratio 2^¼ from ``low_s`` to ``high_s`` (whole seconds) that could finish."""
    count = max(2, round(math.log(high_s / low_s) / math.log(FINE_RATIO)) + 1)
    values = {float(round(v)) for v in np.geomspace(low_s, high_s, count)}
    return _finishing(scenario, sorted(values))


def _finishing(scenario: Scenario, intervals_s: list[float]) -> list[float]:
    kept = []
    for interval_s in intervals_s:
        try:
            check_can_finish(scenario.with_values({INTERVAL: interval_s}))
        except ScenarioError:
            continue
        kept.append(float(interval_s))
    if not kept:
        raise ScenarioError(
            f"{INTERVAL}: no interval from {intervals_s[0]:g} s to {intervals_s[-1]:g} s lets "
            "the job finish: instances live too briefly for any segment and its checkpoint"
        )
    return kept
