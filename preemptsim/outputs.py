"""Result files written atomically, and summaries formatted for a person."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from preemptsim.scenario import Scenario
from preemptsim.units import format_duration


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Write a file through ``write(tmp_path)`` then rename it into place: never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path: Path, data: Any) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2) + "\n"))


def write_run(folder: Path, runs: pd.DataFrame, summary: dict[str, Any]) -> None:
    """One scenario's replications (Parquet and CSV) and its summary (JSON)."""
    write_atomic(folder / "runs.parquet", lambda tmp: runs.to_parquet(tmp, index=False))
    write_atomic(folder / "runs.csv", lambda tmp: runs.to_csv(tmp, index=False))
    write_json(folder / "summary.json", summary)


def _trio(stats: dict[str, float], fmt: str) -> str:
    return " / ".join(format(stats[k], fmt) for k in ("mean", "p50", "p95"))


def format_summary(summary: dict[str, Any], scenario: Scenario) -> str:
    """The spot-against-on-demand table that ``preemptsim run`` prints."""
    on_demand = summary["on_demand"]
    policy = scenario.policy.kind.replace("_", "-")
    lines = [
        f"{summary['scenario']}: {scenario.description}",
        f"{summary['reps']} replications, seed {summary['seed']}, policy {policy}, "
        f"checkpoint every {format_duration(scenario.checkpoint.interval)} of work",
        "",
        f"{'':22s}{'spot: mean / p50 / p95':>30s}{'on-demand':>14s}",
        f"{'wall time (h)':22s}{_trio(summary['wall_h'], '.2f'):>30s}{on_demand['wall_h']:>14.2f}",
        f"{'cost (USD)':22s}{_trio(summary['cost_usd'], ',.2f'):>30s}"
        f"{on_demand['cost_usd']:>14,.2f}",
        f"{'interruptions':22s}{summary['interruptions']['mean']:>30.2f}{0:>14d}",
        f"{'lost work (h)':22s}{summary['lost_work_h']['mean']:>30.2f}{0:>14d}",
        f"{'billed instance-h':22s}{summary['billed_instance_h']['mean']:>30.2f}"
        f"{on_demand['wall_h'] * scenario.job.instances:>14.2f}",
    ]
    miss = summary["deadline_miss_prob"]
    if miss is not None:
        deadline = format_duration(scenario.policy.deadline or 0.0)
        low, high = miss["ci95"]
        met = "met" if on_demand["wall_h"] * 3600 <= (scenario.policy.deadline or 0) else "missed"
        risk = f"{miss['value']:.1%} [{low:.1%}, {high:.1%}]"
        lines.append(f"{'deadline miss (' + deadline + ')':22s}{risk:>30s}{met:>14s}")
    savings = summary["savings_vs_on_demand"]
    word = "saves" if savings >= 0 else "costs"
    lines += [
        "",
        f"spot {word} {abs(savings):.1%} against on-demand "
        f"(${summary['cost_usd']['mean']:,.2f} vs ${on_demand['cost_usd']:,.2f} mean cost), "
        f"and takes {summary['wall_h']['mean'] / on_demand['wall_h']:.2f}x as long on average.",
    ]
    return "\n".join(lines)
