"""Shared builders: small scenarios written out in full, so each test states its numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import preemptsim as ps


def scenario(**tables: dict[str, Any]) -> ps.Scenario:
    """A scenario with round numbers (W = 10 h, τ = 2 h, C = 10 min, D = 5 min, R = 15 min,
    spot $1/h, on-demand $3/h), tables updated key by key from ``tables``."""
    data: dict[str, Any] = {
        "name": "test",
        "job": {"work": "10h"},
        "checkpoint": {"interval": "2h", "write": "10min"},
        "restart": {"provision": "5min", "restore": "15min"},
        "interruptions": {"model": "none"},
        "pricing": {"spot_usd_per_hour": 1.0, "on_demand_usd_per_hour": 3.0},
    }
    for table, values in tables.items():
        data[table] = {**data.get(table, {}), **values}
    return ps.load_scenario(data)


def small_job_toml(name: str, deadline: str) -> str:
    """A scenario file: 10 h on one spot instance, 30 min segments, Poisson every 3 h."""
    return f"""\
name = "{name}"
description = "10 h on one spot instance, Poisson interruptions every 3 h"
[job]
work = "10h"
[checkpoint]
interval = "30min"
write = "2min"
[restart]
provision = "3min"
restore = "2min"
[interruptions]
model = "poisson"
mtbi = "3h"
[pricing]
spot_usd_per_hour = 1.0
on_demand_usd_per_hour = 3.0
[policy]
deadline = "{deadline}"
"""


def write_small_job(folder: Path, name: str, deadline: str) -> Path:
    """``small_job_toml`` written to ``folder``/scenario.toml; its path."""
    path = folder / "scenario.toml"
    path.write_text(small_job_toml(name, deadline))
    return path


@pytest.fixture
def make() -> Any:
    return scenario
