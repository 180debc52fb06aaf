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
# # Interruption models fitted to history: can they stand in for the trace?
#
# `preemptsim fit` turns a trace (or a log of preemptions) into an `[interruptions]`
# table: Poisson, Weibull or hour-of-day rates, fitted by maximum likelihood with the run
# still going at the end of the record censored, not counted as an interruption. Here,
# for three GCP H100 zones (14 days, one tick per 10 minutes; shipped with the package as
# `gcp-h100/ZONE`, from the SkyNomad artifact, Apache-2.0), the fitted models are simulated
# beside the replay of the trace they came from: the 48 h job of the `gcp-h100-trace` preset
# on spot alone.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import preemptsim as ps
from preemptsim.fitting import models
from preemptsim.tracefile import load_trace

REPS = int(os.environ.get("PREEMPTSIM_NOTEBOOK_REPS", "2000"))
ZONES = ["us-central1-a", "us-east4-a", "us-west1-a"]
base = ps.load_scenario("../scenarios/gcp-h100-trace.toml").with_values({"policy.kind": "spot"})

# %% [markdown]
# ## The fits
#
# Each run of available ticks is one instance's lifetime. AIC (lower is better) weighs
# the log-likelihood against the number of parameters; KS is the largest gap between the
# Kaplan–Meier estimate of the lifetime distribution and the fitted one.

# %%
fits = {zone: ps.fit(f"gcp-h100/{zone}") for zone in ZONES}  # shipped traces, by name


def fit_row(zone: str) -> dict[str, object]:
    result = fits[zone]
    mtbi = result.fits["poisson"].parameters["mtbi_h"]
    shape = result.fits["weibull"].parameters["shape"]
    row: dict[str, object] = {
        "zone": zone,
        "lifetimes": len(result.lifetimes.duration_h),
        "interrupted": result.lifetimes.interruptions,
        "MTBI h [95%]": f"{mtbi.value:.2f} [{mtbi.low:.2f}, {mtbi.high:.2f}]",
        "Weibull shape [95%]": f"{shape.value:.2f} [{shape.low:.2f}, {shape.high:.2f}]",
        "mean outage h": result.lifetimes.outage_h.mean(),
        "best": result.best,
    }
    for name, fitted in result.fits.items():
        row[f"AIC {name}"] = fitted.aic
        row[f"KS {name}"] = fitted.ks
    return row


summary = pd.DataFrame([fit_row(z) for z in ZONES]).set_index("zone")
summary.round(3)

# %% [markdown]
# Shape well below 1 everywhere: a new instance is most likely to be taken soon after it
# starts, and one that has lasted is likely to last. The curves show it: the Poisson
# survival falls too slowly at first and too fast later.

# %%
fig, axes = plt.subplots(1, len(ZONES), figsize=(16, 4.5), layout="constrained")
for ax, zone in zip(axes, ZONES, strict=True):
    life, result = fits[zone].lifetimes, fits[zone].fits
    times_h, survival = models.kaplan_meier(life.duration_h, life.ended)
    grid_h = np.linspace(0, np.quantile(life.duration_h, 0.95), 200)
    mtbi_h = result["poisson"].parameters["mtbi_h"].value
    shape = result["weibull"].parameters["shape"].value
    scale_h = result["weibull"].parameters["scale_h"].value
    ax.step(np.r_[0, times_h], np.r_[1, survival], where="post", label="Kaplan–Meier")
    ax.plot(grid_h, np.exp(-grid_h / mtbi_h), label="Poisson")
    ax.plot(grid_h, np.exp(-((grid_h / scale_h) ** shape)), label="Weibull")
    ax.set(title=zone, xlabel="instance age (h)", ylabel="still running", xlim=(0, None))
    ax.legend()
plt.show()

# %% [markdown]
# ## Simulated beside the replay
#
# The fitted scenarios take the zone's mean spot price over its available ticks (the
# replay bills each tick's price) and GCP's 30 s notice. A fitted model has capacity always
# there after a take; the trace does not: its outages are not in the lifetimes. The last
# two variants add them back, drawing each downtime from the zone's measured outages (at least
# the preset's provisioning time, as in the replay).


# %%
def variants(zone: str) -> dict[str, ps.Scenario]:
    path = f"gcp-h100/{zone}"
    trace = load_trace(path)
    price = float(trace.prices_usd_per_hour[trace.available].mean())
    notice = base.interruptions.notice

    def fitted(model: str) -> ps.Scenario:
        table = {**fits[zone].table(model), "notice": notice}
        return base.with_values({"interruptions": table, "pricing.spot_usd_per_hour": price})

    provision_s = base.restart.provision.mean_s
    outages_s = np.maximum(fits[zone].lifetimes.outage_h * 3600, provision_s).tolist()
    downtime = {"dist": "empirical", "values": outages_s}
    return {
        "trace replay": base.with_values({"interruptions.path": path}),
        "Poisson": fitted("poisson"),
        "Weibull": fitted("weibull"),
        "Poisson + outages": fitted("poisson").with_values({"restart.provision": downtime}),
        "Weibull + outages": fitted("weibull").with_values({"restart.provision": downtime}),
    }


COLUMNS = {  # column: (summary key, statistic)
    "wall h": ("wall_h", "mean"),
    "wall h p95": ("wall_h", "p95"),
    "cost $": ("cost_usd", "mean"),
    "interruptions": ("interruptions", "mean"),
    "miss 60h": ("deadline_miss_prob", "value"),
}
rows = []
for zone in ZONES:
    for model, sc in variants(zone).items():
        s = ps.summarize(ps.simulate(sc, reps=REPS, seed=1), sc)
        stats = {column: s[key][stat] for column, (key, stat) in COLUMNS.items()}
        rows.append({"zone": zone, "model": model, **stats})
results = pd.DataFrame(rows).set_index(["zone", "model"])
results.round(2)

# %%
fig, axes = plt.subplots(1, 2, figsize=(14, 4.5), layout="constrained")
for ax, column in zip(axes, ["wall h", "cost $"], strict=True):
    results[column].unstack("model")[list(variants(ZONES[0]))].plot.bar(ax=ax, rot=0)
    ax.set(title=f"mean {column}, {REPS} replications", xlabel="")
plt.show()

# %% [markdown]
# **Answer.** Only with the outages added, and then best where outages are short and
# independent. With the default 2000 replications:
#
# - Lifetimes alone get the mean wall time where capacity comes back quickly
#   (us-central1-a: 52 h against the replay's 54 h; us-east4-a: 70–72 h against 71 h) but
#   not its spread (no deadline misses against 16% in us-central1-a), and where the zone
#   stays empty for hours they promise far too much (us-west1-a: 59 h against 98 h).
# - AIC picks Weibull in all three zones (shape 0.5–0.6: young instances are taken
#   first), yet the better likelihood is not a better forecast for the job. In us-east4-a,
#   87 of the 143 runs last a single 10-minute tick; they pull the Weibull mean lifetime to
#   1.5 h against the observed 2.1 h, and the job is interrupted 49 times against the
#   replay's 30. Poisson, whose MTBI is the observed mean, gets the count right.
# - With the measured outages as downtime, Poisson reproduces us-central1-a (54 h mean,
#   64 h p95, 14% missing 60 h, against 54 h, 67 h and 16%) and the mean of us-west1-a
#   (96 h against 98 h). us-east4-a stays off (78 h against 71 h): short lives there lose
#   little work but the replay waits longer, and which outage follows which life is not
#   independent in the trace, as a renewal model assumes.
# - Costs differ from the replay by up to 13% at the same price: the replay spends more of
#   its wall time waiting, unbilled, and less of it redoing lost work.
#
# So: fit, but keep the outages (`restart.provision` from the measured outages, as here),
# and check the fitted scenario against one replay before trusting its tail.
