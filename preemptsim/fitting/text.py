"""What `preemptsim fit` prints and writes: a comparison table for the terminal, and the
``[interruptions]`` TOML table of one model with comments naming its source."""

from __future__ import annotations

import math
from pathlib import Path

from preemptsim.fitting import MODELS, Choice, FitResult, fit
from preemptsim.fitting.models import Estimate, ModelFit
from preemptsim.outputs import write_atomic

FOOTNOTE = """\
* best: lowest AIC = 2 x parameters - 2 x log-likelihood (densities of lifetimes in hours).
KS: largest gap between the Kaplan-Meier estimate of the lifetime CDF (censored runs
counted) and the fitted CDF; no p-value, as the parameters come from the same data."""


def _num(value: float) -> str:
    return "inf" if math.isinf(value) else f"{value:.3g}"


def _estimate(estimate: Estimate, unit: str = "") -> str:
    return f"{_num(estimate.value)}{unit} [{_num(estimate.low)}, {_num(estimate.high)}]"


def parameters_text(fitted: ModelFit) -> str:
    """The parameters with their 95% intervals, in a line."""
    p = fitted.parameters
    if fitted.model == "poisson":
        return f"MTBI {_estimate(p['mtbi_h'], 'h')}"
    if fitted.model == "weibull":
        return f"shape {_estimate(p['shape'])}, scale {_estimate(p['scale_h'], 'h')}"
    rates = [e.value for e in p.values()]
    return f"24 rates by hour of day, {_num(min(rates))} to {_num(max(rates))} per h"


def _window(result: FitResult) -> str:
    life = result.lifetimes
    if life.first is None or life.last is None:
        return life.kind
    days = (life.last - life.first).total_seconds() / 86400
    span = f"{life.first:%Y-%m-%d %H:%M} to {life.last:%Y-%m-%d %H:%M} UTC"
    return f"{life.kind}, {span} ({days:.1f} days)"


def _counts(result: FitResult) -> str:
    life = result.lifetimes
    censored = len(life.duration_h) - life.interruptions
    text = (
        f"{len(life.duration_h)} lifetimes ({life.interruptions} interrupted, {censored} "
        f"censored), {life.exposure_h:.1f} h of exposure"
    )
    if len(life.outage_h):
        text += f"; outages: {len(life.outage_h)}, mean {life.outage_h.mean():.2f} h"
    return text


def format_table(result: FitResult) -> str:
    """The comparison table: model, parameters (95%), log-likelihood, AIC, KS; best marked."""
    lines = [f"{Path(result.lifetimes.source).name}: {_window(result)}", _counts(result), ""]
    lines.append(f"  {'model':9s} {'parameters (95% interval)':52s} {'log-lik':>9s} "
                 f"{'AIC':>9s} {'KS':>6s}")  # fmt: skip
    best = result.best
    for name in MODELS:
        mark = "*" if name == best else " "
        if name in result.fits:
            f = result.fits[name]
            ks = "-" if math.isnan(f.ks) else f"{f.ks:.3f}"
            lines.append(
                f"{mark} {name:9s} {parameters_text(f):52s} {f.log_likelihood:9.1f} "
                f"{f.aic:9.1f} {ks:>6s}"
            )
        elif name in result.unfitted:
            lines.append(f"  {name:9s} not fitted: {result.unfitted[name]}")
    return "\n".join([*lines, "", FOOTNOTE])


def _duration(seconds: float) -> str:
    return f'"{seconds / 3600:.4g}h"'


def toml_text(result: FitResult, model: str | None = None) -> str:
    """The ``[interruptions]`` table of ``model`` (default: the best), keys as DESIGN.md §2."""
    chosen = model or result.best
    fitted = result.fits[chosen]
    why = f"the best by AIC of {', '.join(result.fits)}" if len(result.fits) > 1 else "as asked"
    lines = [
        f"# [interruptions] fitted by `preemptsim fit`: {chosen} ({why})",
        f"# source: {result.lifetimes.source}",
        f"# {_window(result)}",
        f"# {_counts(result)}",
        f"# {parameters_text(fitted)} (95% intervals)",
    ]
    table = result.table(chosen)
    if chosen == "poisson" and math.isinf(fitted.parameters["mtbi_h"].value):
        lines.append("# no interruption seen: mtbi is the 95% lower bound of the MTBI")
    if chosen == "hourly":
        clock = "UTC" if result.lifetimes.first else "the log's time 0 taken as midnight"
        lines.append(f"# rate_per_hour[h]: hour h of the day ({clock}); a run starts at midnight")
    if len(result.lifetimes.outage_h):
        lines.append(
            "# not in the model: the outages (capacity gone after a take); to keep them, set"
        )
        lines.append("# restart.provision to their distribution (notebooks/06_fitted_models)")
    lines += ["[interruptions]", f'model = "{chosen}"']
    if chosen == "poisson":
        lines.append(f"mtbi = {_duration(table['mtbi'])}")
    elif chosen == "weibull":
        lines += [f"shape = {table['shape']:.4g}", f"scale = {_duration(table['scale'])}"]
    else:
        rates = ", ".join(repr(float(f"{rate:.4g}")) for rate in table["rate_per_hour"])
        lines.append(f"rate_per_hour = [{rates}]")
    lines.append('# notice = "30s"   # the provider\'s notice before a take (REFERENCES.md §3)')
    return "\n".join(lines) + "\n"


def command(source: str, model: Choice, out: str | None) -> int:
    """`preemptsim fit`: print the comparison, then write (or print) the TOML table."""
    result = fit(source, model)
    text = toml_text(result, None if model == "all" else model)
    print(format_table(result))
    if out is None:
        print(f"\n{text}", end="")
    else:
        write_atomic(Path(out), lambda tmp: tmp.write_text(text, encoding="utf-8"))
        print(f"\n[interruptions] table written to {out}")
    return 0
