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
from typing import Any, TypeAlias

import pandas as pd

from preemptsim import calibrate, fast, outputs, report
from preemptsim.grid import parse_values
from preemptsim.scenario import Scenario, ScenarioError, load_scenario
from preemptsim.simulate import simulate, summarize, timeline
from preemptsim.sweep import DEFAULT_CHUNK_REPS, sweep
from preemptsim.units import parse_probability

DEFAULT_PRESET = "runpod-a6000-lora-7b"
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


DEBUG_HELP = "show the traceback of an error"


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


def simulate_with_progress(
    scenario: Scenario, reps: int, seed: int, engine: fast.Engine = "auto"
) -> pd.DataFrame:
    """``simulate`` in chunks, with a progress bar when stderr is a terminal."""
    chunk = 250 if engine == "simpy" or fast.unsupported(scenario) else 50_000
    if not sys.stderr.isatty() or reps <= chunk:
        return simulate(scenario, reps, seed, engine=engine)
    from tqdm import tqdm

    parts = []
    with tqdm(total=reps, unit="run", desc=scenario.name, leave=False) as bar:
        for first in range(0, reps, chunk):
            count = min(chunk, reps - first)
            parts.append(simulate(scenario, count, seed, first_rep=first, engine=engine))
            bar.update(len(parts[-1]))
    return pd.concat(parts, ignore_index=True)


def max_miss(text: str | None) -> float | None:
    """``--max-miss``: a probability or a percentage; None where not given."""
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


def cmd_run(args: argparse.Namespace) -> int:
    scenario = load(args)
    if warning := calibrate.cpu_probe_warning(scenario):
        print(f"preemptsim: warning: {warning}", file=sys.stderr)
    if args.engine == "fast" and (reason := fast.unsupported(scenario)):
        raise UsageError(f"--engine fast cannot run this scenario: {reason}")
    if args.out:
        check_out(Path(args.out), args.force)
    runs = simulate_with_progress(scenario, args.reps, args.seed, args.engine)
    summary = summarize(runs, scenario, seed=args.seed)
    if args.out:
        outputs.write_run(Path(args.out), runs, summary, scenario)
    if args.timeline:
        spans = timeline(scenario, 0, args.seed)
        outputs.write_atomic(Path(args.timeline), lambda tmp: spans.to_csv(tmp, index=False))
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(report.format_summary(summary, scenario))
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
    run.add_argument(
        "--engine",
        choices=("auto", "simpy", "fast"),
        default="auto",
        help="auto (default): the vectorised engine wherever it applies, SimPy elsewhere",
    )
    run.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a scenario key")
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


def add_presets(commands: Subparsers) -> None:
    listing = commands.add_parser("presets", help="list the shipped scenarios")
    listing.set_defaults(func=cmd_presets)


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
    path = resolve_scenario(args.scenario)
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


def add_calibrate(commands: Subparsers) -> None:
    cal = commands.add_parser("calibrate", help="write a scenario with the timings of a probe file")
    cal.add_argument("probe", help="probe JSON written by `preemptsim probe`")
    cal.add_argument("--scenario", required=True, help="scenario file or preset name")
    cal.add_argument(
        "--model-params",
        type=calibrate.parse_params,
        metavar="N",
        help="parameters of the model, e.g. 7e9 or 7B (default: the scenario's "
        "calibration.model_params, else the probe's largest size)",
    )
    cal.add_argument(
        "--trainable-params",
        type=calibrate.parse_params,
        metavar="N",
        help="parameters that train and are saved, e.g. 40M for a LoRA adapter (default: "
        "calibration.trainable_params, else the probe's trained share of the model)",
    )
    cal.add_argument(
        "--bytes-per-param",
        type=float,
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


def cmd_sweep(args: argparse.Namespace) -> int:
    if args.plots and not args.out:
        raise UsageError("--plots needs --out DIR: the plots are written beside the results")
    scenario = load(args)
    pairs = parse_assignments(args.vary, "--vary")
    if len(pairs) < len(args.vary):
        raise UsageError("--vary: each key may be varied once")
    grid = {key: parse_values(key, text) for key, text in pairs.items()}
    names = ("jobs", "backend", "scheduler", "chunk_reps", "engine", "out", "resume", "force")
    options = {k: getattr(args, k) for k in (*names, "objective")}
    options["max_miss"] = max_miss(args.max_miss)
    try:
        result = sweep(scenario, grid, args.reps, args.seed, progress=True, **options)
    except KeyboardInterrupt:
        hint = f"; finish it with --resume --out {args.out}" if args.out else ""
        print(f"preemptsim: interrupted{hint}", file=sys.stderr)
        return 130
    print(json.dumps(result.to_json(), indent=2) if args.json else report.format_sweep(result))
    if args.out and not args.json:
        print(f"\nsummary.csv, runs.parquet, optimum.json, manifest.json written to {args.out}/")
    if args.plots:
        from preemptsim import plots

        tables = outputs.read_results(Path(args.out))
        for kind in plots.applicable(tables.get("summary"), tables.get("runs")):
            save_plot(kind, tables, Path(args.out) / f"{kind}.png", quiet=args.json)
    return 0


def add_sweep(commands: Subparsers) -> None:
    sw = commands.add_parser("sweep", help="Monte Carlo over a grid of keys; the best interval")
    sw.add_argument("scenario", help="scenario file or preset name")
    sw.add_argument(
        "--vary",
        action="append",
        required=True,
        metavar="KEY=VALUES",
        help="a key and its values: 5min,10min,1h or 5min:4h:log20 or spot,greedy",
    )
    sw.add_argument("--reps", type=int, default=1000, help="replications per point (default 1000)")
    sw.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    sw.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a scenario key")
    sw.add_argument("--jobs", type=int, default=1, help="workers (default 1; 0 = all cores)")
    sw.add_argument("--backend", choices=("process", "dask"), default="process")
    sw.add_argument("--scheduler", metavar="ADDR", help="Dask scheduler (default: a local one)")
    sw.add_argument(
        "--chunk-reps",
        type=int,
        default=DEFAULT_CHUNK_REPS,
        metavar="N",
        help=f"replications per task and per chunk file (default {DEFAULT_CHUNK_REPS})",
    )
    sw.add_argument(
        "--engine", choices=("auto", "simpy", "fast"), default="auto", help="simulate's engine"
    )
    sw.add_argument("--out", metavar="DIR", help="write results here, chunk by chunk")
    sw.add_argument("--resume", action="store_true", help="finish the sweep in --out")
    sw.add_argument("--force", action="store_true", help="overwrite the sweep in --out")
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


def cmd_advise(args: argparse.Namespace) -> int:
    from preemptsim.advise import advise

    if args.plots and not args.out:
        raise UsageError("--plots needs --out DIR: the plots are written beside the results")
    scenario = load(args)
    if args.out:
        check_out(Path(args.out), args.force)
    found = advise(scenario, max_miss=max_miss(args.max_miss), reps=args.reps, seed=args.seed)
    print(json.dumps(outputs.plain_json(found.to_json()), indent=2) if args.json
          else report.format_advice(found))  # fmt: skip
    if args.out:
        outputs.write_advice(Path(args.out), found.to_json(), found.candidates, scenario)
        if args.plots:
            from preemptsim.advice_plots import advice_figures

            for name, fig in advice_figures(found).items():
                save_figure(fig, Path(args.out) / f"{name}.png", quiet=args.json)
    return 0


def add_advise(commands: Subparsers) -> None:
    adv = commands.add_parser(
        "advise", help="the policy and checkpoint interval to run a job with, and its break-even"
    )
    adv.add_argument(
        "scenario", nargs="?", help=f"scenario file or preset name (default: {DEFAULT_PRESET})"
    )
    adv.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a scenario key")
    adv.add_argument(
        "--max-miss",
        metavar="P",
        help="the deadline-miss probability allowed, e.g. 0.05 or 5%% (default 5%%)",
    )
    adv.add_argument("--reps", type=int, default=500, help="replications a point (default 500)")
    adv.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    adv.add_argument("--json", action="store_true", help="print the advice as JSON")
    adv.add_argument("--out", metavar="DIR", help="write advice.json and candidates.csv")
    adv.add_argument("--force", action="store_true", help="overwrite a non-empty --out")
    adv.add_argument(
        "--plots", action="store_true", help="also write pareto.png and interval.png to --out"
    )
    adv.set_defaults(func=cmd_advise)


def save_plot(kind: str, tables: dict[str, Any], out: Path, *, quiet: bool = False) -> None:
    """Draw one figure (plots.figure) and write it atomically, PNG or SVG by extension."""
    from preemptsim import plots

    if out.suffix.lower() not in (".png", ".svg"):
        raise UsageError(f"--out {out}: must end in .png or .svg")
    save_figure(plots.figure(kind, **tables), out, quiet=quiet, what=kind)


def save_figure(fig: Any, out: Path, *, quiet: bool = False, what: str | None = None) -> None:
    """Write a matplotlib figure atomically, PNG or SVG by the extension."""
    fmt = out.suffix.lower()[1:]
    outputs.write_atomic(out, lambda tmp: fig.savefig(tmp, format=fmt, dpi=120))
    if not quiet:
        print(f"{what or out.stem} plot written to {out}")


def cmd_plot(args: argparse.Namespace) -> int:
    from preemptsim import plots

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="preemptsim",
        description="Should this GPU job run on spot? Cost, completion time and deadline "
        "risk of checkpointed jobs on preemptible instances, against on-demand.",
    )
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands_in_order = (add_advise, add_run, add_sweep, add_plot, add_fit, add_presets)
    for add in (*commands_in_order, add_probe, add_calibrate):
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
    except (ScenarioError, UsageError, calibrate.CalibrationError) as exc:
        if debug:
            raise
        print(f"preemptsim: error: {exc}", file=sys.stderr)
        code[0] = 2
    except BrokenPipeError:  # output piped into a command that stopped reading (head)
        sys.stderr.close()
        code[0] = 0
    except (OSError, RuntimeError, ValueError) as exc:
        if debug:
            raise
        print(f"preemptsim: error: {exc}", file=sys.stderr)
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


if __name__ == "__main__":
    raise SystemExit(main())
