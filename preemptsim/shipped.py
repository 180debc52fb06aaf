"""What ships inside the package, by name: the scenario presets and the availability traces.

Presets are scenarios/ of a source tree (installed as ``preemptsim/presets``); traces are
``preemptsim/traces/SET/ZONE.json.gz`` or ``.csv.gz`` (Apache-2.0, their LICENSE and
NOTICE beside them), named ``SET/ZONE`` (``gcp-h100/us-west1-a``).  The command line and
``load_scenario`` resolve names here, and only here.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

from preemptsim.errors import InputError
from preemptsim.inputs import exists

DEFAULT_PRESET = "runpod-a6000-lora-7b"
PACKAGE = Path(__file__).resolve().parent
TRACES = PACKAGE / "traces"
_TRACE_NAME = re.compile(r"[a-z0-9-]+/[A-Za-z0-9_-]+")


def presets() -> dict[str, Path]:
    """The shipped scenarios by name: scenarios/ of a source tree, or the installed copy."""
    folders = [PACKAGE.parent / "scenarios", PACKAGE / "presets"]
    folder = next((f for f in folders if f.is_dir()), folders[-1])
    return {path.stem: path for path in sorted(folder.glob("*.toml"))}


def scenario_path(name: str | Path | None) -> Path:
    """A scenario file from a path or a preset name (the RunPod preset when None)."""
    name = str(name or DEFAULT_PRESET)
    path = Path(name)
    if exists(path) or path.suffix == ".toml":
        return path
    known = presets()
    if name not in known:
        raise InputError(f"{name}: no such scenario file or preset ({', '.join(known)})")
    return known[name]


def traces() -> dict[str, Path]:
    """The shipped traces by name, ``SET/ZONE`` (aws-v100's price table is not a trace)."""
    files = sorted(TRACES.glob("*/*.*.gz"))
    names = {f"{f.parent.name}/{f.name.split('.')[0]}": f for f in files}
    return {name: f for name, f in names.items() if not name.endswith("_prices")}


def trace_file(name: str) -> Path | None:
    """The shipped trace ``name`` names (``gcp-h100/us-west1-a``), or None."""
    if not _TRACE_NAME.fullmatch(name):
        return None
    return traces().get(name)


def matching_traces(pattern: str) -> list[str]:
    """The shipped traces' names that a glob matches (``gcp-h100/*``), sorted."""
    return sorted(fnmatch.filter(traces(), pattern))


def names_traces(text: str) -> bool:
    """Whether ``text`` names a shipped trace, or is a glob matching some."""
    return trace_file(text) is not None or bool(matching_traces(text))
