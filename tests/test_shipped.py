"""What ships with the package: presets and traces by name, wherever the package is."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import preemptsim as ps
from preemptsim import shipped
from preemptsim.tracefile import load_trace


def test_load_scenario_takes_a_preset_name_as_the_command_line_does() -> None:
    by_name = ps.load_scenario("runpod-a6000-lora-7b")
    assert by_name == ps.load_scenario(shipped.presets()["runpod-a6000-lora-7b"])
    with pytest.raises(ps.ScenarioError, match="no such scenario file or preset"):
        ps.load_scenario("no-such-preset")


def test_every_shipped_trace_loads_with_its_licence_beside_it() -> None:
    names = shipped.traces()
    # 13 GCP H100 zones and 9 AWS V100 zones (preemptsim/traces/README.md).
    assert sum(n.startswith("gcp-h100/") for n in names) == 13
    assert sum(n.startswith("aws-v100/") for n in names) == 9
    assert {"LICENSE", "NOTICE", "README.md"} <= {p.name for p in shipped.TRACES.iterdir()}
    for name in names:
        trace = load_trace(name)
        assert trace.available.any() and np.all(np.diff(trace.starts_s) > 0), name


def test_shipped_gcp_trace_matches_its_readme() -> None:
    # README: 14 days (and a few hours) at one tick per 600 s; us-west1-a at $18.98/h.
    trace = load_trace("gcp-h100/us-west1-a")
    assert 14 * 86400 <= trace.period_s < 15 * 86400
    assert np.all(np.diff(trace.starts_s) == 600.0)
    assert trace.prices_usd_per_hour is not None
    assert trace.prices_usd_per_hour[0] == pytest.approx(18.98, abs=0.01)


def test_a_trace_name_beside_the_scenario_file_wins(tmp_path: Path) -> None:
    folder = tmp_path / "gcp-h100"
    folder.mkdir()
    (folder / "us-west1-a").write_text(
        "date,availability\n2023-02-15 00:00:00,1\n2023-02-15 00:01:00,0\n"
    )
    path = tmp_path / "s.toml"
    preset = shipped.presets()["gcp-h100-trace"].read_text()
    path.write_text(preset)
    assert load_trace(ps.load_scenario(path).interruptions.path).period_s == 120.0  # 2 × 60 s
