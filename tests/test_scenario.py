"""Loading and validating scenarios: units, defaults, and one-line errors naming the key."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from preemptsim import ScenarioError, load_scenario
from preemptsim.units import parse_duration, parse_size_gb
from tests.conftest import scenario

SCENARIOS = Path(__file__).parent.parent / "scenarios"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("30min", 1800),
        ("2h", 7200),
        ("1h30min", 5400),
        ("1.5d", 129600),
        (45, 45),
        (2.5, 2.5),
        ("600", 600),
        ("250ms", 0.25),
    ],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds, rel=1e-15)


@pytest.mark.parametrize(("text", "gb"), [("14GB", 14), ("512MiB", 0.536870912), (3, 3)])
def test_sizes(text: object, gb: float) -> None:
    assert parse_size_gb(text) == pytest.approx(gb, rel=1e-12)


@pytest.mark.parametrize("bad", ["5 parsecs", "h", "", "1h-", True, None, "nan"])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ValueError, match="must be a duration"):
        parse_duration(bad)


def test_never_interval_and_work_from_steps() -> None:
    sc = scenario(
        job={"work": None, "steps": 200_000, "step_time": "0.43s"}, checkpoint={"interval": "never"}
    )
    assert sc.job.work_s == pytest.approx(86_000)
    assert math.isinf(sc.checkpoint.interval)


def test_monthly_probability_and_advisor_bucket() -> None:
    # REFERENCES.md §3: λ = −ln(1−p) / 730 h
    sc = scenario(interruptions={"model": "poisson", "monthly_probability": 0.1})
    assert sc.interruptions.rate_per_s == pytest.approx(-math.log(0.9) / (730 * 3600))
    bucket = scenario(interruptions={"model": "poisson", "monthly_probability": "5-10%"})
    assert bucket.interruptions.rate_per_s == pytest.approx(-math.log(1 - 0.075) / (730 * 3600))


def test_with_values_is_a_new_validated_scenario() -> None:
    sc = scenario()
    changed = sc.with_values({"checkpoint.interval": "30min", "job.instances": 4})
    assert (changed.checkpoint.interval, changed.job.instances) == (1800, 4)
    assert sc.checkpoint.interval == 7200
    assert changed.value("checkpoint.interval") == 1800
    assert changed.value("restart.restore") == 900
    with pytest.raises(ScenarioError, match=r"^checkpoint\.interval: must be a positive"):
        sc.with_values({"checkpoint.interval": "-5min"})


def test_distribution_table() -> None:
    sc = scenario(restart={"provision": {"dist": "lognormal", "median": "3min", "sigma": 0.5}})
    assert sc.restart.provision.mean_s == pytest.approx(180 * math.exp(0.125))
    with pytest.raises(
        ScenarioError, match=r"^restart\.provision\.sigma: required by the lognormal distribution"
    ):
        scenario(restart={"provision": {"dist": "lognormal", "median": "3min"}})


BAD = [
    ({"checkpoint": {"intervl": "1h"}}, r"^checkpoint\.intervl: unknown key; expected one of"),
    (
        {"checkpoint": {"interval": "-5min"}},
        r"^checkpoint\.interval: must be a positive duration, got \'-5min\'",
    ),
    ({"checkpoint": {"interval": "5 fortnights"}}, r"^checkpoint\.interval: must be a duration"),
    ({"checkpoint": {"write": float("nan")}}, r"^checkpoint\.write: must be a finite duration"),
    (
        {"interruptions": {"model": "poisson", "mtbi": 0}},
        r"^interruptions\.mtbi: must be a positive",
    ),
    (
        {"pricing": {"spot_usd_per_hour": -1}},
        r"^pricing\.spot_usd_per_hour: input should be greater",
    ),
    ({"interruptions": {"model": "gamma"}}, r"^interruptions\.model: input should be"),
    (
        {"interruptions": {"model": "poisson"}},
        r"^interruptions\.mtbi: poisson needs exactly one of",
    ),
    ({"job": {"instances": 0}}, r"^job\.instances: input should be greater than 0"),
    (
        {"policy": {"kind": "greedy"}},
        r"^policy\.deadline: policy\.kind = 'greedy' needs a deadline",
    ),
    (
        {"interruptions": {"model": "weibull", "shape": 0, "scale": "6h"}},
        r"^interruptions\.shape: input should be greater than 0, got 0",
    ),
    (
        {"interruptions": {"model": "hourly", "rate_per_hour": [0.1] * 23}},
        r"^interruptions\.rate_per_hour: hourly needs a list of 24 rates",
    ),
    ({"interruptions": {"model": "trace"}}, r"^interruptions\.path: trace needs the path"),
    ({"job": {"work": None}}, r"^job\.work: give either work or both steps and step_time"),
    ({"job": {"steps": 10, "step_time": "1s"}}, r"^job\.work: give either work or both steps"),
    ({"checkpoint": {"mode": "async"}}, r"^checkpoint\.write: async mode takes snapshot"),
    (
        {"checkpoint": {"mode": "async", "write": 0}},
        r"^checkpoint\.snapshot: async mode needs snapshot and persist",
    ),
    (
        {"restart": {"provision": {"dist": "uniform", "low": 1, "high": 5, "median": 3}}},
        r"^restart\.provision\.median: not a parameter of the uniform distribution",
    ),
    (
        {"interruptions": {"model": "poisson", "monthly_probability": "15 percent"}},
        r"^interruptions\.monthly_probability: input should be a valid number",
    ),
]


@pytest.mark.parametrize(("tables", "message"), BAD)
def test_errors_name_the_key(tables: dict[str, dict[str, object]], message: str) -> None:
    with pytest.raises(ScenarioError, match=message) as caught:
        scenario(**tables)
    assert "\n" not in str(caught.value)


def test_percent_and_unknown_table_before_missing_one() -> None:
    sc = scenario(interruptions={"model": "poisson", "monthly_probability": "15%"})
    assert sc.interruptions.monthly_probability == pytest.approx(0.15)
    data = {
        "name": "x",
        "job": {"work": "1h"},
        "checkpoints": {"interval": "1h"},
        "pricing": {"spot_usd_per_hour": 1, "on_demand_usd_per_hour": 2},
    }
    with pytest.raises(ScenarioError, match=r"^checkpoints: unknown key; expected one of"):
        load_scenario(data)


def test_missing_table_and_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"^pricing: required table is missing"):
        load_scenario({"name": "x", "job": {"work": "1h"}, "checkpoint": {"interval": "1h"}})
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 'x'\n[job\nwork = 1\n")
    with pytest.raises(ScenarioError, match=r"bad\.toml: invalid TOML"):
        load_scenario(bad)


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.stem)
def test_shipped_scenarios_load(path: Path) -> None:
    assert load_scenario(path).name == path.stem
