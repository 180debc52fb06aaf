"""Results for a terminal: a run against on-demand (``preemptsim run``), and a sweep's best
point then its grid (``preemptsim sweep``)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from preemptsim.grid import describe_point, show_value
from preemptsim.units import format_duration

if TYPE_CHECKING:  # a run's report needs neither (nor what they import)
    from preemptsim.advise import Advice
    from preemptsim.scenario import Scenario
    from preemptsim.sweep import SweepResult


def versus_on_demand(
    savings: float, miss: float | None = None, deadline_s: float | None = None, detail: str = ""
) -> str:
    """Say "saves 50.9% against on-demand (detail)" or "costs 27.9% more than on-demand", with
    the deadline-miss probability beside it wherever there is a deadline."""
    savings = round(savings, 3)
    text = (
        f"saves {savings:.1%} against on-demand"
        if savings >= 0
        else f"costs {-savings:.1%} more than on-demand"
    )
    text += f" ({detail})" if detail else ""
    if miss is not None and deadline_s is not None and not math.isnan(miss):
        text += f", missing the {format_duration(deadline_s)} deadline in {miss:.1%} of runs"
    return text


def format_sweep(result: SweepResult) -> str:
    """What ``preemptsim sweep`` prints: the best point at a glance (one per deadline where
    the deadline is varied), then the whole grid."""
    keys = list(result.points[0].values)
    lines = [
        f"sweep of {', '.join(keys)}: {_count(len(result.points), 'point')} x "
        f"{_count(result.reps, 'replication')} "
        f"(seed {result.seed}, same random numbers at every point)",
        *_baseline_lines(result),
        "",
    ]
    optima = result.optimum if isinstance(result.optimum, list) else [result.optimum]
    for best in optima:
        lines += [*_best_lines(result, best), ""]
    marks = {_index(result, best) for best in optima if best["point"] is not None}
    return "\n".join([*lines, *_grid_lines(result, marks)])


def _baseline_lines(result: SweepResult) -> list[str]:
    """The on-demand baseline, once, where every point shares it."""
    summary = result.summary
    if summary["on_demand_cost_usd"].nunique() != 1 or summary["on_demand_wall_h"].nunique() != 1:
        return ["on-demand baseline: per point (the varied keys change the job)"]
    cost, wall = summary.at[0, "on_demand_cost_usd"], summary.at[0, "on_demand_wall_h"]
    return [f"on-demand baseline: ${cost:,.2f}, {wall:.2f} h (the same job, never interrupted)"]


def _index(result: SweepResult, best: dict[str, Any]) -> int:
    return next(p.index for p in result.points if p.values == best["point"])


def _best_lines(result: SweepResult, best: dict[str, Any]) -> list[str]:
    deadline_s = best.get("policy.deadline")
    title = "best" if deadline_s is None else f"best, {deadline_s / 3600:g}h"
    if best["point"] is None:
        return [f"{title:16s}none meets --max-miss {best['max_miss']:g}"]
    row = result.summary.loc[_index(result, best)]
    shown = {k: v for k, v in best["point"].items() if k != "policy.deadline"}
    goal = "cost" if best["objective"] == "cost" else "wall time"
    bound = f", deadline miss <= {best['max_miss']:.3g}" if best["max_miss"] is not None else ""
    lines = [
        f"{title:16s}{describe_point(shown, result.scenario)}   (lowest mean {goal}{bound})",
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
        f"{'vs on-demand':16s}"
        + versus_on_demand(
            row["savings_vs_on_demand"],
            detail=f"on-demand ${row['on_demand_cost_usd']:,.2f}, {row['on_demand_wall_h']:.2f} h",
        )
    )
    if not math.isnan(row["optimum_gap_mean"]):
        lines.append(f"{'vs optimum':16s}" + gap_words(row["optimum_gap_mean"]))
    if best["flat_range"] is not None:
        key = next(iter(shown))
        low, high = (show_value(v, key, result.scenario) for v in best["flat_range"])
        lines.append(f"{'within 1%':16s}{key} from {low} to {high}")
    if best["exact_s"] is not None:
        young, daly, exact = (format_duration(best[k]) for k in ("young_s", "daly_s", "exact_s"))
        lines.append(f"{'closed forms':16s}Young {young}, Daly {daly}, exact {exact} (Poisson)")
    return lines


def gap_words(ratio: float) -> str:
    """A policy's gap to the offline optimum (offline/gap.py), as a reader takes it."""
    return (
        f"{ratio:.2f}x the offline optimum's cost (mean over starts; the optimum knows "
        "the trace's future)"
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _grid_lines(result: SweepResult, best: set[int]) -> list[str]:
    keys = list(result.points[0].values)
    shown = [[show_value(p.values[k], k, result.scenario) for k in keys] for p in result.points]
    widths = [max(len(key), 9, *(len(row[i]) for row in shown)) for i, key in enumerate(keys)]
    miss = not result.summary["deadline_miss_prob"].isna().all()
    head = "  " + "  ".join(f"{k:>{w}s}" for k, w in zip(keys, widths, strict=True))
    head += f"{'cost $':>10s}{'±95%':>8s}{'wall h':>9s}{'p95 h':>9s}"
    gaps = not result.summary["optimum_gap_mean"].isna().all()
    head += (f"{'miss':>8s}" if miss else "") + f"{'saves':>8s}"
    lines = [head + (f"{'vs opt':>8s}" if gaps else "")]
    optima = result.optimum if isinstance(result.optimum, list) else [result.optimum]
    max_miss = optima[0]["max_miss"]
    rows = zip(result.points, shown, result.summary.iterrows(), strict=True)
    for point, values, (_, row) in rows:
        excluded = max_miss is not None and not row["deadline_miss_prob"] <= max_miss
        mark = "*" if point.index in best else "x" if excluded else " "
        line = f"{mark} " + "  ".join(f"{v:>{w}s}" for v, w in zip(values, widths, strict=True))
        half = (row["cost_usd_ci95_high"] - row["cost_usd_ci95_low"]) / 2
        line += f"{row['cost_usd_mean']:>10,.2f}{half:>8.2f}"
        line += f"{row['wall_h_mean']:>9.2f}{row['wall_h_p95']:>9.2f}"
        line += f"{row['deadline_miss_prob']:>8.1%}" if miss else ""
        line += f"{row['savings_vs_on_demand']:>8.1%}"
        lines.append(line + (f"{row['optimum_gap_mean']:>7.2f}x" if gaps else ""))
    if max_miss is None:
        return [*lines, "* best"]
    return [*lines, f"* best; x misses the deadline in over {max_miss:.3g} of runs (--max-miss)"]


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
    costs = f"${summary['cost_usd']['mean']:,.2f} vs ${on_demand['cost_usd']:,.2f} mean cost"
    versus = versus_on_demand(
        summary["savings_vs_on_demand"], miss and miss["value"], deadline_s, costs
    )
    lines += [
        "",
        f"{name} {versus}, "
        f"and takes {summary['wall_h']['mean'] / on_demand['wall_h']:.2f}x as long on average.",
    ]
    return "\n".join(lines)


def format_advice(advice: Advice) -> str:
    """What ``preemptsim advise`` prints: the recommendation, the runners-up, break-even
    points and the settings to paste, in a dozen lines."""
    scenario, choice = advice.scenario, advice.recommendation
    deadline_s = scenario.policy.deadline
    goal = (
        "no deadline: advised on cost alone"
        if deadline_s is None
        else f"deadline {deadline_s / 3600:g}h, missed in at most {advice.max_miss:.1%} of runs"
    )
    lines = [
        f"{scenario.name}: {format_duration(scenario.job.work_s)} of work; {goal}",
        f"{advice.reps} replications a point, seed {advice.seed}, same random numbers throughout",
        "",
        f"{'recommended':16s}{_option_name(choice, advice)}",
        f"{'cost':16s}${choice['cost_usd']:,.2f} mean "
        + _interval(choice["cost_usd_ci95"], ",.2f")
        + "; "
        + versus_on_demand(
            choice["savings_vs_on_demand"],
            detail=f"on-demand ${advice.on_demand['cost_usd']:,.2f}",
        ),
        f"{'wall time':16s}{choice['wall_h']:.2f} h mean, {choice['wall_h_p95']:.2f} h p95"
        f" (on-demand {advice.on_demand['wall_h']:.2f} h)",
    ]
    if choice["deadline_miss_prob"] is not None:
        miss = choice["deadline_miss_prob_ci95"]
        lines.append(
            f"{'deadline miss':16s}{choice['deadline_miss_prob']:.1%} " + _interval(miss, ".1%")
        )
    if choice["flat_range_s"] is not None:
        low, high = (format_duration(v) for v in choice["flat_range_s"])
        flat = f"any interval from {low} to {high}" if low != high else "no other interval tried"
        lines.append(f"{'within 1%':16s}{flat}")
    if choice["optimum_gap_mean"] is not None:
        lines.append(f"{'vs optimum':16s}" + gap_words(choice["optimum_gap_mean"]))
    if not choice["feasible"]:
        lines.append(f"{'warning':16s}nothing meets the deadline that often: this misses least")
    lines += ["", *_alternative_lines(advice), "", *_break_even_lines(advice)]
    return "\n".join([*lines, "", *_settings_lines(advice)])


def _interval(bounds: list[float] | None, fmt: str) -> str:
    return "" if bounds is None else f"[{format(bounds[0], fmt)}, {format(bounds[1], fmt)}]"


def _option_name(option: dict[str, Any], advice: Advice) -> str:
    policy = option["policy"].replace("_", " ")
    interval_s = option["checkpoint_interval_s"]
    if math.isinf(interval_s) or interval_s >= advice.scenario.job.work_s:
        return f"{policy}, no checkpoints"
    from preemptsim.advise import settings

    steps = settings(advice.scenario, interval_s)["save_steps"]
    every = f" (save every {steps:,} steps)" if steps is not None else ""
    return f"{policy}, checkpoint every {format_duration(interval_s)} of work{every}"


def _alternative_lines(advice: Advice) -> list[str]:
    lines = []
    for number, option in enumerate(advice.alternatives):
        title = "runners-up" if number == 0 else ""
        miss = option["deadline_miss_prob"]
        risk = "" if miss is None else f", misses {miss:.1%}"
        coarse = "" if option["reps"] >= advice.reps or option["policy"] == "on_demand" else " *"
        lines.append(
            f"{title:16s}{_option_name(option, advice)}: ${option['cost_usd']:,.2f}{risk}{coarse}"
        )
    if any(o["reps"] < advice.reps and o["policy"] != "on_demand" for o in advice.alternatives):
        lines.append(f"{'':16s}* from the coarse search ({max(50, advice.reps // 4)} replications)")
    return lines


def _break_even_lines(advice: Advice) -> list[str]:
    even, pricing = advice.break_even, advice.scenario.pricing
    discount, now = even["spot_discount"], even["spot_discount_now"]
    if discount is None:
        lines = [f"{'break-even':16s}no spot price beats on-demand within the deadline risk"]
    elif discount <= 0:  # the saving is in the settings (interval, policy), not the price
        price = (1 - discount) * pricing.on_demand_usd_per_hour
        lines = [
            f"{'break-even':16s}spot pays while it costs at most ${price:,.3f} an hour, "
            f"{-discount:.1%} above on-demand's ${pricing.on_demand_usd_per_hour:,.3f} (now "
            f"${(1 - now) * pricing.on_demand_usd_per_hour:,.3f}): the saving comes from its "
            "checkpoint settings, against on-demand run as written"
        ]
    else:
        lines = [
            f"{'break-even':16s}spot pays while it is at least {discount:.1%} cheaper than "
            f"on-demand (now {now:.1%}: ${(1 - now) * pricing.on_demand_usd_per_hour:,.3f} "
            f"vs ${pricing.on_demand_usd_per_hour:,.3f} an hour)"
        ]
    mtbi = advice.scenario.interruptions
    if "mtbi_s" in even:
        now_s = 1.0 / mtbi.rate_per_s
        found = even["mtbi_s"]
        text = (
            f"and interruptions come less often than every {format_duration(found)} per "
            f"instance (now {format_duration(now_s)})"
            if found is not None
            else "at any interruption rate from 1/65536 to 65536 times today's"
        )
        lines.append(f"{'':16s}{text}")
    elif "rate_factor" in even:
        factor = even["rate_factor"]
        text = (
            f"and interruptions come at most {factor:.3g} times as often as the model's"
            if factor is not None
            else "at any interruption rate from 1/65536 to 65536 times the model's"
        )
        lines.append(f"{'':16s}{text}")
    return lines


def _settings_lines(advice: Advice) -> list[str]:
    choice = advice.recommendation
    if choice["policy"] == "on_demand":
        return []
    if choice["checkpoint_interval_s"] >= advice.scenario.job.work_s:
        notice = "; save on the interruption notice" if advice.scenario.on_notice else ""
        return [f"{'settings':16s}no periodic checkpoint pays{notice}"]
    from preemptsim.advise import settings

    found = settings(advice.scenario, choice["checkpoint_interval_s"])
    lines = [f"{'settings':16s}checkpoint every {found['interval_min']:.1f} minutes of training"]
    if found["huggingface"] is not None:
        lines.append(f"{'':16s}Hugging Face: {found['huggingface']}")
    else:
        per_step = f"save_steps = {found['interval_min']:.1f} min / your step time"
        lines.append(f"{'':16s}Hugging Face: {per_step}")
    lines.append(f"{'':16s}Lightning:    {found['lightning']}")
    return lines
