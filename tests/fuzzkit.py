"""What the fuzz suite needs: one in-process call of the command line, judged.

A call is clean when it exits 0, or exits 2 with one line on stderr and no traceback,
within a time bound and an address-space bound (RLIMIT_AS above what the process holds);
with ``--json`` the output must be strict JSON (no NaN or Infinity).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import resource
import signal
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from preemptsim import cli

TIME_LIMIT_S = 6.0
SPARE_BYTES = 3 * 1024**3  # address space a call may add to what the process holds


class Hang(BaseException):
    """Raised by the alarm when a call runs past its time limit."""


@dataclass(frozen=True)
class Outcome:
    code: int | str
    out: str
    err: str
    seconds: float

    @property
    def problem(self) -> str | None:
        """Why this call was not handled cleanly, or None."""
        lines = self.err.strip().splitlines()
        if self.code in ("hang", "memory", "traceback"):
            return f"{self.code}: {self.err.strip()[-300:]}"
        if self.code == 2 and (len(lines) != 1 or "Traceback" in self.err):
            return f"unclear ({len(lines)} lines): {self.err.strip()[:300]}"
        if self.code not in (0, 2):
            return f"exit {self.code}: {self.err.strip()[:300]}"
        return None


@contextlib.contextmanager
def _bounded(seconds: float) -> Iterator[None]:
    def ring(signum: int, frame: Any) -> None:
        raise Hang

    old_handler = signal.signal(signal.SIGALRM, ring)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    held = _address_space_bytes()
    limit = held + SPARE_BYTES if hard == resource.RLIM_INFINITY else min(hard, held + SPARE_BYTES)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        signal.signal(signal.SIGALRM, old_handler)


def _address_space_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


def call(argv: Sequence[str], limit_s: float = TIME_LIMIT_S) -> Outcome:
    """``preemptsim ARGV`` in this process: exit code (or hang/memory/traceback), output."""
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    code: int | str
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            with _bounded(limit_s):
                code = cli.main(list(argv))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except Hang:
            code = "hang"
        except MemoryError:
            code = "memory"
        except BaseException:
            code = "traceback"
            err.write(traceback.format_exc())
    return Outcome(code, out.getvalue(), err.getvalue(), time.perf_counter() - start)


def _refuse_constant(name: str) -> float:
    raise ValueError(f"non-finite number {name} in JSON output")


def strict_json(text: str) -> Any:
    """``text`` parsed as JSON that holds finite numbers only."""
    return json.loads(text, parse_constant=_refuse_constant)


def assert_clean(argv: Sequence[str], *, refused: bool | None = None) -> Outcome:
    """Run ``argv``; fail unless clean.  ``refused``: True when it must exit 2, False 0."""
    outcome = call(argv)
    assert outcome.problem is None, f"{list(argv)}: {outcome.problem}"
    if refused is not None:
        assert outcome.code == (2 if refused else 0), (
            f"{list(argv)}: exit {outcome.code}, {outcome.err}"
        )
    if outcome.code == 0 and "--json" in argv:
        strict_json(outcome.out)
    return outcome


BASE: dict[str, Any] = {
    "name": "fuzz",
    "job": {"work": "2h"},
    "checkpoint": {"interval": "30min", "write": "1min"},
    "restart": {"provision": "1min", "restore": "1min"},
    "interruptions": {"model": "poisson", "mtbi": "3h"},
    "pricing": {"spot_usd_per_hour": 1.0, "on_demand_usd_per_hour": 3.0},
}


def with_keys(data: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of ``data`` with dotted keys set (a missing table is made)."""
    out = json.loads(json.dumps(data))
    for key, value in values.items():
        *parents, leaf = key.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {}) if isinstance(node.get(part, {}), dict) else {}
        node[leaf] = value
    return out


def write_toml(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


def is_finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
