"""Interruption models: when is an instance that starts at time t taken (DESIGN.md §1).

A model answers two questions for the engine, in seconds since the run began:
``take_at(start_s)``, the moment a (gang of) instance(s) started at ``start_s`` is taken
(``inf`` for never), and ``capacity_at(t_s)``, the first moment at or after ``t_s`` at which
a new spot instance can start.  Models with randomness draw from the run's own stream.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:  # scenario.py loads traces into this module's Trace
    from preemptsim.scenario import Interruptions


class Model(Protocol):
    def take_at(self, start_s: float) -> float: ...

    def capacity_at(self, t_s: float) -> float: ...

    def usd_per_hour(self, start_s: float, end_s: float) -> float | None: ...


class _AlwaysThere:
    """Capacity is always there (every model but traces)."""

    def capacity_at(self, t_s: float) -> float:
        return t_s

    def usd_per_hour(self, start_s: float, end_s: float) -> float | None:
        """The spot price of a lease, where the model sets it (traces); else None."""
        return None


class Never(_AlwaysThere):
    def take_at(self, start_s: float) -> float:
        return math.inf


@dataclass(slots=True)
class Poisson(_AlwaysThere):
    """Exponential lifetimes; a gang of N sees N·λ (REFERENCES.md §1)."""

    rate_per_s: float
    rng: np.random.Generator

    def take_at(self, start_s: float) -> float:
        return start_s + self.rng.exponential(1.0 / self.rate_per_s)


@dataclass(slots=True)
class Weibull(_AlwaysThere):
    """Weibull lifetimes, renewed at each new instance; the gang's is the least of N.

    The minimum of N Weibull(k, λ) lifetimes is Weibull(k, λ·N^(−1/k)).
    """

    shape: float
    scale_s: float
    rng: np.random.Generator

    def take_at(self, start_s: float) -> float:
        return start_s + self.scale_s * self.rng.weibull(self.shape)


@dataclass(slots=True)
class Hourly(_AlwaysThere):
    """A Poisson process whose rate depends on the hour of day (t = 0 is midnight)."""

    rates_per_s: tuple[float, ...]
    rng: np.random.Generator

    def take_at(self, start_s: float) -> float:
        hazard = self.rng.exponential(1.0)
        t_s = start_s
        for _ in range(24 * 366):
            hour_end = (math.floor(t_s / 3600.0) + 1) * 3600.0
            rate = self.rates_per_s[int(t_s // 3600.0) % 24]
            if rate * (hour_end - t_s) >= hazard:
                return t_s + hazard / rate
            hazard -= rate * (hour_end - t_s)
            t_s = hour_end
        return math.inf  # no interruption within a year of hours: rates are (nearly) zero


@dataclass(slots=True)
class Scripted(_AlwaysThere):
    """Interruptions at given moments: each takes the instance held then, if any."""

    times_s: list[float] = field(default_factory=list)

    def take_at(self, start_s: float) -> float:
        index = bisect.bisect_right(self.times_s, start_s)
        return self.times_s[index] if index < len(self.times_s) else math.inf


@dataclass(slots=True)
class Capped:
    """Any model with a maximum instance lifetime (GCP preemptible VMs: 24 h)."""

    inner: Model
    max_lifetime_s: float

    def take_at(self, start_s: float) -> float:
        return min(self.inner.take_at(start_s), start_s + self.max_lifetime_s)

    def capacity_at(self, t_s: float) -> float:
        return self.inner.capacity_at(t_s)

    def usd_per_hour(self, start_s: float, end_s: float) -> float | None:
        return self.inner.usd_per_hour(start_s, end_s)


def build(
    spec: Interruptions, instances: int, rng: np.random.Generator, trace: Trace | None = None
) -> Model:
    """The interruption model of one run for a gang of ``instances`` (a trace, loaded by
    the caller, takes the whole gang when its capacity goes)."""
    if trace is not None:
        model: Model = Replay(trace, start_offset_s(spec, trace, rng))
    else:
        model = _base(spec, instances, rng)
    return model if spec.max_lifetime is None else Capped(model, spec.max_lifetime)


def start_offset_s(spec: Interruptions, trace: Trace, rng: np.random.Generator) -> float:
    """Where in ``trace`` a run starts: ``interruptions.start``, or with "random" a uniform
    draw over the trace, the first draw of the run's interruptions stream."""
    offset_s = rng.uniform(0.0, trace.period_s) if spec.start == "random" else spec.start
    return float(offset_s) % trace.period_s


def _base(spec: Interruptions, instances: int, rng: np.random.Generator) -> Model:
    match spec.model:
        case "poisson":
            return Poisson(spec.rate_per_s * instances, rng)
        case "weibull":
            scale_s = spec.scale * instances ** (-1.0 / spec.shape)  # type: ignore[operator]
            return Weibull(spec.shape, scale_s, rng)  # type: ignore[arg-type]
        case "hourly":
            rates = tuple(r * instances / 3600.0 for r in spec.rate_per_hour)  # type: ignore[union-attr]
            return Hourly(rates, rng)
        case "scripted":
            return Scripted(sorted(spec.at or []))
    return Never()


# A moment within a microsecond of a tick's start is in that tick: run times computed as
# offset + tick start come back a rounding error short of it.
TICK_TOLERANCE_S = 1e-6


@dataclass(frozen=True)
class Trace:
    """An availability trace: tick i covers [starts_s[i], starts_s[i+1]); the last tick
    ends at ``period_s``, after which the trace repeats.  Prices are spot USD per hour."""

    starts_s: np.ndarray
    available: np.ndarray
    period_s: float
    next_down_s: np.ndarray  # per tick: start of the first unavailable tick at or after it
    next_up_s: np.ndarray  # per tick: start of the first available tick at or after it
    prices_usd_per_hour: np.ndarray | None
    usd_s: np.ndarray | None  # cumulative price × seconds at each tick's start

    @classmethod
    def of(
        cls,
        starts_s: np.ndarray,
        available: np.ndarray,
        period_s: float,
        prices_usd_per_hour: np.ndarray | None = None,
    ) -> Trace:
        usd_s = None
        if prices_usd_per_hour is not None:
            lengths_s = np.append(starts_s[1:], period_s) - starts_s
            usd_s = np.concatenate([[0.0], np.cumsum(prices_usd_per_hour * lengths_s)])
        return cls(
            starts_s,
            available,
            period_s,
            _next_start(starts_s, ~available, period_s),
            _next_start(starts_s, available, period_s),
            prices_usd_per_hour,
            usd_s,
        )


def _next_start(starts_s: np.ndarray, mask: np.ndarray, period_s: float) -> np.ndarray:
    """For each tick i, the start of the first tick j ≥ i with ``mask``, wrapping (+period)."""
    count = len(starts_s)
    result = np.full(count, math.inf)
    following = math.inf
    for index in range(2 * count - 1, -1, -1):
        tick = index % count
        if mask[tick]:
            following = starts_s[tick] + (period_s if index >= count else 0.0)
        if index < count:
            result[tick] = following
    return result


@dataclass(slots=True)
class Replay:
    """A run replaying ``trace`` from ``offset_s`` into it (DESIGN.md §1, Traces)."""

    trace: Trace
    offset_s: float

    def _locate(self, t_s: float) -> tuple[float, int]:
        """The start of the trace's repetition holding run time ``t_s``, and the tick index.
        The tick tolerance holds across a repetition's end too: a moment a rounding error
        short of it is in the next repetition's first tick."""
        unrolled = t_s + self.offset_s
        period_s = self.trace.period_s
        base = math.floor((unrolled + TICK_TOLERANCE_S) / period_s) * period_s
        within_s = unrolled - base + TICK_TOLERANCE_S
        index = int(np.searchsorted(self.trace.starts_s, within_s, side="right")) - 1
        return base - self.offset_s, index

    def take_at(self, start_s: float) -> float:
        base, index = self._locate(start_s)
        return base + float(self.trace.next_down_s[index])

    def capacity_at(self, t_s: float) -> float:
        base, index = self._locate(t_s)
        if self.trace.available[index]:
            return t_s
        return base + float(self.trace.next_up_s[index])

    def usd_per_hour(self, start_s: float, end_s: float) -> float | None:
        """The mean spot price over [start_s, end_s], from the trace's per-tick prices."""
        if self.trace.usd_s is None or end_s <= start_s:
            return None
        return (self._usd_s(end_s) - self._usd_s(start_s)) / (end_s - start_s)

    def _usd_s(self, t_s: float) -> float:
        """USD·s/h spent by one instance from the trace's start to run time ``t_s``."""
        trace = self.trace
        cumulative, prices = trace.usd_s, trace.prices_usd_per_hour
        assert cumulative is not None and prices is not None
        unrolled = t_s + self.offset_s
        cycles = math.floor(unrolled / trace.period_s)
        within = unrolled - cycles * trace.period_s
        index = int(np.searchsorted(trace.starts_s, within, side="right")) - 1
        partial = prices[index] * (within - trace.starts_s[index])
        return float(cycles * cumulative[-1] + cumulative[index] + partial)
