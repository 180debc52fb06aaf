"""Interruption models fitted to history (DESIGN.md §4, fit): no simulation, statistics on
lifetimes.  ``fit(source)`` reads a trace or a log of interruptions (lifetimes.py), fits
Poisson, Weibull and hour-of-day rates (models.py) and says which fits best; text.py
writes the terminal table and the ``[interruptions]`` TOML table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from preemptsim.fitting import models
from preemptsim.fitting.lifetimes import FitError, Lifetimes, read
from preemptsim.fitting.models import Estimate, ModelFit

Choice = Literal["poisson", "weibull", "hourly", "all"]
MODELS: tuple[str, ...] = ("poisson", "weibull", "hourly")

__all__ = ["MODELS", "Estimate", "FitError", "FitResult", "Lifetimes", "ModelFit", "fit"]


@dataclass(frozen=True)
class FitResult:
    """The fitted models of one history, and why any could not be fitted."""

    lifetimes: Lifetimes
    fits: dict[str, ModelFit]
    unfitted: dict[str, str]

    @property
    def best(self) -> str:
        """The fitted model with the lowest AIC."""
        return min(self.fits.values(), key=lambda f: f.aic).model

    def table(self, model: str | None = None) -> dict[str, Any]:
        """The ``[interruptions]`` keys of ``model`` (default: the best), in seconds and
        per-hour rates, as ``Scenario.with_values`` and scenario files take them.

        With no interruption seen, the Poisson MTBI is its 95% lower bound (the MLE is
        infinite): the cautious reading of a clean record."""
        if model is not None and model not in self.fits:
            why = self.unfitted.get(model, "not asked for")
            raise FitError(f"{self.lifetimes.source}: {model} is not fitted: {why}")
        chosen = self.fits[model or self.best]
        p = chosen.parameters
        match chosen.model:
            case "poisson":
                mtbi = p["mtbi_h"].value if math.isfinite(p["mtbi_h"].value) else p["mtbi_h"].low
                return {"model": "poisson", "mtbi": mtbi * 3600.0}
            case "weibull":
                scale_s = p["scale_h"].value * 3600.0
                return {"model": "weibull", "shape": p["shape"].value, "scale": scale_s}
        return {"model": "hourly", "rate_per_hour": [e.value for e in p.values()]}


def fit(source: str | Path | Lifetimes, model: Choice = "all") -> FitResult:
    """Fit interruption models to a trace, an interruption log or given lifetimes.

    ``model``: one of ``MODELS``, or ``"all"`` to fit and compare the three.  Raises
    FitError (one line naming the file and row) on a bad file or a model that cannot be
    fitted to it.
    """
    if model not in (*MODELS, "all"):
        raise ValueError(f"model: must be one of {', '.join(MODELS)} or all, got {model!r}")
    lifetimes = source if isinstance(source, Lifetimes) else read(source)
    if not len(lifetimes.duration_h):
        raise FitError(f"{lifetimes.source}: no lifetimes: spot capacity is never there")
    fits: dict[str, ModelFit] = {}
    unfitted: dict[str, str] = {}
    for name in MODELS if model == "all" else (model,):
        result = _fit_one(name, lifetimes)
        if isinstance(result, str):
            unfitted[name] = result
        else:
            fits[name] = result
    if not fits:
        name, reason = next(iter(unfitted.items()))
        raise FitError(f"{lifetimes.source}: {name} cannot be fitted: {reason}")
    return FitResult(lifetimes, fits, unfitted)


def _fit_one(name: str, lifetimes: Lifetimes) -> ModelFit | str:
    duration_h, ended = lifetimes.duration_h, lifetimes.ended
    if name == "poisson":
        return models.poisson(duration_h, ended)
    if name == "weibull":
        return models.weibull(duration_h, ended)
    return models.hourly(duration_h, ended, lifetimes.start_clock_s)
