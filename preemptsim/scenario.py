"""The validated, immutable Scenario, loaded from TOML files or dicts (DESIGN.md §2).

Every duration is held in seconds, every size in GB, every price in USD.  Every table
rejects unknown keys, and every error is one line that names the full dotted key.
"""

from __future__ import annotations

import csv
import functools
import json
import math
import re
import tomllib
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from preemptsim.calibrate import CalibrationError, apply_calibration
from preemptsim.errors import InputError
from preemptsim.interruptions import Trace
from preemptsim.units import parse_duration, parse_size_gb

HOURS_PER_MONTH = 730.0  # REFERENCES.md §3: λ = −ln(1−p) / 730 h
# AWS Spot Instance Advisor "frequency of interruption" buckets (REFERENCES.md §3), taken at
# the middle of each bucket; ">20%" is taken as 25% (the advisor gives no upper bound).
ADVISOR_BUCKETS: dict[str, float] = {
    "<5%": 0.025,
    "5-10%": 0.075,
    "10-15%": 0.125,
    "15-20%": 0.175,
    ">20%": 0.25,
}


class ScenarioError(InputError):
    """Bad scenario input; the message is one line that names the key."""


def _duration(kind: Literal["positive", "nonnegative", "interval"]) -> BeforeValidator:
    def check(value: object) -> float:
        if kind == "interval" and value in ("never", math.inf):
            return math.inf
        seconds = parse_duration(value)
        if seconds < 0 or (seconds == 0 and kind != "nonnegative"):
            word = "non-negative" if kind == "nonnegative" else "positive"
            raise ValueError(f"must be a {word} duration, got {value!r}")
        return seconds

    return BeforeValidator(check)


def _size(value: object) -> float:
    size = parse_size_gb(value)
    if size < 0:
        raise ValueError(f"must be a non-negative size, got {value!r}")
    return size


Seconds = Annotated[float, _duration("positive")]
NonNegSeconds = Annotated[float, _duration("nonnegative")]
IntervalSeconds = Annotated[float, Field(allow_inf_nan=True), _duration("interval")]
SizeGB = Annotated[float, BeforeValidator(_size)]
Usd = Annotated[float, Field(ge=0)]


def _percent(value: object) -> object:
    """``"15%"`` as 0.15; an AWS advisor bucket (``"5-10%"``) or a number passes through."""
    if isinstance(value, str) and value not in ADVISOR_BUCKETS and value.endswith("%"):
        try:
            return float(value[:-1]) / 100.0
        except ValueError:
            pass
    return value


Probability = Annotated[float, Field(gt=0, lt=1)]


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Delay(_Table):
    """A duration that may be random: ``"3min"`` or a distribution table (DESIGN.md §2)."""

    dist: Literal["fixed", "lognormal", "uniform", "exponential", "empirical"] = "fixed"
    value: NonNegSeconds | None = None
    median: NonNegSeconds | None = None
    sigma: Annotated[float, Field(ge=0)] | None = None
    low: NonNegSeconds | None = None
    high: NonNegSeconds | None = None
    mean: NonNegSeconds | None = None
    values: Annotated[list[NonNegSeconds], Field(min_length=1)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _scalar(cls, data: Any) -> Any:
        return data if isinstance(data, Mapping) else {"dist": "fixed", "value": data}

    @model_validator(mode="after")
    def _complete(self) -> Self:
        needs = {
            "fixed": ("value",),
            "lognormal": ("median", "sigma"),
            "uniform": ("low", "high"),
            "exponential": ("mean",),
            "empirical": ("values",),
        }[self.dist]
        for key in needs:
            if getattr(self, key) is None:
                raise ValueError(f"{key}: required by the {self.dist} distribution")
        for key in set(type(self).model_fields) - {"dist", *needs}:
            if getattr(self, key) is not None:
                raise ValueError(f"{key}: not a parameter of the {self.dist} distribution")
        if self.dist == "uniform" and self.high < self.low:  # type: ignore[operator]
            raise ValueError("high: must be at least low")
        return self

    @property
    def is_fixed(self) -> bool:
        return self.dist == "fixed"

    @property
    def least_s(self) -> float:
        """The least value it can take, in seconds (0 for lognormal and exponential)."""
        match self.dist:
            case "fixed":
                return self.value  # type: ignore[return-value]
            case "uniform":
                return self.low  # type: ignore[return-value]
            case "empirical":
                return min(self.values or [0.0])
        return 0.0

    @property
    def mean_s(self) -> float:
        """Expected value in seconds."""
        match self.dist:
            case "fixed":
                return self.value  # type: ignore[return-value]
            case "lognormal":
                return self.median * math.exp(self.sigma**2 / 2)  # type: ignore[operator]
            case "uniform":
                return (self.low + self.high) / 2  # type: ignore[operator]
            case "exponential":
                return self.mean  # type: ignore[return-value]
        return sum(self.values) / len(self.values)  # type: ignore[arg-type]


class Job(_Table):
    work: Seconds | None = None
    steps: Annotated[int, Field(gt=0)] | None = None
    step_time: Seconds | None = None
    instances: Annotated[int, Field(gt=0)] = 1
    setup: NonNegSeconds = 0.0

    @model_validator(mode="after")
    def _work_given(self) -> Self:
        by_steps = self.steps is not None and self.step_time is not None
        if (self.work is None) == (not by_steps) or (self.work and self.steps):
            raise ValueError("work: give either work or both steps and step_time")
        return self

    @property
    def work_s(self) -> float:
        """Useful work W in seconds."""
        return self.work if self.work is not None else self.steps * self.step_time  # type: ignore[operator]


class Checkpoint(_Table):
    interval: IntervalSeconds
    write: NonNegSeconds = 0.0
    mode: Literal["sync", "async"] = "sync"
    snapshot: NonNegSeconds = 0.0
    persist: NonNegSeconds = 0.0
    storage: Literal["persistent", "ephemeral"] = "persistent"
    size_gb: SizeGB = 0.0
    on_notice: bool | None = None
    emergency_write: NonNegSeconds | None = None

    @model_validator(mode="after")
    def _mode_keys(self) -> Self:
        if self.mode == "async" and self.write > 0:
            raise ValueError("write: async mode takes snapshot and persist instead")
        if self.mode == "async" and self.snapshot + self.persist == 0:
            raise ValueError("snapshot: async mode needs snapshot and persist")
        if self.mode == "sync" and self.snapshot + self.persist > 0:
            raise ValueError('snapshot: snapshot and persist are for mode = "async"')
        return self


class Restart(_Table):
    provision: Delay = Delay(value=0.0)
    restore: Delay = Delay(value=0.0)
    manual: bool = False
    response: NonNegSeconds = 0.0
    handling: NonNegSeconds = 0.0


class Interruptions(_Table):
    model: Literal["none", "poisson", "weibull", "hourly", "trace", "scripted"] = "none"
    mtbi: Seconds | None = None
    rate_per_hour: Annotated[float, Field(gt=0)] | list[Annotated[float, Field(ge=0)]] | None = None
    monthly_probability: Annotated[
        Probability | Literal[tuple(ADVISOR_BUCKETS)] | None,  # type: ignore[valid-type]
        BeforeValidator(_percent),
    ] = None
    notice: NonNegSeconds = 0.0
    shape: Annotated[float, Field(gt=0)] | None = None
    scale: Seconds | None = None
    max_lifetime: Seconds | None = None
    path: str | None = None
    start: Literal["random"] | NonNegSeconds = "random"
    at: list[NonNegSeconds] | None = None

    @model_validator(mode="after")
    def _model_keys(self) -> Self:
        rates = [k for k in ("mtbi", "rate_per_hour", "monthly_probability") if getattr(self, k)]
        if self.model == "poisson" and len(rates) != 1:
            raise ValueError(
                "mtbi: poisson needs exactly one of mtbi, rate_per_hour, monthly_probability"
            )
        if self.model == "poisson" and isinstance(self.rate_per_hour, list):
            raise ValueError("rate_per_hour: poisson needs one rate, not a list")
        if self.model == "weibull" and (self.shape is None or self.scale is None):
            missing = "shape" if self.shape is None else "scale"
            raise ValueError(f"{missing}: weibull needs shape and scale")
        if self.model == "hourly" and not (
            isinstance(self.rate_per_hour, list) and len(self.rate_per_hour) == 24
        ):
            raise ValueError("rate_per_hour: hourly needs a list of 24 rates, one per hour")
        if self.model == "trace" and self.path is None:
            raise ValueError("path: trace needs the path of a trace file")
        if self.model == "scripted" and self.at is None:
            raise ValueError("at: scripted needs a list of interruption times")
        return self

    @property
    def rate_per_s(self) -> float:
        """Poisson rate λ of one instance, in 1/s (REFERENCES.md §3 for the monthly form)."""
        if self.mtbi is not None:
            return 1.0 / self.mtbi
        if isinstance(self.rate_per_hour, float):
            return self.rate_per_hour / 3600.0
        p = self.monthly_probability
        p = ADVISOR_BUCKETS[p] if isinstance(p, str) else p
        return -math.log1p(-p) / (HOURS_PER_MONTH * 3600.0)  # type: ignore[operator]


class Pricing(_Table):
    spot_usd_per_hour: Usd
    on_demand_usd_per_hour: Usd
    billing_granularity: Seconds = 1.0
    minimum_billed: NonNegSeconds = 0.0
    storage_usd_per_gb_month: Usd = 0.0
    engineer_usd_per_hour: Usd = 0.0


class Policy(_Table):
    kind: Literal["spot", "on_demand", "greedy", "uniform_progress"] = "spot"
    deadline: Seconds | None = None


class OnDemand(_Table):
    provision: NonNegSeconds | None = None
    checkpoint_interval: IntervalSeconds | None = None


class Calibration(_Table):
    probe: str
    model_params: Annotated[float, Field(gt=0)] | None = None  # calibrate.py reads "7B" too
    trainable_params: Annotated[float, Field(gt=0)] | None = None
    bytes_per_param: Annotated[float, Field(gt=0)] | None = None


class Scenario(_Table):
    """One job on interruptible capacity.  Immutable: change it with ``with_values``."""

    name: str
    description: str = ""
    job: Job
    checkpoint: Checkpoint
    restart: Restart = Restart()
    interruptions: Interruptions = Interruptions()
    pricing: Pricing
    policy: Policy = Policy()
    on_demand: OnDemand = OnDemand()
    calibration: Calibration | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.policy.kind in ("greedy", "uniform_progress") and self.policy.deadline is None:
            raise ValueError(
                f"policy.deadline: policy.kind = {self.policy.kind!r} needs a deadline"
            )
        return self

    @property
    def on_notice(self) -> bool:
        """Whether a notice triggers an emergency checkpoint (default: when notice > 0)."""
        wanted = self.checkpoint.on_notice
        return self.interruptions.notice > 0 if wanted is None else wanted

    def with_values(self, values: Mapping[str, Any]) -> Scenario:
        """A new scenario with dotted keys (``"checkpoint.interval"``) set to new values."""
        data = self.model_dump()
        for key, value in values.items():
            _set_dotted(data, key, value)
        return _validate(data)

    def value(self, key: str) -> Any:
        """The canonical value (seconds, GB, USD) at a dotted key."""
        node: Any = self.model_dump()
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise ScenarioError(f"{key}: unknown key")
            node = node[part]
        return node["value"] if isinstance(node, dict) and node.get("dist") == "fixed" else node


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    *parents, leaf = key.split(".")
    node = data
    for part in parents:
        child = node.get(part)
        if child is None and part in Scenario.model_fields:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ScenarioError(f"{key}: unknown key")
        node = child
    node[leaf] = value


def _expected_keys(loc: tuple[Any, ...]) -> list[str]:
    model: Any = Scenario
    for part in loc:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        inner = getattr(field, "annotation", None)
        candidates = [inner, *getattr(inner, "__args__", ())]
        model = next((c for c in candidates if isinstance(c, type) and issubclass(c, _Table)), None)
        if model is None:
            return []
    return list(model.model_fields)


_KEY = re.compile(r"[a-z_][a-z0-9_]*")
_INNER_KEY = re.compile(r"^([a-z_]+(?:\.[a-z_]+)*): ")


def _message(error: Mapping[str, Any]) -> str:
    # Keys only: pydantic adds the names of union members ("constrained-float", ...).
    loc = tuple(p for p in error["loc"] if isinstance(p, str) and _KEY.fullmatch(p))
    key = ".".join(loc) or "scenario"
    kind, msg = error["type"], str(error["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        return f"{key}: unknown key; expected one of: {', '.join(_expected_keys(loc[:-1]))}"
    if kind == "missing":
        what = "table" if _expected_keys(loc) else "key"
        return f"{key}: required {what} is missing"
    if kind != "value_error" and "input" in error:
        msg = f"{msg[:1].lower()}{msg[1:]}, got {error['input']!r}"
    inner = _INNER_KEY.match(msg)  # a table's check names the key inside it
    if inner:
        key = inner[1] if key == "scenario" else f"{key}.{inner[1]}"
        msg = msg[inner.end() :]
    return f"{key}: {msg}"


def _validate(data: Mapping[str, Any]) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()  # an unknown key first: it explains a "missing" one (a typo)
        first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        raise ScenarioError(_message(first)) from None


def _calibrated(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """``data`` with a [calibration] probe's timings written in (DESIGN.md §6; calibrate.py)."""
    if data.get("calibration") is None:
        return data
    try:
        return apply_calibration(data)
    except CalibrationError as exc:
        raise ScenarioError(str(exc)) from None


def load_scenario(source: str | Path | Mapping[str, Any]) -> Scenario:
    """Load and validate a scenario from a TOML file or a dict.

    A relative ``interruptions.path`` or ``calibration.probe`` is taken relative to the file.
    A [calibration] table's timings replace the file's (``with_values`` does not re-apply).
    """
    if isinstance(source, Mapping):
        return _validate(_calibrated(source))
    path = Path(source)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read scenario file ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: invalid TOML: {exc}") from None
    for table, key in (("interruptions", "path"), ("calibration", "probe")):
        section = data.get(table)
        if isinstance(section, dict) and isinstance(section.get(key), str):
            section[key] = str(path.parent / section[key])
    return _validate(_calibrated(data))


@functools.lru_cache(maxsize=16)
def load_trace(path: str) -> Trace:
    """Read an availability trace in either format of shared/data/traces (its README).

    JSON: ``metadata.gap_seconds`` and ``data`` with 1 = preempted (optional ``prices``,
    spot USD/h per tick).  CSV: ``date,availability`` rows with 1 = available, irregular
    ticks honoured; the last tick lasts the median gap.  The format decides the convention.
    """
    file = Path(path)
    if not file.is_file():
        raise ScenarioError(
            f"interruptions.path: trace file not found: {file} (set it with --set "
            "interruptions.path=FILE; shipped trace presets read ../shared/data/traces "
            "beside a checkout of the repository)"
        )
    try:
        text = file.read_text(encoding="utf-8")
        if not text.strip():
            raise ValueError("the trace is empty")
        starts_s, available, period_s, prices = (
            _json_trace(text) if file.suffix == ".json" else _csv_trace(text, file)
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ScenarioError(f"interruptions.path: {file}: {exc}") from None
    return Trace.of(starts_s, available, period_s, prices)


def _ticks(values: list[Any], file_kind: str) -> np.ndarray:
    if not values:
        raise ValueError("the trace is empty")
    if any(v not in (0, 1) or (isinstance(v, float) and v not in (0.0, 1.0)) for v in values):
        raise ValueError(f"{file_kind} values must be 0 or 1")
    return np.asarray(values, dtype=int)


def _json_trace(text: str) -> tuple[np.ndarray, np.ndarray, float, np.ndarray | None]:
    doc = json.loads(text)
    if not isinstance(doc, dict) or "data" not in doc or "metadata" not in doc:
        raise ValueError("not a trace: expected JSON with 'metadata' and 'data'")
    preempted = _ticks(doc["data"], "data")
    gap_s = float(doc["metadata"]["gap_seconds"])
    prices = doc.get("prices")
    price_array = np.asarray(prices, dtype=float) if prices else None
    if price_array is not None and len(price_array) != len(preempted):
        raise ValueError("'prices' must have one value per tick")
    return np.arange(len(preempted)) * gap_s, preempted == 0, len(preempted) * gap_s, price_array


def _utc_timestamp(text: str) -> float:
    """Seconds since the epoch of an ISO time; one without a zone is UTC, never the
    machine's local time (whose daylight-saving jumps would reorder the ticks)."""
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _csv_trace(text: str, file: Path) -> tuple[np.ndarray, np.ndarray, float, None]:
    rows = list(csv.reader(text.splitlines()))
    if not rows or [c.strip() for c in rows[0]] != ["date", "availability"]:
        raise ValueError("not a trace: expected JSON, or CSV with header 'date,availability'")
    body = [row for row in rows[1:] if row]
    available = _ticks([int(row[1]) for row in body], "availability")
    times = np.array([_utc_timestamp(row[0]) for row in body])
    starts_s = times - times[0]
    if len(starts_s) > 1 and np.any(np.diff(starts_s) <= 0):
        raise ValueError("timestamps must increase")
    last_s = float(np.median(np.diff(starts_s))) if len(starts_s) > 1 else 1.0
    return starts_s, available == 1, float(starts_s[-1] + last_s), None


def trace_origin(path: str) -> datetime | None:
    """When a trace's first tick starts, in UTC (JSON ``metadata.start_time``; a CSV's first
    date), for what needs the clock (hour-of-day fits).  A date without a zone is UTC."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        if Path(path).suffix == ".json":
            stamp = json.loads(text)["metadata"].get("start_time")
        else:
            stamp = next(row[0] for row in list(csv.reader(text.splitlines()))[1:] if row)
        moment = datetime.fromisoformat(stamp)
    except (ValueError, KeyError, TypeError, StopIteration):
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
