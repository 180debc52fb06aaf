"""Requests that cannot fit in memory, refused before anything is allocated (DESIGN.md §4).

The estimates are per replication row and generous: a refusal says what was asked, what it
needs, what is available and how many replications would fit.
"""

from __future__ import annotations

import os
from pathlib import Path

from preemptsim.errors import UsageError

# bench/memory_bench.py measured 121 (run) and 358 (sweep, 4 points) bytes a replication
RUN_BYTES_PER_REP = 128  # Tally's four float64 a replication, their joined copies, a sort
SWEEP_BYTES_PER_REP = 400  # every row (17 columns and the varied keys), and its copies
FALLBACK_BYTES = 8 * 2**30  # where the system does not say what is available
GB = 1e9


def available_bytes() -> int:
    """Memory available to a new allocation: MemAvailable on Linux, else the free pages."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return FALLBACK_BYTES


def check_reps(reps: int, bytes_per_rep: int, points: int = 1) -> None:
    """Refuse ``points`` × ``reps`` replications needing more than the memory available."""
    available = available_bytes()
    need = points * reps * bytes_per_rep
    if need <= available:
        return
    most = max(available // (points * bytes_per_rep), 0)
    grid = f" at each of {points} grid points" if points > 1 else ""
    raise UsageError(
        f"--reps: {reps} replications{grid} need about {need / GB:.3g} GB of memory, over "
        f"the {available / GB:.3g} GB available; at most {most} fit"
    )
