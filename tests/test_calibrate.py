"""Tests of preemptsim/calibrate.py, probe_schema.py, the [calibration] table and the probe
and calibrate commands.

Exact answers come from hand-written probe documents with round numbers; the end-to-end
checks run the real probe once, on the CPU, at tiny sizes (skipped without PyTorch).
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
from preemptsim import calibrate, cli, probe_schema
from preemptsim.cli.measure import PROBE_NEEDS_TORCH
from preemptsim.scenario import ScenarioError, load_scenario
from preemptsim.units import format_duration, parse_duration

RUNPOD = Path(__file__).resolve().parents[1] / "scenarios" / "runpod-a6000-lora-7b.toml"
TINY = ["--params", "50K,200K", "--steps", "3", "--warmup", "1", "--ckpt-reps", "1"]
TINY += ["--batch", "2", "--seq", "16", "--device", "cpu", "--quiet"]
# A scenario whose timings all come from its [calibration] table.
SCENARIO = """
name = "calibrated"
[job]
steps = 1000
[checkpoint]
interval = "30min"
mode = "{mode}"
[pricing]
spot_usd_per_hour = 1.0
on_demand_usd_per_hour = 3.0
[calibration]
probe = "probes/synthetic.json"
model_params = {params}
"""


def _size(
    params: float, step_s: float, d2h_s: float, version: int, method: str, share: float
) -> dict[str, Any]:
    def phase(median_s: float = 1.0) -> dict[str, Any]:
        return {"median": median_s, "n": 1}

    trained = params * share
    ckpt = {"bytes": 12 * trained, "bytes_per_param": 12.0, "total_s": phase(),
            "write_bandwidth_bytes_per_s": 1e9}  # fmt: skip
    if method == "torch.save":
        ckpt.update(d2h_s=phase(d2h_s), write_s=phase(), fsync_s=phase())
    restore = {"read_s": phase(), "h2d_s": phase(), "load_s": phase(), "total_s": phase(),
               "read_bandwidth_bytes_per_s": 2e9}  # fmt: skip
    size = {"params": params, "model": {}, "step_s": {"median": step_s, "n": 1},
            "steps_wall_s": step_s, "checkpoint": ckpt, "restore": restore}  # fmt: skip
    if version == 2:
        size["trainable_params"] = trained
        ckpt.update(blocking_s=phase(), background_s=phase(0.0))
    return size


def synthetic(
    *, version: int = 2, method: str = "torch.save", share: float = 1.0, gpu: bool = True
) -> dict[str, Any]:
    """A probe with round numbers: 12 B per trained param; write 0.5 s + bytes / 1 GB/s;
    restore 1 s + bytes / 2 GB/s; device→host 4 GB/s (12 ms for 48 MB); steps 10 ms at 1M,
    50 ms at 4M. dcp-async: blocking 0.1 s + bytes / 8 GB/s, background 0.4 s + bytes /
    1.25 GB/s."""
    doc: dict[str, Any] = {
        "schema_version": version,
        "created_utc": "2025-01-01T00:00:00+00:00",
        "host": {},
        "torch": "2.x",
        "cuda": "12.x" if gpu else None,
        "device": {"type": "cuda", "name": "Test GPU", "memory_bytes": 1},
        "measured_on_accelerator": gpu,
        "dtype": "bfloat16",
        "checkpoint_dir": "/tmp",
        "eviction_method": "posix_fadvise",
        "sizes": [
            _size(1e6, 0.010, 0.003, version, method, share),
            _size(4e6, 0.050, 0.012, version, method, share),
        ],
        "fit": {
            "write": {"latency_s": 0.5, "bandwidth_bytes_per_s": 1e9, "method": "lsq"},
            "restore": {"latency_s": 1.0, "bandwidth_bytes_per_s": 2e9, "method": "lsq"},
            "n_sizes": 2,
        },
    }
    if not gpu:
        doc["device"] = {"type": "cpu", "name": "Some CPU", "memory_bytes": 1}
    if version == 2:
        doc.update(complete=True, method=method, trainable_share=share)
    if method == "dcp-async":
        doc["fit"]["blocking"] = {"latency_s": 0.1, "bandwidth_bytes_per_s": 8e9}
        doc["fit"]["background"] = {"latency_s": 0.4, "bandwidth_bytes_per_s": 1.25e9}
    return doc


def _probe(**options: Any) -> dict[str, Any]:
    return probe_schema.validate(synthetic(**options))


def _write_json(path: Path, doc: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


def _scenario(tmp_path: Path, mode: str = "sync", params: str = "7e9", extra: str = "") -> Path:
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO.format(mode=mode, params=params) + extra)
    return path


def _cli(argv: list[str]) -> tuple[int, str, str]:
    """cli.main's exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(argv)
    return rc, out.getvalue(), err.getvalue()


def _rounded(seconds: float) -> float:
    """What a calibrated file holds: the duration as written for a person, read back."""
    return parse_duration(format_duration(seconds))


@pytest.fixture(scope="module")
def real_probe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny CPU probe run, through ``preemptsim probe``."""
    pytest.importorskip("torch")
    root = tmp_path_factory.mktemp("probe")
    out = root / "probe-cpu.json"
    rc, _, err = _cli(["probe", *TINY, "--dir", str(root), "--out", str(out)])
    assert rc == 0, err
    return out


# Exact answers on the synthetic probes.


@pytest.mark.parametrize("version", [1, 2])
def test_timings_exact_for_both_versions(version: int) -> None:
    t = calibrate.timings(_probe(version=version), 7e9)
    # bytes = 7e9 x 12 = 84 GB; write 0.5 + 84 = 84.5 s; restore 1 + 42 = 43 s;
    # snapshot = 84e9 B / 4 GB/s = 21 s; persist = 84.5 - 21; step 0.05 s x 7e9 / 4e6.
    expected = {"bytes": 84e9, "size_gb": 84.0, "write_s": 84.5, "restore_s": 43.0,
                "snapshot_s": 21.0, "persist_s": 63.5, "step_time_s": 87.5,
                "step_from_params": 4e6, "bytes_per_param": 12.0, "base_bytes": 0.0,
                "trainable_params": 7e9, "model_params": 7e9}  # fmt: skip
    assert t.pop("method") == "torch.save"
    assert t == pytest.approx(expected, rel=1e-12)


def test_dcp_async_probe_gives_snapshot_and_persist() -> None:
    t = calibrate.timings(_probe(method="dcp-async"), 7e9)
    # snapshot = 0.1 + 84e9 / 8e9 = 10.6 s; persist = 0.4 + 84e9 / 1.25e9 = 67.6 s.
    assert (t["snapshot_s"], t["persist_s"]) == pytest.approx((10.6, 67.6), rel=1e-12)
    data = tomllib.loads(SCENARIO.format(mode="sync", params=7e9))
    ckpt = calibrate.apply_timings(data, t)["checkpoint"]
    assert ckpt["mode"] == "async" and "write" not in ckpt
    assert (ckpt["snapshot"], ckpt["persist"]) == pytest.approx((10.6, 67.6))


def test_dcp_probe_cannot_calibrate_async() -> None:
    t = calibrate.timings(_probe(method="dcp"), 7e9)
    assert t["snapshot_s"] is None and t["write_s"] == pytest.approx(84.5)
    data = tomllib.loads(SCENARIO.format(mode="async", params=7e9))
    with pytest.raises(calibrate.CalibrationError, match=r'^checkpoint\.mode: "async" needs'):
        calibrate.apply_timings(data, t)


def test_trainable_params_size_an_adapter_checkpoint() -> None:
    t = calibrate.timings(_probe(), 7e9, trainable_params="40M")
    # bytes = 40e6 x 12 = 480 MB; write 0.5 + 0.48 = 0.98 s; the frozen base (7e9 - 40e6)
    # x 2 B = 13.92 GB is read again: restore 1 + (0.48 + 13.92) GB / 2 GB/s = 8.2 s.
    assert t["bytes"] == pytest.approx(480e6) and t["write_s"] == pytest.approx(0.98)
    assert t["base_bytes"] == pytest.approx(13.92e9) and t["restore_s"] == pytest.approx(8.2)


def test_lora_probe_share_is_the_default() -> None:
    t = calibrate.timings(_probe(share=0.01), 7e9)
    # 1% of 7e9 trains: 70M x 12 B = 840 MB.
    assert t["trainable_params"] == pytest.approx(7e7) and t["bytes"] == pytest.approx(840e6)


def test_bytes_per_param_override() -> None:
    t = calibrate.timings(_probe(), 7e9, bytes_per_param=16)
    assert t["bytes"] == pytest.approx(112e9) and t["write_s"] == pytest.approx(112.5)


@pytest.mark.parametrize(
    ("params", "step_s"),
    [(1.5e6, 0.015), (2.5e6, 0.05 * 2.5 / 4), (0.5e6, 0.005), (1.9e6, 0.019), (2.1e6, 0.02625)],
)
def test_step_time_scales_from_nearest_size_in_log(params: float, step_s: float) -> None:
    # Nearest in log(params): 2e6 is the geometric midpoint of 1e6 and 4e6.
    assert calibrate.timings(_probe(), params)["step_time_s"] == pytest.approx(step_s)


def test_default_size_is_largest_measured() -> None:
    t = calibrate.timings(_probe())
    assert t["model_params"] == 4e6 and t["write_s"] == pytest.approx(0.5 + 48e6 / 1e9)


def test_counts_as_text() -> None:
    assert calibrate.timings(_probe(), "7B")["bytes"] == pytest.approx(84e9)
    assert calibrate.parse_params("7B") == calibrate.parse_params("7e9") == 7_000_000_000


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"model_params": 7}, r"^model_params: 7 is fewer than 1e5 parameters"),
        ({"model_params": "7"}, r"^model_params: '7' is fewer than 1e5"),
        ({"model_params": 0}, r"^model_params: must be a positive number, got 0$"),
        ({"model_params": float("nan")}, r"^model_params: must be a positive number"),
        ({"model_params": True}, r"^model_params: must be a positive number"),
        ({"model_params": "seven"}, r"^model_params: must be a parameter count"),
        ({"model_params": 1e9, "trainable_params": 2e9}, r"^trainable_params: 2e\+09 is more"),
        ({"model_params": 1e9, "bytes_per_param": -1}, r"^bytes_per_param: must be a positive"),
    ],
)
def test_bad_counts_rejected(options: dict[str, Any], message: str) -> None:
    with pytest.raises(calibrate.CalibrationError, match=message):
        calibrate.timings(_probe(), **options)


@pytest.mark.parametrize("bandwidth", [5e5, 2e12])
def test_bandwidth_outside_1mb_1tb_per_s_rejected(bandwidth: float) -> None:
    probe = _probe()
    probe["fit"]["restore"]["bandwidth_bytes_per_s"] = bandwidth
    with pytest.raises(calibrate.CalibrationError) as info:
        calibrate.timings(probe, 7e9)
    assert str(info.value).startswith("probe fit.restore.bandwidth_bytes_per_s: ")
    assert "outside 1 MB/s .. 1 TB/s" in str(info.value)


# Probe files: checked field by field, both versions.


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda d: d["sizes"][0]["checkpoint"].update(d2h_s=0.01),
         "sizes[0].checkpoint.d2h_s must be an object, got 0.01"),
        (lambda d: d["sizes"][1].update(step_s={}), "missing field sizes[1].step_s.median"),
        (lambda d: d["sizes"][0]["checkpoint"].update(bytes=-5),
         "sizes[0].checkpoint.bytes must be a positive whole number, got -5"),
        (lambda d: d["sizes"][0]["restore"]["total_s"].update(median=-1.0),
         "sizes[0].restore.total_s.median must be a non-negative number"),
        (lambda d: d.update(measured_on_accelerator="yes"),
         "measured_on_accelerator must be true or false"),
        (lambda d: d.update(method="pickle"), "method must be one of torch.save, dcp, dcp-async"),
        (lambda d: d.update(trainable_share=2), "trainable_share must be a share in (0, 1]"),
        (lambda d: d["fit"].update(write=[]), "fit.write must be an object"),
        (lambda d: d.update(sizes=[]), "sizes must be a non-empty list"),
        (lambda d: d["sizes"][0].update(trainable_params=2e6),
         "sizes[0].trainable_params exceeds sizes[0].params"),
        (lambda d: d.update(schema_version=3), "schema_version must be 1 or 2, got 3"),
    ],
)  # fmt: skip
def test_bad_probe_file_is_one_line_naming_file_and_field(
    tmp_path: Path, edit: Any, field: str
) -> None:
    doc = synthetic()
    edit(doc)
    bad = _write_json(tmp_path / "bad.json", doc)
    rc, out, err = _cli(["calibrate", str(bad), "--scenario", str(RUNPOD)])
    assert (rc, out) == (2, "")
    assert err.startswith(f"preemptsim: error: {bad}: probe: {field}") and err.count("\n") == 1


def test_dcp_async_probe_needs_its_fits() -> None:
    doc = synthetic(method="dcp-async")
    del doc["fit"]["background"]
    with pytest.raises(ValueError, match=r"dcp-async needs fit\.blocking and fit\.background"):
        probe_schema.validate(doc)


def test_version_1_reads_as_a_blocking_torch_save() -> None:
    doc = _probe(version=1)
    assert (doc["schema_version"], doc["method"], doc["complete"]) == (2, "torch.save", True)
    ck = doc["sizes"][1]["checkpoint"]
    assert ck["blocking_s"] == ck["total_s"] and ck["background_s"]["median"] == 0
    assert doc["sizes"][1]["trainable_params"] == doc["sizes"][1]["params"]


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
    for name in ("probe", "probe_schema", "calibrate"):  # all put back afterwards
        monkeypatch.delitem(sys.modules, f"preemptsim.{name}")
        monkeypatch.delattr(preemptsim, name, raising=False)
    fresh = importlib.import_module("preemptsim.calibrate")
    doc = fresh.load_probe(_write_json(tmp_path / "p.json", synthetic()))
    assert fresh.timings(doc, 7e9)["write_s"] == pytest.approx(84.5)


# The [calibration] table, applied at load time.


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_calibration_table_applied_at_load(tmp_path: Path, mode: str) -> None:
    _write_json(tmp_path / "probes" / "synthetic.json", synthetic())
    sc = load_scenario(_scenario(tmp_path, mode, params='"7B"'))  # text, as on the command line
    assert sc.job.step_time == pytest.approx(87.5)
    assert sc.checkpoint.size_gb == pytest.approx(84.0)
    assert sc.restart.restore.mean_s == pytest.approx(43.0)
    if mode == "sync":
        assert sc.checkpoint.write == pytest.approx(84.5)
    else:
        assert (sc.checkpoint.snapshot, sc.checkpoint.persist) == pytest.approx((21.0, 63.5))
        assert sc.checkpoint.write == 0.0
    assert sc.calibration is not None and sc.calibration.probe.endswith("synthetic.json")
    assert sc.calibration.model_params == 7e9
    key = "checkpoint.write" if mode == "sync" else "checkpoint.persist"
    assert sc.with_values({key: "5s"}).value(key) == 5.0  # --set wins


def test_calibration_table_sizes_an_adapter(tmp_path: Path) -> None:
    _write_json(tmp_path / "probes" / "synthetic.json", synthetic())
    extra = 'trainable_params = "40M"\n'
    sc = load_scenario(_scenario(tmp_path, extra=extra))
    assert sc.checkpoint.size_gb == pytest.approx(0.48) and sc.checkpoint.write == pytest.approx(
        0.98
    )


@pytest.mark.parametrize(
    ("table", "line", "key"),
    [
        ("checkpoint", 'write = "60s"', "checkpoint.write"),
        ("restart", 'restore = "2min"', "restart.restore"),
        ("job", 'step_time = "1s"', "job.step_time"),
    ],
)
def test_explicit_value_and_calibration_is_an_error(
    tmp_path: Path, table: str, line: str, key: str
) -> None:
    _write_json(tmp_path / "probes" / "synthetic.json", synthetic())
    path = _scenario(tmp_path)
    text = path.read_text()
    text = text.replace(f"[{table}]\n", f"[{table}]\n{line}\n") if f"[{table}]" in text else (
        f"{text}\n[{table}]\n{line}\n"
    )  # fmt: skip
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value).startswith(f"{key}: set in the file and measured by [calibration]")
    assert "\n" not in str(info.value)


def test_dcp_async_probe_against_explicit_sync_is_an_error(tmp_path: Path) -> None:
    _write_json(tmp_path / "probes" / "synthetic.json", synthetic(method="dcp-async"))
    with pytest.raises(ScenarioError, match=r"^checkpoint\.mode: set in the file and measured"):
        load_scenario(_scenario(tmp_path, "sync"))
    sc = load_scenario(_scenario(tmp_path, "async"))
    assert (sc.checkpoint.snapshot, sc.checkpoint.persist) == pytest.approx((10.6, 67.6))


@pytest.mark.parametrize(
    ("calibration", "message"),
    [
        ('probe = "probes/absent.json"', r"^calibration\.probe: .*absent\.json: no such probe"),
        ('probe = "probes/synthetic.json"\nmodel_params = -1',
         r"^calibration\.model_params: must be a positive number, got -1$"),
        ('probe = "probes/synthetic.json"\nmodel_params = 7',
         r"^calibration\.model_params: 7 is fewer than 1e5 parameters"),
        ("probe = 3", r"^calibration\.probe: must be the path of a probe JSON file$"),
        ('probe = "probes/synthetic.json"\nparams = 7e9', r"^calibration\.params: unknown key"),
    ],
)  # fmt: skip
def test_calibration_table_errors(tmp_path: Path, calibration: str, message: str) -> None:
    _write_json(tmp_path / "probes" / "synthetic.json", synthetic())
    text = _scenario(tmp_path).read_text().split("[calibration]")[0]
    (tmp_path / "s.toml").write_text(f"{text}[calibration]\n{calibration}\n")
    with pytest.raises(ScenarioError, match=message) as info:
        load_scenario(tmp_path / "s.toml")
    assert "\n" not in str(info.value)


def test_run_warns_once_when_the_probe_ran_on_the_cpu(tmp_path: Path) -> None:
    probe = _write_json(tmp_path / "probes" / "synthetic.json", synthetic(gpu=False))
    rc, out, err = _cli(["run", str(_scenario(tmp_path)), "--reps", "20", "--json"])
    assert rc == 0 and json.loads(out)["reps"] == 20
    assert err == (
        f"preemptsim: warning: {probe} was measured on the CPU (Some CPU): "
        "its timings do not describe a GPU\n"
    )
    _write_json(probe, synthetic(gpu=True))
    assert _cli(["run", str(_scenario(tmp_path)), "--reps", "20", "--json"])[2] == ""


# Calibrated scenario files.


def test_calibrated_text_for_steps_and_async(tmp_path: Path) -> None:
    _write_json(tmp_path / "probes" / "synthetic.json", synthetic())
    path = _scenario(tmp_path, "async")
    text = calibrate.calibrated_scenario(path, tmp_path / "probes/synthetic.json")
    data = tomllib.loads(text)
    assert "calibration" not in data  # written in; the table would apply it twice
    # Written as a person reads them (units.format_duration, 3 digits): 87.5 s, 21 s,
    # 63.5 s, 43 s and 84 GB.
    assert data["job"] == {"steps": 1000, "step_time": "1.46min"}
    assert (data["checkpoint"]["snapshot"], data["checkpoint"]["persist"]) == ("21s", "1.06min")
    assert (data["restart"]["restore"], data["checkpoint"]["size_gb"]) == ("43s", "84GB")
    assert "Test GPU" in text and "2025-01-01" in text and "WARNING" not in text
    assert load_scenario(data).job.work_s == pytest.approx(1000 * 87.6)  # "1.46min"


def test_lora_preset_calibrates_to_megabytes(tmp_path: Path) -> None:
    probe = _write_json(tmp_path / "p.json", synthetic())
    argv = ["calibrate", str(probe), "--scenario", "runpod-a6000-lora-7b", "--model-params", "7B"]
    rc, out, err = _cli([*argv, "--trainable-params", "40M"])
    assert rc == 0, err
    sc = load_scenario(tomllib.loads(out))
    # 40M x 12 B = 480 MB, written in 0.5 + 0.48 = 0.98 s (not 84 GB in 84.5 s);
    # restore 8.2 s with the 13.92 GB frozen base (test_trainable_params_size_...).
    assert sc.checkpoint.size_gb == pytest.approx(0.48)
    assert sc.checkpoint.write == pytest.approx(0.98)
    assert sc.restart.restore.mean_s == pytest.approx(8.2)
    assert 'size_gb = "480MB"' in out


def test_trace_path_kept_pointing_at_its_file(tmp_path: Path) -> None:
    probe = _write_json(tmp_path / "p.json", synthetic())
    (tmp_path / "a").mkdir()
    source = RUNPOD.read_text().replace('model = "poisson"', 'model = "trace"\npath = "t.json"')
    (tmp_path / "a" / "s.toml").write_text(source.replace('mtbi = "8h"', ""))
    text = calibrate.calibrated_scenario(tmp_path / "a/s.toml", probe, out_dir=tmp_path / "b")
    assert tomllib.loads(text)["interruptions"]["path"] == "../a/t.json"


def test_cpu_probe_warns_in_file_and_on_stderr(tmp_path: Path) -> None:
    probe = _write_json(tmp_path / "cpu.json", synthetic(gpu=False))
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
    assert err == f"preemptsim: error: {PROBE_NEEDS_TORCH}\n"


# End to end with the real probe (version 2, torch.save).


def test_run_accepts_calibrated_file(real_probe: Path, tmp_path: Path) -> None:
    out = tmp_path / "cal" / "runpod-7b.toml"
    argv = ["calibrate", str(real_probe), "--scenario", str(RUNPOD), "--model-params", "7B"]
    rc, stdout, err = _cli([*argv, "--out", str(out)])
    assert rc == 0 and stdout == "", err
    assert "measured on the CPU" in err and "WARNING: this probe ran on the CPU" in out.read_text()
    sc = load_scenario(out)
    t = calibrate.timings(calibrate.load_probe(real_probe), 7e9)
    assert sc.checkpoint.write == _rounded(t["write_s"])
    assert sc.restart.restore.mean_s == _rounded(t["restore_s"])
    assert sc.job.work == 24 * 3600  # job.work kept; no step_time set
    rc, stdout, err = _cli(["run", str(out), "--reps", "20", "--json"])
    assert rc == 0, err
    assert json.loads(stdout)["reps"] == 20


def test_write_scales_as_latency_plus_bytes_over_bandwidth(real_probe: Path) -> None:
    doc = calibrate.load_probe(real_probe)
    fit = doc["fit"]["write"]
    per_param = max(doc["sizes"], key=lambda s: s["params"])["checkpoint"]["bytes_per_param"]
    assert 11.9 < per_param < 13.5  # fp32 weights + two fp32 AdamW moments (probe.py)
    writes = {params: calibrate.timings(doc, params)["write_s"] for params in (1e9, 7e9)}
    for params, write_s in writes.items():
        assert write_s == pytest.approx(
            fit["latency_s"] + params * per_param / fit["bandwidth_bytes_per_s"]
        )
    assert writes[7e9] - writes[1e9] == pytest.approx(
        6e9 * per_param / fit["bandwidth_bytes_per_s"], rel=1e-9
    )
    text = calibrate.calibrated_scenario(RUNPOD, real_probe, 7e9)
    assert load_scenario(tomllib.loads(text)).checkpoint.write == _rounded(writes[7e9])
