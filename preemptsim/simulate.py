"""Replications of one scenario as a table, and its summary (DESIGN.md §3)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from preemptsim import billing, fast
from preemptsim.analytic import segments
from preemptsim.engine import Plan, RunRecord, run_once
from preemptsim.interruptions import Trace
from preemptsim.scenario import Scenario, ScenarioError
from preemptsim.tracefile import load_traces
from preemptsim.units import format_duration

COLUMNS = (
    "rep",
    "wall_h",
    "cost_usd",
    "compute_cost_usd",
    "storage_cost_usd",
    "human_cost_usd",
    "spot_instance_h",
    "on_demand_instance_h",
    "interruptions",
    "lost_work_h",
    "checkpoint_h",
    "restore_h",
    "wait_h",
    "idle_h",
    "checkpoints",
    "switched_at_h",
    "met_deadline",
    "migrations",
    "migration_h",
    "egress_cost_usd",
    "zone",
)
PERCENTILES = (50, 90, 95, 99)
Z95 = 1.959963984540054


def row(rep: int, record: RunRecord, scenario: Scenario) -> tuple[Any, ...]:
    """One replication's row of the table, in the order of COLUMNS."""
    instance_s = {"spot": 0.0, "on_demand": 0.0}
    compute_usd = 0.0
    for lease in record.leases:
        billed_s = billing.lease_billed_s(lease, scenario)
        instance_s[lease.market] += billed_s
        compute_usd += billed_s / 3600.0 * billing.usd_per_hour(lease, scenario)
    storage_usd = billing.storage_cost_usd(record.wall_s, scenario)
    human_usd = billing.human_cost_usd(record, scenario)
    deadline_s = scenario.policy.deadline
    return (
        rep,
        record.wall_s / 3600.0,
        compute_usd + storage_usd + human_usd + record.egress_usd,
        compute_usd,
        storage_usd,
        human_usd,
        instance_s["spot"] / 3600.0,
        instance_s["on_demand"] / 3600.0,
        record.interruptions,
        record.lost_work_s / 3600.0,
        record.checkpoint_s / 3600.0,
        record.restore_s / 3600.0,
        record.wait_s / 3600.0,
        record.idle_s / 3600.0,
        record.checkpoints,
        record.switched_at_s / 3600.0,
        None if deadline_s is None else record.wall_s <= deadline_s,
        record.migrations,
        record.migration_s / 3600.0,
        record.egress_usd,
        record.zone or None,  # NA where the job runs on no trace
    )


def table(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    """The per-replication DataFrame of DESIGN.md §3."""
    runs = pd.DataFrame.from_records(rows, columns=list(COLUMNS))
    runs["met_deadline"] = runs["met_deadline"].astype("boolean")
    counts = ("rep", "interruptions", "checkpoints", "migrations")
    return runs.astype({name: "int64" for name in counts} | {"zone": "str"})


def simulate(
    scenario: Scenario,
    reps: int = 1000,
    seed: int = 1,
    *,
    first_rep: int = 0,
    engine: fast.Engine = "auto",
) -> pd.DataFrame:
    """Replications ``first_rep … first_rep+reps−1`` of ``scenario``, one row each.

    Replication i draws from its own streams, keyed by (seed, i): any split of the
    replications into calls gives the same rows.  ``engine``: "simpy" (engine/, one run
    at a time), "fast" (fast/, vectorised; a ValueError naming the key where it cannot
    run the scenario), or "auto": fast wherever it can (fast.unsupported), SimPy
    elsewhere.  The two draw different random numbers from the same distributions, but
    the same trace start: with fixed downtime and restore their rows are the same.
    """
    check_can_finish(scenario)
    traces = load_traces(scenario.interruptions)
    if fast.applies(scenario, engine):  # one zone at most
        trace = traces[0] if traces else None
        columns = fast.columns(scenario, reps, seed, first_rep=first_rep, trace=trace)
        return pd.DataFrame({name: columns[name] for name in COLUMNS})
    plan = Plan.of(scenario, traces=traces)
    reps_range = range(first_rep, first_rep + reps)
    return table([row(i, run_once(plan, seed, i), scenario) for i in reps_range])


TRIES_LIMIT = 1e4  # expected tries of one segment beyond which a job "never" finishes


def check_can_finish(scenario: Scenario) -> None:
    """Refuse, with one line naming the key, a spot job that could never or practically
    never finish: what one instance must live through to save anything (its restore and a
    segment up to a durable checkpoint, snapshot and persist in async mode, unless an
    emergency checkpoint fits its notice; with ephemeral storage the whole job) outlasts
    ``max_lifetime``, or (Poisson) needs over 10⁴ tries."""
    spec = scenario.interruptions
    if scenario.policy.kind == "on_demand":
        return
    segment_s, ephemeral = _lease_work_s(scenario)
    needs_s = segment_s + scenario.restart.restore.mean_s
    lifetime_s = spec.max_lifetime
    if lifetime_s is not None and needs_s >= lifetime_s:
        if ephemeral:
            raise _ephemeral_refusal(needs_s, f"which lives {format_duration(lifetime_s)}")
        if not _notice_saves(scenario):
            raise ScenarioError(
                f"interruptions.max_lifetime: an instance lives {format_duration(lifetime_s)}"
                f", less than a segment with its checkpoint and restore "
                f"({format_duration(needs_s)}): the job can never finish; checkpoint more often"
            )
    if spec.model != "poisson":
        return
    rate = spec.rate_per_s * scenario.job.instances
    tries = math.exp(min(rate * needs_s, 700.0))
    if tries > TRIES_LIMIT and ephemeral:
        every = f"one every {format_duration(1 / rate)} on average"
        raise _ephemeral_refusal(needs_s, f"without an interruption ({every}): {tries:.0e} tries")
    if tries > TRIES_LIMIT:
        raise ScenarioError(
            f"checkpoint.interval: with an interruption every {format_duration(1 / rate)} on "
            f"average, a segment of {format_duration(segment_s)} needs about {tries:.0e} tries: "
            f"the job would practically never finish; checkpoint more often"
        )


def _ephemeral_refusal(needs_s: float, instance: str) -> ScenarioError:
    """Ephemeral storage: the whole job must run on one instance; more checkpoints do not
    help, persistent storage does."""
    return ScenarioError(
        "checkpoint.storage: ephemeral checkpoints die with the instance, so the whole job "
        f"({format_duration(needs_s)} with its checkpoints and restore) must run on one, "
        f"{instance}: it would (practically) never finish; use persistent storage, which "
        "keeps checkpoints across instances"
    )


def _notice_saves(scenario: Scenario) -> bool:
    """Whether a lease that lives ``max_lifetime`` may save work with an emergency
    checkpoint: one shorter than the notice, after a restore that ends before it."""
    plan, lifetime_s = Plan.of(scenario), scenario.interruptions.max_lifetime or math.inf
    restore_s = scenario.restart.restore.mean_s
    fits = plan.emergency_write_s < plan.notice_s and restore_s < lifetime_s - plan.notice_s
    return plan.on_notice and fits


def _lease_work_s(scenario: Scenario) -> tuple[float, bool]:
    """What one lease must do after its restore to save anything, in seconds (a lower
    bound: no waits for persists), and whether that is the whole job (ephemeral storage)."""
    checkpoint, work_s = scenario.checkpoint, scenario.job.work_s
    count = segments(work_s, checkpoint.interval)[0]
    blocking_s = checkpoint.write + checkpoint.snapshot  # one of them is 0 (sync or async)
    if checkpoint.storage == "ephemeral":
        return work_s + (count - 1) * blocking_s, True
    if count == 1:
        return work_s, False
    return checkpoint.interval + blocking_s + checkpoint.persist, False


def timeline(scenario: Scenario, rep: int = 0, seed: int = 1) -> pd.DataFrame:
    """What replication ``rep`` did, span by span (SimPy engine): ``start_h, end_h, kind,
    market, zone``, kind one of work, checkpoint, lost, wait, restore, idle, interruption (a
    zero-length mark), migrate (a checkpoint's copy to ``zone``).  The same as row ``rep``
    of ``simulate(..., engine="simpy")``."""
    plan = Plan.of(scenario, traces=load_traces(scenario.interruptions))
    spans = run_once(plan, seed, rep, trace_events=True).spans or ()
    return pd.DataFrame(
        {
            "start_h": [span.start_s / 3600.0 for span in spans],
            "end_h": [span.end_s / 3600.0 for span in spans],
            "kind": [span.kind for span in spans],
            "market": [span.market for span in spans],
            "zone": pd.array([span.zone or None for span in spans], dtype="str"),
        }
    )


def trace_of(scenario: Scenario) -> Trace | None:
    """The availability trace a scenario replays (its first zone's), if any."""
    traces = load_traces(scenario.interruptions)
    return traces[0] if traces else None


def on_demand_baseline(scenario: Scenario) -> dict[str, float]:
    """The same job with no interruptions at the on-demand price (DESIGN.md §1)."""
    record = run_once(Plan.of(scenario, baseline=True), 0, 0)
    values = dict(zip(COLUMNS, row(0, record, scenario), strict=True))
    return {"wall_h": values["wall_h"], "cost_usd": values["cost_usd"]}


def describe(values: pd.Series | np.ndarray) -> dict[str, Any]:
    """Mean, standard error, normal 95% interval of the mean, and percentiles."""
    data = np.asarray(values, dtype=float)
    mean = float(data.mean())
    sem = float(data.std(ddof=1) / math.sqrt(len(data))) if len(data) > 1 else 0.0
    stats: dict[str, Any] = {"mean": mean, "sem": sem, "ci95": [mean - Z95 * sem, mean + Z95 * sem]}
    for q, value in zip(PERCENTILES, np.percentile(data, PERCENTILES), strict=True):
        stats[f"p{q}"] = float(value)
    return stats


def wilson(successes: int, trials: int) -> list[float]:
    """Wilson score 95% interval of a proportion."""
    if trials == 0:
        return [0.0, 1.0]
    p, z2 = successes / trials, Z95**2
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = Z95 * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials**2)) / (1 + z2 / trials)
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    return [low, 1.0 if successes == trials else min(1.0, centre + half)]


def miss_probability(runs: pd.DataFrame) -> dict[str, Any] | None:
    """Share of runs that missed the deadline, with its Wilson interval; None if no deadline."""
    return _share(_missed(runs), len(runs))


def _missed(runs: pd.DataFrame) -> int | None:
    met = runs["met_deadline"]
    return None if met.isna().all() else int((~met.astype(bool)).sum())


def _share(missed: int | None, trials: int) -> dict[str, Any] | None:
    return None if missed is None else {"value": missed / trials, "ci95": wilson(missed, trials)}


class Tally:
    """What a summary needs of the replications, gathered chunk by chunk: the values whose
    mean and percentiles it gives (float64, one a replication) and counts for the rest, so a
    run of many replications holds 32 bytes a replication, not its whole table."""

    KEPT = ("wall_h", "cost_usd", "lost_work_h", "billed_instance_h")

    def __init__(self) -> None:
        self._parts: dict[str, list[np.ndarray]] = {name: [] for name in self.KEPT}
        self.reps = self.interruptions = 0
        self.missed: int | None = None  # None: no deadline

    def add(self, runs: pd.DataFrame) -> Tally:
        billed = runs["spot_instance_h"] + runs["on_demand_instance_h"]
        kept = {**{n: runs[n] for n in self.KEPT[:3]}, "billed_instance_h": billed}
        for name, values in kept.items():
            self._parts[name].append(values.to_numpy(dtype=float))
        self.reps += len(runs)
        self.interruptions += int(runs["interruptions"].sum())
        if (missed := _missed(runs)) is not None:
            self.missed = (self.missed or 0) + missed
        return self

    def values(self, name: str) -> np.ndarray:
        parts = self._parts[name]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def summary(
        self, scenario: Scenario, seed: int | None, on_demand: dict[str, float] | None = None
    ) -> dict[str, Any]:
        """The summary of DESIGN.md §3 (see ``summarize``)."""
        baseline = on_demand or on_demand_baseline(scenario)
        cost = describe(self.values("cost_usd"))
        return {
            "scenario": scenario.name,
            "reps": self.reps,
            "seed": seed,
            "wall_h": describe(self.values("wall_h")),
            "cost_usd": cost,
            "interruptions": {"mean": self.interruptions / self.reps},
            "lost_work_h": {"mean": float(self.values("lost_work_h").mean())},
            "billed_instance_h": {"mean": float(self.values("billed_instance_h").mean())},
            "deadline_miss_prob": _share(self.missed, self.reps),
            "on_demand": baseline,
            "savings_vs_on_demand": 1.0 - cost["mean"] / baseline["cost_usd"]
            if baseline["cost_usd"] > 0
            else 0.0,
        }


def summarize(
    runs: pd.DataFrame,
    scenario: Scenario,
    seed: int | None = None,
    on_demand: dict[str, float] | None = None,
) -> dict[str, Any]:
    """The summary of DESIGN.md §3: spot statistics beside the on-demand baseline
    (``on_demand``: its wall_h and cost_usd; by default ``scenario``'s own)."""
    return Tally().add(runs).summary(scenario, seed, on_demand)
