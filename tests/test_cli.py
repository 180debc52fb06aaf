"""The command line as a user meets it: output, files, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from preemptsim.cli import main, presets
from preemptsim.simulate import COLUMNS

SCENARIOS = Path(__file__).parent.parent / "scenarios"
SUMMARY_KEYS = {
    "scenario",
    "reps",
    "seed",
    "wall_h",
    "cost_usd",
    "interruptions",
    "lost_work_h",
    "billed_instance_h",
    "deadline_miss_prob",
    "on_demand",
    "savings_vs_on_demand",
}
STATS_KEYS = {"mean", "sem", "ci95", "p50", "p90", "p95", "p99"}


def test_default_run_prints_the_runpod_comparison(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--reps", "200"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("runpod-a6000-lora-7b:")
    assert "on-demand" in out and "deadline miss" in out and "spot saves" in out


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.stem)
def test_json_for_every_shipped_scenario(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(path), "--reps", "100", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert set(summary) == SUMMARY_KEYS
    assert set(summary["wall_h"]) == STATS_KEYS == set(summary["cost_usd"])
    assert summary["reps"] == 100 and summary["seed"] == 1
    assert summary["on_demand"]["cost_usd"] > 0


def test_out_writes_runs_and_summary(tmp_path: Path) -> None:
    out = tmp_path / "result"
    assert main(["run", "--reps", "50", "--out", str(out), "--set", "job.work=12h"]) == 0
    runs = pd.read_parquet(out / "runs.parquet")
    assert list(runs.columns) == list(COLUMNS) and len(runs) == 50
    assert len(pd.read_csv(out / "runs.csv")) == 50
    assert json.loads((out / "summary.json").read_text())["reps"] == 50
    assert not list(out.glob(".*"))  # no temporary files left
    assert (out / "runs.csv").stat().st_mode & 0o044  # readable by others, as the umask allows
    assert main(["run", "--reps", "5", "--out", str(out)]) == 2  # not empty: --force needed
    assert main(["run", "--reps", "5", "--out", str(out), "--force"]) == 0


def test_presets_lists_shipped_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["presets"]) == 0
    assert set(presets()) == {p.stem for p in SCENARIOS.glob("*.toml")}
    assert "runpod-a6000-lora-7b" in capsys.readouterr().out


BAD_RUNS = [
    (["--set", "checkpoint.intervl=5min"], "checkpoint.intervl: unknown key"),
    (["--set", "checkpoint.interval=-5min"], "checkpoint.interval: must be a positive duration"),
    (["--set", "interruptions.mtbi=0"], "interruptions.mtbi: must be a positive duration"),
    (["--set", "pricing.spot_usd_per_hour=nan"], "pricing.spot_usd_per_hour: input should be"),
    (["--set", "interruptions.model=gamma"], "interruptions.model: input should be"),
    (["--set", "checkpoint.write"], "expected KEY=VALUE"),
    (
        ["--set", "checkpoint.interval=never", "--set", "interruptions.mtbi=1h"],
        "checkpoint.interval: with an interruption every 1h on average, a segment of 24h",
    ),
    (
        ["--set", "interruptions.max_lifetime=20min"],
        "interruptions.max_lifetime: an instance lives 20min, less than a segment",
    ),
]


@pytest.mark.parametrize(("extra", "message"), BAD_RUNS)
def test_bad_input_is_one_line_and_exit_2(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--reps", "5", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name = 'x'\n[job\n", "invalid TOML"),
        (
            "name = 'x'\n[job]\nwork = '1h'\n[checkpoint]\ninterval = '1h'\n",
            "pricing: required table is missing",
        ),
    ],
)
def test_bad_files_in_a_subprocess(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    for target in (path, tmp_path / "missing.toml"):
        done = subprocess.run(
            [sys.executable, "-m", "preemptsim", "run", str(target)], capture_output=True, text=True
        )
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert (
        message
        in subprocess.run(
            [sys.executable, "-m", "preemptsim", "run", str(path)], capture_output=True, text=True
        ).stderr
    )
