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
from typing import Protocol

import numpy as np

from preemptsim.scenario import Interruptions


class Model(Protocol):
    def take_at(self, start_s: float) -> float: ...

    def capacity_at(self, t_s: float) -> float: ...


class _AlwaysThere:
    """Capacity is always there (every model but traces)."""

    def capacity_at(self, t_s: float) -> float:
        return t_s


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


def build(spec: Interruptions, instances: int, rng: np.random.Generator) -> Model:
    """The interruption model of one run for a gang of ``instances``."""
    model = _base(spec, instances, rng)
    return model if spec.max_lifetime is None else Capped(model, spec.max_lifetime)


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
