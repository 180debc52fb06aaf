"""Engine speed (issue 7): runs per second of the SimPy engine, of the fast engine, and of
the least possible SimPy loop, measured in one process; then the memory of a million rows.

    .venv/bin/python bench/engine_bench.py [--simpy-reps 400] [--fast-reps 200000]
                        [--memory-reps 1000000] [--repeat 3] [--profile]

The job: 100 h of work in 30 min segments with a 60 s checkpoint, Poisson interruptions with
an 8 h mean, provision 3 min, restore 2 min.  The least possible SimPy loop is one
``env.timeout`` per segment of the job (200), in a fresh Environment per run: what any
SimPy model of this job must at least pay.  Goals: the SimPy engine at ≥ 0.5× that loop,
the fast engine at ≥ 50× it, and a million replications' DataFrame well under 1 GB.
Each rate is the best of ``--repeat`` timings (the least disturbed by other work).
``--profile`` prints where the SimPy engine spends its time (cProfile, by own time).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections.abc import Callable, Generator

import simpy

try:
    import resource
except ImportError:  # Windows has none
    resource = None  # type: ignore[assignment]

import preemptsim as ps
from preemptsim.engine import Plan, run_once

SCENARIO = {
    "name": "bench-100h-poisson",
    "job": {"work": "100h"},
    "checkpoint": {"interval": "30min", "write": "60s"},
    "restart": {"provision": "3min", "restore": "2min"},
    "interruptions": {"model": "poisson", "mtbi": "8h"},
    "pricing": {"spot_usd_per_hour": 0.232, "on_demand_usd_per_hour": 0.491},
}


def least_loop(segments: int, segment_s: float) -> None:
    """One run of the least possible SimPy model: a timeout per segment, nothing else."""
    env = simpy.Environment()

    def job() -> Generator[simpy.Event, object, None]:
        for _ in range(segments):
            yield env.timeout(segment_s)

    env.process(job())
    env.run()


def rate(run: Callable[[int], object], reps: int, repeat: int) -> float:
    """Runs per second: ``run(reps)`` timed ``repeat`` times, the fastest kept."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run(reps)
        best = min(best, time.perf_counter() - start)
    return reps / best


def rates(scenario: ps.Scenario, args: argparse.Namespace) -> dict[str, float]:
    plan = Plan.of(scenario)
    segment_s = plan.interval_s + plan.snapshot_s

    def loop(reps: int) -> None:
        for _ in range(reps):
            least_loop(plan.segments, segment_s)

    def engine_only(reps: int) -> None:
        for rep in range(reps):
            run_once(plan, 1, rep)

    return {
        "least SimPy loop": rate(loop, args.simpy_reps, args.repeat),
        "SimPy engine (run_once)": rate(engine_only, args.simpy_reps, args.repeat),
        "SimPy engine (simulate)": rate(
            lambda n: ps.simulate(scenario, n, 1, engine="simpy"), args.simpy_reps, args.repeat
        ),
        "fast engine (simulate)": rate(
            lambda n: ps.simulate(scenario, n, 1, engine="fast"), args.fast_reps, args.repeat
        ),
    }


def memory(scenario: ps.Scenario, reps: int) -> None:
    """The DataFrame of ``reps`` replications (deep memory use), and the process's peak."""
    start = time.perf_counter()
    runs = ps.simulate(scenario, reps, 1, engine="fast")
    seconds = time.perf_counter() - start
    size = int(runs.memory_usage(deep=True).sum())
    print(f"\n{reps:,} replications (fast engine): {seconds:.1f} s, DataFrame {size / 1e6:.0f} MB")
    print(f"  ({size / reps:.0f} bytes a row; {len(runs.columns)} columns)", end="")
    if resource is not None:  # ru_maxrss is in KiB on Linux
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6
        print(f"; peak resident memory of this process {peak_mb:.0f} MB", end="")
    print()


def profile(scenario: ps.Scenario, reps: int) -> None:
    plan = Plan.of(scenario)
    profiler = cProfile.Profile()
    profiler.enable()
    for rep in range(reps):
        run_once(plan, 1, rep)
    profiler.disable()
    print(f"\nSimPy engine, {reps} runs, by own time:")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(14)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simpy-reps", type=int, default=400)
    parser.add_argument("--fast-reps", type=int, default=200_000)
    parser.add_argument("--memory-reps", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    scenario = ps.load_scenario(SCENARIO)
    plan = Plan.of(scenario)
    print(f"100 h Poisson job: {plan.segments} segments of 30 min + 60 s, MTBI 8 h, ", end="")
    print(f"provision 3 min, restore 2 min; best of {args.repeat}")
    measured = rates(scenario, args)
    base = measured["least SimPy loop"]
    for name, value in measured.items():
        print(f"  {name:26s} {value:12,.0f} runs/s   {value / base:8.2f}x the least loop")
    if args.memory_reps:
        memory(scenario, args.memory_reps)
    if args.profile:
        profile(scenario, args.simpy_reps)


if __name__ == "__main__":
    main()
