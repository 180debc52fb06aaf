"""Bad input, class by class (issue 13): each rule against many generated inputs of its kind.

The expected answers come from the rules themselves (DESIGN.md §2, Bad input), never from
the code's output: a boolean at a number is refused, a finite price is kept, a range of N
values over the cap is refused whatever N, and so on.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import preemptsim as ps
from preemptsim import limits
from preemptsim.errors import printable
from preemptsim.grid import MAX_POINTS, SweepError, parse_values
from preemptsim.scenario import MODEL_KEYS
from preemptsim.tracefile import load_trace
from preemptsim.units import MAX_SECONDS, parse_duration
from tests.fuzzkit import BASE, with_keys

FAST = settings(max_examples=60, deadline=None, derandomize=True, database=None)
NUMBER_KEYS = [
    "job.instances", "checkpoint.size_gb", "interruptions.notice", "pricing.spot_usd_per_hour",
    "pricing.on_demand_usd_per_hour", "pricing.storage_usd_per_gb_month", "checkpoint.write",
    "restart.response", "job.setup",
]  # fmt: skip
BOOL_KEYS = ["checkpoint.on_notice", "restart.manual"]


@FAST
@given(key=st.sampled_from(NUMBER_KEYS), value=st.booleans())
def test_a_boolean_is_not_a_number(key: str, value: bool) -> None:
    with pytest.raises(ps.ScenarioError, match=key.replace(".", r"\.")):
        ps.load_scenario(with_keys(BASE, {key: value}))


@FAST
@given(key=st.sampled_from(BOOL_KEYS), value=st.one_of(st.text(max_size=8), st.integers()))
def test_a_string_or_number_is_not_a_boolean(key: str, value: object) -> None:
    with pytest.raises(ps.ScenarioError, match=key.replace(".", r"\.")):
        ps.load_scenario(with_keys(BASE, {key: value}))


@FAST
@given(
    table=st.sampled_from(["job", "checkpoint", "pricing"]),
    name=st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,8}", fullmatch=True),
)
def test_an_unknown_key_is_named_in_its_table(table: str, name: str) -> None:
    data = with_keys(BASE, {})
    known = set(type(ps.load_scenario(BASE)).model_fields[table].annotation.model_fields)  # type: ignore[union-attr]
    if name in known:
        return
    data[table][name] = 1
    with pytest.raises(ps.ScenarioError, match=rf"^{table}\.{name}: unknown key"):
        ps.load_scenario(data)


OTHER_MODEL_KEYS = {
    "mtbi": "3h", "rate_per_hour": 0.1, "monthly_probability": 0.1, "shape": 0.8,
    "scale": "5h", "path": "gcp-h100/us-west1-a", "start": "1h", "at": ["1h"],
}  # fmt: skip
MODELS = {
    "poisson": {"mtbi": "3h"},
    "weibull": {"shape": 0.8, "scale": "5h"},
    "scripted": {"at": ["1h"]},
    "none": {},
}


@FAST
@given(model=st.sampled_from(sorted(MODELS)), key=st.sampled_from(sorted(OTHER_MODEL_KEYS)))
def test_a_key_the_model_does_not_read_is_refused(model: str, key: str) -> None:
    table = {"model": model, **MODELS[model]}
    if key in table or (model == "poisson" and key in MODEL_KEYS["poisson"]):
        return  # poisson's rates are one of three: "exactly one" has its own message
    table[key] = OTHER_MODEL_KEYS[key]
    refused = key not in MODEL_KEYS[model]
    data = with_keys(BASE, {"interruptions": table})
    if refused:
        with pytest.raises(ps.ScenarioError, match=rf"interruptions\.{key}: not a key of"):
            ps.load_scenario(data)
    else:
        ps.load_scenario(data)


@FAST
@given(interval_s=st.floats(1e-3, 1e4), work_h=st.floats(0.1, 1e4))
def test_segments_beyond_the_cap_are_refused(interval_s: float, work_h: float) -> None:
    data = with_keys(BASE, {"job.work": f"{work_h!r}h", "checkpoint.interval": interval_s,
                            "interruptions": {"model": "none"}})  # fmt: skip
    if work_h * 3600 / interval_s > limits.MAX_SEGMENTS:
        with pytest.raises(ps.ScenarioError, match=r"checkpoint\.interval: .* segments"):
            ps.load_scenario(data)
    else:
        ps.load_scenario(data)


@FAST
@given(shape=st.floats(0.3, 5.0), scale_s=st.floats(1e-3, 1e5))
def test_weibull_expected_interruptions_beyond_the_cap_are_refused(
    shape: float, scale_s: float
) -> None:
    # 2 h of work; the mean lifetime of a Weibull is scale·Γ(1 + 1/shape).
    data = with_keys(BASE, {"interruptions": {"model": "weibull", "shape": shape, "scale": scale_s},
                            "checkpoint.interval": "never"})  # fmt: skip
    expected = 7200.0 / (scale_s * math.gamma(1 + 1 / shape))
    if expected > limits.MAX_INTERRUPTIONS:
        with pytest.raises(ps.ScenarioError, match=r"interruptions\.scale: about"):
            ps.load_scenario(data)
    elif expected < limits.MAX_INTERRUPTIONS * 0.99:
        ps.load_scenario(data)


@FAST
@given(deadline_h=st.floats(0.01, 10.0))
def test_a_deadline_shorter_than_the_work_is_refused(deadline_h: float) -> None:
    data = with_keys(BASE, {"policy": {"kind": "greedy", "deadline": f"{deadline_h!r}h"}})
    if deadline_h < 2.0:  # BASE holds 2 h of work
        with pytest.raises(ps.ScenarioError, match=r"policy\.deadline: .* shorter than the work"):
            ps.load_scenario(data)
    else:
        ps.load_scenario(data)


@FAST
@given(text=st.text(alphabet="0123456789.hms ", min_size=101, max_size=50_000))
def test_long_duration_strings_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="must be a duration"):
        parse_duration(text)


@FAST
@given(seconds=st.floats(allow_nan=False, allow_infinity=False))
def test_durations_beyond_a_century_are_refused(seconds: float) -> None:
    if abs(seconds) > MAX_SECONDS:
        with pytest.raises(ValueError, match="at most a century"):
            parse_duration(seconds)
    else:
        assert parse_duration(seconds) == seconds


@FAST
@given(count=st.integers(2, 10**9))
def test_grid_ranges_beyond_the_cap_are_refused(count: int) -> None:
    if count > MAX_POINTS:
        with pytest.raises(SweepError, match=f"at most {MAX_POINTS}"):
            parse_values("job.instances", f"1:2:lin{count}")
    elif count <= 50:
        assert len(parse_values("checkpoint.interval", f"1:2:lin{count}")) == count


def _price_ok(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value) and value >= 0


@FAST
@given(
    prices=st.lists(
        st.one_of(st.floats(), st.booleans(), st.integers(-5, 5), st.just([1.0])),
        min_size=3,
        max_size=3,
    )
)
def test_trace_prices_must_be_finite_non_negative_numbers(
    tmp_path_factory: pytest.TempPathFactory, prices: list[Any]
) -> None:
    import json

    path = tmp_path_factory.mktemp("t") / "t.json"
    path.write_text(json.dumps({"metadata": {"gap_seconds": 60}, "data": [0, 1, 0],
                                "prices": prices}))  # fmt: skip
    if all(_price_ok(p) for p in prices):
        assert list(load_trace(str(path)).prices_usd_per_hour) == prices  # type: ignore[arg-type]
    else:
        with pytest.raises(ps.ScenarioError, match=r"prices\[\d\]: must be a non-negative"):
            load_trace(str(path))


@FAST
@given(gap=st.one_of(st.floats(), st.booleans(), st.integers(-10, 10), st.text(max_size=3)))
def test_trace_gap_must_be_a_positive_number(
    tmp_path_factory: pytest.TempPathFactory, gap: Any
) -> None:
    import json

    path = tmp_path_factory.mktemp("t") / "t.json"
    path.write_text(json.dumps({"metadata": {"gap_seconds": gap}, "data": [0, 1]}))
    if _price_ok(gap) and gap > 0:
        assert load_trace(str(path)).period_s == 2 * gap
    else:
        with pytest.raises(ps.ScenarioError, match="gap_seconds: must be a positive number"):
            load_trace(str(path))


@FAST
@given(text=st.text())
def test_printable_escapes_every_control_character_and_only_those(text: str) -> None:
    shown = printable(text)
    assert shown.isprintable()
    if text.isprintable():
        assert shown == text


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/null", "/"])
def test_non_regular_files_are_refused_unread(path: str) -> None:
    with pytest.raises(ps.ScenarioError, match=f"^{path}: "):
        ps.load_scenario(Path(path))


def test_ctrl_c_during_start_up_imports_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from preemptsim.__main__ import main

    class Interrupting:
        def find_spec(self, name: str, *args: Any) -> None:
            if name == "preemptsim.cli":
                raise KeyboardInterrupt

    monkeypatch.delitem(sys.modules, "preemptsim.cli")
    monkeypatch.setattr(sys, "meta_path", [Interrupting(), *sys.meta_path])
    assert main() == 130
    assert capsys.readouterr().err == "preemptsim: interrupted\n"


def test_a_full_disk_is_named_by_the_file(tmp_path: Path) -> None:
    from preemptsim.outputs import write_atomic

    def full(tmp: Path) -> None:
        raise OSError(28, "No space left on device", str(tmp))

    target = tmp_path / "runs.csv"
    with pytest.raises(OSError, match=f"^{target}: cannot write \\(No space left on device\\)$"):
        write_atomic(target, full)
    assert list(tmp_path.iterdir()) == []  # nothing half-written, no temporary left
