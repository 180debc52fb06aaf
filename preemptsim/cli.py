"""The command line (DESIGN.md §4): parse, call the API, print or write.

Exit codes: 0 success, 1 simulation or I/O failure, 2 bad usage or bad input.  Errors are
one line on stderr; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from preemptsim import outputs
from preemptsim.scenario import Scenario, ScenarioError, load_scenario
from preemptsim.simulate import simulate, summarize

DEFAULT_PRESET = "runpod-a6000-lora-7b"
Subparsers = argparse._SubParsersAction  # type: ignore[type-arg]


class UsageError(Exception):
    """Bad usage or input: exit code 2."""


def presets() -> dict[str, Path]:
    """The shipped scenarios by name: scenarios/ of a source tree, or the installed copy."""
    package = Path(__file__).resolve().parent
    folders = [package.parent / "scenarios", package / "presets"]
    folder = next((f for f in folders if f.is_dir()), folders[-1])
    return {path.stem: path for path in sorted(folder.glob("*.toml"))}


def resolve_scenario(name: str | None) -> Path:
    """A scenario path from a path or a preset name (the RunPod preset when None)."""
    name = name or DEFAULT_PRESET
    path = Path(name)
    if path.exists() or path.suffix == ".toml":
        return path
    known = presets()
    if name not in known:
        raise UsageError(f"{name}: no such scenario file or preset ({', '.join(known)})")
    return known[name]


def parse_value(text: str) -> Any:
    """A ``--set`` value: a TOML value (number, bool, list, table) or else a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_assignments(items: Sequence[str], flag: str) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"{flag} {item!r}: expected KEY=VALUE")
        pairs[key.strip()] = value.strip()
    return pairs


def load(args: argparse.Namespace) -> Scenario:
    scenario = load_scenario(resolve_scenario(args.scenario))
    overrides = parse_assignments(args.set or [], "--set")
    return scenario.with_values({k: parse_value(v) for k, v in overrides.items()})


def simulate_with_progress(scenario: Scenario, reps: int, seed: int) -> pd.DataFrame:
    """``simulate`` in chunks, with a progress bar when stderr is a terminal."""
    chunk = 250
    if not sys.stderr.isatty() or reps <= chunk:
        return simulate(scenario, reps, seed)
    from tqdm import tqdm

    parts = []
    with tqdm(total=reps, unit="run", desc=scenario.name, leave=False) as bar:
        for first in range(0, reps, chunk):
            parts.append(simulate(scenario, min(chunk, reps - first), seed, first_rep=first))
            bar.update(len(parts[-1]))
    return pd.concat(parts, ignore_index=True)


def cmd_run(args: argparse.Namespace) -> int:
    scenario = load(args)
    runs = simulate_with_progress(scenario, args.reps, args.seed)
    summary = summarize(runs, scenario, seed=args.seed)
    if args.out:
        outputs.write_run(Path(args.out), runs, summary)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(outputs.format_summary(summary, scenario))
        if args.out:
            print(f"\nper-replication results and summary written to {args.out}/")
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    for name, path in presets().items():
        print(f"{name:28s} {load_scenario(path).description}")
    return 0


def add_run(commands: Subparsers) -> None:
    run = commands.add_parser("run", help="simulate one scenario against on-demand")
    run.add_argument(
        "scenario", nargs="?", help=f"scenario file or preset name (default: {DEFAULT_PRESET})"
    )
    run.add_argument("--reps", type=int, default=2000, help="replications (default 2000)")
    run.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    run.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a scenario key")
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    run.add_argument("--out", metavar="DIR", help="write runs.parquet, runs.csv, summary.json")
    run.set_defaults(func=cmd_run)


def add_presets(commands: Subparsers) -> None:
    listing = commands.add_parser("presets", help="list the shipped scenarios")
    listing.set_defaults(func=cmd_presets)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="preemptsim",
        description="Should this GPU job run on spot? Cost, completion time and deadline "
        "risk of checkpointed jobs on preemptible instances, against on-demand.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (add_run, add_presets):
        add(commands)
    return parser


@contextmanager
def _errors(debug: bool) -> Iterator[list[int]]:
    """Turn exceptions into one line on stderr and an exit code."""
    code = [0]
    try:
        yield code
    except (ScenarioError, UsageError) as exc:
        if debug:
            raise
        print(f"preemptsim: error: {exc}", file=sys.stderr)
        code[0] = 2
    except (OSError, RuntimeError, ValueError) as exc:
        if debug:
            raise
        print(f"preemptsim: error: {exc}", file=sys.stderr)
        code[0] = 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "reps", 1) < 1:
        parser.error("--reps must be at least 1")
    func: Callable[[argparse.Namespace], int] = args.func
    with _errors(args.debug) as code:
        code[0] = func(args)
    return code[0]


if __name__ == "__main__":
    raise SystemExit(main())
