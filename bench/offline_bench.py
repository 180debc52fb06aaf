"""The offline optimum against greedy and uniform_progress on the 13 GCP H100 zones.

48 h of work, 60 h deadline, 1 h interval, 2 min write, 6 min provision + 6 min restore
(the gcp-h100-trace preset, one zone at a time), over random starts: the optimum's mean
cost per zone, each policy's mean cost and its gap (mean of cost / optimum, same starts),
and how long the optimum takes.  Figures go to bench/NOTES.md.

    python bench/offline_bench.py [--reps 200] [--seed 1] [--cells 2000]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import preemptsim as ps
from preemptsim import offline, shipped
from preemptsim.cli import presets
from preemptsim.offline import gap

ZONES = [Path(name) for name in shipped.matching_traces("gcp-h100/*")]  # the shipped traces
POLICIES = ("greedy", "uniform_progress")


def zone_line(scenario: ps.Scenario, reps: int, seed: int, cells: int) -> tuple[str, dict]:
    starts = offline.starts_of(scenario, seed, range(reps))
    begin = time.perf_counter()
    optimum = np.concatenate(
        [offline.optimum_costs(scenario, starts[i : i + 50], cells) for i in range(0, reps, 50)]
    )
    took_s = time.perf_counter() - begin
    figures = {"optimum": optimum.mean(), "took_s": took_s}
    line = f"{optimum.mean():>10,.0f}"
    for kind in POLICIES:
        runs = ps.simulate(scenario.with_values({"policy.kind": kind}), reps, seed, engine="simpy")
        cost = runs["cost_usd"].to_numpy()
        miss = 1.0 - runs["met_deadline"].to_numpy(dtype=bool).mean()
        figures[kind] = (cost.mean(), (cost / optimum).mean(), miss)
        line += f"{cost.mean():>10,.0f}{(cost / optimum).mean():>7.2f}x{miss:>6.1%}"
    return line + f"{took_s / reps * 1000:>8.0f}", figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cells", type=int, default=2000)
    args = parser.parse_args()
    base = ps.load_scenario(presets()["gcp-h100-trace"])
    single = base.with_values({"interruptions.start": 7200.0})
    begin = time.perf_counter()
    ps.offline_optimum(single)
    print(
        f"one optimum (us-west1-a, 48 h work, 60 h deadline): {time.perf_counter() - begin:.2f} s"
    )
    begin = time.perf_counter()
    gap.optima_of(base, args.seed, range(gap.STARTS))
    took_s = time.perf_counter() - begin
    print(f"advise's gap ({gap.STARTS} starts, {gap.CELLS} cells): {took_s:.1f} s")
    print(f"{args.reps} random starts, seed {args.seed}, optimum on {args.cells} cells; USD")
    head = f"{'zone':20s}{'optimum':>10s}"
    for kind in ("greedy", "uniform"):
        head += f"{kind:>10s}{'gap':>8s}{'miss':>6s}"
    print(head + f"{'ms/start':>8s}")
    every = []
    for path in ZONES:
        scenario = base.with_values({"interruptions.path": str(path)})
        line, figures = zone_line(scenario, args.reps, args.seed, args.cells)
        every.append(figures)
        print(f"{path.stem:20s}{line}", flush=True)
    mean = {k: np.mean([f[k] for f in every], axis=0) for k in ("optimum", *POLICIES)}
    line = f"{'mean of zones':20s}{mean['optimum']:>10,.0f}"
    for kind in POLICIES:
        cost, ratio, miss = mean[kind]
        line += f"{cost:>10,.0f}{ratio:>7.2f}x{miss:>6.1%}"
    print(line)


if __name__ == "__main__":
    main()
