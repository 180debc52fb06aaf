"""Deadline policies on the real GCP H100 traces, beside Can't Be Late's Table 3.

Can't Be Late (Wu et al., NSDI'24; REFERENCES.md §5) replays real traces with 48 h of
compute, job fraction C0/R0 = 0.8 (deadline 60 h) and changeover d = 0.2 h, and reports
on-demand hours / spot hours: on-demand 48.0/0.0, Greedy 30.8/17.2, Uniform Progress
25.1/22.9.  This replays every shipped GCP H100 zone (gcp-h100/*; random start per
replication) with the same job, a 1 h checkpoint of 2 min, d = 6 min + 6 min, and prints
the mean over zones.  Run: python bench/cant_be_late.py [--reps 200]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import preemptsim as ps
from preemptsim import shipped

ZONES = [Path(name) for name in shipped.matching_traces("gcp-h100/*")]  # the shipped traces
PUBLISHED = {"on_demand": (48.0, 0.0), "greedy": (30.8, 17.2), "uniform_progress": (25.1, 22.9)}


def scenario(path: Path, kind: str) -> ps.Scenario:
    return ps.load_scenario(
        {
            "name": f"cbl-{path.stem}",
            "job": {"work": "48h"},
            "checkpoint": {"interval": "1h", "write": "2min"},
            "restart": {"provision": "6min", "restore": "6min"},
            "interruptions": {"model": "trace", "path": str(path)},
            "pricing": {"spot_usd_per_hour": 18.98, "on_demand_usd_per_hour": 82.53},
            "policy": {"kind": kind, "deadline": "60h"},
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    reps = parser.parse_args().reps
    zones = ZONES
    print(f"{len(zones)} GCP H100 zones x {reps} replications, 48 h of work, deadline 60 h")
    print(
        f"{'policy':18s}{'cost $':>9s}{'OD h':>7s}{'spot h':>8s}{'miss':>7s}"
        f"{'wall h':>8s}   Can't Be Late OD h / spot h"
    )
    for kind in ("spot", "greedy", "uniform_progress", "on_demand"):
        means = []
        for path in zones:
            runs = ps.simulate(scenario(path, kind), reps, seed=1)
            missed = 1 - runs["met_deadline"].astype(float).mean()
            means.append(
                [
                    runs["cost_usd"].mean(),
                    runs["on_demand_instance_h"].mean(),
                    runs["spot_instance_h"].mean(),
                    missed,
                    runs["wall_h"].mean(),
                ]
            )
        cost, od_h, spot_h, miss, wall = np.mean(means, axis=0)
        published = "{:.1f} / {:.1f}".format(*PUBLISHED[kind]) if kind in PUBLISHED else "-"
        print(f"{kind:18s}{cost:9.0f}{od_h:7.1f}{spot_h:8.1f}{miss:7.1%}{wall:8.1f}   {published}")


if __name__ == "__main__":
    main()
