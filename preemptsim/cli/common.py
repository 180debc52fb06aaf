"""What the commands share: scenario names and overrides, option checks, figure files.

Imports here stay light (no pandas, scipy or matplotlib): they load with every command.
"""

from __future__ import annotations

import argparse
import json
import math
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeAlias

from preemptsim.errors import UsageError, printable, quoted
from preemptsim.shipped import DEFAULT_PRESET, scenario_path

if TYPE_CHECKING:
    from preemptsim.scenario import Scenario

Subparsers: TypeAlias = "argparse._SubParsersAction[Parser]"


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one line, ``preemptsim run: --reps: expected a whole
    number, got 'abc'`` (exit 2), not the usage block; its subcommands' parsers too."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {printable(message.removeprefix('argument '))}\n")


def whole_number(text: str) -> int:
    """An option's whole number (argparse type)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number, got {quoted(text, 40)}"
        ) from None


def positive_number(text: str) -> float:
    """An option's finite positive number (argparse type)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {quoted(text, 40)}")
    return value


def print_json(data: Any) -> None:
    """Print ``data`` as strict JSON; refuse (exit 2) what holds a non-finite number."""
    try:
        text = json.dumps(data, indent=2, allow_nan=False)
    except ValueError:
        raise UsageError(
            "the results overflow (a non-finite number): the scenario's values are too large"
        ) from None
    print(text)


def check_writable_file(out: str | None, flag: str) -> None:
    """A FILE option (``--timeline``, calibrate's ``--out``): not a folder, checked before
    any work."""
    if out is not None and (Path(out).is_dir() or out.endswith(("/", "\\"))):
        raise UsageError(f"{flag} {printable(out)}: is a folder; expected a file name")


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
    """The scenario named on the command line, with its ``--set`` overrides."""
    from preemptsim.scenario import load_scenario

    scenario = load_scenario(scenario_path(args.scenario))
    overrides = parse_assignments(args.set or [], "--set")
    return scenario.with_values({k: parse_value(v) for k, v in overrides.items()})


def max_miss(text: str | None) -> float | None:
    """``--max-miss``: a probability or a percentage; None where not given."""
    from preemptsim.units import parse_probability

    if text is None:
        return None
    try:
        return parse_probability(text)
    except ValueError as exc:
        raise UsageError(f"--max-miss: {exc}") from None


def check_out(out: Path, force: bool) -> None:
    """A run's --out: a new or empty folder, or one that --force lets us overwrite."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise UsageError(f"--out {out}: exists and is not empty; add --force to overwrite")


def check_plots(args: argparse.Namespace) -> None:
    if args.plots and not args.out:
        raise UsageError("--plots needs --out DIR: the plots are written beside the results")


def add_scenario_options(parser: argparse.ArgumentParser, *, optional: bool) -> None:
    """The scenario argument, ``--set`` and ``--seed`` (each command sets its own ``--reps``)."""
    if optional:
        what = f"scenario file or preset name (default: {DEFAULT_PRESET})"
        parser.add_argument("scenario", nargs="?", help=what)
    else:
        parser.add_argument("scenario", help="scenario file or preset name")
    parser.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="override a scenario key"
    )
    parser.add_argument("--seed", type=whole_number, default=1, help="random seed (default 1)")


def save_plot(kind: str, tables: dict[str, Any], out: Path, *, quiet: bool = False) -> None:
    """Draw one figure (plots.figure) and write it atomically, PNG or SVG by extension."""
    from preemptsim import plots

    if out.suffix.lower() not in (".png", ".svg"):
        raise UsageError(f"--out {out}: must end in .png or .svg")
    save_figure(plots.figure(kind, **tables), out, quiet=quiet, what=kind)


def save_figure(
    fig: Any, out: Path, *, quiet: bool = False, what: str | None = None, shown: Path | None = None
) -> None:
    """Write a matplotlib figure atomically, PNG or SVG by the extension; ``shown``: where
    messages say it goes (``out`` in a staged folder: then nothing is printed)."""
    from preemptsim import outputs

    fmt = out.suffix.lower()[1:]
    outputs.write_atomic(out, lambda tmp: fig.savefig(tmp, format=fmt, dpi=120), shown)
    if not quiet and shown is None:
        print(f"{what or out.stem} plot written to {out}")
