"""``preemptsim run`` and ``preemptsim presets``."""

from __future__ import annotations

import argparse
import sys
import tomllib
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from preemptsim.cli.common import (
    Subparsers,
    add_scenario_options,
    check_out,
    check_writable_file,
    load,
    print_json,
    whole_number,
)
from preemptsim.errors import UsageError
from preemptsim.shipped import presets

if TYPE_CHECKING:
    from preemptsim.fast import Engine
    from preemptsim.outputs import RunsWriter
    from preemptsim.scenario import Scenario
    from preemptsim.simulate import Tally

ENGINES = ("auto", "simpy", "fast")


def simulate_in_chunks(
    scenario: Scenario, reps: int, seed: int, engine: Engine, writer: RunsWriter | None
) -> Tally:
    """``simulate`` chunk by chunk, keeping only what the summary needs (memory bounded by
    the chunk), the rows going to ``writer`` as they come; a progress bar on a terminal."""
    from preemptsim import fast
    from preemptsim.progress import progress_bar
    from preemptsim.simulate import Tally, simulate

    chunk = 250 if engine == "simpy" or fast.unsupported(scenario) else 50_000
    tally = Tally()
    with progress_bar(reps > chunk, reps, desc=scenario.name) as bar:
        for first in range(0, reps, chunk):
            count = min(chunk, reps - first)
            runs = simulate(scenario, count, seed, first_rep=first, engine=engine)
            tally.add(runs)
            if writer is not None:
                writer.add(runs)
            bar.update(len(runs))
    return tally


def cmd_run(args: argparse.Namespace) -> int:
    scenario = load(args)  # a bad file is refused before the simulation's libraries load
    from preemptsim import calibrate, fast, memory, outputs, report
    from preemptsim.simulate import timeline

    if warning := calibrate.cpu_probe_warning(scenario):
        print(f"preemptsim: warning: {warning}", file=sys.stderr)
    if args.engine == "fast" and (reason := fast.unsupported(scenario)):
        raise UsageError(f"--engine fast cannot run this scenario: {reason}")
    memory.check_reps(args.reps, memory.RUN_BYTES_PER_REP)
    out = Path(args.out) if args.out else None
    if out is not None:
        check_out(out, args.force)
    check_writable_file(args.timeline, "--timeline")
    with outputs.staged(out) if out is not None else nullcontext() as folder:
        with outputs.RunsWriter(folder, out) if folder and out else nullcontext() as writer:
            tally = simulate_in_chunks(scenario, args.reps, args.seed, args.engine, writer)
        summary = tally.summary(scenario, seed=args.seed)
        if folder is not None and out is not None:
            outputs.write_run_summary(folder, summary, scenario, out)
    if args.timeline:
        spans = timeline(scenario, 0, args.seed)
        outputs.write_atomic(Path(args.timeline), lambda tmp: spans.to_csv(tmp, index=False))
    if args.json:
        print_json(summary)
    else:
        print(report.format_summary(summary, scenario))
        if args.out:
            print(f"\nper-replication results and summary written to {Path(args.out)}/")
    return 0


def add_run(commands: Subparsers) -> None:
    run = commands.add_parser("run", help="simulate one scenario against on-demand")
    add_scenario_options(run, optional=True)
    run.add_argument("--reps", type=whole_number, default=2000, help="replications (default 2000)")
    run.add_argument(
        "--engine",
        choices=ENGINES,
        default="auto",
        help="auto (default): the vectorised engine wherever it applies, SimPy elsewhere",
    )
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    run.add_argument(
        "--out", metavar="DIR", help="write runs.parquet, runs.csv, summary.json, scenario.json"
    )
    run.add_argument("--force", action="store_true", help="overwrite a non-empty --out")
    run.add_argument(
        "--timeline",
        metavar="FILE",
        help="write what replication 0 (SimPy engine) did, span by span, as CSV "
        "(preemptsim plot FILE draws it)",
    )
    run.set_defaults(func=cmd_run)


def cmd_presets(args: argparse.Namespace) -> int:
    for name, path in presets().items():
        description = tomllib.loads(path.read_text(encoding="utf-8")).get("description", "")
        print(f"{name:28s} {description}")
    return 0


def add_presets(commands: Subparsers) -> None:
    listing = commands.add_parser("presets", help="list the shipped scenarios")
    listing.set_defaults(func=cmd_presets)
