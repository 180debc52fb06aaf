"""A progress bar on stderr where it is a terminal, else nothing (DESIGN.md §4)."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from typing import Any


def progress_bar(show: bool, total: int, done: int = 0, desc: str = "sweep") -> Any:
    """A tqdm bar of ``total`` runs (``done`` already) when ``show`` and stderr is a terminal;
    else an object whose ``update`` does nothing.  Use it as a context manager."""
    if not (show and sys.stderr.isatty()):
        return nullcontext(_NoBar())
    from tqdm import tqdm

    return tqdm(total=total, initial=done, unit="run", desc=desc, leave=False)


class _NoBar:
    def update(self, n: int) -> None:
        """Nothing: no terminal to draw on."""
