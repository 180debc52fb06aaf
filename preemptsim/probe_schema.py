"""The probe JSON's schema (DESIGN.md §6): every field's type and sign, versions 1 and 2.

probe.py writes the files; this module reads them for calibrate.py. ``validate`` checks a
document fully and returns it in the shape of version 2: a version 1 file (torch.save of
the whole model, before DCP and adapters were measured) reads as a complete torch.save
probe whose trained parameters are all of them and whose save blocks throughout.
Needs only the standard library (probe.py imports PyTorch only when it measures).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from typing import Any

from preemptsim.errors import quoted
from preemptsim.probe import METHODS, SCHEMA_VERSION

SCHEMA_VERSIONS = (1, SCHEMA_VERSION)

Check = Callable[[Any], bool]


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is(kind: str) -> tuple[str, Check]:
    """A named check: what the field must be, and the test."""
    checks: dict[str, Check] = {
        "a non-negative number": lambda v: _number(v) and v >= 0,
        "a positive number": lambda v: _number(v) and v > 0,
        "a positive whole number": lambda v: _number(v) and v > 0 and float(v).is_integer(),
        "a non-negative whole number": lambda v: _number(v) and v >= 0 and float(v).is_integer(),
        "a share in (0, 1]": lambda v: _number(v) and 0 < v <= 1,
        "a string": lambda v: isinstance(v, str),
        "a string or null": lambda v: v is None or isinstance(v, str),
        "a whole number or null": lambda v: v is None or (_number(v) and float(v).is_integer()),
        "true or false": lambda v: isinstance(v, bool),
        "an object": lambda v: isinstance(v, dict),
        f"one of {', '.join(METHODS)}": lambda v: v in METHODS,
    }
    return kind, checks[kind]


NONNEG, POS, COUNT = (
    _is("a non-negative number"),
    _is("a positive number"),
    _is("a positive whole number"),
)
STR, OBJECT, BOOL = _is("a string"), _is("an object"), _is("true or false")
# A schema maps a field to a check or to a nested schema; "?field" is optional.
Schema = Mapping[str, Any]
PHASE: Schema = {"median": NONNEG, "n": COUNT}
STEP: Schema = {"median": POS, "?p10": NONNEG, "?p90": NONNEG, "?p99": NONNEG, "?mean": NONNEG,
                "n": COUNT}  # fmt: skip
LINE: Schema = {"latency_s": NONNEG, "bandwidth_bytes_per_s": POS, "?method": STR}
DEVICE: Schema = {"type": STR, "name": STR, "memory_bytes": _is("a whole number or null")}
SAVE_PHASES: Schema = {"d2h_s": PHASE, "write_s": PHASE, "fsync_s": PHASE}
LOAD_PHASES: Schema = {"read_s": PHASE, "h2d_s": PHASE, "load_s": PHASE}
SAVED: Schema = {"bytes": COUNT, "bytes_per_param": POS, "total_s": PHASE,
                 "write_bandwidth_bytes_per_s": POS}  # fmt: skip
LOADED: Schema = {"total_s": PHASE, "read_bandwidth_bytes_per_s": POS}


def _optional(schema: Schema) -> Schema:
    return {f"?{key}": sub for key, sub in schema.items()}


def _size(checkpoint: Schema, restore: Schema, extra: Schema) -> Schema:
    shared = {"params": COUNT, "?requested_params": COUNT, "model": OBJECT, "step_s": STEP}
    return {**shared, "steps_wall_s": NONNEG, "checkpoint": checkpoint, "restore": restore, **extra}


def _top(size: Schema, fit: Schema, extra: Schema) -> Schema:
    return {"created_utc": STR, "host": OBJECT, "torch": STR, "cuda": _is("a string or null"),
            "device": DEVICE, "measured_on_accelerator": BOOL, "dtype": STR,
            "checkpoint_dir": STR, "eviction_method": STR, "sizes": [size], "fit": fit,
            "?param_dtype": STR, "?batch": COUNT, "?seq": COUNT, **extra}  # fmt: skip


FIT_V1: Schema = {"write": LINE, "restore": LINE, "n_sizes": COUNT}
V1 = _top(_size({**SAVED, **SAVE_PHASES}, {**LOADED, **LOAD_PHASES}, {}), FIT_V1, {})
V2 = _top(
    _size(
        {**SAVED, "blocking_s": PHASE, "background_s": PHASE, **_optional(SAVE_PHASES)},
        {**LOADED, **_optional(LOAD_PHASES)},
        {"trainable_params": COUNT, "?lora_rank": _is("a non-negative whole number")},
    ),
    {**FIT_V1, "?blocking": LINE, "?background": LINE},
    {
        "complete": BOOL,
        "method": _is(f"one of {', '.join(METHODS)}"),
        "trainable_share": _is("a share in (0, 1]"),
    },
)


def _check(value: Any, schema: Any, where: str) -> None:
    """Raise ValueError naming the first field of ``value`` that ``schema`` refuses."""
    if isinstance(schema, tuple):
        kind, test = schema
        if not test(value):
            raise ValueError(f"probe: {where} must be {kind}, got {quoted(value, 40)}")
    elif isinstance(schema, list):
        if not isinstance(value, list) or not value:
            raise ValueError(f"probe: {where} must be a non-empty list")
        for i, item in enumerate(value):
            _check(item, schema[0], f"{where}[{i}]")
    else:
        if not isinstance(value, dict):
            raise ValueError(
                f"probe: {where or 'document'} must be an object, got {quoted(value, 40)}"
            )
        for key, sub in schema.items():
            name, optional = key.lstrip("?"), key.startswith("?")
            field = f"{where}.{name}" if where else name
            if name in value:
                _check(value[name], sub, field)
            elif not optional:
                raise ValueError(f"probe: missing field {field}")


def validate(doc: Any) -> dict[str, Any]:
    """Check a probe document of either version; return it as version 2 (a copy).

    ValueError with one line naming the field and what it must be.
    """
    if not isinstance(doc, dict) or "schema_version" not in doc:
        raise ValueError(f"probe: schema_version missing (expected one of {SCHEMA_VERSIONS})")
    version = doc["schema_version"]
    if type(version) is not int or version not in SCHEMA_VERSIONS:
        raise ValueError(f"probe: schema_version must be 1 or 2, got {version!r}")
    _check(doc, V2 if version == 2 else V1, "")
    out = copy.deepcopy(doc) if version == 2 else _upgrade(doc)
    if out["method"] == "dcp-async" and not {"blocking", "background"} <= out["fit"].keys():
        raise ValueError("probe: method dcp-async needs fit.blocking and fit.background")
    for i, size in enumerate(out["sizes"]):
        if size["trainable_params"] > size["params"]:
            raise ValueError(f"probe: sizes[{i}].trainable_params exceeds sizes[{i}].params")
    return out


def _upgrade(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A version 1 document as version 2: a complete torch.save probe of the whole model,
    whose save blocks throughout (blocking = total, no background part)."""
    out = copy.deepcopy(dict(doc))
    out.update(schema_version=2, complete=True, method="torch.save", trainable_share=1.0)
    for size in out["sizes"]:
        size["trainable_params"] = size["params"]
        ck = size["checkpoint"]
        ck["blocking_s"] = ck["total_s"]
        ck["background_s"] = {"median": 0.0, "n": ck["total_s"]["n"]}
    return out
