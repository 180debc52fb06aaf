"""The command line (DESIGN.md §4): parse, call the API, print or write.

Exit codes: 0 success, 1 simulation or I/O failure, 2 bad usage or bad input, 130
interrupted.  Errors are one line on stderr; ``--debug`` shows the traceback.  Each
command lives in a module of its own and imports what it needs when it runs, so that
``--help``, ``presets`` and argument errors start at once.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from preemptsim import __version__
from preemptsim.cli.advise import add_advise
from preemptsim.cli.common import Parser
from preemptsim.cli.measure import add_calibrate, add_fit, add_probe
from preemptsim.cli.optimum import add_optimum
from preemptsim.cli.plot import add_plot
from preemptsim.cli.run import add_presets, add_run
from preemptsim.cli.sweep import add_sweep
from preemptsim.errors import InputError, UsageError, printable
from preemptsim.shipped import presets

__all__ = ["build_parser", "main", "presets"]

DEBUG_HELP = "show the traceback of an error"


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="preemptsim",
        description="Should this GPU job run on spot? Cost, completion time and deadline "
        "risk of checkpointed jobs on preemptible instances, against on-demand.",
    )
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    parser.add_argument("--version", action="version", version=f"preemptsim {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    in_order = (add_advise, add_run, add_sweep, add_optimum, add_plot, add_fit, add_presets)
    for add in (*in_order, add_probe, add_calibrate):
        add(commands)
    for name, command in commands.choices.items():
        if name != "probe":  # probe passes every option on to probe.py
            command.add_argument(
                "--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP
            )
    return parser


@contextmanager
def _errors(debug: bool) -> Iterator[list[int]]:
    """Turn exceptions into one line on stderr and an exit code."""
    code = [0]
    try:
        yield code
    except InputError as exc:
        if debug:
            raise
        print(f"preemptsim: error: {printable(str(exc))}", file=sys.stderr)
        code[0] = 2
    except BrokenPipeError:  # output piped into a command that stopped reading (head)
        sys.stderr.close()
        code[0] = 0
    except (OSError, RuntimeError, ValueError) as exc:
        if debug:
            raise
        print(f"preemptsim: error: {printable(str(exc))}", file=sys.stderr)
        code[0] = 1
    except KeyboardInterrupt:
        if debug:
            raise
        print("preemptsim: interrupted", file=sys.stderr)
        code[0] = 130


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    with _errors(getattr(args, "debug", False)) as code:
        check_counts(args)
        code[0] = func(args)
    return code[0]


def check_counts(args: argparse.Namespace) -> None:
    if getattr(args, "reps", 1) < 1:
        raise UsageError(f"--reps: must be at least 1, got {args.reps}")
    if getattr(args, "seed", 0) < 0:
        raise UsageError(f"--seed: must be a non-negative integer, got {args.seed}")
