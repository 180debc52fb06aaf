"""Results for a terminal: a run against on-demand (``preemptsim run``), and a sweep's best
point then its grid (``preemptsim sweep``)."""

from __future__ import annotations

import math
from typing import Any

from preemptsim.grid import describe_point, show_value
from preemptsim.scenario import Scenario
from preemptsim.sweep import SweepResult
from preemptsim.units import format_duration


def format_sweep(result: SweepResult) -> str:
    """What ``preemptsim sweep`` prints: the best point at a glance, then the whole grid."""
    best, summary = result.optimum, result.summary
    index = next(p.index for p in result.points if p.values == best["point"])
    row = summary.loc[index]
    keys = list(result.points[0].values)
    lines = [
        f"sweep of {', '.join(keys)}: {_count(len(result.points), 'point')} x "
        f"{_count(result.reps, 'replication')} "
        f"(seed {result.seed}, same random numbers at every point)",
        "",
        f"{'best':16s}{describe_point(best['point'], result.scenario)}"
        f"   (lowest mean {'cost' if best['objective'] == 'cost' else 'wall time'}"
        + (f", deadline miss <= {best['max_miss']:g})" if best["max_miss"] is not None else ")"),
        f"{'cost':16s}${row['cost_usd_mean']:,.2f} mean  "
        f"[{row['cost_usd_ci95_low']:,.2f}, {row['cost_usd_ci95_high']:,.2f}]",
        f"{'wall time':16s}{row['wall_h_mean']:.2f} h mean, {row['wall_h_p95']:.2f} h p95",
    ]
    if not math.isnan(row["deadline_miss_prob"]):
        low, high = row["deadline_miss_prob_ci95_low"], row["deadline_miss_prob_ci95_high"]
        lines.append(
            f"{'deadline miss':16s}{row['deadline_miss_prob']:.1%}  [{low:.1%}, {high:.1%}]"
        )
    lines.append(
        f"{'vs on-demand':16s}{'saves' if row['savings_vs_on_demand'] >= 0 else 'costs'} "
        f"{abs(row['savings_vs_on_demand']):.1%} (on-demand ${row['on_demand_cost_usd']:,.2f}, "
        f"{row['on_demand_wall_h']:.2f} h)"
    )
    if best["flat_range"] is not None:
        low, high = (show_value(v, keys[0], result.scenario) for v in best["flat_range"])
        lines.append(f"{'within 1%':16s}{keys[0]} from {low} to {high}")
    if best["exact_s"] is not None:
        young, daly, exact = (format_duration(best[k]) for k in ("young_s", "daly_s", "exact_s"))
        lines.append(f"{'closed forms':16s}Young {young}, Daly {daly}, exact {exact} (Poisson)")
    return "\n".join([*lines, "", *_grid_lines(result, index)])


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _grid_lines(result: SweepResult, best: int) -> list[str]:
    keys = list(result.points[0].values)
    widths = [max(len(key), 9) for key in keys]
    miss = not result.summary["deadline_miss_prob"].isna().all()
    head = "  " + "  ".join(f"{k:>{w}s}" for k, w in zip(keys, widths, strict=True))
    head += f"{'cost $':>10s}{'±95%':>8s}{'wall h':>9s}{'p95 h':>9s}"
    lines = [head + (f"{'miss':>8s}" if miss else "") + f"{'saves':>8s}"]
    max_miss = result.optimum["max_miss"]
    for point, (_, row) in zip(result.points, result.summary.iterrows(), strict=True):
        excluded = max_miss is not None and not row["deadline_miss_prob"] <= max_miss
        mark = "*" if point.index == best else "x" if excluded else " "
        values = (show_value(point.values[k], k, result.scenario) for k in keys)
        line = f"{mark} " + "  ".join(f"{v:>{w}s}" for v, w in zip(values, widths, strict=True))
        half = (row["cost_usd_ci95_high"] - row["cost_usd_ci95_low"]) / 2
        line += f"{row['cost_usd_mean']:>10,.2f}{half:>8.2f}"
        line += f"{row['wall_h_mean']:>9.2f}{row['wall_h_p95']:>9.2f}"
        line += f"{row['deadline_miss_prob']:>8.1%}" if miss else ""
        lines.append(line + f"{row['savings_vs_on_demand']:>8.1%}")
    note = "* best" + ("; x excluded by --max-miss" if max_miss is not None else "")
    return [*lines, note]


def _trio(stats: dict[str, float], fmt: str) -> str:
    return " / ".join(format(stats[k], fmt) for k in ("mean", "p50", "p95"))


def format_summary(summary: dict[str, Any], scenario: Scenario) -> str:
    """The table that ``preemptsim run`` prints: the policy's runs against on-demand."""
    on_demand = summary["on_demand"]
    policy = scenario.policy.kind.replace("_", "-")
    interval_s = scenario.checkpoint.interval
    cadence = (
        "no checkpoints"
        if math.isinf(interval_s)
        else f"checkpoint every {format_duration(interval_s)} of work"
    )
    name = "spot" if policy == "spot" else policy
    lines = [
        f"{summary['scenario']}: {scenario.description}",
        f"{summary['reps']} replications, seed {summary['seed']}, policy {policy}, {cadence}",
        "",
        f"{'':22s}{name + ': mean / p50 / p95':>30s}{'on-demand':>14s}",
        f"{'wall time (h)':22s}{_trio(summary['wall_h'], '.2f'):>30s}{on_demand['wall_h']:>14.2f}",
        f"{'cost (USD)':22s}{_trio(summary['cost_usd'], ',.2f'):>30s}"
        f"{on_demand['cost_usd']:>14,.2f}",
        f"{'interruptions':22s}{summary['interruptions']['mean']:>30.2f}{0:>14d}",
        f"{'lost work (h)':22s}{summary['lost_work_h']['mean']:>30.2f}{0:>14d}",
        f"{'billed instance-h':22s}{summary['billed_instance_h']['mean']:>30.2f}"
        f"{on_demand['wall_h'] * scenario.job.instances:>14.2f}",
    ]
    miss = summary["deadline_miss_prob"]
    deadline_s = scenario.policy.deadline
    if miss is not None and deadline_s is not None:
        low, high = miss["ci95"]
        met = "met" if on_demand["wall_h"] * 3600 <= deadline_s else "missed"
        risk = f"{miss['value']:.1%} [{low:.1%}, {high:.1%}]"
        lines.append(f"{f'deadline miss ({deadline_s / 3600:g}h)':22s}{risk:>30s}{met:>14s}")
    savings = round(summary["savings_vs_on_demand"], 3)
    word = "saves" if savings >= 0 else "costs"
    lines += [
        "",
        f"{name} {word} {abs(savings):.1%} against on-demand "
        f"(${summary['cost_usd']['mean']:,.2f} vs ${on_demand['cost_usd']:,.2f} mean cost), "
        f"and takes {summary['wall_h']['mean'] / on_demand['wall_h']:.2f}x as long on average.",
    ]
    return "\n".join(lines)
