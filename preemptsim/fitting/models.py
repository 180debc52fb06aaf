"""Interruption models fitted to censored lifetimes by maximum likelihood.

Lifetimes are in hours and the log-likelihoods are of densities per hour, so the three
models are compared on the same data: Poisson (exponential lifetimes), Weibull (renewed at
each new instance) and hour-of-day rates (a Poisson process whose rate follows the clock).
Censored lifetimes contribute their survival, interrupted ones their density.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from preemptsim.fitting.lifetimes import SECONDS_PER_DAY

CONFIDENCE = 0.95
Z = float(special.ndtri(0.5 + CONFIDENCE / 2))  # 1.96: two-sided normal quantile
SHAPE_BOUNDS = (1e-3, 1e3)


@dataclass(frozen=True)
class Estimate:
    """A fitted value with its 95% interval."""

    value: float
    low: float
    high: float

    def covers(self, truth: float) -> bool:
        return self.low <= truth <= self.high


@dataclass(frozen=True)
class ModelFit:
    """One model's fit: parameters (hours, per hour), log-likelihood, AIC and KS."""

    model: str
    parameters: dict[str, Estimate]
    log_likelihood: float
    free_parameters: int
    ks: float

    @property
    def aic(self) -> float:
        return 2 * self.free_parameters - 2 * self.log_likelihood


def chi2_quantile(q: float, dof: float) -> float:
    """The q-quantile of χ² with ``dof`` degrees of freedom (0 for dof = 0)."""
    return 2.0 * float(special.gammaincinv(dof / 2, q)) if dof > 0 else 0.0


def rate_interval(events: int, exposure_h: float, *, censored: bool) -> Estimate:
    """MLE rate events / exposure (per hour) with its exact 95% interval.

    With censoring the observation stops at a time, not at an event (time-truncated): the
    Garwood interval χ²(α/2; 2d)/2T … χ²(1−α/2; 2d+2)/2T.  Without it, the exposure is a
    sum of d exponential lifetimes, 2λT ~ χ²(2d), and the upper end has 2d degrees too.
    """
    alpha = 1.0 - CONFIDENCE
    upper_dof = 2 * events + (2 if censored else 0)
    return Estimate(
        events / exposure_h,
        chi2_quantile(alpha / 2, 2 * events) / (2 * exposure_h),
        chi2_quantile(1 - alpha / 2, upper_dof) / (2 * exposure_h),
    )


def kaplan_meier(duration_h: np.ndarray, ended: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct interruption times (hours) and the Kaplan–Meier survival just after
    each; a lifetime censored at an interruption time counts as still at risk there."""
    times = np.unique(duration_h[ended])
    at_risk = (duration_h[None, :] >= times[:, None]).sum(axis=1)
    deaths = np.bincount(np.searchsorted(times, duration_h[ended]), minlength=len(times))
    return times, np.cumprod(1.0 - deaths / at_risk)


def _ks(
    duration_h: np.ndarray, ended: np.ndarray, cdf: Callable[[np.ndarray], np.ndarray]
) -> float:
    """Largest gap between the Kaplan–Meier estimate of the lifetime CDF and the fitted
    ``cdf``, just before and at each interruption time (where the estimate steps); NaN
    without interruptions."""
    if not ended.any():
        return math.nan
    times, survival = kaplan_meier(duration_h, ended)
    km_at = 1.0 - survival
    km_before = np.concatenate([[0.0], km_at[:-1]])
    fitted = cdf(times)
    return float(max(np.abs(km_at - fitted).max(), np.abs(km_before - fitted).max()))


def poisson(duration_h: np.ndarray, ended: np.ndarray) -> ModelFit:
    """Exponential lifetimes: λ̂ = interruptions / exposure; MTBI = 1/λ̂ (its interval the
    inverse of λ's); ℓ = d ln λ − λ T."""
    events, exposure_h = int(ended.sum()), float(duration_h.sum())
    rate = rate_interval(events, exposure_h, censored=not ended.all())
    mtbi = Estimate(*(1.0 / r if r > 0 else math.inf for r in (rate.value, rate.high, rate.low)))
    log_lik = events * math.log(rate.value) - events if events else 0.0
    ks = _ks(duration_h, ended, lambda t_h: 1.0 - np.exp(-rate.value * t_h))
    return ModelFit("poisson", {"mtbi_h": mtbi}, log_lik, 1, ks)


def _profile_slope(shape: float, log_t: np.ndarray, ended: np.ndarray) -> float:
    """d/dk of the Weibull log-likelihood with the scale at its best for this shape k;
    decreasing in k (weights rescaled by the longest lifetime to stay finite)."""
    weights = np.exp(shape * (log_t - log_t.max()))
    events = ended.sum()
    return float(events / shape + log_t[ended].sum() - events * (weights @ log_t) / weights.sum())


def weibull(duration_h: np.ndarray, ended: np.ndarray) -> ModelFit | str:
    """Censored maximum likelihood for shape k and scale λ (hours); 95% intervals from the
    observed information of (ln k, ln λ), mapped back (delta method on logs).  A reason
    (str) where it cannot be fitted."""
    events = int(ended.sum())
    if events < 2:
        return "needs two interruptions at least"
    log_t = np.log(duration_h)
    low, high = (_profile_slope(k, log_t, ended) for k in SHAPE_BOUNDS)
    if high > 0:
        return f"shape over {SHAPE_BOUNDS[1]:g}: the lifetimes are all alike"
    if low < 0:
        return f"shape under {SHAPE_BOUNDS[0]:g}"
    shape = float(optimize.brentq(_profile_slope, *SHAPE_BOUNDS, args=(log_t, ended)))
    scaled = np.exp(shape * (log_t - log_t.max()))
    log_scale = float(log_t.max() + math.log(scaled.sum() / events) / shape)
    u = shape * (log_t - log_scale)  # k ln(t/λ)
    z = np.exp(u)  # (t/λ)^k
    log_lik = float(events * math.log(shape) + (u - log_t)[ended].sum() - z.sum())
    se_log_shape, se_log_scale = _log_standard_errors(shape, u, z, ended)
    parameters = {
        "shape": _on_log(math.log(shape), se_log_shape),
        "scale_h": _on_log(log_scale, se_log_scale),
    }
    ks = _ks(duration_h, ended, lambda t_h: 1.0 - np.exp(-((t_h / math.exp(log_scale)) ** shape)))
    return ModelFit("weibull", parameters, log_lik, 2, ks)


def _log_standard_errors(
    shape: float, u: np.ndarray, z: np.ndarray, ended: np.ndarray
) -> tuple[float, float]:
    """Standard errors of ln k and ln λ from the inverse observed information.

    With a = ln k, b = ln λ, u = k ln(t/λ), z = e^u, d interruptions:
    ∂²ℓ/∂a² = Σ_d u − Σ z(u² + u);  ∂²ℓ/∂b² = −k² Σ z;  ∂²ℓ/∂a∂b = −k d + k Σ z(u + 1).
    """
    events = ended.sum()
    hessian = np.array(
        [
            [
                u[ended].sum() - (z * (u**2 + u)).sum(),
                -shape * events + shape * (z * (u + 1)).sum(),
            ],
            [0.0, -(shape**2) * z.sum()],
        ]
    )
    hessian[1, 0] = hessian[0, 1]
    covariance = np.linalg.inv(-hessian)
    return float(math.sqrt(covariance[0, 0])), float(math.sqrt(covariance[1, 1]))


def _on_log(log_value: float, se: float) -> Estimate:
    return Estimate(math.exp(log_value), math.exp(log_value - Z * se), math.exp(log_value + Z * se))


def _slot_exposure_s(clock_s: np.ndarray) -> np.ndarray:
    """Seconds spent in each hour of day from clock 0 to each moment: shape (n, 24)."""
    days, within_s = np.divmod(clock_s, SECONDS_PER_DAY)
    hours = np.arange(24) * 3600.0
    exposure_s: np.ndarray = days[:, None] * 3600.0 + np.clip(within_s[:, None] - hours, 0, 3600)
    return exposure_s


def event_hours(end_clock_s: np.ndarray) -> np.ndarray:
    """The hour of day an interruption counts in: the hour holding the last moment before
    it (one at 13:00 ends exposure in hour 12)."""
    return (np.ceil(end_clock_s / 3600.0).astype(int) - 1) % 24


def hourly(duration_h: np.ndarray, ended: np.ndarray, start_clock_s: np.ndarray) -> ModelFit | str:
    """Rates by hour of day: interruptions in hour h / exposure hours in hour h, each with
    its exact interval; an hour never exposed gets the overall rate (not a parameter).
    ℓ = Σ_h d_h ln r_h − r_h E_h."""
    if not ended.any():
        return "needs one interruption at least"
    end_clock_s = start_clock_s + duration_h * 3600.0
    exposure_h = (_slot_exposure_s(end_clock_s) - _slot_exposure_s(start_clock_s)).sum(0) / 3600
    counts = np.bincount(event_hours(end_clock_s[ended]), minlength=24)
    censored = not ended.all()
    overall = ended.sum() / duration_h.sum()
    parameters = {}
    for hour in range(24):
        if exposure_h[hour] > 0:
            estimate = rate_interval(int(counts[hour]), float(exposure_h[hour]), censored=censored)
        else:
            estimate = Estimate(overall, math.nan, math.nan)
        parameters[f"rate_{hour:02d}h"] = estimate
    rates = np.array([p.value for p in parameters.values()])
    seen = counts > 0
    log_lik = float((counts[seen] * np.log(rates[seen])).sum() - ended.sum())
    ks = _ks(duration_h, ended, lambda t_h: _hourly_cdf(rates, start_clock_s, t_h))
    return ModelFit("hourly", parameters, log_lik, int((exposure_h > 0).sum()), ks)


def _hourly_cdf(rates: np.ndarray, start_clock_s: np.ndarray, times_h: np.ndarray) -> np.ndarray:
    """The lifetime CDF under the hourly rates, averaged over the observed start times."""
    day_s = np.arange(25) * 3600.0
    per_day = np.concatenate([[0.0], np.cumsum(rates)])  # hazard from midnight, by hour

    def hazard(clock_s: np.ndarray) -> np.ndarray:
        days, within_s = np.divmod(clock_s, SECONDS_PER_DAY)
        taken: np.ndarray = days * per_day[-1] + np.interp(within_s, day_s, per_day)
        return taken

    block = max(1, 2_000_000 // max(1, len(start_clock_s)))
    parts = []
    for first in range(0, len(times_h), block):
        ends = start_clock_s[:, None] + times_h[None, first : first + block] * 3600.0
        taken = hazard(ends) - hazard(start_clock_s)[:, None]
        parts.append(1.0 - np.exp(-taken).mean(axis=0))
    return np.concatenate(parts) if parts else np.empty(0)
