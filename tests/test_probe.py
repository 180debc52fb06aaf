"""Tests of preemptsim/probe.py with real (CPU) PyTorch.

The probe is loaded by file path, as a user would run it: it must not need the package.
Timings are not checked against numbers (they are this machine's); their structure, sample
counts, signs and the bookkeeping that keeps a measurement are.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from preemptsim import probe_schema

torch = pytest.importorskip("torch")

PROBE_FILE = Path(__file__).resolve().parents[1] / "preemptsim" / "probe.py"
TINY = ["--params", "50K,200K", "--steps", "5", "--warmup", "2", "--ckpt-reps", "2"]
TINY += ["--batch", "2", "--seq", "16", "--device", "cpu", "--quiet"]
QUICK = ["--steps", "1", "--warmup", "0", "--ckpt-reps", "1", "--batch", "1", "--seq", "4"]
QUICK += ["--device", "cpu", "--quiet"]
PHASES = {"checkpoint": ("d2h_s", "write_s", "fsync_s", "blocking_s", "background_s", "total_s"),
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
probe.load_torch()


def _run_main(argv: list[str]) -> tuple[int, str]:
    """Run probe.main, returning its exit code and what it wrote on stderr."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = probe.main(argv)
    return rc, err.getvalue()


def _quick(tmp_path: Path, *extra: str) -> tuple[int, str, Path, Path]:
    """A one-step, one-checkpoint run in tmp_path/d; exit code, stderr, --dir, --out."""
    where, out = tmp_path / "d", tmp_path / "probe.json"
    where.mkdir(exist_ok=True)
    rc, err = _run_main([*QUICK, "--dir", str(where), "--out", str(out), *extra])
    return rc, err, where, out


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
    assert probe_schema.validate(doc) == doc  # version 2 as written
    assert (doc["schema_version"], doc["complete"], doc["method"]) == (2, True, "torch.save")
    assert doc["trainable_share"] == 1.0
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
        ck, rs = size["checkpoint"], size["restore"]
        assert all(ck[p]["median"] > 0 for p in ("d2h_s", "write_s", "fsync_s", "total_s"))
        assert all(rs[p]["median"] > 0 for p in ("read_s", "load_s", "total_s"))
        # torch.save blocks throughout: no background part, blocking = total.
        assert ck["background_s"]["median"] == 0
        assert ck["blocking_s"]["median"] == ck["total_s"]["median"] >= ck["write_s"]["median"]
        assert ck["write_bandwidth_bytes_per_s"] > 0 and rs["read_bandwidth_bytes_per_s"] > 0


def test_bytes_grow_with_params_at_about_12_per_param(tiny_run: dict[str, Any]) -> None:
    small, large = tiny_run["doc"]["sizes"]
    assert small["params"] < large["params"]
    assert small["checkpoint"]["bytes"] < large["checkpoint"]["bytes"]
    # fp32 weights 4 + two fp32 AdamW moments 8 = 12 bytes/param, plus pickle overhead.
    for size in (small, large):
        assert size["trainable_params"] == size["params"] and size["lora_rank"] == 0
        assert 11.9 < size["checkpoint"]["bytes_per_param"] < 13.5


def test_exact_param_count_matches_formula(tiny_run: dict[str, Any]) -> None:
    for size, target in zip(tiny_run["doc"]["sizes"], (50_000, 200_000), strict=True):
        shape = size["model"]
        assert size["requested_params"] == target
        assert size["params"] == probe.model_params(shape["vocab"], shape["width"], shape["layers"])


def test_fit_over_two_sizes(tiny_run: dict[str, Any]) -> None:
    fit = tiny_run["doc"]["fit"]
    assert fit["n_sizes"] == 2 and set(fit) == {"write", "restore", "n_sizes"}
    for kind in ("write", "restore"):
        assert fit[kind]["latency_s"] >= 0 and fit[kind]["bandwidth_bytes_per_s"] > 0


def test_no_files_left_in_checkpoint_dir(tiny_run: dict[str, Any]) -> None:
    assert list(tiny_run["dir"].iterdir()) == []


@pytest.mark.parametrize("method", ["dcp", "dcp-async"])
def test_dcp_methods_run_in_one_process(tmp_path: Path, method: str) -> None:
    rc, err, where, out = _quick(tmp_path, "--method", method, "--params", "50K")
    assert rc == 0, err
    doc = json.loads(out.read_text())
    assert probe_schema.validate(doc)["method"] == method and doc["complete"] is True
    ck, rs = doc["sizes"][0]["checkpoint"], doc["sizes"][0]["restore"]
    assert ck["blocking_s"]["median"] > 0 and rs["total_s"]["median"] > 0
    background = ck["background_s"]["median"]
    assert background > 0 if method == "dcp-async" else background == 0
    assert ck["total_s"]["median"] == pytest.approx(ck["blocking_s"]["median"] + background)
    # DCP writes the same tensors as torch.save (12 B/param) plus its metadata.
    assert 11.9 < ck["bytes_per_param"] < 16
    async_fits = {"blocking", "background"} <= doc["fit"].keys()
    assert async_fits == (method == "dcp-async")
    assert list(where.iterdir()) == []


def test_trainable_share_saves_adapters_only(tmp_path: Path) -> None:
    rc, err, _, out = _quick(tmp_path, "--params", "200K", "--trainable", "0.05")
    assert rc == 0, err
    size = json.loads(out.read_text())["sizes"][0]
    shape, rank = size["model"], size["lora_rank"]
    # 10 r w adapter parameters per layer (probe.lora_rank), ~5% of the model.
    assert size["trainable_params"] == 10 * rank * shape["width"] * shape["layers"]
    assert size["trainable_params"] == probe.trained_params(shape, 0.05)
    assert 0.03 < size["trainable_params"] / size["params"] < 0.07
    assert size["params"] == probe.model_params(shape["vocab"], shape["width"], shape["layers"])
    # The checkpoint holds the adapters and their two moments: 12 B per trained param.
    assert 11.9 < size["checkpoint"]["bytes_per_param"] < 14
    assert size["checkpoint"]["bytes"] < 0.1 * 12 * size["params"]


def test_adapters_train_and_base_stays_frozen() -> None:
    shape = probe.choose_shape(50_000)
    model = probe.build_model(shape, 2, torch.device("cpu"))
    base = {k: v.clone() for k, v in model.state_dict().items() if "adapters." not in k}
    opt = torch.optim.AdamW(probe.trained(model), lr=1e-2)
    args = argparse.Namespace(batch=2, seq=8, dtype="float32")
    for _ in range(2):
        probe.make_step(model, opt, shape, args)()
    after = model.state_dict()
    assert all(torch.equal(after[k], v) for k, v in base.items())
    assert all(p.abs().sum() > 0 for n, p in model.named_parameters() if n.endswith(".b"))
    assert set(probe.checkpoint_state(model, opt)["model"]) == {
        n for n, _ in model.named_parameters() if "adapters." in n
    }


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_gpu_script_runs_on_the_cpu_at_tiny_sizes(tmp_path: Path) -> None:
    """bench/gpu_probe.sh, with one method and one tiny size; it runs ``python -I probe.py``,
    so this also shows that probe.py needs nothing of the package."""
    script = PROBE_FILE.parents[1] / "bench" / "gpu_probe.sh"
    tiny = "--device cpu --steps 1 --warmup 0 --batch 1 --seq 4 --dtype float32"
    env = {**os.environ, "PYTHON": sys.executable, "PROBE_DIR": str(tmp_path / "ckpt"),
           "PARAMS": "30K", "METHODS": "torch.save", "PROBE_ARGS": tiny}  # fmt: skip
    done = subprocess.run(["bash", str(script), str(tmp_path / "out")], env=env,
                          capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    doc = probe_schema.validate(json.loads((tmp_path / "out" / "cpu-torch-save.json").read_text()))
    assert doc["complete"] and doc["dtype"] == "float32" and doc["sizes"][0]["step_s"]["n"] == 1
    assert doc["fit"]["write"]["latency_s"] == 0.0
    assert doc["fit"]["write"]["method"] == "single_size"
    assert (tmp_path / "out" / "cpu-torch-save.json").stat().st_mode & 0o044  # not private
    log = (tmp_path / "out" / "gpu_probe.log").read_text()
    assert "step med" in log and log.rstrip().endswith("done")
    assert not (tmp_path / "ckpt").exists()


def _no_measuring(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object) -> None:
        raise AssertionError("measured before checking the options")

    monkeypatch.setattr(probe, "load_torch", refuse)
    monkeypatch.setattr(probe, "measure_size", refuse)


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("/proc/probe-test.json", "cannot write in /proc"),  # unwritable, even for root
        ("{tmp}/absent/probe.json", "absent does not exist"),
        ("{tmp}", "is a folder"),
    ],
)
def test_bad_out_refused_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, out: str, message: str
) -> None:
    _no_measuring(monkeypatch)  # refused before PyTorch is even imported
    start = time.perf_counter()
    rc, err = _run_main(
        ["--params", "1.3B", "--dir", str(tmp_path), "--out", out.format(tmp=tmp_path)]
    )
    assert time.perf_counter() - start < 1.0
    assert rc == 2 and err.count("\n") == 1 and err.startswith("probe: --out")
    assert message in err


def test_refuses_missing_dir_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_measuring(monkeypatch)
    out = tmp_path / "out.json"
    rc, err = _run_main(["--params", "50K", "--dir", str(tmp_path / "nope"), "--out", str(out)])
    assert rc == 2 and err.count("\n") == 1 and "does not exist" in err
    assert not out.exists()


def test_refuses_dir_too_small(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    rc, err = _run_main(["--params", "1000000B", "--dir", str(tmp_path), "--out", str(out)])
    assert rc == 2 and err.count("\n") == 1 and err.startswith("probe: --dir")
    assert "free" in err and not out.exists()  # 16 PB needed


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

    monkeypatch.setitem(probe.SAVE, "torch.save", (probe.save_torch, fail))
    if error is KeyboardInterrupt:
        rc, err, where, out = _quick(tmp_path, "--params", "20K")
        assert rc == 130 and err.count("\n") == 2  # the CPU line, then one line
        assert "nothing kept" in err and not out.exists()
    else:
        with pytest.raises(RuntimeError, match="boom"):
            _quick(tmp_path, "--params", "20K")
        where = tmp_path / "d"
    assert list(where.iterdir()) == []


def test_sigterm_mid_checkpoint_keeps_sizes_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second size's checkpoint is on disk when SIGTERM comes: it goes, the first size
    stays in --out, marked incomplete, and the handler is put back."""
    calls = []

    def save_then_sigterm(*args: Any) -> dict[str, float]:
        phases: dict[str, float] = probe.save_torch(*args)
        calls.append(Path(args[1]))
        if len(calls) == 2:
            assert calls[-1].exists()  # mid-checkpoint: the file is written
            os.kill(os.getpid(), signal.SIGTERM)
        return phases

    monkeypatch.setitem(probe.SAVE, "torch.save", (save_then_sigterm, probe.restore_torch))
    before = signal.getsignal(signal.SIGTERM)
    rc, err, where, out = _quick(tmp_path, "--params", "20K,50K")
    assert rc == 130 and err.splitlines()[-1] == (
        f"probe: interrupted; kept 1 size(s) in {out} (complete: false); temporary files removed"
    )
    assert list(where.iterdir()) == [] and len(calls) == 2
    doc = probe_schema.validate(json.loads(out.read_text()))
    assert doc["complete"] is False and [s["requested_params"] for s in doc["sizes"]] == [20_000]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "probe.json"]  # no temp file
    assert signal.getsignal(signal.SIGTERM) == before


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout)


def test_stale_folders_of_dead_runs_removed(tmp_path: Path) -> None:
    here = socket.gethostname()
    marks = {"probe-dead": {"host": here, "pid": _dead_pid()},
             "probe-alive": {"host": here, "pid": os.getpid()},
             "probe-elsewhere": {"host": "another-host", "pid": _dead_pid()},
             "probe-bad": {"host": here},
             "user-data": {"host": here, "pid": _dead_pid()}}  # fmt: skip
    for name, mark in marks.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / probe.MARKER).write_text(json.dumps(mark))
        (tmp_path / name / "ckpt-0").write_bytes(b"x")
    (tmp_path / "probe-unmarked").mkdir()
    assert probe.remove_stale(str(tmp_path)) == [str(tmp_path / "probe-dead")]
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["probe-alive", "probe-bad", "probe-elsewhere", "probe-unmarked", "user-data"]


def test_a_run_removes_stale_folders_first(tmp_path: Path) -> None:
    stale = tmp_path / "d" / "probe-old"
    stale.mkdir(parents=True)
    (stale / probe.MARKER).write_text(
        json.dumps({"host": socket.gethostname(), "pid": _dead_pid()})
    )
    rc, err, where, _ = _quick(tmp_path, "--params", "20K")
    assert rc == 0 and f"probe: removed {stale}, left by an earlier run" in err
    assert list(where.iterdir()) == []


def test_model_params_formula_matches_module() -> None:
    shape = probe.choose_shape(300_000)
    model = probe.build_model(shape, 0, torch.device("cpu"))
    expected = probe.model_params(shape["vocab"], shape["width"], shape["layers"])
    assert sum(p.numel() for p in model.parameters()) == expected


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


def test_fit_refuses_a_slope_beyond_a_terabyte_per_second() -> None:
    # 1 MB in 10 ms and 2 MB in 10.0000001 ms: a slope of 1e-16 s/B, 10 PB/s: through the
    # origin instead, sum(x^2) / sum(x y) = 5e12 / (1e6 * 0.01 + 2e6 * 0.0100000001).
    fit = probe.fit_latency_bandwidth([(1e6, 0.01), (2e6, 0.0100000001)])
    assert fit["method"] == "through_origin"
    assert fit["bandwidth_bytes_per_s"] == pytest.approx(5e12 / (1e4 + 2e4 + 2e-4))


@pytest.mark.parametrize(("text", "share"), [("0.01", 0.01), ("1", 1.0)])
def test_parse_share(text: str, share: float) -> None:
    assert probe.parse_share(text) == share


@pytest.mark.parametrize("text", ["0", "1.5", "-0.1", "x", "nan"])
def test_parse_share_rejects(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        probe.parse_share(text)
