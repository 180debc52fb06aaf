"""Trace replay with deadline policies, SimPy engine against the fast engine (issue 10).

    .venv/bin/python bench/trace_bench.py [--simpy-reps 20] [--fast-reps 2000] [--repeat 3]
                                          [--sweep-reps 1000] [--jobs 2] [--no-sweep] [--no-rates]

The workload of Can't Be Late (REFERENCES.md §5): the 13 GCP H100 zones of
shipped gcp-h100/* traces, 48 h of work, deadline 60 h, a 1 h interval with a 2 min
write, 6 min provision + 6 min restore, a random start per replication; policies spot,
greedy and uniform_progress.  First the runs per second of each engine over all zones, in
one process (best of ``--repeat``, the least disturbed by other work), and their ratio
(goal ≥ 100×); the trace is loaded once per zone, outside the timing, as a sweep loads it
once per task.  Then the sweep of 16 intervals × 3 policies × 13 zones × ``--sweep-reps``
starts (624,000 runs) with ``--jobs`` workers, one sweep whose first key is the trace
file (as ``--vary interruptions.path=...``), one task a point (goal < 60 s).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from cant_be_late import ZONES, scenario  # the same job, on every zone

import preemptsim as ps
from preemptsim import fast
from preemptsim.engine import Plan, run_once
from preemptsim.grid import parse_values
from preemptsim.interruptions import Trace
from preemptsim.simulate import trace_of

POLICIES = ("spot", "greedy", "uniform_progress")
INTERVALS = "15min:4h:log16"


def best_rate(run: Callable[[], None], runs: int, repeat: int) -> float:
    """Runs per second of ``run`` (``runs`` replications), the best of ``repeat`` timings."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return runs / best


def rates(
    zones: list[tuple[ps.Scenario, Trace | None]], args: argparse.Namespace
) -> tuple[float, float]:
    """Runs per second of the SimPy and the fast engine over every zone."""
    plans = [(sc, Plan.of(sc, traces=(trace,))) for sc, trace in zones]

    def simpy() -> None:
        for _, plan in plans:
            for rep in range(args.simpy_reps):
                run_once(plan, 1, rep)

    def vectorised() -> None:
        for sc, trace in zones:
            fast.columns(sc, args.fast_reps, 1, trace=trace)

    count = len(zones)
    return (
        best_rate(simpy, count * args.simpy_reps, args.repeat),
        best_rate(vectorised, count * args.fast_reps, args.repeat),
    )


def sweep_seconds(paths: list[Path], args: argparse.Namespace) -> tuple[float, int]:
    """Wall time of one sweep over zones × intervals × policies, and its runs."""
    grid = {
        "interruptions.path": [str(path) for path in paths],
        "checkpoint.interval": parse_values("checkpoint.interval", INTERVALS),
        "policy.kind": list(POLICIES),
    }
    start = time.perf_counter()
    result = ps.sweep(scenario(paths[0], "spot"), grid, reps=args.sweep_reps, seed=1,
                      jobs=args.jobs, chunk_reps=args.sweep_reps)  # fmt: skip
    return time.perf_counter() - start, len(result.runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simpy-reps", type=int, default=20)
    parser.add_argument("--fast-reps", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sweep-reps", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--no-sweep", action="store_true")
    parser.add_argument("--no-rates", action="store_true")
    args = parser.parse_args()
    paths = ZONES
    print(f"{len(paths)} GCP H100 zones, 48 h of work, deadline 60 h, 1 h / 2 min, 6+6 min")
    print(f"{'policy':18s}{'SimPy runs/s':>14s}{'fast runs/s':>14s}{'ratio':>8s}")
    for kind in () if args.no_rates else POLICIES:
        zones = [(sc, trace_of(sc)) for sc in (scenario(path, kind) for path in paths)]
        simpy, vectorised = rates(zones, args)
        print(f"{kind:18s}{simpy:14,.0f}{vectorised:14,.0f}{vectorised / simpy:7.0f}x")
    if not args.no_sweep:
        seconds, runs = sweep_seconds(paths, args)
        print(f"sweep: 16 intervals x 3 policies x {len(paths)} zones x {args.sweep_reps} "
              f"starts = {runs:,} runs in {seconds:.1f} s with --jobs {args.jobs} "
              f"({runs / seconds:,.0f} runs/s)")  # fmt: skip


if __name__ == "__main__":
    main()
