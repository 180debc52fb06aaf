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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.test_startup import SCRIPT  # the probe the start-up tests run

HEAVY = ("pandas", "scipy", "matplotlib", "simpy", "pydantic", "numpy")
COMMANDS = {
    "python -c pass": None,
    "preemptsim --help": ["--help"],
    "preemptsim presets": ["presets"],
    "preemptsim run --reps abc": ["run", "--reps", "abc"],
    "preemptsim run --reps 200": ["run", "--reps", "200"],
}


def timed(args: list[str] | None) -> tuple[float, str]:
    code = "pass" if args is None else SCRIPT.format(args=args, heavy=HEAVY)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    marked = [line for line in done.stderr.splitlines() if line.startswith("loaded:")]
    return elapsed, marked[-1].removeprefix("loaded:").strip() if marked else ""


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
