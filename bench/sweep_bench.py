"""Sweep throughput: 16 checkpoint intervals × 300 replications of a 50-hour Poisson job,
timed with 1 worker and with N (default 2); prints the speed-up (goal: ≥ 1.7× on 2 cores).

    .venv/bin/python bench/sweep_bench.py [--jobs 2] [--reps 300] [--repeat 3]
                        [--engine simpy|fast|auto] [--backend process|dask] [--chunk-reps N]

The default engine is SimPy (preemptsim/engine/), whose runs are CPU-bound; the vectorised fast
engine finishes this grid in a fraction of a second, where process start-up dominates.

Each setting runs ``--repeat`` times and the fastest is kept (the least disturbed by other
work on the machine).  The two results must be identical, bit for bit.  For scale, it also
times N pure-Python loops in N processes against one: the most any parallel code could gain
on this machine as it is loaded now.
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pandas as pd

from preemptsim import load_scenario
from preemptsim.grid import parse_values
from preemptsim.sweep import DEFAULT_CHUNK_REPS, sweep

SCENARIO = {
    "name": "bench-50h-poisson",
    "job": {"work": "50h"},
    "checkpoint": {"interval": "30min", "write": "2min"},
    "restart": {"provision": "3min", "restore": "2min"},
    "interruptions": {"model": "poisson", "mtbi": "8h"},
    "pricing": {"spot_usd_per_hour": 0.95, "on_demand_usd_per_hour": 3.06},
}
INTERVALS = "5min:4h:log16"


def timed(options: dict[str, Any], repeat: int) -> tuple[float, pd.DataFrame]:
    """The fastest of ``repeat`` sweeps (seconds) and the runs of the last."""
    scenario = load_scenario(SCENARIO)
    grid = {"checkpoint.interval": parse_values("checkpoint.interval", INTERVALS)}
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = sweep(scenario, grid, seed=1, **options)
        best = min(best, time.perf_counter() - start)
    return best, result.runs


def spin(n: int = 4_000_000) -> float:
    """Seconds of a pure-Python loop (no I/O, no memory traffic)."""
    start, total = time.perf_counter(), 0
    for i in range(n):
        total += i
    return time.perf_counter() - start


def machine_ceiling(jobs: int, repeat: int) -> float:
    """Speed-up of ``jobs`` loops in ``jobs`` processes over one loop alone."""
    alone = min(spin() for _ in range(repeat))
    with ProcessPoolExecutor(jobs) as pool:
        together = min(max(pool.map(spin, [4_000_000] * jobs)) for _ in range(repeat))
    return jobs * alone / together


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--reps", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", choices=("process", "dask"), default="process")
    parser.add_argument("--chunk-reps", type=int, default=DEFAULT_CHUNK_REPS)
    parser.add_argument("--engine", choices=("simpy", "fast", "auto"), default="simpy")
    args = parser.parse_args()
    common = {"reps": args.reps, "chunk_reps": args.chunk_reps, "engine": args.engine}
    serial_s, serial = timed({**common, "jobs": 1}, args.repeat)
    parallel_s, parallel = timed(
        {**common, "jobs": args.jobs, "backend": args.backend}, args.repeat
    )
    pd.testing.assert_frame_equal(serial, parallel)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"16 intervals ({INTERVALS}) x {args.reps} replications of a 50 h Poisson job")
    print(
        f"engine {args.engine}, {cores} cores, chunks of {args.chunk_reps} replications, ", end=""
    )
    print(f"best of {args.repeat}")
    print(f"  1 worker:          {serial_s:6.2f} s")
    print(f"  {args.jobs} workers ({args.backend}): {parallel_s:6.2f} s")
    print(f"  speed-up:          {serial_s / parallel_s:6.2f}x   (results identical)")
    ceiling = machine_ceiling(args.jobs, args.repeat)
    print(f"  machine ceiling:   {ceiling:6.2f}x   ({args.jobs} busy loops against one, now)")


if __name__ == "__main__":
    main()
