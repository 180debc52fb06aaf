"""When the fast engine's instances are taken, when capacity is there, and at what price
(interruptions.py's models over arrays of replications).

Poisson, Weibull and hour-of-day lifetimes invert their (cumulative) hazard; scripted
moments and traces are array searches: a trace's take is the start of the next
unavailable tick and its capacity the start of the next available one (Trace.take_at,
Trace.capacity_at: the very lookups the SimPy engine makes), its price a difference of
cumulative sums.  Never a loop over ticks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from preemptsim.interruptions import Trace
from preemptsim.scenario import Interruptions

F = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Takes:
    """The interruptions of a (gang of) instance(s) under ``spec``; ``trace`` where
    ``spec.model`` is "trace", replayed from a per-replication offset."""

    spec: Interruptions
    instances: int
    trace: Trace | None = None
    scripted_s: F = field(init=False)  # scripted times, sorted once, then inf

    def __post_init__(self) -> None:
        at = np.asarray(self.spec.at or [], dtype=np.float64)
        object.__setattr__(self, "scripted_s", np.append(np.sort(at), np.inf))

    def at(self, start: F, offset: F, uniform: Callable[[], F]) -> F:
        """When instances started at ``start`` are taken (inf for never)."""
        take = self._base(start, offset, uniform)
        if self.spec.max_lifetime is not None:
            take = np.minimum(take, start + self.spec.max_lifetime)
        return take

    def capacity(self, t: F, offset: F) -> F:
        """The first moment at or after ``t`` at which a spot instance can start."""
        return t if self.trace is None else self.trace.capacity_at(t, offset)

    def usd_per_hour(self, start: F, end: F, offset: F, default: float) -> F | float:
        """The spot price of leases held from ``start`` to ``end``: the trace's mean price
        over each where it gives prices (and the lease lasts), else ``default``."""
        trace = self.trace
        if trace is None or trace.usd_s_at_ticks is None:
            return default
        held = end > start
        mean = trace.mean_usd_per_hour(start, np.where(held, end, start + 1.0), offset)
        return np.where(held, mean, default)

    def _base(self, start: F, offset: F, uniform: Callable[[], F]) -> F:
        spec, n = self.spec, self.instances
        match spec.model:
            case "poisson":
                return start + -np.log(uniform()) / (spec.rate_per_s * n)
            case "weibull":
                scale_s = spec.scale * n ** (-1.0 / spec.shape)  # type: ignore[operator]
                return start + scale_s * (-np.log(uniform())) ** (1.0 / spec.shape)  # type: ignore[no-any-return,operator]
            case "hourly":
                return _hourly(start, -np.log(uniform()), spec.rate_per_hour, n)  # type: ignore[arg-type]
            case "scripted":
                times = self.scripted_s
                return times[np.searchsorted(times, start, side="right")]
            case "trace":
                assert self.trace is not None
                return self.trace.take_at(start, offset)  # type: ignore[no-any-return]
        return np.full_like(start, np.inf)


def _hourly(start: F, hazard: F, rate_per_hour: list[float], instances: int) -> F:
    """The moment after ``start`` at which ``hazard`` has accrued under an hour-of-day rate
    (t = 0 is midnight), by inverting the cumulative hazard; inf past a year, as Hourly."""
    rates = np.asarray(rate_per_hour, dtype=np.float64) * instances / 3600.0
    cum = np.concatenate(([0.0], np.cumsum(rates * 3600.0)))
    day = cum[-1]
    if day <= 0.0:
        return np.full_like(start, np.inf)
    hour = np.floor(start / 3600.0)
    h = (hour % 24).astype(np.int64)
    target = np.floor(hour / 24) * day + cum[h] + rates[h] * (start - hour * 3600.0) + hazard
    days = np.floor(target / day)
    rest = target - days * day
    days, rest = np.where(rest <= 0.0, days - 1, days), np.where(rest <= 0.0, rest + day, rest)
    h = np.minimum(np.searchsorted(cum[1:], rest, side="left"), 23)
    take = days * 86400.0 + h * 3600.0 + (rest - cum[h]) / np.where(rates[h] > 0, rates[h], 1.0)
    take = np.maximum(take, start)
    return np.where(take > (hour + 24 * 366) * 3600.0, np.inf, take)
