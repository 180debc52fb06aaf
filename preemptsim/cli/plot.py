"""``preemptsim plot``: draw a sweep's or a run's results, or a timeline."""

from __future__ import annotations

import argparse
from pathlib import Path

from preemptsim.cli.common import Subparsers, save_plot
from preemptsim.errors import UsageError


def cmd_plot(args: argparse.Namespace) -> int:
    from preemptsim import outputs, plots

    source = Path(args.results)
    tables = outputs.read_results(source)
    kinds = ["timeline"] if "spans" in tables else []
    kinds += plots.applicable(tables.get("summary"), tables.get("runs"))
    if not kinds:
        raise UsageError(f"{source}: no plot applies (no interval sweep, deadline or runs)")
    kind = args.kind or kinds[0]
    folder = source.parent if source.is_file() else source
    default = source.with_suffix(".png") if source.is_file() else folder / f"{kind}.png"
    save_plot(kind, tables, Path(args.out) if args.out else default)
    return 0


def add_plot(commands: Subparsers) -> None:
    plot = commands.add_parser("plot", help="draw a sweep's or a run's results, or a timeline")
    what = "the --out folder of a sweep or a run, or a timeline CSV (run --timeline)"
    plot.add_argument("results", metavar="RESULTS", help=what)
    plot.add_argument(
        "--kind",
        choices=("interval", "risk", "cdf", "timeline"),
        help="default: timeline for a CSV, else the first that applies of interval, risk, cdf",
    )
    plot.add_argument("--out", metavar="FILE", help="PNG or SVG (default: RESULTS/KIND.png)")
    plot.set_defaults(func=cmd_plot)
