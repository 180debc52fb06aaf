"""Tests of preemptsim/calibrate.py, the [calibration] table and the probe/calibrate commands.

Exact answers come from a hand-written probe document; the end-to-end checks run the real
probe once, on the CPU, at tiny sizes (skipped without PyTorch).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

import preemptsim
from preemptsim import calibrate, cli
from preemptsim.scenario import ScenarioError, load_scenario

RUNPOD = Path(__file__).resolve().parents[1] / "scenarios" / "runpod-a6000-lora-7b.toml"
TINY = ["--params", "50K,200K", "--steps", "3", "--warmup", "1", "--ckpt-reps", "1"]
TINY += ["--batch", "2", "--seq", "16", "--device", "cpu", "--quiet"]
SCENARIO = """
name = "calibrated"
[job]
steps = 1000
step_time = "1s"
[checkpoint]
interval = "30min"
write = "60s"
mode = "{mode}"
[restart]
restore = "2min"
[pricing]
spot_usd_per_hour = 1.0
on_demand_usd_per_hour = 3.0
[calibration]
probe = "probes/synthetic.json"
model_params = 7e9
"""


def _size(params: float, step_s: float, d2h_s: float) -> dict[str, Any]:
    phase = {"median": 1.0, "n": 1}
    nbytes = 12 * params
    return {
        "params": params,
        "model": {},
        "step_s": {"median": step_s, "n": 1},
        "steps_wall_s": step_s,
        "checkpoint": {"bytes": nbytes, "bytes_per_param": 12.0, "d2h_s": {"median": d2h_s},
                       "write_s": phase, "fsync_s": phase, "total_s": phase,
                       "write_bandwidth_bytes_per_s": 1e9},
        "restore": {"read_s": phase, "h2d_s": phase, "load_s": phase, "total_s": phase,
                    "read_bandwidth_bytes_per_s": 2e9},
    }  # fmt: skip


def synthetic(on_accelerator: bool = True) -> dict[str, Any]:
    """A probe with round numbers: 12 B/param; write 0.5 s + bytes / 1 GB/s; restore 1 s +
    bytes / 2 GB/s; device→host 4 GB/s (12 ms for 48 MB); steps 10 ms at 1M, 50 ms at 4M."""
    return {
        "schema_version": calibrate.schema_version(),
        "created_utc": "2025-01-01T00:00:00+00:00",
        "host": {},
        "torch": "2.x",
        "cuda": "12.x",
        "device": {"type": "cuda", "name": "Test GPU", "memory_bytes": 1},
        "measured_on_accelerator": on_accelerator,
        "dtype": "bfloat16",
        "checkpoint_dir": "/tmp",
        "eviction_method": "posix_fadvise",
        "sizes": [_size(1e6, 0.010, 0.003), _size(4e6, 0.050, 0.012)],
        "fit": {
            "write": {"latency_s": 0.5, "bandwidth_bytes_per_s": 1e9, "method": "lsq"},
            "restore": {"latency_s": 1.0, "bandwidth_bytes_per_s": 2e9, "method": "lsq"},
            "n_sizes": 2,
        },
    }


def _write_json(path: Path, doc: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


def _cli(argv: list[str]) -> tuple[int, str, str]:
    """cli.main's exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(argv)
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def real_probe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny CPU probe run, through ``preemptsim probe``."""
    pytest.importorskip("torch")
    root = tmp_path_factory.mktemp("probe")
    out = root / "probe-cpu.json"
    rc, _, err = _cli(["probe", *TINY, "--dir", str(root), "--out", str(out)])
    assert rc == 0, err
    return out


# Exact answers on the synthetic probe.


def test_timings_exact() -> None:
    t = calibrate.timings(synthetic(), 7e9)
    # bytes = 7e9 x 12 = 84 GB; write 0.5 + 84 = 84.5 s; restore 1 + 42 = 43 s;
    # snapshot = 84e9 B / 4 GB/s = 21 s; persist = 84.5 - 21; step 0.05 s x 7e9 / 4e6.
    expected = {"bytes": 84e9, "size_gb": 84.0, "write_s": 84.5, "restore_s": 43.0,
                "snapshot_s": 21.0, "persist_s": 63.5, "step_time_s": 87.5,
                "step_from_params": 4e6, "bytes_per_param": 12.0}  # fmt: skip
    assert t == pytest.approx({"model_params": 7e9, **expected}, rel=1e-12)


@pytest.mark.parametrize(
    ("params", "step_s"),
    [(1.5e6, 0.015), (2.5e6, 0.05 * 2.5 / 4), (0.5e6, 0.005), (1.9e6, 0.019), (2.1e6, 0.02625)],
)
def test_step_time_scales_from_nearest_size_in_log(params: float, step_s: float) -> None:
    # Nearest in log(params): 2e6 is the geometric midpoint of 1e6 and 4e6.
    assert calibrate.timings(synthetic(), params)["step_time_s"] == pytest.approx(step_s)


def test_default_size_is_largest_measured() -> None:
    t = calibrate.timings(synthetic())
    assert t["model_params"] == 4e6 and t["write_s"] == pytest.approx(0.5 + 48e6 / 1e9)


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), True, "7B"])
def test_bad_model_params_rejected(bad: Any) -> None:
    with pytest.raises(calibrate.CalibrationError, match=r"^model_params: must be a positive"):
        calibrate.timings(synthetic(), bad)


def test_bad_bandwidth_rejected() -> None:
    doc = synthetic()
    doc["fit"]["write"]["bandwidth_bytes_per_s"] = 0
    with pytest.raises(calibrate.CalibrationError, match=r"fit\.write\.bandwidth_bytes_per_s"):
        calibrate.timings(doc, 7e9)


def test_schema_version_2_rejected_with_one_line(tmp_path: Path) -> None:
    doc = synthetic()
    doc["schema_version"] = 2
    bad = _write_json(tmp_path / "v2.json", doc)
    rc, out, err = _cli(["calibrate", str(bad), "--scenario", str(RUNPOD)])
    assert (rc, out) == (2, "")
    assert err == f"preemptsim: error: {bad}: probe: schema_version must be 1, got 2\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [(None, "no such probe file"), ("{", "invalid JSON"), ("[]", "schema_version missing")],
)
def test_load_probe_errors_are_one_line(tmp_path: Path, text: str | None, message: str) -> None:
    path = tmp_path / "p.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(calibrate.CalibrationError, match=message) as info:
        calibrate.load_probe(path)
    assert "\n" not in str(info.value) and str(info.value).startswith(str(path))


def test_calibration_does_not_import_torch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now fails
    monkeypatch.delitem(sys.modules, "preemptsim.probe")
    monkeypatch.delitem(sys.modules, "preemptsim.calibrate")
    fresh = importlib.import_module("preemptsim.calibrate")
    doc = fresh.load_probe(_write_json(tmp_path / "p.json", synthetic()))
    assert fresh.timings(doc, 7e9)["write_s"] == pytest.approx(84.5)


def test_parse_params_matches_probe_sizes() -> None:
    assert calibrate.parse_params("7B") == calibrate.parse_params("7e9") == 7_000_000_000


# The [calibration] table, applied at load time.


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_calibration_table_applied_at_load(tmp_path: Path, mode: str) -> None:
    _write_json(tmp_path / "probes" / "synthetic.json", synthetic())
    (tmp_path / "s.toml").write_text(SCENARIO.format(mode=mode))
    sc = load_scenario(tmp_path / "s.toml")
    assert sc.job.step_time == pytest.approx(87.5)
    assert sc.checkpoint.size_gb == pytest.approx(84.0)
    assert sc.restart.restore.mean_s == pytest.approx(43.0)
    if mode == "sync":
        assert sc.checkpoint.write == pytest.approx(84.5)  # replaces the file's 60 s
    else:
        assert (sc.checkpoint.snapshot, sc.checkpoint.persist) == pytest.approx((21.0, 63.5))
        assert sc.checkpoint.write == 0.0  # the measured snapshot and persist replace it
    assert sc.calibration is not None and sc.calibration.probe.endswith("synthetic.json")
    key = "checkpoint.write" if mode == "sync" else "checkpoint.persist"
    assert sc.with_values({key: "5s"}).value(key) == 5.0  # --set wins


@pytest.mark.parametrize(
    ("calibration", "message"),
    [
        ('probe = "probes/absent.json"', r"^calibration\.probe: .*absent\.json: no such probe"),
        ('probe = "probes/synthetic.json"\nmodel_params = -1',
         r"^calibration\.model_params: must be a positive number, got -1$"),
        ("probe = 3", r"^calibration\.probe: must be the path of a probe JSON file$"),
        ('probe = "probes/synthetic.json"\nparams = 7e9', r"^calibration\.params: unknown key"),
    ],
)  # fmt: skip
def test_calibration_table_errors(tmp_path: Path, calibration: str, message: str) -> None:
    _write_json(tmp_path / "probes" / "synthetic.json", synthetic())
    text = SCENARIO.format(mode="sync").split("[calibration]")[0]
    (tmp_path / "s.toml").write_text(f"{text}[calibration]\n{calibration}\n")
    with pytest.raises(ScenarioError, match=message) as info:
        load_scenario(tmp_path / "s.toml")
    assert "\n" not in str(info.value)


# Calibrated scenario files.


def test_calibrated_text_for_steps_and_async(tmp_path: Path) -> None:
    _write_json(tmp_path / "probes" / "synthetic.json", synthetic())
    (tmp_path / "s.toml").write_text(SCENARIO.format(mode="async"))
    text = calibrate.calibrated_scenario(tmp_path / "s.toml", tmp_path / "probes/synthetic.json")
    data = tomllib.loads(text)
    assert "calibration" not in data  # written in; the table would apply it twice
    assert data["job"] == {"steps": 1000, "step_time": pytest.approx(87.5)}
    assert (data["checkpoint"]["snapshot"], data["checkpoint"]["persist"]) == (21.0, 63.5)
    assert "Test GPU" in text and "2025-01-01" in text and "WARNING" not in text
    assert load_scenario(data).job.work_s == pytest.approx(87_500)


def test_trace_path_kept_pointing_at_its_file(tmp_path: Path) -> None:
    probe = _write_json(tmp_path / "p.json", synthetic())
    (tmp_path / "a").mkdir()
    source = RUNPOD.read_text().replace('model = "poisson"', 'model = "trace"\npath = "t.json"')
    (tmp_path / "a" / "s.toml").write_text(source.replace('mtbi = "8h"', ""))
    text = calibrate.calibrated_scenario(tmp_path / "a/s.toml", probe, out_dir=tmp_path / "b")
    assert tomllib.loads(text)["interruptions"]["path"] == "../a/t.json"


def test_cpu_probe_warns_in_file_and_on_stderr(tmp_path: Path) -> None:
    doc = synthetic(on_accelerator=False)
    doc["device"] = {"type": "cpu", "name": "Some CPU", "memory_bytes": 1}
    probe = _write_json(tmp_path / "cpu.json", doc)
    rc, out, err = _cli(["calibrate", str(probe), "--scenario", str(RUNPOD)])
    assert rc == 0
    assert "# WARNING: this probe ran on the CPU (Some CPU), not on a GPU" in out
    assert err == (
        f"preemptsim: warning: {probe} was measured on the CPU (Some CPU): "
        "its timings do not describe a GPU\n"
    )


def test_probe_command_needs_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now fails
    monkeypatch.delitem(sys.modules, "preemptsim.probe", raising=False)
    monkeypatch.delattr(preemptsim, "probe", raising=False)
    rc, out, err = _cli(["probe", "--params", "50K"])
    assert (rc, out) == (2, "")
    assert err == f"preemptsim: error: {cli.PROBE_NEEDS_TORCH}\n"


# End to end with the real probe.


def test_run_accepts_calibrated_file(real_probe: Path, tmp_path: Path) -> None:
    out = tmp_path / "cal" / "runpod-7b.toml"
    argv = ["calibrate", str(real_probe), "--scenario", str(RUNPOD), "--model-params", "7B"]
    rc, stdout, err = _cli([*argv, "--out", str(out)])
    assert rc == 0 and stdout == "", err
    assert "measured on the CPU" in err and "WARNING: this probe ran on the CPU" in out.read_text()
    sc = load_scenario(out)
    t = calibrate.timings(calibrate.load_probe(real_probe), 7e9)
    assert sc.checkpoint.write == t["write_s"] and sc.restart.restore.mean_s == t["restore_s"]
    assert sc.job.work == 24 * 3600  # job.work kept; no step_time set
    rc, stdout, err = _cli(["run", str(out), "--reps", "20", "--json"])
    assert rc == 0, err
    assert json.loads(stdout)["reps"] == 20


def test_write_scales_as_latency_plus_bytes_over_bandwidth(real_probe: Path) -> None:
    doc = calibrate.load_probe(real_probe)
    fit = doc["fit"]["write"]
    per_param = max(doc["sizes"], key=lambda s: s["params"])["checkpoint"]["bytes_per_param"]
    assert 11.9 < per_param < 13.5  # fp32 weights + two fp32 AdamW moments (probe.py)
    writes = {}
    for params in (1e9, 7e9):
        text = calibrate.calibrated_scenario(RUNPOD, real_probe, params)
        writes[params] = load_scenario(tomllib.loads(text)).checkpoint.write
        nbytes = params * per_param
        assert writes[params] == pytest.approx(
            fit["latency_s"] + nbytes / fit["bandwidth_bytes_per_s"], rel=1e-12
        )
    delta_bytes = 6e9 * per_param
    assert writes[7e9] - writes[1e9] == pytest.approx(
        delta_bytes / fit["bandwidth_bytes_per_s"], rel=1e-9
    )
