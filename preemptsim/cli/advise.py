"""``preemptsim advise``: the policy and interval to run a job with, and its break-even."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from preemptsim.cli.common import (
    Subparsers,
    add_scenario_options,
    check_out,
    check_plots,
    load,
    max_miss,
    save_figure,
    whole_number,
)


def cmd_advise(args: argparse.Namespace) -> int:
    from preemptsim import outputs, report
    from preemptsim.advise import advise

    check_plots(args)
    scenario = load(args)
    if args.out:
        check_out(Path(args.out), args.force)
    found = advise(scenario, max_miss=max_miss(args.max_miss), reps=args.reps, seed=args.seed)
    if args.out:  # written before anything is printed: a closed pipe cannot lose them
        out = Path(args.out)
        figures = {}
        if args.plots:
            from preemptsim.advice_plots import advice_figures

            figures = advice_figures(found)
        with outputs.staged(out) as folder:  # all the files, or none
            outputs.write_advice(folder, found.to_json(), found.candidates, scenario, out)
            for name, fig in figures.items():
                save_figure(fig, folder / f"{name}.png", shown=out / f"{name}.png")
    print(json.dumps(outputs.plain_json(found.to_json()), indent=2) if args.json
          else report.format_advice(found))  # fmt: skip
    if args.out:
        for name in figures if not args.json else ():
            print(f"{name} plot written to {out / f'{name}.png'}")
    return 0


def add_advise(commands: Subparsers) -> None:
    adv = commands.add_parser(
        "advise", help="the policy and checkpoint interval to run a job with, and its break-even"
    )
    add_scenario_options(adv, optional=True)
    adv.add_argument(
        "--max-miss",
        metavar="P",
        help="the deadline-miss probability allowed, e.g. 0.05 or 5%% (default 5%%)",
    )
    adv.add_argument(
        "--reps", type=whole_number, default=500, help="replications a point (default 500)"
    )
    adv.add_argument("--json", action="store_true", help="print the advice as JSON")
    adv.add_argument("--out", metavar="DIR", help="write advice.json and candidates.csv")
    adv.add_argument("--force", action="store_true", help="overwrite a non-empty --out")
    adv.add_argument(
        "--plots", action="store_true", help="also write pareto.png and interval.png to --out"
    )
    adv.set_defaults(func=cmd_advise)
