"""Parse the units of scenario files: durations to seconds, sizes to gigabytes.

Durations: a number of seconds, or a string of one or more ``<number><unit>`` terms,
``"90s"``, ``"30min"``, ``"2h"``, ``"1h30min"``, ``"1.5d"``.  Sizes: ``"14GB"``,
``"512MiB"`` or a number of gigabytes (10⁹ bytes).
"""

from __future__ import annotations

import math
import re

from preemptsim.errors import quoted

SECONDS_PER_UNIT: dict[str, float] = {
    "ms": 1e-3,
    "s": 1.0,
    "sec": 1.0,
    "min": 60.0,
    "m": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "d": 86400.0,
    "w": 7 * 86400.0,
}
GB_PER_UNIT: dict[str, float] = {
    "b": 1e-9,
    "kb": 1e-6,
    "mb": 1e-3,
    "gb": 1.0,
    "tb": 1e3,
    "kib": 1024 / 1e9,
    "mib": 1024**2 / 1e9,
    "gib": 1024**3 / 1e9,
    "tib": 1024**4 / 1e9,
}
# Unambiguous, so that matching is linear in the text's length (no backtracking between
# the integer and fraction digits).
_NUMBER = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_TERM = re.compile(rf"\s*({_NUMBER}(?:[eE][-+]?[0-9]+)?)\s*([a-zA-Z]+)\s*")
MAX_TEXT = 100  # characters of a duration or size string
MAX_SECONDS = 100 * 365.25 * 86400.0  # the longest duration: a century


def _terms(text: str, table: dict[str, float]) -> float | None:
    """Sum ``<number><unit>`` terms of ``text`` with ``table``; None if it does not parse."""
    pos, total = 0, 0.0
    while pos < len(text):
        match = _TERM.match(text, pos)
        if match is None or match.group(2).lower() not in table:
            return None
        total += float(match.group(1)) * table[match.group(2).lower()]
        pos = match.end()
    return total if pos > 0 else None


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    return None


def parse_duration(value: object) -> float:
    """Seconds in ``value`` (a number of seconds or a duration string).

    Raises ValueError with a message fit to follow a key name.
    """
    seconds = _number(value)
    if seconds is None and isinstance(value, str) and len(value) <= MAX_TEXT:
        text = value.strip()
        seconds = float(text) if re.fullmatch(_NUMBER, text) else None
        if seconds is None:
            negative = text.startswith("-")
            seconds = _terms(text.lstrip("-"), SECONDS_PER_UNIT)
            if seconds is not None and negative:
                seconds = -seconds
    if seconds is None:
        raise ValueError(
            f'must be a duration such as "90s", "30min" or "1h30min", got {quoted(value)}'
        )
    if not math.isfinite(seconds):
        raise ValueError(f"must be a finite duration, got {value!r}")
    if abs(seconds) > MAX_SECONDS:
        raise ValueError(f"must be at most a century ({MAX_SECONDS:.4g}s), got {value!r}")
    return seconds


def parse_size_gb(value: object) -> float:
    """Gigabytes (10⁹ bytes) in ``value`` (a number of GB or a size string)."""
    size = _number(value)
    if size is None and isinstance(value, str) and len(value) <= MAX_TEXT:
        size = _terms(value.strip(), GB_PER_UNIT)
    if size is None or not math.isfinite(size):
        raise ValueError(f'must be a size such as "14GB" or "512MiB", got {quoted(value)}')
    return size


def format_duration(seconds: float) -> str:
    """A short human form of ``seconds``: ``"45s"``, ``"30min"``, ``"30h"``, ``"5d"``.

    Hours up to four days, since deadlines and jobs are thought of in hours.
    """
    if math.isinf(seconds):
        return "never"
    for unit, scale, at_least in (("d", 86400.0, 4 * 86400.0), ("h", 3600.0, 3600.0)):
        if abs(seconds) >= at_least:
            return f"{seconds / scale:.3g}{unit}"
    if abs(seconds) >= 60.0:
        return f"{seconds / 60.0:.3g}min"
    return f"{seconds:.3g}s"


def parse_probability(value: object) -> float:
    """A probability from a number in [0, 1], its text (``"0.05"``) or a percentage
    (``"5%"``)."""
    number, scale = _number(value), 1.0
    if isinstance(value, str):
        text = value.strip()
        text, scale = (text[:-1], 0.01) if text.endswith("%") else (text, 1.0)
        try:
            number = float(text)
        except ValueError:
            number = None
    if number is None or not 0.0 <= number * scale <= 1.0:
        raise ValueError(f'must be a probability such as 0.05 or "5%", got {value!r}')
    return number * scale
