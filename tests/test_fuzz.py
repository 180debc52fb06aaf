"""Fuzzing the command line (issue 13): scenario files, trace files, probe files, options.

For every input: exit 0, or exit 2 with one line on stderr and no traceback, within a
time and memory bound (tests/fuzzkit.py).  The issue's own cases are the explicit
examples; Hypothesis draws many more of each kind.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzzkit import BASE, assert_clean, call, with_keys, write_toml
from tests.test_calibrate import synthetic

FUZZ = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
RUN = ["--reps", "3", "--json"]

# ---- scenario files ---------------------------------------------------------------

# Values a scenario key should refuse or take in its stride.
NASTY: list[Any] = [
    True, False, 0, -1, 1, 2**63, -(2**63), 1e300, -1e300, 1e-300, 5e-324,
    float("nan"), float("inf"), float("-inf"), -0.0,
    "", "yes", "true", "1ms", "1e30h", "-5min", "never", "1h" * 200, "\x1b[31mred",
    "Work", [], [1], [True], {}, {"a": 1}, {"dist": "lognormal", "median": "1min", "sigma": 1e3},
]  # fmt: skip
KEYS = [
    "job.work", "job.steps", "job.step_time", "job.instances", "job.setup",
    "checkpoint.interval", "checkpoint.write", "checkpoint.size_gb", "checkpoint.on_notice",
    "checkpoint.mode", "checkpoint.storage", "checkpoint.emergency_write",
    "restart.provision", "restart.restore", "restart.manual", "restart.response",
    "interruptions.model", "interruptions.mtbi", "interruptions.rate_per_hour",
    "interruptions.monthly_probability", "interruptions.notice", "interruptions.shape",
    "interruptions.scale", "interruptions.max_lifetime", "interruptions.at",
    "interruptions.start", "pricing.spot_usd_per_hour", "pricing.on_demand_usd_per_hour",
    "pricing.billing_granularity", "pricing.minimum_billed", "policy.kind", "policy.deadline",
    "on_demand.provision", "name", "job.Work", "checkpoint.size-gb", "Job.work",
]  # fmt: skip
MODELS = {
    "poisson": {"interruptions.mtbi": "3h"},
    "weibull": {"interruptions.shape": 0.8, "interruptions.scale": "5h"},
    "hourly": {"interruptions.rate_per_hour": [0.1] * 24},
    "scripted": {"interruptions.at": ["1h"]},
    "none": {},
}

values = st.one_of(
    st.sampled_from(NASTY),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.text(alphabet="0123456789.eE-+hmsdinw ", max_size=30),
)


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    model = draw(st.sampled_from(sorted(MODELS)))
    data = with_keys(BASE, {"interruptions": {"model": model}})
    data = with_keys(data, MODELS[model])
    changes = draw(st.dictionaries(st.sampled_from(KEYS), values, min_size=1, max_size=3))
    return with_keys(data, changes)


@FUZZ
@given(data=scenarios())
def test_scenario_files(tmp_path: Path, data: dict[str, Any]) -> None:
    assert_clean(["run", str(write_toml(tmp_path / "s.toml", data)), *RUN])


# ---- trace files ------------------------------------------------------------------

ticks = st.lists(st.sampled_from([0, 1, 0, 1, 2, -1, True, 0.5, None, "1"]), max_size=50)
prices = st.one_of(
    st.none(),
    st.lists(st.one_of(st.floats(), st.booleans(), st.just([1.0]), st.just("1")), max_size=50),
)
gaps = st.one_of(st.sampled_from([600, 0, -600, "600", None, True]), st.floats())


@st.composite
def json_traces(draw: st.DrawFn) -> str:
    data = draw(st.one_of(ticks, st.lists(st.just(0), min_size=1, max_size=30)))
    doc: dict[str, Any] = {"metadata": {"gap_seconds": draw(gaps)}, "data": data}
    price = draw(prices)
    if price is not None:
        doc["prices"] = price
    return json.dumps(doc)


@st.composite
def csv_traces(draw: st.DrawFn) -> str:
    n = draw(st.integers(0, 20))
    cells = st.sampled_from(["1", "0", "", "2", "x", "1,1", "nan"])
    rows = [
        f"2023-02-15 22:{i // 60:02d}:{i % 60:02d},{draw(cells)}"
        if draw(st.booleans()) else draw(st.sampled_from(["", "2023-02-15", "bad,1", ",,"]))
        for i in range(n)
    ]  # fmt: skip
    return "\n".join(["date,availability", *rows])


@FUZZ
@given(text=json_traces(), suffix=st.just(".json"))
def test_json_trace_files(tmp_path: Path, text: str, suffix: str) -> None:
    _trace_run(tmp_path, text, suffix)


@FUZZ
@given(text=csv_traces(), suffix=st.just(".csv"))
def test_csv_trace_files(tmp_path: Path, text: str, suffix: str) -> None:
    _trace_run(tmp_path, text, suffix)


def _trace_run(tmp_path: Path, text: str, suffix: str) -> None:
    trace = tmp_path / f"t{suffix}"
    trace.write_text(text, encoding="utf-8")
    data = with_keys(BASE, {"interruptions": {"model": "trace", "path": str(trace)}})
    assert_clean(["run", str(write_toml(tmp_path / "s.toml", data)), *RUN])
    assert_clean(["fit", str(trace)])


# ---- probe files ------------------------------------------------------------------


def _leaves(doc: Any, where: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(doc, dict):
        return [where] + [p for k, v in doc.items() for p in _leaves(v, (*where, k))]
    if isinstance(doc, list):
        return [where] + [p for i, v in enumerate(doc) for p in _leaves(v, (*where, i))]
    return [where]


PROBE = synthetic()
PROBE_PATHS = [p for p in _leaves(PROBE) if p]


def _replaced(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    out = json.loads(json.dumps(doc))
    node = out
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return out


@FUZZ
@given(path=st.sampled_from(PROBE_PATHS), value=st.sampled_from(NASTY))
def test_probe_files(tmp_path: Path, path: tuple[Any, ...], value: Any) -> None:
    probe = tmp_path / "p.json"
    probe.write_text(json.dumps(_replaced(PROBE, path, value)), encoding="utf-8")
    scenario = write_toml(tmp_path / "s.toml", BASE)
    assert_clean(["calibrate", str(probe), "--scenario", str(scenario), "--model-params", "7e9"])


# ---- command lines ----------------------------------------------------------------

words = st.sampled_from(
    ["abc", "-1", "0", "1", "1e9", "5%", "150%", "nan", "", ".", "x=1", "\x1b[2J", "1:2:lin3",
     "1:2:lin1000000", "5min:1h:log3", "spot,greedy", "2", "3"]
)  # fmt: skip
OPTIONS = {
    "run": ["--reps", "--seed", "--engine", "--set", "--timeline"],
    "sweep": ["--reps", "--seed", "--vary", "--max-miss", "--objective", "--chunk-reps"],
    "advise": ["--reps", "--seed", "--max-miss", "--set"],
    "fit": ["--model"],
    "plot": ["--kind", "--out"],
}


@st.composite
def command_lines(draw: st.DrawFn, scenario: str) -> list[str]:
    command = draw(st.sampled_from(sorted(OPTIONS)))
    argv = [command, scenario] if command in ("run", "sweep", "advise") else [command]
    if command in ("fit", "plot"):
        argv.append(draw(st.sampled_from([".", "/nonexistent", scenario])))
    if command == "sweep":
        argv += ["--vary", draw(st.sampled_from(["checkpoint.interval=10min,1h", "x=1"]))]
    for option in draw(st.lists(st.sampled_from(OPTIONS[command]), max_size=3)):
        argv += [option, draw(words)]
    if command in ("run", "sweep", "advise"):
        argv += ["--reps", "2"] if "--reps" not in argv else []
    return argv


@FUZZ
@given(data=st.data())
def test_command_lines(tmp_path: Path, data: st.DataObject) -> None:
    scenario = str(write_toml(tmp_path / "s.toml", BASE))
    with contextlib.chdir(tmp_path):  # what an option names (--out 5%) is written here
        assert_clean(data.draw(command_lines(scenario)))


# ---- the issue's own cases -----------------------------------------------------------

REFUSED_SCENARIOS: dict[str, dict[str, Any]] = {
    "spot price true": {"pricing.spot_usd_per_hour": True},
    "on_notice yes": {"checkpoint.on_notice": "yes"},
    "manual 'true'": {"restart.manual": "true"},
    "instances true": {"job.instances": True},
    "deadline shorter than the work": {"policy.deadline": "1h"},
    "mtbi with weibull": {
        "interruptions": {"model": "weibull", "shape": 0.8, "scale": "5h", "mtbi": "3h"}
    },
    "work 1e30h": {"job.work": "1e30h"},
    "lognormal sigma 1e3": {
        "restart.provision": {"dist": "lognormal", "median": "1min", "sigma": 1e3}
    },
    "interval 1ms": {"checkpoint.interval": "1ms"},
    "huge provision": {"restart.provision": "1e15h"},
    "2^63 steps": {"job": {"steps": 2**63 - 1, "step_time": "1s"}},
    "weibull scale 1ms": {"interruptions": {"model": "weibull", "shape": 0.8, "scale": "1ms"}},
    "hourly rates 1e300": {"interruptions": {"model": "hourly", "rate_per_hour": [1e300] * 24}},
    "duration 40 KB": {"checkpoint.write": "1s" * 20_000},
    "nested 'Work'": {"job.Work": "1h"},
}


@pytest.mark.parametrize("changes", REFUSED_SCENARIOS.values(), ids=REFUSED_SCENARIOS.keys())
def test_issue_scenarios_refused(tmp_path: Path, changes: dict[str, Any]) -> None:
    assert_clean(["run", str(write_toml(tmp_path / "s.toml", with_keys(BASE, changes))), *RUN],
                 refused=True)  # fmt: skip


def test_scripted_100000_times_clean(tmp_path: Path) -> None:
    at = [f"{i}s" for i in range(1, 100_001)]
    data = with_keys(BASE, {"interruptions": {"model": "scripted", "at": at}})
    assert_clean(["run", str(write_toml(tmp_path / "s.toml", data)), *RUN])


def test_unknown_key_named_in_its_table(tmp_path: Path) -> None:
    for key, named in (("job.Work", "job.Work"), ("checkpoint.size-gb", "checkpoint.size-gb")):
        path = write_toml(tmp_path / "s.toml", with_keys(BASE, {key: 1}))
        assert f"{named}: unknown key" in call(["run", str(path), *RUN]).err


TRACES_REFUSED = {
    "price NaN": {"prices": [float("nan")] * 3},
    "price negative": {"prices": [-1.0] * 3},
    "price inf": {"prices": [float("inf")] * 3},
    "price bool": {"prices": [True] * 3},
    "nested prices": {"prices": [[1.0]] * 3},
    "gap 0": {"metadata": {"gap_seconds": 0}},
    "gap negative": {"metadata": {"gap_seconds": -600}},
    "gap NaN": {"metadata": {"gap_seconds": float("nan")}},
    "gap inf": {"metadata": {"gap_seconds": float("inf")}},
}


@pytest.mark.parametrize("change", TRACES_REFUSED.values(), ids=TRACES_REFUSED.keys())
def test_issue_traces_refused(tmp_path: Path, change: dict[str, Any]) -> None:
    doc = {"metadata": {"gap_seconds": 600}, "data": [0, 1, 0], **change}
    trace = tmp_path / "t.json"
    trace.write_text(json.dumps(doc), encoding="utf-8")
    data = with_keys(BASE, {"interruptions": {"model": "trace", "path": str(trace)}})
    assert_clean(["run", str(write_toml(tmp_path / "s.toml", data)), *RUN], refused=True)


@pytest.mark.parametrize(
    "text",
    [
        '{"metadata": {"gap_seconds": 600}, "data": [1, 1, 1]}',
        '{"metadata": {"gap_seconds": 600}, "data": [0]}',
        "date,availability\n2023-02-15 22:08:16,1\n2023-02-15 22:11:16\n",
    ],
    ids=["all unavailable", "single tick", "csv missing column"],
)
def test_issue_traces_clean(tmp_path: Path, text: str) -> None:
    trace = tmp_path / ("t.csv" if text.startswith("date") else "t.json")
    trace.write_text(text, encoding="utf-8")
    data = with_keys(BASE, {"interruptions": {"model": "trace", "path": str(trace)}})
    assert_clean(["run", str(write_toml(tmp_path / "s.toml", data)), *RUN])


@pytest.mark.parametrize(
    "path, value",
    [(("sizes", 0, "checkpoint", "d2h_s"), 0.01), (("sizes", 0, "step_s"), {}),
     (("fit", "write", "bandwidth_bytes_per_s"), 1e-300)],
    ids=["d2h_s number", "step_s empty", "bandwidth 1e-300"],
)  # fmt: skip
def test_issue_probes_refused(tmp_path: Path, path: tuple[Any, ...], value: Any) -> None:
    probe = tmp_path / "p.json"
    probe.write_text(json.dumps(_replaced(PROBE, path, value)), encoding="utf-8")
    scenario = write_toml(tmp_path / "s.toml", BASE)
    argv = ["calibrate", str(probe), "--scenario", str(scenario), "--model-params", "7e9"]
    assert_clean(argv, refused=True)


def test_issue_command_lines(tmp_path: Path) -> None:
    scenario = str(write_toml(tmp_path / "s.toml", BASE))
    refused = [
        ["run", scenario, "--reps", "abc"],
        ["run", scenario, "--set", "job.instances=true"],
        ["run", scenario, "--reps", "2", "--timeline", "."],
        ["sweep", scenario, "--vary", "job.instances=1:2:lin1000000", "--reps", "2"],
        ["calibrate", "p.json", "--scenario", scenario, "--out", "."],
        ["plot", str(_list_manifest(tmp_path))],
    ]
    for argv in refused:
        assert_clean(argv, refused=True)
    err = call(["run", scenario, "--reps", "abc"]).err.strip()
    assert err == "preemptsim run: --reps: expected a whole number, got 'abc'"
    sweep = ["sweep", scenario, "--vary", "checkpoint.interval=10min,1h", "--reps", "2"]
    assert_clean([*sweep, "--set", "policy.deadline=10h", "--max-miss", "5%"], refused=False)


def _list_manifest(tmp_path: Path) -> Path:
    results = tmp_path / "results"
    results.mkdir()
    (results / "manifest.json").write_text("[]", encoding="utf-8")
    return results


def test_deep_nesting_one_line_naming_the_file(tmp_path: Path) -> None:
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 100_000 + "]" * 100_000, encoding="utf-8")
    outcome = assert_clean(["run", str(deep), *RUN], refused=True)
    assert str(deep) in outcome.err
    trace = tmp_path / "deep.json"
    trace.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    assert_clean(["fit", str(trace)], refused=True)


def test_escape_characters_printed_escaped(tmp_path: Path) -> None:
    outcome = call(["run", "\x1b[2Jgone.toml", *RUN])
    assert outcome.code == 2 and "\x1b" not in outcome.err


# One child runs every case: its address space is capped, so reading /dev/zero whole would
# end in a MemoryError, not in the refusal each case must give.
CHILD = """
import contextlib, io, json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))
from preemptsim.cli import main
for argv in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(argv)
    print(json.dumps([code, err.getvalue()]))
"""


def test_dev_zero_refused_in_bounded_memory(tmp_path: Path) -> None:
    scenario = with_keys(BASE, {"calibration": {"probe": "/dev/zero", "model_params": 7e9}})
    cases = [
        ["run", "/dev/zero", *RUN],
        ["run", str(write_toml(tmp_path / "s.toml", scenario)), *RUN],
        ["fit", "/dev/zero"],
        ["calibrate", "/dev/zero", "--scenario", str(write_toml(tmp_path / "b.toml", BASE))],
    ]
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(cases)], capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(results) == len(cases), done.stderr[-800:]
    for argv, (code, err) in zip(cases, results, strict=True):
        assert code == 2 and len(err.strip().splitlines()) == 1 and "/dev/zero" in err, (argv, err)
