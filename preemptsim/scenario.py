"""The validated, immutable Scenario, loaded from TOML files or dicts (DESIGN.md §2).

Every duration is held in seconds, every size in GB, every price in USD.  Every table
rejects unknown keys, and every error is one line that names the full dotted key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from preemptsim import inputs, limits, shipped
from preemptsim.calibrate import CalibrationError, apply_calibration
from preemptsim.errors import InputError
from preemptsim.fields import (
    ADVISOR_BUCKETS,
    IntervalSeconds,
    NonNegSeconds,
    Probability,
    Seconds,
    SizeGB,
    Usd,
    percent,
)
from preemptsim.keyerrors import one_line

HOURS_PER_MONTH = 730.0  # REFERENCES.md §3: λ = −ln(1−p) / 730 h


class ScenarioError(InputError):
    """Bad scenario input; the message is one line that names the key."""


class _Table(BaseModel):
    # Strict: a boolean is not a number, a string not a boolean (true, not "yes").
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)


class Delay(_Table):
    """A duration that may be random: ``"3min"`` or a distribution table (DESIGN.md §2)."""

    dist: Literal["fixed", "lognormal", "uniform", "exponential", "empirical"] = "fixed"
    value: NonNegSeconds | None = None
    median: NonNegSeconds | None = None
    sigma: Annotated[float, Field(ge=0, le=10)] | None = None
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


# The [interruptions] keys each model reads; any other key set with it is an error.
MODEL_KEYS: dict[str, set[str]] = {
    "none": set(),
    "poisson": {"mtbi", "rate_per_hour", "monthly_probability"},
    "weibull": {"shape", "scale"},
    "hourly": {"rate_per_hour"},
    "trace": {"path", "paths", "start"},
    "scripted": {"at"},
}
MODEL_KEYS = {m: keys | {"model", "notice", "max_lifetime"} for m, keys in MODEL_KEYS.items()}


class Interruptions(_Table):
    model: Literal["none", "poisson", "weibull", "hourly", "trace", "scripted"] = "none"
    mtbi: Seconds | None = None
    rate_per_hour: Annotated[float, Field(gt=0)] | list[Annotated[float, Field(ge=0)]] | None = None
    monthly_probability: Annotated[
        Probability | Literal[tuple(ADVISOR_BUCKETS)] | None,  # type: ignore[valid-type]
        BeforeValidator(percent),
    ] = None
    notice: NonNegSeconds = 0.0
    shape: Annotated[float, Field(gt=0)] | None = None
    scale: Seconds | None = None
    max_lifetime: Seconds | None = None
    path: str | None = None
    paths: Annotated[list[str], Field(min_length=1)] | str | None = None
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
        if self.path is not None and self.paths is not None:
            raise ValueError("paths: give either path (one zone) or paths (zones), not both")
        if self.model == "trace" and self.path is None and self.paths is None:
            raise ValueError("path: trace needs the path of a trace file")
        if self.model != "trace" and self.paths is not None:
            raise ValueError('paths: zones replay traces: needs model = "trace"')
        if self.model == "scripted" and self.at is None:
            raise ValueError("at: scripted needs a list of interruption times")
        given = {k for k, f in type(self).model_fields.items() if getattr(self, k) != f.default}
        for key in sorted(given - MODEL_KEYS[self.model]):
            raise ValueError(f"{key}: not a key of model = {self.model!r}")
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


class Placement(_Table):
    strategy: Literal["stay", "failover", "eager_next", "cheapest"] = "stay"
    start_zone: str | None = None


Gbps = Annotated[float, Field(gt=0)]


class Migration(_Table):
    """Checkpoint copies between zones, by route (REFERENCES.md §8, SkyNomad's figures)."""

    same_region_gbps: Gbps = 9.72
    other_region_gbps: Gbps = 8.20
    other_continent_gbps: Gbps = 3.59
    same_region_usd_per_gb: Usd = 0.01
    other_region_usd_per_gb: Usd = 0.02
    other_continent_usd_per_gb: Usd = 0.147


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
    placement: Placement = Placement()
    migration: Migration = Migration()
    on_demand: OnDemand = OnDemand()
    calibration: Calibration | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.policy.kind in ("greedy", "uniform_progress") and self.policy.deadline is None:
            raise ValueError(
                f"policy.deadline: policy.kind = {self.policy.kind!r} needs a deadline"
            )
        if self.placement.start_zone is not None and self.interruptions.model != "trace":
            raise ValueError('placement.start_zone: names a trace\'s zone: needs model = "trace"')
        limits.check(self)
        return self

    @property
    def on_notice(self) -> bool:
        """Whether a notice triggers an emergency checkpoint (default: when notice > 0)."""
        wanted = self.checkpoint.on_notice
        return self.interruptions.notice > 0 if wanted is None else wanted

    def with_values(self, values: Mapping[str, Any]) -> Scenario:
        """A new scenario with dotted keys (``"checkpoint.interval"``) set to new values."""
        data = self.model_dump()
        if "interruptions.model" in values:  # the old model's keys go with it
            _clear_unread(data["interruptions"], values["interruptions.model"])
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


def _clear_unread(table: dict[str, Any], model: Any) -> None:
    """Reset the [interruptions] keys that ``model`` does not read to their defaults."""
    for key, field in Interruptions.model_fields.items():
        if model in MODEL_KEYS and key not in MODEL_KEYS[model]:
            table[key] = field.default


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


def _validate(data: Mapping[str, Any]) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()  # an unknown key first: it explains a "missing" one (a typo)
        first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        raise ScenarioError(one_line(first, data, Scenario)) from None


def _calibrated(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """``data`` with a [calibration] probe's timings written in (DESIGN.md §6; calibrate.py)."""
    if data.get("calibration") is None:
        return data
    try:
        return apply_calibration(data)
    except CalibrationError as exc:
        raise ScenarioError(str(exc)) from None


def load_scenario(source: str | Path | Mapping[str, Any]) -> Scenario:
    """Load and validate a scenario from a TOML file, a preset name or a dict.

    A relative ``interruptions.path`` or ``calibration.probe`` is taken relative to the file
    (a shipped trace's name, ``gcp-h100/us-west1-a``, unless such a file is there).
    A [calibration] table's timings replace the file's (``with_values`` does not re-apply).
    """
    if isinstance(source, Mapping):
        return _validate(_calibrated(source))
    try:
        path = shipped.scenario_path(source)
    except InputError as exc:
        raise ScenarioError(str(exc)) from None
    text = inputs.read_text(path, "scenario file", ScenarioError)
    data = inputs.parse(text, path, "scenario file", ScenarioError, toml=True)
    for table, key in (("interruptions", "path"), ("calibration", "probe")):
        section = data.get(table)
        if isinstance(section, dict) and isinstance(section.get(key), str):
            section[key] = _beside(path, section[key])
    section = data.get("interruptions")
    zones = section.get("paths") if isinstance(section, dict) else None
    if isinstance(zones, str):
        section["paths"] = _beside(path, zones)  # type: ignore[index]
    elif isinstance(zones, list):
        section["paths"] = [_beside(path, p) if isinstance(p, str) else p for p in zones]  # type: ignore[index]
    return _validate(_calibrated(data))


def _beside(scenario_file: Path, relative: str) -> str:
    """A path the file names, taken beside it, unless it is a shipped trace's name (or a
    glob of such names) and no such file is there."""
    beside = scenario_file.parent / relative
    if inputs.exists(beside) or not shipped.names_traces(relative):
        return str(beside)
    return relative
