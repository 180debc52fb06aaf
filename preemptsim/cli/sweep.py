"""``preemptsim sweep``: Monte Carlo over a grid of keys, and the best point."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from preemptsim.cli.common import (
    Subparsers,
    add_scenario_options,
    check_plots,
    load,
    max_miss,
    parse_assignments,
    print_json,
    save_plot,
    whole_number,
)
from preemptsim.cli.run import ENGINES
from preemptsim.errors import UsageError

EXECUTION = ("jobs", "backend", "scheduler", "chunk_reps", "engine", "out", "resume", "force",
             "keep_chunks")  # fmt: skip


def cmd_sweep(args: argparse.Namespace) -> int:
    from preemptsim import outputs, report
    from preemptsim.grid import parse_values
    from preemptsim.sweep import sweep

    check_plots(args)
    scenario = load(args)
    pairs = parse_assignments(args.vary, "--vary")
    if len(pairs) < len(args.vary):
        raise UsageError("--vary: each key may be varied once")
    grid = {key: parse_values(key, text) for key, text in pairs.items()}
    options = {k: getattr(args, k) for k in (*EXECUTION, "objective")}
    if options["chunk_reps"] is None:  # sweep's own default
        del options["chunk_reps"]
    options["max_miss"] = max_miss(args.max_miss)
    try:
        result = sweep(scenario, grid, args.reps, args.seed, progress=True, **options)
    except KeyboardInterrupt:
        hint = f"; finish it with --resume --out {args.out}" if args.out else ""
        print(f"preemptsim: interrupted{hint}", file=sys.stderr)
        return 130
    if args.json:
        print_json(result.to_json())
    else:
        print(report.format_sweep(result))
    if args.out and not args.json:
        files = "summary.csv, runs.parquet, optimum.json, manifest.json"
        print(f"\n{files} written to {Path(args.out)}/")
    if args.plots:
        from preemptsim import plots

        tables = outputs.read_results(Path(args.out))
        for kind in plots.applicable(tables.get("summary"), tables.get("runs")):
            save_plot(kind, tables, Path(args.out) / f"{kind}.png", quiet=args.json)
    return 0


def add_sweep(commands: Subparsers) -> None:
    sw = commands.add_parser("sweep", help="Monte Carlo over a grid of keys; the best interval")
    add_scenario_options(sw, optional=False)
    sw.add_argument(
        "--vary",
        action="append",
        required=True,
        metavar="KEY=VALUES",
        help="a key and its values: 5min,10min,1h or 5min:4h:log20 or spot,greedy",
    )
    sw.add_argument(
        "--reps", type=whole_number, default=1000, help="replications per point (default 1000)"
    )
    sw.add_argument(
        "--jobs", type=whole_number, default=1, help="workers (default 1; 0 = all cores)"
    )
    sw.add_argument("--backend", choices=("process", "dask"), default="process")
    sw.add_argument("--scheduler", metavar="ADDR", help="Dask scheduler (default: a local one)")
    sw.add_argument(
        "--chunk-reps",
        type=whole_number,
        metavar="N",
        help="replications per task and per chunk file (default 250)",
    )
    sw.add_argument("--engine", choices=ENGINES, default="auto", help="simulate's engine")
    sw.add_argument("--out", metavar="DIR", help="write results here, chunk by chunk")
    sw.add_argument("--resume", action="store_true", help="finish the sweep in --out")
    sw.add_argument("--force", action="store_true", help="overwrite the sweep in --out")
    sw.add_argument(
        "--keep-chunks", action="store_true", help="keep --out/chunks/ once the sweep is done"
    )
    sw.add_argument(
        "--objective",
        choices=("cost", "wall"),
        default="cost",
        help="minimise mean cost (default) or mean wall time",
    )
    sw.add_argument(
        "--max-miss",
        metavar="P",
        help="only points whose deadline miss probability is at most P, e.g. 0.05 or 5%% "
        "(default 5%% where there is a deadline; 1 ignores the deadline)",
    )
    sw.add_argument("--json", action="store_true", help='print {"points": [...], "optimum": {...}}')
    sw.add_argument("--plots", action="store_true", help="also write the plots that apply to --out")
    sw.set_defaults(func=cmd_sweep)
