"""Tests of `preemptsim fit` (preemptsim/fitting): lifetimes from traces and logs, the three
fits, their intervals' coverage, the written table, and bad files.

Coverage checks: over 200 seeds a 95% interval must hold the truth in 95% of them, give or
take 3 binomial standard deviations, sqrt(0.95 · 0.05 / 200) = 0.0154, so [0.904, 0.996].
Intervals built with z = 1 instead of 1.96 (68%) or centred on a biased estimate fail it.
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import preemptsim as ps
from preemptsim import cli
from preemptsim.fitting import FitError, Lifetimes, models, text

SEEDS = 200
COVERAGE_BAND = (
    0.95 - 3 * math.sqrt(0.95 * 0.05 / SEEDS),
    0.95 + 3 * math.sqrt(0.95 * 0.05 / SEEDS),
)
SCENARIO = """\
name = "fitted"
[job]
work = "10h"
[checkpoint]
interval = "1h"
write = "2min"
[pricing]
spot_usd_per_hour = 1.0
on_demand_usd_per_hour = 3.0
"""


def covered(share: float) -> bool:
    return COVERAGE_BAND[0] <= share <= COVERAGE_BAND[1]


def poisson_window(rng: np.random.Generator, rate_per_h: float, window_h: float) -> tuple:
    """A Poisson process watched over [0, window]: the gaps, the last one censored."""
    count = rng.poisson(rate_per_h * window_h)
    times = np.sort(rng.uniform(0, window_h, count))
    edges = np.concatenate([[0.0], times, [window_h]])
    ended = np.ones(count + 1, dtype=bool)
    ended[-1] = False
    return np.diff(edges), ended


def test_poisson_interval_covers_the_true_mtbi_at_its_rate() -> None:
    # MTBI 4 h watched for 200 h: about 50 interruptions a seed, the last gap censored.
    hits = []
    for seed in range(SEEDS):
        duration_h, ended = poisson_window(np.random.default_rng(seed), 0.25, 200.0)
        hits.append(models.poisson(duration_h, ended).parameters["mtbi_h"].covers(4.0))
    assert covered(float(np.mean(hits))), np.mean(hits)


def test_poisson_interval_without_censoring_covers_at_its_rate() -> None:
    # 40 whole exponential lifetimes: 2λT ~ χ²(80) exactly (failure-truncated).
    rng = np.random.default_rng(7)
    duration_h = rng.exponential(4.0, (SEEDS, 40))
    ended = np.ones(40, dtype=bool)
    hits = [models.poisson(row, ended).parameters["mtbi_h"].covers(4.0) for row in duration_h]
    assert covered(float(np.mean(hits))), np.mean(hits)


def test_weibull_intervals_cover_shape_and_scale_at_their_rate() -> None:
    # Shape 0.7, scale 5 h, 150 lifetimes, each censored at an independent Uniform(0, 20 h).
    rng = np.random.default_rng(11)
    lifetimes_h = 5.0 * rng.weibull(0.7, (SEEDS, 150))
    censor_h = rng.uniform(0.0, 20.0, (SEEDS, 150))
    shape_hits, scale_hits = [], []
    for life, censor in zip(lifetimes_h, censor_h, strict=True):
        fitted = models.weibull(np.minimum(life, censor), life <= censor)
        assert isinstance(fitted, models.ModelFit)
        shape_hits.append(fitted.parameters["shape"].covers(0.7))
        scale_hits.append(fitted.parameters["scale_h"].covers(5.0))
    assert covered(float(np.mean(shape_hits))), np.mean(shape_hits)
    assert covered(float(np.mean(scale_hits))), np.mean(scale_hits)


def test_weibull_mle_matches_scipy_without_censoring() -> None:
    # An independent maximiser: scipy.stats.weibull_min.fit with the location fixed at 0.
    sample = 3.0 * np.random.default_rng(5).weibull(0.7, 300)
    shape, _, scale = stats.weibull_min.fit(sample, floc=0)
    fitted = models.weibull(sample, np.ones(300, dtype=bool))
    assert isinstance(fitted, models.ModelFit)
    assert fitted.parameters["shape"].value == pytest.approx(shape, rel=1e-4)
    assert fitted.parameters["scale_h"].value == pytest.approx(scale, rel=1e-4)
    # At the maximum ℓ equals scipy's log-density sum.
    expected = stats.weibull_min.logpdf(sample, shape, scale=scale).sum()
    assert fitted.log_likelihood == pytest.approx(expected, rel=1e-6)


def test_ks_without_censoring_is_the_one_sample_statistic() -> None:
    # Kaplan–Meier without censoring is the empirical CDF: KS = scipy's kstest statistic.
    sample = np.random.default_rng(2).exponential(2.0, 80)
    fitted = models.poisson(sample, np.ones(80, dtype=bool))
    mean_h = fitted.parameters["mtbi_h"].value
    assert fitted.ks == pytest.approx(stats.kstest(sample, "expon", args=(0, mean_h)).statistic)


def test_aic_prefers_weibull_for_young_deaths_and_the_table_says_so() -> None:
    sample = 2.0 * np.random.default_rng(3).weibull(0.5, 400)
    life = Lifetimes("synthetic", "lease log", sample, np.ones(400, dtype=bool),
                     np.zeros(400), None, None, np.empty(0))  # fmt: skip
    result = ps.fit(life)
    assert result.best == "weibull"
    assert "* weibull" in text.format_table(result)


def write_trace(path: Path, preempted: list[int]) -> Path:
    doc = {"metadata": {"gap_seconds": 600, "start_time": "2025-10-04T00:00:00+00:00"}}
    path.write_text(json.dumps({**doc, "data": preempted}))
    return path


def test_hand_built_trace_gives_the_exact_mle(tmp_path: Path) -> None:
    # Ticks of 10 min, 1 = preempted: runs of 3 and 2 available ticks each end in an
    # interruption; the last run of 4 is still available when the trace ends: censored.
    # Exposure 9 ticks = 1.5 h, 2 interruptions: λ = 2/1.5 per h, MTBI 0.75 h.
    trace = write_trace(tmp_path / "t.json", [0, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0])
    result = ps.fit(trace)
    assert result.lifetimes.duration_h.tolist() == pytest.approx([0.5, 1 / 3, 2 / 3])
    assert result.lifetimes.ended.tolist() == [True, True, False]
    mtbi = result.fits["poisson"].parameters["mtbi_h"]
    assert mtbi.value == pytest.approx(0.75)
    # Garwood (time-truncated): λ in [χ²(0.025; 4)/3, χ²(0.975; 6)/3] per h.
    assert mtbi.high == pytest.approx(3.0 / stats.chi2.ppf(0.025, 4))
    assert mtbi.low == pytest.approx(3.0 / stats.chi2.ppf(0.975, 6))
    # ℓ = d ln(d/T) − d with T in hours.
    assert result.fits["poisson"].log_likelihood == pytest.approx(2 * math.log(2 / 1.5) - 2)
    assert result.table("poisson") == {"model": "poisson", "mtbi": pytest.approx(2700.0)}


def test_a_trace_ending_available_is_censored_not_interrupted(tmp_path: Path) -> None:
    # Same runs; one more unavailable tick at the end turns the last run into a take.
    ends_up = ps.fit(write_trace(tmp_path / "up.json", [0, 0, 1, 0, 0]))
    ends_down = ps.fit(write_trace(tmp_path / "down.json", [0, 0, 1, 0, 0, 1]))
    assert ends_up.lifetimes.interruptions == 1
    assert ends_down.lifetimes.interruptions == 2
    assert ends_up.fits["poisson"].parameters["mtbi_h"].value == pytest.approx(4 / 6)
    assert ends_down.fits["poisson"].parameters["mtbi_h"].value == pytest.approx(2 / 6)


def test_csv_trace_uses_its_timestamps(tmp_path: Path) -> None:
    # AVAILABLE convention; ticks of 3, 2 and 5 min, the last lasting the median gap, 3 min.
    # Runs: [0, 5 min) taken at 5 min; [10, 13 min) censored at the end.
    path = tmp_path / "zone.csv"
    rows = ["00:00:00,1", "00:03:00,1", "00:05:00,0", "00:10:00,1"]
    path.write_text("date,availability\n" + "".join(f"2023-02-15 {r}\n" for r in rows))
    life = ps.fit(path).lifetimes
    assert life.duration_h.tolist() == pytest.approx([5 / 60, 3 / 60])
    assert life.ended.tolist() == [True, False]
    assert life.outage_h.tolist() == pytest.approx([5 / 60])


def test_interruption_log_by_instance(tmp_path: Path) -> None:
    # Instance a: interrupted at 1 h, 4 h, 5 h → lifetimes 3 h and 1 h; b: 2 h, 8 h → 6 h.
    path = tmp_path / "log.csv"
    path.write_text("time,instance\n1h,a\n2h,b\n5h,a\n4h,a\n8h,b\n")
    life = ps.fit(path).lifetimes
    assert sorted(life.duration_h.tolist()) == [1.0, 3.0, 6.0]
    assert life.ended.all()
    assert life.kind == "interruption log"


def test_lease_log_with_dates_censoring_and_hours(tmp_path: Path) -> None:
    # Leases (UTC): 00:00–02:00 taken; 01:00–01:30 taken; 01:30–(still running at 03:00,
    # the log's last moment) censored; 02:00–03:00 ended by the user (preempted = 0).
    path = tmp_path / "leases.csv"
    path.write_text(
        "start,end,preempted\n"
        "2025-10-04T00:00:00Z,2025-10-04T02:00:00Z,1\n"
        "2025-10-04T01:00:00Z,2025-10-04T01:30:00Z,1\n"
        "2025-10-04T01:30:00Z,,1\n"
        "2025-10-04T02:00:00Z,2025-10-04T03:00:00Z,0\n"
    )
    result = ps.fit(path)
    assert result.lifetimes.duration_h.tolist() == [2.0, 0.5, 1.5, 1.0]
    assert result.lifetimes.ended.tolist() == [True, True, False, False]
    # Exposure by hour of day: hour 0: 1 h; hour 1: 1 + 0.5 + 0.5 = 2 h; hour 2: 1 + 1 = 2 h.
    # Takes: 02:00 counts in hour 1 (its exposure ended there), 01:30 in hour 1.
    rates = result.table("hourly")["rate_per_hour"]
    assert rates[:3] == pytest.approx([0.0, 1.0, 0.0])
    assert rates[3:] == pytest.approx([2 / 5] * 21)  # never exposed: the overall rate
    assert result.fits["hourly"].free_parameters == 3
    # ℓ = Σ d_h ln r_h − d = 2 ln 1 − 2.
    assert result.fits["hourly"].log_likelihood == pytest.approx(-2.0)


def test_log_dates_in_other_zones_count_in_utc_hours(tmp_path: Path) -> None:
    # 03:30+02:00 is 01:30 UTC: a lease from then to 02:00 UTC is half an hour in hour 1,
    # taken at 02:00 UTC, which counts in hour 1; a second lease keeps hour 5 exposed.
    path = tmp_path / "zoned.csv"
    path.write_text(
        "start,end\n2025-10-04T03:30:00+02:00,2025-10-04T02:00:00Z\n"
        "2025-10-04T05:00:00Z,2025-10-04T06:00:00Z\n"
    )
    result = ps.fit(path, "hourly")
    assert result.lifetimes.duration_h.tolist() == [0.5, 1.0]
    rates = result.table("hourly")["rate_per_hour"]
    assert rates[1] == pytest.approx(1 / 0.5) and rates[5] == pytest.approx(1.0)
    assert result.lifetimes.first is not None and result.lifetimes.first.hour == 1


def test_unknown_model_and_a_table_not_fitted_are_refused(tmp_path: Path) -> None:
    trace = write_trace(tmp_path / "t.json", [0, 0, 1, 0, 1])
    with pytest.raises(ValueError, match="model: must be one of"):
        ps.fit(trace, "weibul")  # type: ignore[arg-type]
    with pytest.raises(FitError, match="weibull is not fitted: not asked for"):
        ps.fit(trace, "poisson").table("weibull")


def scenario_with(table: str) -> ps.Scenario:
    return ps.load_scenario(tomllib.loads(SCENARIO + table))


@pytest.mark.parametrize("model", ["poisson", "weibull", "hourly"])
def test_written_table_loads_and_runs_in_a_scenario(tmp_path: Path, model: str) -> None:
    trace = write_trace(tmp_path / "t.json", [0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1] * 30)
    result = ps.fit(trace)
    loaded = scenario_with(text.toml_text(result, model))
    assert loaded.interruptions.model == model
    for key, value in result.table(model).items():
        expected = pytest.approx(value, rel=1e-3) if key != "model" else value
        assert getattr(loaded.interruptions, key) == expected
    assert len(ps.simulate(loaded, reps=5, seed=1)) == 5


def test_cli_prints_the_comparison_and_writes_the_best(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = write_trace(tmp_path / "t.json", [0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1] * 30)
    out = tmp_path / "fitted.toml"
    assert cli.main(["fit", str(trace), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    best = ps.fit(trace).best
    assert f"* {best}" in printed and "log-lik" in printed and "KS" in printed
    written = out.read_text()
    assert f"# source: {trace}" in written and "2025-10-04 00:00" in written
    assert scenario_with(written).interruptions.model == best


def test_no_interruption_writes_the_lower_bound(tmp_path: Path) -> None:
    # 6 h available, never taken: λ ≤ χ²(0.975; 2)/(2·6 h) = −ln(0.025)/6 per h.
    result = ps.fit(write_trace(tmp_path / "calm.json", [0] * 36))
    assert result.best == "poisson" and set(result.unfitted) == {"weibull", "hourly"}
    assert result.table()["mtbi"] == pytest.approx(6 * 3600 / -math.log(0.025))
    assert "95% lower bound" in text.toml_text(result)


@pytest.mark.parametrize(
    ("content", "row"),
    [
        ("time,instance\n1h,a\n2h\n", "row 3"),
        ("time\n1h\nsoon\n", "row 3: time"),
        ("when\n1h\n", "row 1"),
        ("time,start,end\n1h,,\n", "row 1"),
        ("start,end\n2h,1h\n", "row 2: end"),
        ("time\n1h\n2025-10-04T00:00:00\n", "row 3: time"),
        ("start,end,preempted\n0h,1h,maybe\n", "row 2: preempted"),
        ("time\n1h\n1h\n", "row 3"),
        ("date,availability\n2023-02-15 00:00:00,1\n2023-02-15 00:03:00,7\n", "0 or 1"),
    ],
)
def test_bad_files_exit_2_with_one_line_naming_file_and_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, row: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    assert cli.main(["fit", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and row in err, err


def test_missing_file_and_a_model_that_cannot_be_fitted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["fit", str(tmp_path / "nope.csv")]) == 2
    assert "no such file" in capsys.readouterr().err
    calm = write_trace(tmp_path / "calm.json", [0, 0, 1, 0])
    assert cli.main(["fit", str(calm), "--model", "weibull"]) == 2
    assert "weibull cannot be fitted: needs two interruptions" in capsys.readouterr().err
    with pytest.raises(FitError, match="never there"):
        ps.fit(write_trace(tmp_path / "gone.json", [1, 1]))


def test_shipped_traces_fit_and_load() -> None:
    # A zone where capacity comes and goes within the day: Weibull with shape < 1 wins.
    result = ps.fit("gcp-h100/us-east4-a")
    assert result.best == "weibull" and result.fits["weibull"].parameters["shape"].high < 1
    assert scenario_with(text.toml_text(result)).interruptions.model == "weibull"
    aws = ps.fit("aws-v100/us-west-2b_v100_1")
    assert aws.lifetimes.first is not None and aws.lifetimes.first.year == 2023
