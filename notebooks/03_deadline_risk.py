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
# # Spot, Greedy, Uniform Progress or on-demand: what does a deadline cost?
#
# The ML workload of Can't Be Late (Wu et al., NSDI'24; REFERENCES.md §5): RoBERTa on one
# AWS p3.2xlarge, 72 h of compute, a checkpoint every 20 minutes, spot at $0.947/h against
# $3.06/h on demand, an interruption every 9.7 h on average (the mean available stretch of
# the us-west-2b V100 trace). Four policies:
#
# - **spot only**: always spot, whatever the deadline;
# - **Greedy**: spot while it is there; when idle and the time left is under the remaining
#   work plus two changeovers, move to on-demand for good;
# - **Uniform Progress**: keeps progress on the line from start to deadline, borrowing
#   on-demand while behind it, with Greedy's safety net;
# - **on-demand**: never interrupted, at the on-demand price.

# %%
import os

import matplotlib.pyplot as plt

import preemptsim as ps
from preemptsim import plots
from preemptsim.sweep import sweep

REPS = int(os.environ.get("PREEMPTSIM_NOTEBOOK_REPS", "2000"))
POLICIES = ["spot", "greedy", "uniform_progress", "on_demand"]
DEADLINES = ["74h", "76h", "78h", "80h", "84h", "100h"]
scenario = ps.load_scenario("../scenarios/aws-v100-roberta.toml")
grid = {"policy.kind": POLICIES, "policy.deadline": DEADLINES}
result = sweep(scenario, grid, reps=REPS, seed=1, jobs=0 if REPS >= 1000 else 1)

# %% [markdown]
# ## Cost against risk, and risk against the deadline
#
# Left: every policy at every deadline (labelled), with the Pareto frontier: the options
# nothing beats on both cost and risk. Right: the chance of missing, by deadline.

# %%
fig, axes = plt.subplots(1, 2, figsize=(15, 6.5), layout="constrained")
plots.risk(result.summary, ax=axes[0])
plots.miss_vs_deadline(result.summary, ax=axes[1])
plt.show()

# %% [markdown]
# ## Where the hours go
#
# Billed spot and on-demand hours per run, with the mean cost and the chance of missing.
# Can't Be Late measured, on real traces, on-demand $233.5 against Uniform Progress $138.2
# (84 h deadline) and $122.0 (100 h) (REFERENCES.md §5); here interruptions are Poisson.

# %%
hours = result.runs.groupby(["policy.kind", "policy.deadline"], sort=False)[
    ["spot_instance_h", "on_demand_instance_h"]
].mean()
table = result.summary.set_index(["policy.kind", "policy.deadline"])[
    ["cost_usd_mean", "wall_h_mean", "deadline_miss_prob"]
].join(hours)
table.index = table.index.set_levels(table.index.levels[1] / 3600, level=1)
table.index.names = ["policy", "deadline (h)"]
table.round(2)

# %% [markdown]
# ## When does each policy finish, with a tight deadline?

# %%
tight = result.runs[result.runs["policy.deadline"] == 76 * 3600]
on_demand_h = float(result.summary["on_demand_wall_h"].iloc[0])
plots.cdf(tight, on_demand_wall_h=on_demand_h, deadline_h=76, by="policy.kind")
plt.show()

# %% [markdown]
# **Answer.** With a loose deadline (100 h) all three spot policies run on spot and cost
# about a third of on-demand. As the deadline tightens, spot alone starts to miss it, while
# Greedy and Uniform Progress buy safety by moving part of the job to on-demand: they never
# miss, and cost more the tighter the deadline, up to the on-demand price when there is no
# slack at all. Between the two, Greedy is the cheaper here: it waits until it has to;
# Uniform Progress borrows on-demand earlier to stay on schedule.
