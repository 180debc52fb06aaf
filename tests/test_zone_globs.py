"""Sweeps over zones (issue 10): ``--vary interruptions.path=DIR/*.json`` expands to the
files in sorted order, and reports and figures name each point by its zone."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from preemptsim import plotbase
from preemptsim.cli import main
from preemptsim.grid import SweepError, parse_values, show_value

SCENARIO = """
name = "zones"
[job]
work = "2h"
[checkpoint]
interval = "1h"
write = "0s"
[restart]
provision = "0s"
restore = "0s"
[interruptions]
model = "trace"
path = "{first}"
start = "0h"
[pricing]
spot_usd_per_hour = 1.0
on_demand_usd_per_hour = 3.0
"""


def zones(folder: Path) -> dict[str, Path]:
    """Three hourly traces, written out of name order; b-zone loses its first hour."""
    outages = {"c-zone": [0, 0, 0, 0], "a-zone": [0, 0, 0, 0], "b-zone": [1, 0, 0, 0]}
    paths = {}
    for name, data in outages.items():
        paths[name] = folder / f"{name}.json"
        paths[name].write_text(json.dumps({"metadata": {"gap_seconds": 3600}, "data": data}))
    return paths


def test_a_glob_lists_the_files_in_sorted_order(tmp_path: Path) -> None:
    paths = zones(tmp_path)
    found = parse_values("interruptions.path", str(tmp_path / "*-zone.json"))
    assert found == [str(paths[n]) for n in ("a-zone", "b-zone", "c-zone")]
    assert show_value(found[1], "interruptions.path", None) == "b-zone"
    assert plotbase.point_label({"interruptions.path": found[2]}) == "zone c-zone"


def test_a_glob_that_matches_nothing_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(SweepError, match=r"interruptions.path: no file matches"):
        parse_values("interruptions.path", str(tmp_path / "*.json"))


def test_a_zone_sweep_reports_each_zone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = zones(tmp_path)
    file = tmp_path / "zones.toml"
    file.write_text(SCENARIO.format(first=paths["a-zone"]))
    pattern = f"interruptions.path={tmp_path}/*-zone.json"
    assert main(["sweep", str(file), "--vary", pattern, "--reps", "2"]) == 0
    text = capsys.readouterr().out
    assert re.findall(r"^[* ] +([abc]-zone) ", text, re.MULTILINE) == ["a-zone", "b-zone", "c-zone"]
    assert main(["sweep", str(file), "--vary", pattern, "--reps", "2", "--json"]) == 0
    points = json.loads(capsys.readouterr().out)["points"]
    # Spot at $1/h: 2 h in a-zone and c-zone; b-zone waits out its first hour unbilled.
    assert [p["cost_usd_mean"] for p in points] == pytest.approx([2.0, 2.0, 2.0])
    assert [p["wall_h_mean"] for p in points] == pytest.approx([2.0, 3.0, 2.0])
