"""``preemptsim optimum``: the offline optimum of a trace scenario from given starts."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from preemptsim.cli.common import Subparsers, add_scenario_options, load
from preemptsim.errors import UsageError

if TYPE_CHECKING:
    from preemptsim.offline import Optimum
    from preemptsim.scenario import Scenario


def cmd_optimum(args: argparse.Namespace) -> int:
    from preemptsim import offline
    from preemptsim.simulate import on_demand_baseline

    scenario = load(args)
    offline.zones_of(scenario)  # a trace scenario, or one line naming interruptions.model
    optima = [offline.offline_optimum(scenario, s) for s in _starts(args, scenario)]
    baseline = on_demand_baseline(scenario)
    if args.json:
        print(json.dumps(_json(scenario, args.seed, optima, baseline), indent=2))
    else:
        print(_text(scenario, optima, baseline))
    return 0


def _starts(args: argparse.Namespace, scenario: Scenario) -> list[float]:
    """``--start`` given, else the scenario's start, else replications 0…N−1's draws."""
    from preemptsim import offline
    from preemptsim.units import parse_duration

    if args.starts < 1:
        raise UsageError(f"--starts: must be at least 1, got {args.starts}")
    start = args.start if args.start is not None else scenario.interruptions.start
    if start == "random":
        drawn = scenario.with_values({"interruptions.start": "random"})
        return offline.starts_of(drawn, args.seed, range(args.starts))
    try:
        seconds = parse_duration(start)
    except ValueError as exc:
        raise UsageError(f"--start: {exc}") from None
    if seconds < 0:
        raise UsageError(f"--start: must be a non-negative duration or random, got {start!r}")
    return [seconds]


def _json(
    scenario: Scenario, seed: int, optima: list[Optimum], baseline: dict[str, float]
) -> dict[str, Any]:
    rows = [
        {
            "start_s": o.start_s,
            "cost_usd": o.cost_usd,
            "spot_instance_h": o.spot_instance_h,
            "on_demand_instance_h": o.on_demand_instance_h,
            "wall_h": o.wall_h,
            "met_deadline": o.met_deadline,
            "leases": [
                {
                    "zone": s.zone,
                    "market": s.market,
                    "start_h": s.start_s / 3600,
                    "end_h": s.end_s / 3600,
                }
                for s in o.leases
            ],
        }
        for o in optima
    ]
    mean = sum(o.cost_usd for o in optima) / len(optima)
    return {"scenario": scenario.name, "seed": seed, "cost_usd_mean": mean,
            "on_demand": baseline, "optima": rows}  # fmt: skip


def _text(scenario: Scenario, optima: list[Optimum], baseline: dict[str, float]) -> str:
    from preemptsim.report import versus_on_demand

    lines = [
        f"{scenario.name}: the offline optimum (knowing the trace's future; no work lost, "
        "least changeovers: a lower bound on any run that meets the deadline)",
        f"{'start h':>9s}{'cost $':>11s}{'spot h':>9s}{'od h':>9s}{'wall h':>9s}  deadline",
    ]
    for o in optima:
        met = "met" if o.met_deadline else "cannot be met"
        lines.append(
            f"{o.start_s / 3600:>9.2f}{o.cost_usd:>11,.2f}{o.spot_instance_h:>9.2f}"
            f"{o.on_demand_instance_h:>9.2f}{o.wall_h:>9.2f}  {met}"
        )
    mean = sum(o.cost_usd for o in optima) / len(optima)
    saving = 1.0 - mean / baseline["cost_usd"] if baseline["cost_usd"] > 0 else 0.0
    detail = f"on-demand ${baseline['cost_usd']:,.2f}, {baseline['wall_h']:.2f} h"
    lines.append(
        f"mean ${mean:,.2f} over {len(optima)} start(s): " + versus_on_demand(saving, detail=detail)
    )
    return "\n".join(lines)


def add_optimum(commands: Subparsers) -> None:
    opt = commands.add_parser(
        "optimum", help="the offline optimum of a trace scenario: the least any policy could pay"
    )
    add_scenario_options(opt, optional=False)
    opt.add_argument(
        "--start",
        metavar="DURATION|random",
        help="where in the trace to start (default: interruptions.start)",
    )
    opt.add_argument(
        "--starts", type=int, default=10,
        help="with a random start: the starts of replications 0..N-1 (default 10)",
    )  # fmt: skip
    opt.add_argument("--json", action="store_true", help="print the optima as JSON")
    opt.set_defaults(func=cmd_optimum)
