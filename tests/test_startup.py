"""Start-up is part of the interface (issue 10): the commands that answer at once must
not load the heavy libraries. What each imported is read in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("pandas", "scipy", "matplotlib")
SCRIPT = """
import runpy, sys
sys.argv = ["preemptsim", *{args!r}]
try:
    runpy.run_module("preemptsim", run_name="__main__")
except SystemExit:
    pass
print("loaded:", *sorted(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)
"""


def loaded(*args: str) -> set[str]:
    """The heavy modules that ``preemptsim ARGS`` imported."""
    code = SCRIPT.format(args=list(args), heavy=HEAVY)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith("loaded:"), done.stderr
    return set(line.split()[1:])


@pytest.mark.parametrize(
    "args",
    [("--help",), ("presets",), ("run", "--reps", "abc"), ("sweep", "--help"), ("nonsense",)],
)
def test_answers_without_heavy_libraries(args: tuple[str, ...]) -> None:
    assert loaded(*args) == set()


def test_a_run_loads_pandas_alone() -> None:
    # The default preset draws no lognormal and asks for no closed form: no scipy.
    assert loaded("run", "--reps", "20") == {"pandas"}
