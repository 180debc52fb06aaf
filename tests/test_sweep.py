"""Sweeps (preemptsim/sweep.py, ``preemptsim sweep``): values, the optimum against the closed
forms of REFERENCES.md §1, identical results for every executor, and resuming a killed sweep.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pytest

from preemptsim import analytic, executors, load_scenario, simulate
from preemptsim.cli import main
from preemptsim.grid import parse_values
from preemptsim.scenario import Scenario, ScenarioError
from preemptsim.sweep import SUMMARY_COLUMNS, sweep
from tests.conftest import small_job_toml

FINAL = ("summary.csv", "runs.parquet", "optimum.json", "manifest.json")


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "scenario.toml"
    path.write_text(small_job_toml("sweep-test", deadline="14h"))
    return path


@pytest.fixture
def scenario(scenario_file: Path) -> Scenario:
    return load_scenario(scenario_file)


def cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = main(["sweep", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- values -----------------------------------------------------------------------------


def test_values_lists_words_and_ranges() -> None:
    assert parse_values("k", "5min,10min,1h") == ["5min", "10min", "1h"]
    assert parse_values("k", "spot, greedy") == ["spot", "greedy"]
    assert parse_values("k", "1,2.5,true") == [1, 2.5, True]
    assert parse_values("k", "1:8:log4") == [1.0, 2.0, 4.0, 8.0]
    assert parse_values("k", "24h:48h:lin13")[:3] == [86400.0, 93600.0, 100800.0]
    log20 = parse_values("k", "5min:4h:log20")
    assert len(log20) == 20 and log20[0] == 300.0 and log20[-1] == 14400.0
    np.testing.assert_allclose(np.diff(np.log(log20)), math.log(48) / 19)
    assert parse_values("k", "1GB:100GB:log3") == [1.0, 10.0, 100.0]
    assert parse_values("k", "2h:2h:lin1") == [7200.0]


@pytest.mark.parametrize(
    "text", ["", "5min,,1h", "4h:5min:log5", "5min:4h:log0", "5min:4h:lin1", "0:4h:log3", "a:b"]
)
def test_bad_values_name_the_key(text: str) -> None:
    with pytest.raises(ScenarioError, match=r"^checkpoint\.interval: "):
        parse_values("checkpoint.interval", text)


def test_every_value_is_validated_against_the_scenario(scenario: Scenario) -> None:
    for grid, message in (
        ({"checkpoint.interval": ["5min", "banana"]}, r"^checkpoint\.interval: must be"),
        ({"checkpoint.interval": ["5min", 300]}, r"^checkpoint\.interval: 300 repeats"),
        ({"checkpoint.intervl": ["5min"]}, r"^checkpoint\.intervl: unknown key"),
        ({"policy.kind": ["spot", "lazy"]}, r"^policy\.kind: "),
        ({"job.instances": parse_values("job.instances", "1:8:lin3")}, r"^job\.instances: "),
    ):
        with pytest.raises(ScenarioError, match=message):
            sweep(scenario, grid, reps=2)


# --- the optimum against REFERENCES.md §1 -----------------------------------------------


@pytest.mark.parametrize("engine", ["simpy", "fast"])
@pytest.mark.parametrize(("write", "mtbi"), [("5min", "2h"), ("1min", "6h")])
def test_optimum_is_near_the_exact_lambert_w_interval(
    scenario: Scenario, write: str, mtbi: str, engine: Literal["simpy", "fast"]
) -> None:
    """The chosen interval's expected wall time (closed form, REFERENCES.md §1) is within 1%
    of that at τ* = (1 + W₀(−e^{−λC−1}))/λ.  The grid's ends are > 8% worse, so the
    tolerance tells a good choice from a bad one."""
    sc = scenario.with_values(
        {"checkpoint.write": write, "interruptions.mtbi": mtbi, "policy.deadline": None}
    )
    write_s, mtbi_s = sc.checkpoint.write, sc.interruptions.rate_per_s**-1
    exact = analytic.optimal_interval(write_s, mtbi_s)

    def wall(interval_s: float) -> float:
        return analytic.expected_run(sc.with_values({"checkpoint.interval": interval_s})).wall_s

    grid = list(np.geomspace(exact / 4, exact * 4, 13))
    assert min(wall(grid[0]), wall(grid[-1])) > 1.08 * wall(exact)
    options: dict[str, Any] = {"seed": 1, "objective": "wall", "engine": engine}
    result = sweep(sc, {"checkpoint.interval": grid}, reps=200, **options)
    chosen = result.optimum["point"]["checkpoint.interval"]
    assert wall(chosen) <= 1.01 * wall(exact)
    low, high = result.optimum["flat_range"]
    assert low <= chosen <= high
    assert result.optimum["exact_s"] == pytest.approx(exact)
    assert result.optimum["young_s"] == pytest.approx(analytic.young_interval(write_s, mtbi_s))
    assert result.optimum["daly_s"] == pytest.approx(analytic.daly_interval(write_s, mtbi_s))


def test_closed_forms_reported_are_dalys_worked_case(scenario: Scenario) -> None:
    """REFERENCES.md §1: C = 5 min, M = 6 h → Young 60, Daly 57, exact 56.7 min."""
    sc = scenario.with_values({"checkpoint.write": "5min", "interruptions.mtbi": "6h"})
    optimum = sweep(sc, {"checkpoint.interval": ["30min", "1h"]}, reps=5).optimum
    assert optimum["young_s"] / 60 == pytest.approx(60.0, abs=0.05)
    assert optimum["daly_s"] / 60 == pytest.approx(57.0, abs=0.5)
    assert optimum["exact_s"] / 60 == pytest.approx(56.7, abs=0.05)
    gang = sweep(sc.with_values({"job.instances": 2}), {"checkpoint.interval": ["1h"]}, reps=2)
    assert gang.optimum["exact_s"] == pytest.approx(analytic.optimal_interval(300, 3 * 3600))


def test_tables_and_common_random_numbers(scenario: Scenario) -> None:
    grid = {"checkpoint.interval": ["20min", "1h"], "restart.restore": ["1min", "5min"]}
    result = sweep(scenario, grid, reps=30, seed=4, chunk_reps=7)
    assert list(result.summary.columns) == [*grid, *SUMMARY_COLUMNS]
    assert result.summary["checkpoint.interval"].tolist() == [1200.0, 1200.0, 3600.0, 3600.0]
    assert result.summary["restart.restore"].tolist() == [60.0, 300.0, 60.0, 300.0]
    assert list(result.runs.columns[:3]) == [*grid, "rep"]
    assert result.runs["rep"].tolist() == list(range(30)) * 4
    # Common random numbers: every point runs replications 0…29 of seed 4, as simulate does.
    for index, values in enumerate(result.summary[list(grid)].to_dict(orient="records")):
        alone = simulate(scenario.with_values(values), 30, 4)
        block = result.runs.iloc[index * 30 : (index + 1) * 30].drop(columns=list(grid))
        pd.testing.assert_frame_equal(block.reset_index(drop=True), alone)


# --- the command line, executors, and files ---------------------------------------------


def test_cli_prints_the_best_point_and_the_grid(
    scenario_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [scenario_file, "--reps", "100"]
    code, out, err = cli(capsys, *args, "--vary", "checkpoint.interval=10min:2h:log5")
    assert (code, err) == (0, "")
    assert "best            checkpoint.interval=" in out and "closed forms    Young" in out
    marked = [line for line in out.splitlines() if line.startswith("*")]
    # the best row, and the legend (the file's deadline makes --max-miss 5% the default)
    assert len(marked) == 2 and marked[1].startswith("* best; x misses the deadline in over 0.05")
    assert "within 1%" in out and "p95" in out
    code, out, _ = cli(capsys, *args, "--vary", "checkpoint.interval=20min,1h", "--json")
    data = json.loads(out, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    assert [p["checkpoint.interval"] for p in data["points"]] == [1200.0, 3600.0]
    assert set(data["points"][0]) == {"checkpoint.interval", *SUMMARY_COLUMNS}
    assert {"objective", "point", "value", "ci95", "flat_range", "exact_s"} <= set(data["optimum"])


def test_same_files_for_every_executor(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--jobs 1, --jobs 2 (process pool) and Dask give the same bytes.  The Dask cluster is a
    real dask.distributed LocalCluster of 2 workers with processes=False (threads: spawning
    processes costs seconds; the process pool covers separate processes)."""
    distributed = pytest.importorskip("distributed")
    args = [scenario_file, "--vary", "checkpoint.interval=10min:2h:log4"]
    args += ["--vary", "interruptions.mtbi=2h,6h", "--reps", "40"]
    folders = {name: tmp_path / name for name in ("serial", "pool", "dask")}
    assert cli(capsys, *args, "--out", folders["serial"])[0] == 0
    assert cli(capsys, *args, "--jobs", "2", "--chunk-reps", "7", "--out", folders["pool"])[0] == 0
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
    ):
        address = cluster.scheduler_address
        dask_args = ["--backend", "dask", "--scheduler", address, "--chunk-reps", "13"]
        assert cli(capsys, *args, *dask_args, "--out", folders["dask"])[0] == 0
    for name in ("summary.csv", "runs.parquet", "optimum.json"):
        contents = {(folder / name).read_bytes() for folder in folders.values()}
        assert len(contents) == 1, name


@pytest.mark.slow
def test_dask_local_cluster_of_processes(scenario: Scenario) -> None:
    """backend="dask" with no scheduler starts a LocalCluster of --jobs processes."""
    pytest.importorskip("distributed")
    grid = {"checkpoint.interval": ["15min", "1h"]}
    local = sweep(scenario, grid, reps=20, backend="dask", jobs=2, chunk_reps=6)
    serial = sweep(scenario, grid, reps=20)
    pd.testing.assert_frame_equal(local.runs, serial.runs)
    pd.testing.assert_frame_equal(local.summary, serial.summary)


def test_ctrl_c_on_a_process_pool_stops_cleanly(scenario_file: Path, tmp_path: Path) -> None:
    # Ctrl-C on a terminal signals the whole process group, workers included: the sweep must
    # still stop within seconds with one line and exit code 130, ready for --resume.
    out = tmp_path / "stopped"
    args = [scenario_file, "--vary", "checkpoint.interval=5min:2h:log16", "--reps", "2000"]
    args += ["--engine", "simpy", "--jobs", "2", "--chunk-reps", "50", "--out", out]
    command = [sys.executable, "-m", "preemptsim", "sweep", *map(str, args)]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        if len(list((out / "chunks").glob("p*.parquet"))) >= 2:
            os.killpg(process.pid, signal.SIGINT)
            break
        time.sleep(0.05)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.count("\n") == 1 and "--resume" in err


@pytest.mark.parametrize(
    "vary",
    ["checkpoint.intervl=5min,1h", "checkpoint.interval=5min,banana", "checkpoint.interval=",
     "checkpoint.interval=4h:5min:log5", "checkpoint.interval=5min:4h:log0", "nonsense"],
)  # fmt: skip
def test_bad_vary_is_exit_2_and_leaves_no_files(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], vary: str
) -> None:
    out = tmp_path / "out"
    code, stdout, err = cli(capsys, scenario_file, "--vary", vary, "--out", out)
    assert (code, stdout) == (2, "")
    assert err.startswith("preemptsim: error: ") and err.count("\n") == 1
    key = vary.partition("=")[0]
    assert key in err
    assert not out.exists()


def test_existing_out_force_and_another_sweeps_manifest(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = [scenario_file, "--vary", "checkpoint.interval=20min,1h", "--reps", "10"]
    assert cli(capsys, *args, "--out", out)[0] == 0
    (out / "notes.txt").write_text("mine")
    code, _, err = cli(capsys, *args, "--out", out)
    assert code == 2 and "already exists" in err and err.count("\n") == 1
    code, _, err = cli(capsys, *args, "--seed", "2", "--out", out, "--resume")
    assert code == 2 and "seed differs" in err
    code, _, err = cli(capsys, *args, "--set", "checkpoint.write=1min", "--out", out, "--resume")
    assert code == 2 and "scenario.checkpoint.write differs" in err
    code, _, err = cli(capsys, *args, "--engine", "simpy", "--out", out, "--resume")
    assert code == 2 and "engine differs" in err
    assert cli(capsys, *args, "--out", out, "--resume")[0] == 0  # complete: writes it again
    assert cli(capsys, *args, "--seed", "2", "--out", out, "--force")[0] == 0
    assert json.loads((out / "manifest.json").read_text())["seed"] == 2
    assert (out / "notes.txt").read_text() == "mine"  # --force removes only sweep files
    assert cli(capsys, *args, "--out", out, "--resume", "--force")[0] == 2


def test_max_miss_excludes_points_and_none_left_is_an_error(
    scenario_file: Path, scenario: Scenario, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With a 12 h deadline, spot is cheapest but misses it often; on-demand never does.
    With a deadline, points that miss it in over 5% of runs are out unless --max-miss says."""
    args = [scenario_file, "--set", "policy.deadline=12h", "--reps", "100", "--json"]
    kinds = [*args, "--vary", "policy.kind=spot,on_demand"]
    cheapest = json.loads(cli(capsys, *kinds, "--max-miss", "1")[1])
    assert cheapest["optimum"]["point"] == {"policy.kind": "spot"}
    assert cheapest["points"][0]["deadline_miss_prob"] > 0.1
    for bound in ("0.1", "10%", None):
        code, out, _ = cli(capsys, *kinds, *(["--max-miss", bound] if bound else []))
        safe = json.loads(out)
        assert code == 0 and safe["optimum"]["point"] == {"policy.kind": "on_demand"}
        assert safe["optimum"]["max_miss"] == (0.05 if bound is None else 0.1)
    assert safe["optimum"]["flat_range"] is None and safe["optimum"]["exact_s"] is None
    code, _, err = cli(capsys, *kinds, "--max-miss", "5 percent")
    assert code == 2 and err.startswith("preemptsim: error: --max-miss: must be a probability")
    out_dir = tmp_path / "o"
    intervals = [*args, "--vary", "checkpoint.interval=10min,3h", "--max-miss", "0.01"]
    code, out, err = cli(capsys, *intervals, "--out", out_dir)
    assert (code, out) == (1, "")
    assert "no grid point meets --max-miss 0.01" in err and err.count("\n") == 1
    assert (out_dir / "summary.csv").exists() and not (out_dir / "optimum.json").exists()
    no_deadline = scenario.with_values({"policy.deadline": None})
    with pytest.raises(ScenarioError, match="needs a deadline"):
        sweep(no_deadline, {"checkpoint.interval": ["1h"]}, reps=2, max_miss=0.1)


def test_unreachable_scheduler_is_exit_1_in_one_line(
    scenario_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("distributed")
    monkeypatch.setattr(executors, "CONNECT_TIMEOUT_S", 1)
    args = [scenario_file, "--vary", "checkpoint.interval=1h", "--reps", "5"]
    code, out, err = cli(capsys, *args, "--backend", "dask", "--scheduler", "tcp://127.0.0.1:9")
    assert (code, out) == (1, "")
    assert err.startswith("preemptsim: error: cannot reach the Dask scheduler at tcp://127.0.0.1:9")
    assert err.count("\n") == 1


def test_options_are_checked(scenario: Scenario) -> None:
    grid = {"checkpoint.interval": ["1h"]}
    bad: list[dict[str, Any]] = [
        {"jobs": -1},
        {"scheduler": "tcp://x:1"},
        {"chunk_reps": 0},
        {"max_miss": 1.5},
        {"objective": "money"},
        {"reps": 0},
    ]
    for options in bad:
        with pytest.raises(ScenarioError):
            sweep(scenario, grid, **{"reps": 2, **options})
    assert os.cpu_count()  # --jobs 0 uses every core
    assert len(sweep(scenario, grid, reps=3, jobs=0).runs) == 3
