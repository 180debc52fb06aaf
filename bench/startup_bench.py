"""Start-up time of the command line beside the interpreter's own (issue 10).

    python bench/startup_bench.py [--repeat 7]

Prints the median wall time of `python -c pass`, `preemptsim --help`, `preemptsim presets`,
an argument error, and `preemptsim run` on the default preset (--reps 200), each a fresh
process, and which heavy modules each imported.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

HEAVY = ("pandas", "scipy", "matplotlib", "simpy", "pydantic", "numpy")
PROBE = """
import sys, runpy
sys.argv = ["preemptsim", *{args!r}]
try:
    runpy.run_module("preemptsim", run_name="__main__")
except SystemExit:
    pass
print("imported:", *(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)
"""
COMMANDS = {
    "python -c pass": None,
    "preemptsim --help": ["--help"],
    "preemptsim presets": ["presets"],
    "preemptsim run --reps abc": ["run", "--reps", "abc"],
    "preemptsim run --reps 200": ["run", "--reps", "200"],
}


def timed(args: list[str] | None) -> tuple[float, str]:
    code = "pass" if args is None else PROBE.format(args=args, heavy=HEAVY)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    marked = [line for line in done.stderr.splitlines() if line.startswith("imported:")]
    return elapsed, marked[-1].removeprefix("imported:").strip() if marked else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    repeat = parser.parse_args().repeat
    print(f"{'command':30s} {'median s':>9s}  heavy modules imported")
    for name, args in COMMANDS.items():
        runs = [timed(args) for _ in range(repeat)]
        median_s = statistics.median(r[0] for r in runs)
        print(f"{name:30s} {median_s:9.3f}  {runs[-1][1] or '-'}")


if __name__ == "__main__":
    main()
