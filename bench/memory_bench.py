"""Peak memory of `run` and `sweep` against replications: the bytes a replication costs.

    python bench/memory_bench.py

Each command runs in a fresh interpreter; the slope between two sizes is the cost of one
more replication (what memory.py's RUN_BYTES_PER_REP and SWEEP_BYTES_PER_REP must cover).
"""

from __future__ import annotations

import subprocess
import sys

PEAK = (
    "import resource, sys; from preemptsim.cli import main; main(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)"
)


def peak_bytes(args: list[str]) -> int:
    done = subprocess.run([sys.executable, "-c", PEAK, *args], capture_output=True, text=True)
    return int(done.stderr.strip().splitlines()[-1]) * 1024  # ru_maxrss: KiB on Linux


def slope(command: list[str], sizes: tuple[int, int], rows_each: int) -> float:
    small, large = (peak_bytes([*command, "--reps", str(n)]) for n in sizes)
    return (large - small) / ((sizes[1] - sizes[0]) * rows_each)


def main() -> None:
    run = slope(["run"], (200_000, 1_000_000), 1)
    print(f"run: {run:.0f} bytes a replication")
    grid = ["--vary", "checkpoint.interval=10min,20min,40min,80min"]
    sweep = slope(["sweep", "runpod-a6000-lora-7b", *grid], (20_000, 100_000), 4)
    print(f"sweep: {sweep:.0f} bytes a replication and grid point")


if __name__ == "__main__":
    main()
