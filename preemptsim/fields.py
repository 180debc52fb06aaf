"""The typed, bounded field types of the scenario's tables (DESIGN.md §2): durations in
seconds, sizes in GB, prices in USD, probabilities; each refuses what it cannot hold with a
message fit to follow the key's name.  The tables themselves are strict (scenario.py): a
boolean is no number there.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from preemptsim.units import parse_duration, parse_size_gb

# AWS Spot Instance Advisor "frequency of interruption" buckets (REFERENCES.md §3), taken at
# the middle of each bucket; ">20%" is taken as 25% (the advisor gives no upper bound).
ADVISOR_BUCKETS: dict[str, float] = {
    "<5%": 0.025,
    "5-10%": 0.075,
    "10-15%": 0.125,
    "15-20%": 0.175,
    ">20%": 0.25,
}


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
Usd = Annotated[float, Field(ge=0, le=1e6)]  # no instance costs a million dollars an hour


def percent(value: object) -> object:
    """``"15%"`` as 0.15; an AWS advisor bucket (``"5-10%"``) or a number passes through."""
    if isinstance(value, str) and value not in ADVISOR_BUCKETS and value.endswith("%"):
        try:
            return float(value[:-1]) / 100.0
        except ValueError:
            pass
    return value


Probability = Annotated[float, Field(gt=0, lt=1)]
