"""Commands that rest scenarios on measurements: ``probe``, ``calibrate`` and ``fit``."""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

from preemptsim.cli.common import Subparsers, check_writable_file, positive_number
from preemptsim.errors import UsageError
from preemptsim.shipped import scenario_path

PROBE_NEEDS_TORCH = "preemptsim probe needs PyTorch: pip install 'preemptsim[probe]'"


def cmd_probe(args: argparse.Namespace) -> int:
    from preemptsim import probe

    if not probe.HAS_TORCH:
        raise UsageError(PROBE_NEEDS_TORCH)
    return probe.main(args.probe_args)


def add_probe(commands: Subparsers) -> None:
    # Every word after "probe" goes to probe.py's own parser (its --help lists them): a
    # prefix no option uses keeps argparse from reading them as options of this parser.
    probe = commands.add_parser(
        "probe",
        help="measure step and checkpoint times on this machine (needs PyTorch)",
        usage="preemptsim probe [--out FILE] [--params 125M,350M] [--dir PATH] "
        "[--method torch.save|dcp|dcp-async] [--trainable SHARE] [--device auto|cuda|cpu] "
        "[...]  (preemptsim probe --help lists them)",
        add_help=False,
        prefix_chars="\x00",
    )
    probe.add_argument("probe_args", nargs="*", help=argparse.SUPPRESS)
    probe.set_defaults(func=cmd_probe)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from preemptsim import calibrate, outputs
    from preemptsim.scenario import load_scenario

    path = scenario_path(args.scenario)
    check_writable_file(args.out, "--out")
    load_scenario(path)  # a bad scenario fails here, with its own message
    out = Path(args.out) if args.out else None
    text = calibrate.calibrated_scenario(
        path,
        args.probe,
        args.model_params,
        trainable_params=args.trainable_params,
        bytes_per_param=args.bytes_per_param,
        out_dir=out.parent if out else None,
    )
    load_scenario(tomllib.loads(text))
    if warning := calibrate.cpu_line(args.probe, calibrate.load_probe(args.probe)):
        print(f"preemptsim: warning: {warning}", file=sys.stderr)
    if out is None:
        print(text, end="")
    else:
        outputs.write_atomic(out, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        print(f"calibrated scenario written to {out}", file=sys.stderr)
    return 0


def _params(text: str) -> int:
    """A parameter count for argparse (calibrate.parse_params, imported when given)."""
    from preemptsim.calibrate import parse_params

    return parse_params(text)


def add_calibrate(commands: Subparsers) -> None:
    cal = commands.add_parser("calibrate", help="write a scenario with the timings of a probe file")
    cal.add_argument("probe", help="probe JSON written by `preemptsim probe`")
    cal.add_argument("--scenario", required=True, help="scenario file or preset name")
    cal.add_argument(
        "--model-params",
        type=_params,
        metavar="N",
        help="parameters of the model, e.g. 7e9 or 7B (default: the scenario's "
        "calibration.model_params, else the probe's largest size)",
    )
    cal.add_argument(
        "--trainable-params",
        type=_params,
        metavar="N",
        help="parameters that train and are saved, e.g. 40M for a LoRA adapter (default: "
        "calibration.trainable_params, else the probe's trained share of the model)",
    )
    cal.add_argument(
        "--bytes-per-param",
        type=positive_number,
        metavar="B",
        help="checkpoint bytes per trained parameter (default: as the probe measured)",
    )
    cal.add_argument("--out", metavar="FILE", help="write the TOML here (default: print it)")
    cal.set_defaults(func=cmd_calibrate)


def cmd_fit(args: argparse.Namespace) -> int:
    from preemptsim.fitting import FitError, text

    try:
        return text.command(args.source, args.model, args.out)
    except FitError as exc:
        raise UsageError(str(exc)) from None


def add_fit(commands: Subparsers) -> None:
    fit = commands.add_parser("fit", help="fit interruption models to a trace or a log")
    fit.add_argument(
        "source", metavar="SOURCE", help="availability trace (JSON or CSV) or interruption log CSV"
    )
    fit.add_argument(
        "--model",
        choices=("poisson", "weibull", "hourly", "all"),
        default="all",
        help="the model to fit and write (default all: compare the three, write the best)",
    )
    fit.add_argument("--out", metavar="FILE", help="write the [interruptions] table here")
    fit.set_defaults(func=cmd_fit)
