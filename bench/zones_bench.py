"""Should a job move between zones?  Placement strategies on the 13 GCP H100 zones.

The shipped preset gcp-h100-zones (48 h of work, deadline 60 h, 1 h checkpoints of 2 min,
provision and restore 6 min each; all 13 shipped gcp-h100 zones on one
clock, in the preset's order) is run with each placement strategy (stay: the first zone,
us-central1-a, alone; failover; eager_next; cheapest) under greedy and uniform_progress,
at checkpoint sizes 10 GB and 1,000 GB (copy time and egress by route, REFERENCES.md §8).
Each line is the mean over ``--reps`` random starts (one start offset per replication,
the same for every zone, and the same starts for every line: common random numbers), and
"vs stay" the mean paired difference in cost from stay on the same starts, ± its 95%
half-width (normal: 1.96 × sd / √n).
Run: python bench/zones_bench.py [--reps 200]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

import preemptsim as ps
from preemptsim.tracefile import trace_paths

PRESET = Path(__file__).resolve().parents[1] / "scenarios" / "gcp-h100-zones.toml"
STRATEGIES = ("stay", "failover", "eager_next", "cheapest")
POLICIES = ("greedy", "uniform_progress")
SIZES_GB = (10, 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    base = ps.load_scenario(PRESET)
    print(
        f"{base.name}: {len(trace_paths(base.interruptions))} zones, "
        f"{args.reps} starts, seed {args.seed}; means per run"
    )
    print(
        f"{'size':>6s} {'policy':17s}{'strategy':11s}{'cost $':>9s}{'spot h':>8s}{'OD h':>7s}"
        f"{'miss':>7s}{'wall h':>8s}{'moves':>7s}{'copy h':>8s}{'egress $':>9s}"
        f"{'vs stay $':>17s}"
    )
    for size_gb in SIZES_GB:
        for policy in POLICIES:
            stay: pd.Series | None = None
            for strategy in STRATEGIES:
                sc = base.with_values(
                    {
                        "checkpoint.size_gb": size_gb,
                        "policy.kind": policy,
                        "placement.strategy": strategy,
                    }
                )
                runs = ps.simulate(sc, args.reps, seed=args.seed)
                missed = 1 - runs["met_deadline"].astype(float).mean()
                stay = runs["cost_usd"] if stay is None else stay
                gap = (runs["cost_usd"] - stay).to_numpy()
                half = 1.959964 * gap.std(ddof=1) / np.sqrt(len(gap))
                print(
                    f"{size_gb:>4d}GB {policy:17s}{strategy:11s}{runs['cost_usd'].mean():9,.0f}"
                    f"{runs['spot_instance_h'].mean():8.1f}"
                    f"{runs['on_demand_instance_h'].mean():7.1f}{missed:7.1%}"
                    f"{runs['wall_h'].mean():8.1f}{runs['migrations'].mean():7.2f}"
                    f"{runs['migration_h'].mean():8.3f}{runs['egress_cost_usd'].mean():9.2f}"
                    f"{gap.mean():+10,.0f} ±{half:5,.0f}"
                )


if __name__ == "__main__":
    main()
