"""``preemptsim sweep --plots``, ``run --timeline`` and ``preemptsim plot``: real PNG and SVG
files from real result folders, and bad input turned into one line and exit code 2."""

from __future__ import annotations

import importlib
from pathlib import Path

import pandas as pd
import pytest

from preemptsim import load_scenario
from preemptsim.cli import main
from preemptsim.simulate import timeline
from tests.conftest import small_job_toml

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("plot-cli") / "scenario.toml"
    path.write_text(small_job_toml("plot-cli-test", deadline="12h"))
    return path


def run_cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 1000


def test_sweep_plots_writes_every_plot_that_applies(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sweep"
    vary = "checkpoint.interval=15min,1h"
    args = ["--vary", vary, "--reps", 20, "--out", out, "--plots", "--max-miss", "100%"]
    code, stdout, err = run_cli(capsys, "sweep", scenario_file, *args)
    assert (code, err) == (0, "")
    for kind in ("interval", "risk", "cdf"):
        assert_png(out / f"{kind}.png")
        assert f"{kind} plot written to {out / f'{kind}.png'}" in stdout
    code, stdout, _ = run_cli(capsys, "plot", out, "--kind", "risk", "--out", tmp_path / "r.svg")
    assert code == 0 and (tmp_path / "r.svg").read_text().lstrip().startswith("<?xml")
    code, stdout, _ = run_cli(capsys, "plot", out)  # default kind: interval
    assert code == 0 and stdout == f"interval plot written to {out / 'interval.png'}\n"


def test_run_timeline_and_run_folder(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "tl.csv"
    code, _, _ = run_cli(
        capsys, "run", scenario_file, "--reps", 20, "--out", tmp_path / "run", "--timeline", csv
    )
    assert code == 0
    spans = pd.read_csv(csv)
    assert list(spans.columns) == ["start_h", "end_h", "kind", "market", "zone"]
    pd.testing.assert_frame_equal(
        spans, timeline(load_scenario(scenario_file), 0, 1), check_dtype=False
    )
    assert run_cli(capsys, "plot", csv)[0] == 0
    assert_png(tmp_path / "tl.png")
    assert run_cli(capsys, "plot", tmp_path / "run")[0] == 0
    assert_png(tmp_path / "run" / "cdf.png")


def test_run_without_timeline_does_not_trace(
    scenario_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("timeline() ran without --timeline")

    monkeypatch.setattr(importlib.import_module("preemptsim.simulate"), "timeline", refuse)
    assert run_cli(capsys, "run", scenario_file, "--reps", 10)[0] == 0


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        (None, ["missing"], "missing: no such results folder or timeline CSV"),
        ("empty", ["DIR"], "not a sweep's or run's --out"),
        ("garbage", ["DIR"], "summary.csv: unreadable"),
        ("timeline", ["DIR/tl.csv", "--kind", "interval"], "needs a sweep's folder"),
        ("timeline", ["DIR/tl.csv", "--out", "DIR/x.jpg"], "must end in .png or .svg"),
        ("policies", ["DIR", "--kind", "interval"], "needs the column(s) checkpoint.interval"),
    ],
)
def test_plot_errors_are_one_line_exit_2(
    setup: str | None,
    args: list[str],
    message: str,
    scenario_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if setup == "garbage":
        (tmp_path / "summary.csv").write_bytes(b'"unterminated')
    elif setup == "timeline":
        timeline(load_scenario(scenario_file), 0, 1).to_csv(tmp_path / "tl.csv", index=False)
    elif setup == "policies":
        grid = "policy.kind=spot,greedy"
        run_cli(
            capsys,
            "sweep",
            scenario_file,
            "--vary",
            grid,
            "--reps",
            10,
            "--out",
            tmp_path,
            "--force",
        )
    root = str(tmp_path)
    code, _, err = run_cli(capsys, "plot", *(a.replace("DIR", root) for a in args))
    assert code == 2
    assert err.startswith("preemptsim: error: ") and message in err and err.count("\n") == 1


def test_sweep_plots_needs_out(scenario_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(
        capsys, "sweep", scenario_file, "--vary", "checkpoint.interval=1h,2h", "--plots"
    )
    assert code == 2 and err == (
        "preemptsim: error: --plots needs --out DIR: the plots are written beside the results\n"
    )


def test_run_folder_records_its_scenario_for_the_deadline(tmp_path: Path) -> None:
    from preemptsim import outputs

    out = tmp_path / "run"
    assert main(["run", "--reps", "30", "--out", str(out), "--set", "policy.deadline=31h"]) == 0
    tables = outputs.read_results(out)
    assert tables["deadline_h"] == 31
    assert main(["plot", str(out), "--kind", "cdf", "--out", str(tmp_path / "c.png")]) == 0
