"""Pydantic validation errors as one line that names the full dotted key the user wrote
(`checkpoint.interval: must be a positive duration, got "-5min"`, DESIGN.md §2)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from preemptsim.errors import quoted


def expected_keys(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys of the table at ``loc`` under ``root`` ([] where ``loc`` is not a table)."""
    model: Any = root
    for part in loc:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        inner = getattr(field, "annotation", None)
        candidates = [inner, *getattr(inner, "__args__", ())]
        model = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
        if model is None:
            return []
    return list(model.model_fields)


_INNER_KEY = re.compile(r"^([a-z_]+(?:\.[a-z_]+)*): ")


def user_keys(data: Any, loc: tuple[Any, ...]) -> tuple[str, ...]:
    """The parts of an error's ``loc`` that are keys of ``data`` (pydantic adds the names of
    union members, "constrained-float", ...), whatever their case."""
    keys, node = [], data
    for part in loc:
        if isinstance(node, Mapping) and isinstance(part, str) and part in node:
            keys.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
    return tuple(keys)


def one_line(error: Mapping[str, Any], data: Any, root: type[BaseModel]) -> str:
    """A pydantic error of validating ``data`` against ``root`` as one line naming the full
    dotted key the user wrote, and what was expected."""
    loc = user_keys(data, tuple(error["loc"]))
    if error["type"] == "missing" and isinstance(error["loc"][-1], str):
        loc = (*user_keys(data, tuple(error["loc"][:-1])), error["loc"][-1])
    key = ".".join(loc) or "scenario"
    kind, msg = error["type"], str(error["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        return f"{key}: unknown key; expected one of: {', '.join(expected_keys(root, loc[:-1]))}"
    if kind == "missing":
        what = "table" if expected_keys(root, loc) else "key"
        return f"{key}: required {what} is missing"
    if kind != "value_error" and "input" in error:
        msg = f"{msg[:1].lower()}{msg[1:]}, got {quoted(error['input'], 80)}"
    inner = _INNER_KEY.match(msg)  # a table's check names the key inside it
    if inner:
        key = inner[1] if key == "scenario" else f"{key}.{inner[1]}"
        msg = msg[inner.end() :]
    return f"{key}: {msg}"
