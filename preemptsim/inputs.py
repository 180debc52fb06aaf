"""Reading input files safely (DESIGN.md §2): regular files of a sane size, gzip where the
name ends in ``.gz``, TOML and JSON whose nesting the parsers can follow.

Every refusal is one line naming the file, raised as the caller's InputError class.
"""

from __future__ import annotations

import gzip
import io
import json
import stat
import tomllib
import zlib
from pathlib import Path
from typing import Any

from preemptsim.errors import InputError

MAX_FILE_BYTES = 64 * 1024**2  # a scenario, trace or probe file (uncompressed)


def exists(path: Path) -> bool:
    """Whether ``path`` names something, False for names no file can have (a NUL byte)."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def read_text(
    path: Path, what: str, error: type[InputError] = InputError, limit: int = MAX_FILE_BYTES
) -> str:
    """The UTF-8 text of the regular file ``path`` (a ``what``: "scenario file", ...),
    decompressed where its name ends in ``.gz``; at most ``limit`` bytes."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except (OSError, ValueError) as exc:
        raise error(f"{path}: cannot read {what} ({exc})") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise error(f"{path}: {kind}; expected a {what}")
    too_big = error(f"{path}: larger than {limit // 1024**2} MiB; expected a {what}")
    if info.st_size > limit:
        raise too_big
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
        if path.suffix == ".gz":
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as unzipped:
                data = unzipped.read(limit + 1)
        if len(data) > limit:
            raise too_big
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text; expected a {what}") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise error(f"{path}: cannot read {what} ({exc})") from None


def parse(
    text: str, path: Path, what: str, error: type[InputError] = InputError, *, toml: bool = False
) -> Any:
    """``text`` (the contents of ``path``) as JSON, or TOML; one line on bad or too deep."""
    loads, kind, bad = (
        (tomllib.loads, "TOML", tomllib.TOMLDecodeError)
        if toml
        else (json.loads, "JSON", json.JSONDecodeError)
    )
    try:
        return loads(text)
    except bad as exc:
        raise error(f"{path}: invalid {kind}: {exc}") from None
    except RecursionError:
        raise error(f"{path}: {what} nested too deeply") from None
