"""A sweep's chunk files (DESIGN.md §4): one finished task each, trusted only once checked.

``chunks/pNNNNN-rNNNNNNNNN-HASH.parquet``: HASH is the first 32 hex digits of the SHA-256 of
the file's bytes, so a flipped bit anywhere in the file shows; the file's Parquet key-value
metadata says which sweep, point, replications and seed it holds, so a file copied from
another point, seed or sweep shows too.  A chunk that fails either check is run again.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from preemptsim import outputs
from preemptsim.grid import Task
from preemptsim.simulate import COLUMNS

HASH_DIGITS = 32
METADATA_KEY = b"preemptsim.chunk"
NAME = re.compile(rf"p(\d{{5}})-r(\d{{9}})-([0-9a-f]{{{HASH_DIGITS}}})\.parquet")


@dataclass(frozen=True)
class Rejected:
    """A chunk file that failed its check, and why."""

    path: Path
    reason: str


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:HASH_DIGITS]


def _stem(task: Task) -> str:
    return f"p{task.point:05d}-r{task.first_rep:09d}"


def identity(task: Task, seed: int, sweep_id: str) -> dict[str, Any]:
    """What a chunk belongs to: the sweep (its manifest's hash), point, replications, seed."""
    return {"sweep": sweep_id, "point": task.point, "first_rep": task.first_rep,
            "reps": task.reps, "seed": seed}  # fmt: skip


def write(folder: Path, task: Task, frame: pd.DataFrame, owner: dict[str, Any]) -> Path:
    """Write one task's rows atomically, named by the hash of the bytes; returns the path."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    metadata = {**(table.schema.metadata or {}), METADATA_KEY: json.dumps(owner).encode()}
    buffer = io.BytesIO()
    pq.write_table(table.replace_schema_metadata(metadata), buffer)
    data = buffer.getvalue()
    path = folder / f"{_stem(task)}-{digest(data)}.parquet"
    outputs.write_atomic(path, lambda tmp: tmp.write_bytes(data))
    return path


def load(
    folder: Path, tasks: Sequence[Task], seed: int, sweep_id: str
) -> tuple[dict[Task, pd.DataFrame], list[Rejected]]:
    """The chunks a previous run of this sweep finished, and the files that failed a check
    (deleted: their tasks run again)."""
    done: dict[Task, pd.DataFrame] = {}
    rejected = []
    wanted = {(task.point, task.first_rep): task for task in tasks}
    for path, point, first_rep, name_hash in _files(folder):
        task = wanted.get((point, first_rep))
        if task is None:
            reason = "not a task of this sweep"
        elif task in done:
            reason = "a second copy"
        else:
            frame, reason = _checked(path, name_hash, task, identity(task, seed, sweep_id))
            if frame is not None:
                done[task] = frame
                continue
        rejected.append(Rejected(path, reason))
        path.unlink()
    return done, rejected


def _files(folder: Path) -> list[tuple[Path, int, int, str]]:
    """The chunk files in ``folder``, sorted, with the point, first rep and hash of the name."""
    found = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else ():
        if match := NAME.fullmatch(path.name):
            found.append((path, int(match[1]), int(match[2]), match[3]))
    return found


def _checked(
    path: Path, name_hash: str, task: Task, owner: dict[str, Any]
) -> tuple[pd.DataFrame | None, str]:
    """The chunk's rows where the file is intact and this task's, else why not."""
    import pyarrow.parquet as pq

    data = path.read_bytes()
    if digest(data) != name_hash:
        return None, "its bytes do not match the hash in its name"
    try:
        table = pq.read_table(io.BytesIO(data))
        written = json.loads((table.schema.metadata or {})[METADATA_KEY])
        frame = table.to_pandas()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, f"unreadable ({type(exc).__name__})"
    if not isinstance(written, dict) or written != owner:
        same = isinstance(written, dict)
        key = next((k for k in owner if not same or written.get(k) != owner[k]), "sweep")
        return None, f"written for another {key.replace('_', ' ')}"
    expected = list(range(task.first_rep, task.first_rep + task.reps))
    if list(frame.columns) != list(COLUMNS) or frame["rep"].tolist() != expected:
        return None, "not this task's rows"
    return frame, ""


def remove_all(folder: Path) -> None:
    """Delete every chunk file and temporary file of a killed writer; the folder if empty."""
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if NAME.fullmatch(path.name) or path.name.startswith("."):
            path.unlink()
    if not any(folder.iterdir()):
        folder.rmdir()
