"""How long `preemptsim advise` takes on every shipped preset, and whether its interval lies
in the 1% flat range of a dense sweep of the recommended policy (issue 14's goal: < 15 s).

    python bench/advise_bench.py [--dense-reps 2000]
"""

from __future__ import annotations

import argparse
import math
import time

import preemptsim as ps
from preemptsim.advise import advise, fine_grid
from preemptsim.cli import presets


def dense_check(scenario: ps.Scenario, advice, reps: int) -> str:
    """The flat range of a dense sweep (ratio 2^⅛ over ×/÷4 of the recommendation)."""
    choice = advice.recommendation
    if choice["policy"] == "on_demand":
        return "on-demand recommended: no interval to check"
    policy = scenario.with_values({"policy.kind": choice["policy"]})
    centre_s = choice["checkpoint_interval_s"]
    grid = sorted({float(round(centre_s * 2 ** (k / 8))) for k in range(-16, 17)})
    grid = [v for v in fine_grid(policy, grid[0], grid[-1]) if v <= policy.job.work_s] or grid
    grid = sorted(set(grid) | {centre_s})
    result = ps.sweep(policy, {"checkpoint.interval": grid}, reps=reps, seed=advice.seed + 1,
                      max_miss=advice.max_miss if advice.max_miss is not None else None)
    flat = result.optimum["flat_range"]
    inside = flat is not None and flat[0] <= centre_s <= flat[1]
    return f"dense flat range {flat[0]:.0f}-{flat[1]:.0f} s: {'inside' if inside else 'OUTSIDE'}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dense-reps", type=int, default=2000)
    parser.add_argument("--skip-dense", action="store_true")
    args = parser.parse_args()
    for name, path in presets().items():
        try:
            scenario = ps.load_scenario(path)
        except ps.ScenarioError as exc:
            print(f"{name:26s} skipped: {exc}")
            continue
        start = time.perf_counter()
        advice = advise(scenario)
        took_s = time.perf_counter() - start
        choice = advice.recommendation
        interval_min = choice["checkpoint_interval_s"] / 60
        line = (f"{name:26s} {took_s:6.1f} s  {choice['policy']:16s} "
                f"every {interval_min:7.1f} min  ${choice['cost_usd']:,.2f}")
        if not args.skip_dense and not math.isinf(took_s):
            line += "  " + dense_check(scenario, advice, args.dense_reps)
        print(line, flush=True)


if __name__ == "__main__":
    main()
