"""Tests of preemptsim/probe.py with real (CPU) PyTorch.

The probe is loaded by file path, as a user would run it: it must not need the package.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib.util
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

torch = pytest.importorskip("torch")

PROBE_FILE = Path(__file__).resolve().parents[1] / "preemptsim" / "probe.py"
TINY = ["--params", "50K,200K", "--steps", "5", "--warmup", "2", "--ckpt-reps", "2"]
TINY += ["--batch", "2", "--seq", "16", "--device", "cpu", "--quiet"]
PHASES = {"checkpoint": ("d2h_s", "write_s", "fsync_s", "total_s"),
          "restore": ("read_s", "h2d_s", "load_s", "total_s")}  # fmt: skip


def _load_probe() -> ModuleType:
    """Import probe.py by path under a private name (no preemptsim import)."""
    spec = importlib.util.spec_from_file_location("_probe_under_test", PROBE_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


probe = _load_probe()


def _run_main(argv: list[str]) -> tuple[int, str]:
    """Run probe.main, returning its exit code and what it wrote on stderr."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = probe.main(argv)
    return rc, err.getvalue()


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One tiny two-size probe run on the CPU, shared by the tests below."""
    root = tmp_path_factory.mktemp("probe")
    ckpt_dir, out = root / "ckpt", root / "probe.json"
    ckpt_dir.mkdir()
    rc, err = _run_main([*TINY, "--dir", str(ckpt_dir), "--out", str(out)])
    doc = json.loads(out.read_text()) if out.exists() else {}
    return {"rc": rc, "stderr": err, "doc": doc, "dir": ckpt_dir}


def test_tiny_run_writes_valid_document(tiny_run: dict[str, Any]) -> None:
    assert tiny_run["rc"] == 0, tiny_run["stderr"]
    doc = tiny_run["doc"]
    probe.validate_probe(doc)
    assert doc["schema_version"] == 1
    assert doc["torch"] == torch.__version__
    assert doc["dtype"] == "float32"
    assert doc["eviction_method"] in ("posix_fadvise", "none")
    assert doc["checkpoint_dir"] == str(tiny_run["dir"])


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cpu_run_says_it_is_not_an_accelerator(tiny_run: dict[str, Any]) -> None:
    assert tiny_run["doc"]["measured_on_accelerator"] is False
    assert tiny_run["doc"]["device"]["type"] == "cpu"
    assert probe.NO_CUDA_LINE in tiny_run["stderr"]


def test_sample_counts_match_request(tiny_run: dict[str, Any]) -> None:
    for size in tiny_run["doc"]["sizes"]:
        assert size["step_s"]["n"] == 5
        for part, phases in PHASES.items():
            assert [size[part][p]["n"] for p in phases] == [2] * len(phases)


def test_timings_are_positive_and_ordered(tiny_run: dict[str, Any]) -> None:
    for size in tiny_run["doc"]["sizes"]:
        st = size["step_s"]
        assert 0 < st["p10"] <= st["median"] <= st["p90"] <= st["p99"]
        assert size["steps_wall_s"] >= st["mean"] * st["n"]  # the block holds every step
        for part, phases in PHASES.items():
            assert all(size[part][p]["median"] > 0 for p in phases if p != "h2d_s")
        ck, rs = size["checkpoint"], size["restore"]
        assert ck["total_s"]["median"] >= ck["write_s"]["median"]
        assert ck["write_bandwidth_bytes_per_s"] > 0 and rs["read_bandwidth_bytes_per_s"] > 0


def test_bytes_grow_with_params_at_about_12_per_param(tiny_run: dict[str, Any]) -> None:
    small, large = tiny_run["doc"]["sizes"]
    assert small["params"] < large["params"]
    assert small["checkpoint"]["bytes"] < large["checkpoint"]["bytes"]
    # fp32 weights 4 + two fp32 AdamW moments 8 = 12 bytes/param, plus pickle overhead.
    for size in (small, large):
        assert 11.9 < size["checkpoint"]["bytes_per_param"] < 13.5


def test_exact_param_count_matches_formula(tiny_run: dict[str, Any]) -> None:
    for size, target in zip(tiny_run["doc"]["sizes"], (50_000, 200_000), strict=True):
        shape = size["model"]
        assert size["requested_params"] == target
        assert size["params"] == probe.model_params(shape["vocab"], shape["width"], shape["layers"])


def test_fit_over_two_sizes(tiny_run: dict[str, Any]) -> None:
    fit = tiny_run["doc"]["fit"]
    assert fit["n_sizes"] == 2
    for kind in ("write", "restore"):
        assert fit[kind]["latency_s"] >= 0 and fit[kind]["bandwidth_bytes_per_s"] > 0


def test_no_files_left_in_checkpoint_dir(tiny_run: dict[str, Any]) -> None:
    assert list(tiny_run["dir"].iterdir()) == []


def test_standalone_copy_runs_isolated(tmp_path: Path) -> None:
    """``python -I probe.py`` from a folder holding nothing but the copied file."""
    here, ckpt = tmp_path / "box", tmp_path / "ckpt"
    here.mkdir()
    ckpt.mkdir()
    copied = shutil.copy(PROBE_FILE, here / "probe.py")
    argv = ["--params", "30K", "--steps", "3", "--warmup", "1", "--ckpt-reps", "1"]
    argv += ["--batch", "2", "--seq", "8", "--device", "cpu", "--dir", str(ckpt)]
    done = subprocess.run(
        [sys.executable, "-I", str(copied), *argv], cwd=here, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads((here / "probe-cpu.json").read_text())
    probe.validate_probe(doc)
    assert doc["sizes"][0]["step_s"]["n"] == 3
    assert doc["fit"]["write"]["latency_s"] == 0.0
    assert doc["fit"]["write"]["method"] == "single_size"
    assert "step med" in done.stdout
    assert list(ckpt.iterdir()) == []


@pytest.mark.parametrize("case", ["missing", "too_small"])
def test_refuses_bad_dir_with_one_line(tmp_path: Path, case: str) -> None:
    where = tmp_path / "nope" if case == "missing" else tmp_path
    params = "50K" if case == "missing" else "1000000B"  # 16 PB needed
    out = tmp_path / "out.json"
    rc, err = _run_main(["--params", params, "--dir", str(where), "--out", str(out)])
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith("probe: --dir")
    assert not out.exists()
    assert ("does not exist" in err) if case == "missing" else ("free" in err)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_refuses_cuda_without_gpu(tmp_path: Path) -> None:
    rc, err = _run_main(["--device", "cuda", "--dir", str(tmp_path)])
    assert rc == 2 and err.count("\n") == 1 and "no CUDA device" in err


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_temp_files_removed_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: type[BaseException]
) -> None:
    def fail(*_: object) -> None:
        raise error("boom")

    monkeypatch.setattr(probe, "restore_once", fail)
    argv = ["--params", "20K", "--steps", "1", "--warmup", "0", "--ckpt-reps", "1"]
    argv += ["--batch", "1", "--seq", "4", "--device", "cpu", "--dir", str(tmp_path / "d")]
    (tmp_path / "d").mkdir()
    if error is KeyboardInterrupt:
        assert _run_main(argv)[0] == 130
    else:
        with pytest.raises(RuntimeError, match="boom"):
            _run_main(argv)
    assert list((tmp_path / "d").iterdir()) == []


def test_validate_rejects_wrong_schema_version(tiny_run: dict[str, Any]) -> None:
    doc = copy.deepcopy(tiny_run["doc"])
    doc["schema_version"] = 2
    with pytest.raises(ValueError) as info:
        probe.validate_probe(doc)
    assert str(info.value) == "probe: schema_version must be 1, got 2"
    del doc["schema_version"]
    with pytest.raises(ValueError, match="schema_version missing"):
        probe.validate_probe(doc)


def test_validate_names_missing_field(tiny_run: dict[str, Any]) -> None:
    doc = copy.deepcopy(tiny_run["doc"])
    del doc["sizes"][1]["checkpoint"]["fsync_s"]
    with pytest.raises(ValueError, match=r"^probe: missing field sizes\[1\]\.checkpoint\.fsync_s$"):
        probe.validate_probe(doc)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("125M", 125_000_000), ("1.3B", 1_300_000_000), ("7e6", 7_000_000), ("50k", 50_000)],
)
def test_parse_size(text: str, expected: int) -> None:
    assert probe.parse_size(text) == expected


@pytest.mark.parametrize("text", ["abc", "0", "-5M", "1.3X"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        probe.parse_size(text)


@pytest.mark.parametrize("target", [125_000_000, 350_000_000, 1_300_000_000, 7_000_000_000])
def test_choose_shape_is_close_to_target(target: int) -> None:
    shape = probe.choose_shape(target)
    count = probe.model_params(shape["vocab"], shape["width"], shape["layers"])
    assert abs(count - target) / target < 0.03
    assert shape["width"] % shape["heads"] == 0


def test_model_params_formula_matches_module() -> None:
    shape = probe.choose_shape(300_000)
    model = probe.TinyLM(shape["vocab"], shape["width"], shape["layers"], shape["heads"])
    expected = probe.model_params(shape["vocab"], shape["width"], shape["layers"])
    assert sum(p.numel() for p in model.parameters()) == expected


def test_summarize_known_values() -> None:
    # 1..11: median 6; linear-interpolated p10 = 2, p90 = 10, p99 = 10.9.
    stats = probe.summarize([float(x) for x in range(11, 0, -1)])
    assert stats["median"] == 6 and stats["mean"] == 6 and stats["n"] == 11
    assert stats["p10"] == pytest.approx(2) and stats["p90"] == pytest.approx(10)
    assert stats["p99"] == pytest.approx(10.9)


def test_fit_recovers_latency_and_bandwidth() -> None:
    # time = 0.5 s + bytes / 1e9 B/s, exact.
    points = [(b, 0.5 + b / 1e9) for b in (1e9, 2e9, 4e9)]
    fit = probe.fit_latency_bandwidth(points)
    assert fit["latency_s"] == pytest.approx(0.5)
    assert fit["bandwidth_bytes_per_s"] == pytest.approx(1e9)
    single = probe.fit_latency_bandwidth([(3e9, 2.0)])
    assert single == {"latency_s": 0.0, "bandwidth_bytes_per_s": 1.5e9, "method": "single_size"}


def test_fit_falls_back_to_origin_when_slope_not_positive() -> None:
    fit = probe.fit_latency_bandwidth([(1e6, 0.02), (2e6, 0.01)])
    assert fit["method"] == "through_origin" and fit["latency_s"] == 0.0
    assert fit["bandwidth_bytes_per_s"] == pytest.approx(5e12 / 4e4)  # sum(x^2) / sum(x y)
