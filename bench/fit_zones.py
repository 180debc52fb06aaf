"""Interruption models fitted to every shipped zone, gcp-h100/* and aws-v100/* (preemptsim fit).

Prints a Markdown table per trace family: lifetimes (runs of capacity) and how many ended
in an interruption, the Poisson MTBI and the Weibull shape with their 95% intervals, the
model with the lowest AIC and its KS statistic, and the mean outage (not in the models).
Run: python bench/fit_zones.py
"""

from __future__ import annotations

import math
from pathlib import Path

import preemptsim as ps
from preemptsim import shipped
from preemptsim.fitting import Estimate

FAMILIES = {"GCP a3-highgpu-8g (8xH100)": "gcp-h100/*", "AWS p3 (V100)": "aws-v100/*"}  # shipped


def interval(estimate: Estimate) -> str:
    high = "inf" if math.isinf(estimate.high) else f"{estimate.high:.3g}"
    return f"{estimate.value:.3g} [{estimate.low:.3g}, {high}]"


def row(path: Path) -> str:
    result = ps.fit(path)
    life, fits = result.lifetimes, result.fits
    shape = interval(fits["weibull"].parameters["shape"]) if "weibull" in fits else "-"
    best = fits[result.best]
    cells = [
        path.stem.removesuffix("_v100_1"),
        f"{len(life.duration_h)} / {life.interruptions}",
        interval(fits["poisson"].parameters["mtbi_h"]),
        shape,
        f"{result.best} (KS {best.ks:.2f})",
        f"{life.outage_h.mean():.2f}" if len(life.outage_h) else "-",
    ]
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    for family, pattern in FAMILIES.items():
        print(f"\n{family}\n")
        print("| zone | lifetimes / interrupted | MTBI h [95%] | Weibull shape [95%] "
              "| best by AIC | mean outage h |")  # fmt: skip
        print("|---|---|---|---|---|---|")
        for name in shipped.matching_traces(pattern):
            print(row(Path(name)))


if __name__ == "__main__":
    main()
