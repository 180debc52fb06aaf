"""Random delays of the fast engine from keyed uniforms (keyed.py), as engine.draw's
distributions: the same distributions as the SimPy engine, not the same numbers."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from preemptsim.scenario import Delay

F = npt.NDArray[np.float64]


def delay_s(delay: Delay, uniform: Callable[[], F]) -> F | float:
    """Values of ``delay`` in seconds; fixed ones draw nothing."""
    match delay.dist:
        case "fixed":
            return float(delay.value)  # type: ignore[arg-type]
        case "lognormal":
            from scipy.special import ndtri  # scipy loads only where a lognormal is drawn

            return delay.median * np.exp(delay.sigma * ndtri(uniform()))  # type: ignore[no-any-return]
        case "uniform":
            return delay.low + (delay.high - delay.low) * uniform()  # type: ignore[operator]
        case "exponential":
            return -delay.mean * np.log(uniform())  # type: ignore[operator]
    values = np.asarray(delay.values, dtype=np.float64)
    return values[np.minimum((uniform() * len(values)).astype(np.int64), len(values) - 1)]


def least_s(delay: Delay) -> float:
    """The least value ``delay`` can take, in seconds."""
    match delay.dist:
        case "fixed":
            return float(delay.value)  # type: ignore[arg-type]
        case "uniform":
            return float(delay.low)  # type: ignore[arg-type]
        case "empirical":
            return float(min(delay.values))  # type: ignore[arg-type]
    return 0.0
