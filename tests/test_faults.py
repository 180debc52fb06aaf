"""Faults (DESIGN.md §4): a sweep killed at random moments, tampered chunks, a changed
trace, orphaned workers, a full disk under run/advise --out, requests too big for memory.

Every case ends in one of two ways: resume refuses with one line (exit 2), or it repairs
and its files equal an uninterrupted sweep's, byte for byte.
"""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import signal
import sys
import time
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from preemptsim import chunks, load_scenario, outputs, simulate, store, summarize
from preemptsim.cli import main
from preemptsim.grid import plan
from preemptsim.simulate import COLUMNS, Tally
from tests.conftest import small_job_toml, write_small_job

FINAL = ("summary.csv", "runs.parquet", "optimum.json", "manifest.json")
GRID = ["--vary", "checkpoint.interval=10min:2h:log6", "--reps", "60", "--chunk-reps", "5"]
TASKS = 6 * 12  # points × chunks


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_small_job(tmp_path_factory.mktemp("scenario"), "faults", "14h")


@pytest.fixture(scope="module")
def whole(scenario_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The uninterrupted sweep every repaired one must equal."""
    out = tmp_path_factory.mktemp("whole") / "out"
    assert main(["sweep", str(scenario_file), *GRID, "--out", str(out)]) == 0
    assert not (out / "chunks").exists()  # dropped once finished
    return out


def sweep(scenario_file: Path, out: Path, *extra: str) -> int:
    return main(["sweep", str(scenario_file), *GRID, "--out", str(out), *extra])


def assert_same_files(out: Path, whole: Path) -> None:
    for name in FINAL:
        assert (out / name).read_bytes() == (whole / name).read_bytes(), name


def chunk_files(out: Path) -> list[Path]:
    return sorted((out / "chunks").glob("p*.parquet"))


# --- killed sweeps and orphaned workers -------------------------------------------------


def children(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        return " Z " not in (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1][:3]
    except OSError:
        return False


def start_sweep(argv: list[str], stderr: Path | None = None) -> int:
    """``preemptsim`` in a forked child (no start-up imports to wait for), leading a process
    group of its own as a command started from a terminal does; its pid."""
    pid = os.fork()
    if pid == 0:  # the child: the sweep, then out without pytest's clean-up
        os.setpgid(0, 0)
        null = os.open(os.devnull, os.O_WRONLY)
        err = os.open(stderr, os.O_WRONLY | os.O_CREAT) if stderr else null
        os.dup2(null, 1)
        os.dup2(err, 2)
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 (the child ends in os._exit)
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
        code = 1
        try:
            code = main(argv)
        finally:
            sys.stderr.flush()
            os._exit(code)
    return pid


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_killed_at_random_moments_resumes_to_the_same_files_and_leaves_no_workers(
    scenario_file: Path, whole: Path, tmp_path: Path
) -> None:
    """3 SIGKILLs of a --jobs 2 sweep, each after a random number of new chunk files; after
    each, its pool workers are gone within 5 s; the last resume finishes the sweep."""
    out, moments = tmp_path / "killed", random.Random(13)
    argv = ["sweep", str(scenario_file), *GRID, "--jobs", "2", "--out", str(out), "--resume"]
    for kill in range(3):
        before = len(chunk_files(out)) if out.exists() else 0
        wanted = before + moments.randint(1, 12)
        pid, status = start_sweep(argv), 0
        workers: list[int] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (status := os.waitpid(pid, os.WNOHANG)[1]):
            workers = workers or children(pid)
            if workers and len(chunk_files(out)) >= wanted:
                os.kill(pid, signal.SIGKILL)
                status = os.waitpid(pid, 0)[1]
                break
            time.sleep(0.002)
        assert os.WIFSIGNALED(status), f"kill {kill}: the sweep ended before it was killed"
        gone_by = time.monotonic() + 5
        while any(map(alive, workers)) and time.monotonic() < gone_by:
            time.sleep(0.01)
        orphans = [w for w in workers if alive(w)]
        for orphan in orphans:  # a failing test leaves no processes behind
            os.kill(orphan, signal.SIGKILL)
        assert workers and not orphans, f"kill {kill}: workers outlived it"
    assert before < len(chunk_files(out)) < TASKS
    assert sweep(scenario_file, out, "--resume") == 0
    assert_same_files(out, whole)
    assert not (out / "chunks").exists()


def test_ctrl_c_on_a_dask_local_cluster_is_one_line_and_exit_130(
    scenario_file: Path, tmp_path: Path
) -> None:
    """Dask's own LocalCluster of 2 worker processes: a Ctrl-C (SIGINT to the process group,
    workers included) mid-sweep stops it with one line and exit 130, never swallowed."""
    pytest.importorskip("distributed")
    out, err = tmp_path / "out", tmp_path / "stderr.txt"
    argv = ["sweep", str(scenario_file), *GRID[:2], "--reps", "4000", "--chunk-reps", "50"]
    argv += ["--engine", "simpy", "--backend", "dask", "--jobs", "2", "--out", str(out)]
    pid = start_sweep(argv, err)
    deadline = time.monotonic() + 60
    while not chunk_files(out) and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(pid, signal.SIGINT)
    status = os.waitpid(pid, 0)[1]
    text = err.read_text()
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 130, text
    assert text == f"preemptsim: interrupted; finish it with --resume --out {out}\n"


# --- tampered chunks ---------------------------------------------------------------------


def flip_one_bit(path: Path, rng: random.Random) -> None:
    data = bytearray(path.read_bytes())
    position = rng.randrange(len(data))
    data[position] ^= 1 << rng.randrange(8)
    path.write_bytes(bytes(data))


def test_tampered_chunks_are_all_detected_and_run_again(
    scenario_file: Path, whole: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """48 single-bit flips (one per chunk file, anywhere in it), a chunk copied from another
    point under that point's name, one from a sweep with another seed, and leftover
    temporary files: chunks.load rejects exactly the 50 tampered files, and --resume
    deletes them, runs their tasks again and ends with the uninterrupted sweep's files."""
    out, other = tmp_path / "out", tmp_path / "seed2"
    assert sweep(scenario_file, out, "--keep-chunks") == 0
    assert sweep(scenario_file, other, "--keep-chunks", "--seed", "2") == 0
    files, rng = chunk_files(out), random.Random(7)
    assert len(files) == TASKS
    flipped = files[:48]
    for path in flipped:
        flip_one_bit(path, rng)
    copied_over, seed_over = files[60], files[61]  # the tasks whose files are replaced
    source = files[48]  # point 4, first chunk: copied under the name of point 5's
    moved = copied_over.with_name(copied_over.name[:17] + source.name[17:])
    copied_over.unlink()
    shutil.copy(source, moved)
    foreign = next(p for p in chunk_files(other) if p.name[:17] == seed_over.name[:17])
    seed_over.unlink()
    shutil.copy(foreign, out / "chunks" / foreign.name)
    (out / ".summary.csv.x1y2").write_text("half")
    (out / "chunks" / ".p00000-r000000000-0.parquet.q").write_text("half")
    probe = tmp_path / "probe"
    shutil.copytree(out / "chunks", probe)
    manifest = json.loads((out / "manifest.json").read_text())
    tasks = plan(6, 60, 5)
    done, rejected = chunks.load(probe, tasks, 1, store.sweep_id(manifest))
    expected = {p.name for p in flipped} | {moved.name, foreign.name}
    assert {r.path.name for r in rejected} == expected  # 50 of 50 detected
    assert len(done) == TASKS - 50
    reasons = {r.path.name: r.reason for r in rejected}
    assert reasons[moved.name] == "written for another point"
    assert reasons[foreign.name] == "written for another sweep"  # its manifest's seed differs

    capsys.readouterr()
    assert sweep(scenario_file, out, "--resume", "--keep-chunks") == 0
    err = capsys.readouterr().err
    assert err.startswith("preemptsim: warning: 50 chunk file(s) failed their check")
    assert err.count("\n") == 1
    assert_same_files(out, whole)
    assert not list(out.glob(".*")) and not list((out / "chunks").glob(".*"))
    assert len(chunks.load(out / "chunks", tasks, 1, store.sweep_id(manifest))[0]) == TASKS


# --- input files -------------------------------------------------------------------------


def test_a_changed_trace_refuses_resume_and_paths_resume_from_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "job").mkdir()
    trace = tmp_path / "job" / "trace.json"
    trace.write_text(json.dumps({"metadata": {"gap_seconds": 600}, "data": [0] * 80 + [1] * 3}))
    text = small_job_toml("traced", deadline="14h").replace(
        'model = "poisson"\nmtbi = "3h"', 'model = "trace"\npath = "trace.json"\nstart = 0'
    )
    (tmp_path / "job" / "scenario.toml").write_text(text)
    args = ["--vary", "checkpoint.interval=20min,1h", "--reps", "4", "--chunk-reps", "2"]
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", "job/scenario.toml", *args, "--out", "job/out"]) == 0
    manifest = json.loads((tmp_path / "job" / "out" / "manifest.json").read_text())
    assert list(manifest["inputs"]) == [str(trace.resolve())]
    monkeypatch.chdir(tmp_path / "job")  # the same sweep, named from another folder
    assert main(["sweep", "scenario.toml", *args, "--out", "out", "--resume"]) == 0
    trace.write_text(trace.read_text().replace("[0, 0", "[1, 0", 1))
    capsys.readouterr()
    assert main(["sweep", "scenario.toml", *args, "--out", "out", "--resume"]) == 2
    err = capsys.readouterr().err
    assert err == f"preemptsim: error: {trace.resolve()}: changed since the sweep began; " \
        "use --force to redo it\n"  # fmt: skip


# --- a full disk ---------------------------------------------------------------------------


def no_space(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize(
    ("target", "name"),
    [
        ("pyarrow.parquet.ParquetWriter.write_table", "runs.parquet"),
        ("pandas.DataFrame.to_csv", "runs.csv"),
        ("pathlib.Path.write_text", "summary.json"),
    ],
)
def test_run_out_on_a_full_disk_leaves_nothing_half_written(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    target: str,
    name: str,
) -> None:
    """A new folder is not made at all; a --force'd one keeps its old files untouched."""
    fresh, used = tmp_path / "fresh", tmp_path / "used"
    assert main(["run", "--reps", "20", "--out", str(used)]) == 0
    before = {p.name: p.read_bytes() for p in used.iterdir()}
    monkeypatch.setattr(target, no_space)
    for out, extra in ((fresh, []), (used, ["--force"])):
        capsys.readouterr()
        assert main(["run", "--reps", "20", "--out", str(out), *extra]) == 1
        err = capsys.readouterr().err
        assert err == f"preemptsim: error: {out / name}: cannot write (No space left on device)\n"
    assert not fresh.exists()
    assert {p.name: p.read_bytes() for p in used.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["used"]  # no temporary folder left


def test_advise_out_on_a_full_disk_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("pandas.DataFrame.to_csv", no_space)
    out = tmp_path / "advice"
    assert main(["advise", "--reps", "40", "--json", "--out", str(out)]) == 1
    message = f"{out / 'candidates.csv'}: cannot write (No space left on device)"
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


# --- memory ------------------------------------------------------------------------------


def test_requests_that_cannot_fit_are_refused_before_they_run(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    assert main(["run", "--reps", str(10**12), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("preemptsim: error: --reps: 1000000000000 replications need about")
    assert "GB available; at most" in err and err.count("\n") == 1
    vary = ["--vary", "checkpoint.interval=5min:4h:log50", "--vary", "job.instances=1,2,4,8"]
    assert main(["sweep", str(scenario_file), *vary, "--reps", str(10**9)]) == 2
    err = capsys.readouterr().err
    assert "--reps: 1000000000 replications at each of 200 grid points need" in err
    assert time.monotonic() - started < 5 and not (tmp_path / "run").exists()


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(1, 400), min_size=1, max_size=6))
def test_a_summary_chunk_by_chunk_is_the_summary_of_the_whole(sizes: list[int]) -> None:
    """run's Tally over any split of the replications gives summarize's numbers, bit for bit."""
    scenario = load_scenario(tomllib.loads(small_job_toml("tally", deadline="13h")))
    runs = simulate(scenario, sum(sizes), seed=5)
    tally, first = Tally(), 0
    for size in sizes:
        tally.add(runs.iloc[first : first + size])
        first += size
    on_demand = {"wall_h": 10.0, "cost_usd": 30.0}
    assert tally.summary(scenario, 5, on_demand) == summarize(runs, scenario, 5, on_demand)


def test_run_out_rows_written_as_they_come_equal_the_table(tmp_path: Path) -> None:
    """Chunks of 250 replications (SimPy) written one Parquet row group and CSV block each."""
    scenario_path = write_small_job(tmp_path, "rows", "14h")
    out = tmp_path / "out"
    argv = ["run", str(scenario_path), "--reps", "600", "--engine", "simpy", "--out", str(out)]
    assert main(argv) == 0
    expected = simulate(load_scenario(scenario_path), 600, 1, engine="simpy")
    pd.testing.assert_frame_equal(pd.read_parquet(out / "runs.parquet"), expected)
    csv = pd.read_csv(out / "runs.csv")
    assert list(csv.columns) == list(expected.columns) and len(csv) == 600
    assert sorted(os.listdir(out)) == ["runs.csv", "runs.parquet", "scenario.json", "summary.json"]
    assert outputs.read_results(out)["runs"].shape == (600, len(COLUMNS))
