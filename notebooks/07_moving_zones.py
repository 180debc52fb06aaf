# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Should I let my job move between zones?
#
# When its spot instance is taken, a job can wait for capacity where it is, or restart in
# another zone, copying its last checkpoint there first. Here the job of the
# `gcp-h100-zones` preset (48 h of work on an 8×H100 GCP Spot VM, a 60 h deadline, 1 h
# checkpoints) replays all 13 GCP H100 zones at once, on one clock (14 days, one tick per
# 10 minutes, each zone with its own spot price; shipped with the package, from the SkyNomad
# artifact, Apache-2.0), and is run with each placement strategy (DESIGN.md §1, Many zones):
#
# - `stay`: the first zone, us-central1-a, alone (today's single-zone job);
# - `failover`: the same zone if it has capacity, else the next one of the list that has;
# - `eager_next`: SkyPilot's default, the next zone with capacity, not the one just lost;
# - `cheapest`: the zone with capacity whose spot price is least at that moment;
#
# each under the deadline policies `greedy` (spot until it must go on-demand to make the
# deadline) and `uniform_progress` (Can't Be Late, NSDI'24). A move copies the checkpoint
# at SkyNomad's measured bandwidths and pays egress by route (REFERENCES.md §8), so the
# answer depends on the checkpoint's size: 10 GB (a LoRA or a small model) against
# 1,000 GB (a large model with its optimizer state).
#
# Every strategy is run on the same random starts (same seed, same start offset into the
# traces), so it is compared with `stay` run by run: the paired difference, with its 95%
# interval, is the figure to read.
#
# The traces ship with the package (`gcp-h100/ZONE`, gzipped, with their LICENSE and
# NOTICE).

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import preemptsim as ps
from preemptsim import gantt
from preemptsim.engine.zones import Move, route
from preemptsim.interruptions import Trace
from preemptsim.tracefile import load_traces
from preemptsim.simulate import Z95

REPS = int(os.environ.get("PREEMPTSIM_NOTEBOOK_REPS", "500"))  # random starts
base = ps.load_scenario("../scenarios/gcp-h100-zones.toml")
ZONES = [trace.zone for trace in load_traces(base.interruptions)]
DEADLINE_H = base.policy.deadline / 3600
STRATEGIES = ["stay", "failover", "eager_next", "cheapest"]
POLICIES = ["greedy", "uniform_progress"]
SIZES_GB = [10, 100, 300, 1000]

# %% [markdown]
# ## The 13 zones
#
# In the preset's order, which is failover's order: the US zones, then Europe, then Asia.
# Availability is the share of ticks with capacity. The copy columns are what moving the
# job there from us-central1-a would take, for each checkpoint size: the route (same
# region, other region, other continent) sets the bandwidth and the egress price.


# %%
def describe(trace: Trace) -> dict[str, object]:
    """A zone's availability and mean spot price, and a move there from the first zone."""
    row: dict[str, object] = {
        "zone": trace.zone,
        "availability": trace.available.mean(),
        "mean spot $/h": trace.prices_usd_per_hour[trace.available].mean(),
        "route from the first": "",
    }
    if trace.zone == ZONES[0]:
        return row
    row["route from the first"] = route(ZONES[0], trace.zone)
    for size_gb in (SIZES_GB[0], SIZES_GB[-1]):
        move = Move.of(row["route from the first"], base.migration, size_gb)
        row[f"copy min, {size_gb} GB"] = move.copy_s / 60
        row[f"egress $, {size_gb} GB"] = move.egress_usd
    return row


zones = pd.DataFrame([describe(t) for t in load_traces(base.interruptions)]).set_index("zone")
zones.round(2)

# %% [markdown]
# A move of 10 GB is a matter of seconds and cents; one of 1,000 GB takes 14 to 37 minutes
# without an instance and costs $10 to $147, against an on-demand hour of
# $82.53. asia-south2-b always has capacity but at about $70/h; it is last in the list.
#
# ## Every strategy, on the same starts
#
# `stay` never moves, so its runs do not depend on the checkpoint's size; the others are
# run at every size. "vs stay" is the mean of the run-by-run cost difference from `stay`
# on the same start, with its 95% interval (normal: 1.96 × sd / √n).


# %%
def scenario_of(policy: str, strategy: str, size_gb: float) -> ps.Scenario:
    return base.with_values(
        {"policy.kind": policy, "placement.strategy": strategy, "checkpoint.size_gb": size_gb}
    )


def run_all() -> pd.DataFrame:
    """Every policy, strategy and size (stay run once per policy, listed at every size)."""
    tables = []
    for policy in POLICIES:
        stay = ps.simulate(scenario_of(policy, "stay", SIZES_GB[0]), REPS, seed=1)
        for strategy in STRATEGIES:
            for size_gb in SIZES_GB:
                runs = stay
                if strategy != "stay":
                    runs = ps.simulate(scenario_of(policy, strategy, size_gb), REPS, seed=1)
                vs_stay = runs["cost_usd"] - stay["cost_usd"]
                tables.append(
                    runs.assign(policy=policy, strategy=strategy, size_gb=size_gb, vs_stay=vs_stay)
                )
    return pd.concat(tables, ignore_index=True)


def mean_ci(values: pd.Series) -> tuple[float, float, float]:
    """Mean, and the low and high ends of its 95% interval (normal)."""
    half = Z95 * values.std(ddof=1) / np.sqrt(len(values))
    return values.mean(), values.mean() - half, values.mean() + half


def summary(group: pd.DataFrame) -> pd.Series:
    cost, cost_low, cost_high = mean_ci(group["cost_usd"])
    gap, gap_low, gap_high = mean_ci(group["vs_stay"])
    return pd.Series(
        {
            "cost $": cost,
            "cost 95%": f"[{cost_low:,.0f}, {cost_high:,.0f}]",
            "spot h": group["spot_instance_h"].mean(),
            "on-demand h": group["on_demand_instance_h"].mean(),
            "miss": 1 - group["met_deadline"].astype(float).mean(),
            "wall h": group["wall_h"].mean(),
            "moves": group["migrations"].mean(),
            "copy h": group["migration_h"].mean(),
            "egress $": group["egress_cost_usd"].mean(),
            "vs stay $": gap,
            "vs stay low": gap_low,
            "vs stay high": gap_high,
        }
    )


def runs_of(size_gb: float, policy: str, strategy: str) -> pd.DataFrame:
    """The runs of one line, in the order of their starts."""
    line = (runs["size_gb"] == size_gb) & (runs["policy"] == policy)
    return runs[line & (runs["strategy"] == strategy)]


KEYS = ["size_gb", "policy", "strategy"]
runs = run_all()
results = runs.groupby(KEYS, sort=False).apply(summary)
shown = results.loc[[SIZES_GB[0], SIZES_GB[-1]]]
shown.round(2)

# %% [markdown]
# With the default 500 starts no line misses the deadline: 60 h leaves 12 h of slack for
# 48 h of work, and the job can always go on-demand in time. What moving changes is the
# bill: the on-demand hours and the waits that staying costs, against the copies and the
# egress a move costs.
# `eager_next` gives the same runs as `failover` here: a take comes at the start of a
# 10-minute tick without capacity, and the 6 minutes of provisioning end inside it, so the
# zone just lost never has capacity when the job restarts (bench/NOTES.md, Many zones).
#
# ## How the answer changes with the checkpoint's size

# %%
fig, axes = plt.subplots(1, 2, figsize=(14, 4.5), layout="constrained", sharey=True)
for ax, policy in zip(axes, POLICIES, strict=True):
    for strategy in STRATEGIES[1:]:
        line = results.xs((policy, strategy), level=["policy", "strategy"])
        dashed = "--" if strategy == "eager_next" else "-"  # on failover's line here
        ax.plot(line.index, line["vs stay $"], marker="o", ls=dashed, label=strategy)
        ax.fill_between(line.index, line["vs stay low"], line["vs stay high"], alpha=0.2)
    ax.axhline(0, color="black", lw=0.8)
    ax.set(xscale="log", title=f"{policy}: cost against stay, 95% interval, {REPS} starts")
    ax.set(xlabel="checkpoint size (GB)", ylabel="mean paired difference ($ a run)")
    ax.legend()
plt.show()

# %% [markdown]
# ## Where the runs end
#
# The `zone` column of each run is the zone of its last instance: the share of runs
# ending in each zone, with a 10 GB checkpoint. A strategy chooses only when the job
# restarts; it never leaves a running instance for a cheaper zone. So `cheapest` ends some
# runs in us-central1-a ($18.98/h): those taken while the cheaper zones (us-east4,
# us-east5, europe-west1) were out together, which then stay, as us-central1-a is
# rarely taken.


# %%
def share_text(share: float) -> str:
    return "" if share == 0 else f"{share:.0%}" if share >= 0.005 else "<1%"


small = runs[runs["size_gb"] == SIZES_GB[0]]
ends = pd.crosstab(small["zone"], [small["policy"], small["strategy"]], normalize="columns")
ends = ends.reindex(index=[z for z in ZONES if z in ends.index], columns=STRATEGIES, level=1)
ends.map(share_text)

# %% [markdown]
# ## One run that moves
#
# A run of `cheapest` under `greedy` with a 1,000 GB checkpoint, taken twice or more: its
# timeline (`ps.timeline`, the same run as row `rep` of the table) has a `migrate` span for
# each copy, labelled with the zone it goes to.

# %%
example = scenario_of("greedy", "cheapest", SIZES_GB[-1])
mine = runs_of(SIZES_GB[-1], "greedy", "cheapest")
chosen = mine.loc[(mine["migrations"] >= 2).idxmax()]
spans = ps.timeline(example, rep=int(chosen["rep"]), seed=1)
copies = spans[spans["kind"] == "migrate"]
print(
    f"rep {chosen['rep']}: {chosen['migrations']} moves in the table, {len(copies)} "
    f"migrate spans on the timeline; wall {chosen['wall_h']:.2f} h in the table, "
    f"{spans['end_h'].max():.2f} h on the timeline; ends in {chosen['zone']}"
)
ax = gantt.timeline(spans, deadline_h=DEADLINE_H)
ax.set_title(f"cheapest, greedy, {SIZES_GB[-1]} GB checkpoint: replication {chosen['rep']}")
plt.show()
copies.assign(minutes=(copies["end_h"] - copies["start_h"]) * 60).round(3)

# %% [markdown]
# Each copy is a stretch without an instance (not billed, but the clock runs): 1,000 GB
# takes 14 minutes within a region and 37 across continents, and the job still waits for
# capacity in the new zone after it.
#
# ## So: should the job move?
#
# Read from the results above: for each policy, the strategy that saves most against
# `stay` with the smallest checkpoint, and for each strategy the checkpoint sizes at which
# its 95% interval lies below zero (moving pays), above zero (it costs), or across zero
# (no telling at this number of starts).


# %%
def verdicts(line: pd.DataFrame) -> dict[str, list[int]]:
    """The sizes (GB) at which moving pays, costs, or cannot be told from staying."""
    found: dict[str, list[int]] = {"pays": [], "costs": [], "even": []}
    for size_gb, row in line.iterrows():
        costs = "costs" if row["vs stay low"] > 0 else "even"
        found["pays" if row["vs stay high"] < 0 else costs].append(size_gb)
    return found


def conclude(policy: str) -> list[str]:
    """The numbers the answer for ``policy`` rests on, and the answer."""
    stay_usd = results.loc[(SIZES_GB[0], policy, "stay"), "cost $"]
    small = results.loc[SIZES_GB[0]].xs(policy, level="policy").drop(index="stay")
    best = small["vs stay $"].idxmin()
    saving, low, high = -small.loc[best, ["vs stay $", "vs stay high", "vs stay low"]]
    lines = [
        f"{policy}: stay costs ${stay_usd:,.0f} a run; with {SIZES_GB[0]} GB, {best} saves "
        f"${saving:,.0f} a run ({saving / stay_usd:.0%}), 95% [{low:,.0f}, {high:,.0f}]"
    ]
    found = {}
    for strategy in STRATEGIES[1:]:
        found[strategy] = verdicts(results.xs((policy, strategy), level=["policy", "strategy"]))
        said = "; ".join(f"{v} at {sizes} GB" for v, sizes in found[strategy].items() if sizes)
        lines.append(f"  {strategy}: {said}")
    paying = {s: max(f["pays"]) for s, f in found.items() if f["pays"]}
    costing = {s: min(f["costs"]) for s, f in found.items() if f["costs"]}
    if best in paying:
        lines.append(f"  => let it move, with {best}, for checkpoints up to {paying[best]} GB")
    else:
        lines.append(f"  => at {REPS} starts no strategy is surely cheaper than staying")
    lines += [f"  => {s} costs more than staying from {gb} GB" for s, gb in costing.items()]
    return lines


dearest = zones["mean spot $/h"].idxmax()
for policy in POLICIES:
    print("\n".join(conclude(policy)))
    share = ends.loc[dearest, (policy, "failover")] if dearest in ends.index else 0.0
    price = zones.loc[dearest, "mean spot $/h"]
    print(f"  failover runs ending in {dearest} (${price:.2f}/h): {share:.0%}")
for size_gb in (SIZES_GB[0], SIZES_GB[-1]):
    at_size = results.index.get_level_values("size_gb") == size_gb
    _, policy, strategy = results.loc[at_size, "cost $"].idxmin()
    other = next(p for p in POLICIES if p != policy)
    mine, theirs = runs_of(size_gb, policy, strategy), runs_of(size_gb, other, strategy)
    gap, low, high = mean_ci(theirs["cost_usd"] - mine["cost_usd"].to_numpy())
    print(
        f"with {size_gb} GB the cheapest line is {strategy} under {policy}, "
        f"${results.loc[(size_gb, policy, strategy), 'cost $']:,.0f} a run; {other} with "
        f"{strategy} costs ${gap:,.0f} more on the same starts, 95% [{low:,.0f}, {high:,.0f}]"
    )

# %% [markdown]
# **Answer.** With a small checkpoint, yes: let the job move, and to the cheapest zone
# with capacity rather than the next one in a list; a move costs seconds and cents, and
# saves the on-demand hours and the waits of staying. As the checkpoint grows, each move
# costs minutes without an instance and tens of dollars of egress: `failover` and
# `eager_next`, which move at nearly every take, stop paying first, while `cheapest` moves less
# and only for a lower price. The sizes printed above are where that happens on these
# traces. With 12 h of slack, Greedy is the policy to pair with moving: Uniform Progress goes
# on-demand after any take that leaves it behind its line (a take before the first
# checkpoint always does), even when another zone has spot capacity at a fifth of the
# price. If you do use a failover list, put the dear zones last or leave them out: the
# runs that end in one pay its price for the rest of the job.
#
# ## Against the offline optimum
#
# How far is each line from the best that was possible? `ps.offline_optimum` knows the
# traces' whole future from a start: the cheapest schedule of spot and on-demand leases
# (and, on all zones, of moves, priced as the engine prices them) that meets the deadline,
# losing no work. It is a lower bound on every run's cost from that start (DESIGN.md §1,
# offline optimum); the ratio cost / optimum, averaged over the same starts, is the gap
# that Can't Be Late (Table 3) and SkyNomad report. Two optima: one that may use all 13
# zones, and one confined to the first zone, the reference for `stay`.

# %%
from preemptsim import offline

N_OPTIMA = min(REPS // 5, 100)  # starts; one optimum over 13 zones takes about 0.2 s


def optimum_costs(size_gb: float) -> dict[str, np.ndarray]:
    """The two optima's costs from the first ``N_OPTIMA`` starts (the runs' own)."""
    everywhere = scenario_of("greedy", "cheapest", size_gb)
    one_zone = everywhere.with_values(
        {"interruptions.paths": None, "interruptions.path": f"gcp-h100/{ZONES[0]}"}
    )
    starts = offline.starts_of(everywhere, 1, range(N_OPTIMA))
    return {
        "all zones": offline.optimum_costs(everywhere, starts, cells=500),
        "first zone": offline.optimum_costs(one_zone, starts, cells=500),
    }


def gaps(size_gb: float) -> pd.DataFrame:
    optima = optimum_costs(size_gb)
    rows = {}
    for policy in POLICIES:
        for strategy in STRATEGIES:
            cost = runs_of(size_gb, policy, strategy)["cost_usd"].to_numpy()[:N_OPTIMA]
            rows[(policy, strategy)] = {
                "cost $": cost.mean(),
                **{f"x optimum, {k}": (cost / v).mean() for k, v in optima.items()},
            }
    table = pd.DataFrame(rows).T
    table.loc[("optimum", "all zones"), "cost $"] = optima["all zones"].mean()
    table.loc[("optimum", "first zone"), "cost $"] = optima["first zone"].mean()
    return table


against = {size_gb: gaps(size_gb) for size_gb in (SIZES_GB[0], SIZES_GB[-1])}
for size_gb, table in against.items():
    print(f"checkpoint {size_gb} GB, the first {N_OPTIMA} starts")
    print(table.round(2).to_string(na_rep=""), end="\n\n")

# %% [markdown]
# Read the last columns: a `stay` line against the first zone's optimum is what one zone
# can do at best; a moving line against the all-zone optimum is how much of the better
# schedule a simple rule captures. The optimum loses no work and writes no checkpoints, so
# no policy reaches 1.0; the gap between the two optima is what moving could save at
# most on these traces.
