"""Turn a probe's JSON (probe.py, DESIGN.md §6) into a scenario's timings for a model size.

Rules, in seconds, bytes and parameters, for a model of ``model_params`` parameters
(default: the probe's largest measured size):

- checkpoint bytes = model_params × bytes/param, the bytes/param the probe measured at its
  largest size. probe.py keeps fp32 weights and two fp32 AdamW moments: about 12 B/param.
  Mixed-precision Adam checkpoints seen in practice hold 14–16 B/param (bf16 weights 2 +
  fp32 master 4 + two moments 8, + fp32 grads if saved; REFERENCES.md §4). We use the
  measured figure, since it is what the probe's write and read times were measured on.
- write = fit.write.latency_s + bytes / fit.write.bandwidth_bytes_per_s, the probe's fit
  of its blocking checkpoint (device→host copy, serialize+write, fsync) over its sizes.
- restore = fit.restore.latency_s + bytes / fit.restore.bandwidth_bytes_per_s (cold read,
  host→device, load_state_dict).
- async: snapshot = the probe's device→host copy at its largest size, scaled by bytes
  (at most the write); persist = write − snapshot.
- step time ∝ parameters, from the measured size nearest in log(parameters). A rough
  approximation: it assumes the same device and tokens per step, and compute linear in
  parameters (it ignores attention's cost in sequence length, batch size, parallelism and
  kernel efficiency changing with size).

Needs only the standard library and tomli_w: probe.py's schema part imports without PyTorch.
"""

from __future__ import annotations

import copy
import json
import math
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import tomli_w


class CalibrationError(ValueError):
    """A probe or calibration that cannot be used; the message is one line."""


def _probe() -> ModuleType:
    """probe.py, imported when first needed: where PyTorch is installed it loads it too,
    which takes a second that loading a scenario should not pay."""
    from preemptsim import probe

    return probe


def schema_version() -> int:
    """The probe schema version this calibration reads."""
    return int(_probe().SCHEMA_VERSION)


def parse_params(text: str) -> int:
    """A parameter count such as ``7e9``, ``7B`` or ``125M`` (probe.parse_size)."""
    return int(_probe().parse_size(text))


def load_probe(path: str | Path) -> dict[str, Any]:
    """Read and check a probe JSON file; CalibrationError (one line naming the file) if not."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        _probe().validate_probe(doc)
    except FileNotFoundError:
        raise CalibrationError(f"{path}: no such probe file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CalibrationError(f"{path}: cannot read probe file ({exc})") from None
    except json.JSONDecodeError as exc:
        raise CalibrationError(f"{path}: invalid JSON: {exc}") from None
    except ValueError as exc:
        raise CalibrationError(f"{path}: {exc}") from None
    result: dict[str, Any] = doc
    return result


def _number(value: Any, where: str, *, positive: bool = True) -> float:
    """``value`` as a finite float (> 0, or >= 0 when not ``positive``), else CalibrationError."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (positive and value == 0):
        word = "a positive" if positive else "a non-negative"
        raise CalibrationError(f"{where}: must be {word} number, got {value!r}")
    return float(value)


def _line(fit: Mapping[str, Any], where: str, nbytes: float) -> float:
    """latency_s + nbytes / bandwidth_bytes_per_s of one fitted line, in seconds."""
    latency = _number(fit["latency_s"], f"probe {where}.latency_s", positive=False)
    bandwidth = _number(fit["bandwidth_bytes_per_s"], f"probe {where}.bandwidth_bytes_per_s")
    return latency + nbytes / bandwidth


def timings(probe: Mapping[str, Any], model_params: float | None = None) -> dict[str, float]:
    """Timings in seconds of a model of ``model_params`` parameters (module docstring rules).

    Keys: model_params, bytes_per_param, bytes, size_gb (10⁹ bytes), write_s, restore_s,
    snapshot_s, persist_s, step_time_s, and step_from_params (the measured size used).
    """
    sizes = probe["sizes"]
    counts = [_number(s["params"], f"probe sizes[{i}].params") for i, s in enumerate(sizes)]
    largest = sizes[counts.index(max(counts))]
    params = _number(max(counts) if model_params is None else model_params, "model_params")
    ckpt = largest["checkpoint"]
    per_param = _number(ckpt["bytes_per_param"], "probe checkpoint.bytes_per_param")
    nbytes = params * per_param
    write_s = _line(probe["fit"]["write"], "fit.write", nbytes)
    d2h_s = _number(ckpt["d2h_s"]["median"], "probe checkpoint.d2h_s", positive=False)
    snapshot_s = min(write_s, d2h_s * nbytes / _number(ckpt["bytes"], "probe checkpoint.bytes"))
    near = min(range(len(sizes)), key=lambda i: abs(math.log(params / counts[i])))
    step_s = _number(sizes[near]["step_s"]["median"], "probe step_s.median")
    return {
        "model_params": params,
        "bytes_per_param": per_param,
        "bytes": nbytes,
        "size_gb": nbytes / 1e9,
        "write_s": write_s,
        "restore_s": _line(probe["fit"]["restore"], "fit.restore", nbytes),
        "snapshot_s": snapshot_s,
        "persist_s": write_s - snapshot_s,
        "step_time_s": step_s * params / counts[near],
        "step_from_params": counts[near],
    }


def apply_timings(data: Mapping[str, Any], times: Mapping[str, float]) -> dict[str, Any]:
    """A copy of raw scenario data with the calibrated keys set, in seconds and GB.

    checkpoint.write (sync) or checkpoint.snapshot and persist (async), checkpoint.size_gb,
    restart.restore, and job.step_time only when the job is given as steps (job.work kept).
    Tables that are missing or not tables are left for validation to report.
    """
    out = copy.deepcopy(dict(data))
    job, ckpt = out.get("job"), out.get("checkpoint")
    if isinstance(job, dict) and "steps" in job:
        job["step_time"] = times["step_time_s"]
    if isinstance(ckpt, dict):
        if ckpt.get("mode") == "async":  # the measured snapshot and persist replace a write
            ckpt.pop("write", None)
            ckpt.update(snapshot=times["snapshot_s"], persist=times["persist_s"])
        else:
            ckpt["write"] = times["write_s"]
        ckpt["size_gb"] = times["size_gb"]
    restart = out.setdefault("restart", {})
    if isinstance(restart, dict):
        restart["restore"] = times["restore_s"]
    return out


def apply_calibration(data: Mapping[str, Any]) -> dict[str, Any]:
    """Raw scenario data with its ``[calibration]`` probe's timings applied (reads the probe).

    ``calibration.probe`` is used as given (load_scenario makes it relative to the file).
    Errors are one CalibrationError line naming the key.
    """
    section = data["calibration"]
    probe_path = section.get("probe") if isinstance(section, Mapping) else None
    if not isinstance(probe_path, str):
        raise CalibrationError("calibration.probe: must be the path of a probe JSON file")
    params = section.get("model_params")
    if params is not None:
        params = _number(params, "calibration.model_params")
    try:
        times = timings(load_probe(probe_path), params)
    except CalibrationError as exc:
        raise CalibrationError(f"calibration.probe: {exc}") from None
    return apply_timings(data, times)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CalibrationError(f"{path}: no such scenario file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CalibrationError(f"{path}: cannot read scenario file ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise CalibrationError(f"{path}: invalid TOML: {exc}") from None


def _move_paths(data: dict[str, Any], source_dir: Path, out_dir: Path | None) -> None:
    """Keep a relative interruptions.path pointing at its file from the new scenario's folder
    (absolute when ``out_dir`` is None)."""
    section = data.get("interruptions")
    if isinstance(section, dict) and isinstance(section.get("path"), str):
        target = Path(section["path"])
        if not target.is_absolute():
            target = (source_dir / target).resolve()
            section["path"] = os.path.relpath(target, out_dir) if out_dir else str(target)


def _table(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    table = data.get(name)
    return table if isinstance(table, Mapping) else {}


def _header(
    scenario: Path,
    probe_path: Path,
    probe: Mapping[str, Any],
    t: Mapping[str, float],
    data: Mapping[str, Any],
) -> list[str]:
    """Comment lines that say where each calibrated value came from."""
    dev, fit = probe["device"], probe["fit"]
    wfit, rfit = fit["write"], fit["restore"]
    mode = _table(data, "checkpoint").get("mode", "sync")
    has_steps = "steps" in _table(data, "job")
    step_at = t["step_time_s"] * t["step_from_params"] / t["model_params"]
    lines = [
        f"Calibrated by `preemptsim calibrate` from {scenario}",
        "  (its comments are not kept).",
        f"Probe {probe_path}: {dev['type']} {dev['name']!r}, measured {probe['created_utc']},",
        f"  torch {probe['torch']}, dtype {probe['dtype']}, {fit['n_sizes']} size(s).",
        f"Model {t['model_params']:,.0f} params x {t['bytes_per_param']:.2f} B/param measured"
        f" by the probe = {t['size_gb']:.4g} GB",
        "  (REFERENCES.md §4: 14-16 B/param with mixed-precision Adam; the probe saves fp32",
        "  weights and two AdamW moments, about 12).",
        f"checkpoint.write = {wfit['latency_s']:.4g} s + bytes / "
        f"{wfit['bandwidth_bytes_per_s'] / 1e9:.4g} GB/s = {t['write_s']:.4g} s "
        f"(fit: {wfit.get('method', '?')}).",
        f"restart.restore = {rfit['latency_s']:.4g} s + bytes / "
        f"{rfit['bandwidth_bytes_per_s'] / 1e9:.4g} GB/s = {t['restore_s']:.4g} s.",
        f"Step time = {step_at:.4g} s (probe median at {t['step_from_params']:,.0f} params)"
        f" x {t['model_params'] / t['step_from_params']:.4g} = {t['step_time_s']:.4g} s:",
        "  step time ∝ parameters from the nearest measured size, a rough approximation"
        + ("; job.step_time set." if has_steps else "; not used, job.work kept."),
    ]
    if mode == "async":
        lines.append(
            f"async: checkpoint.snapshot = device->host copy scaled by bytes = "
            f"{t['snapshot_s']:.4g} s; checkpoint.persist = write - snapshot = "
            f"{t['persist_s']:.4g} s."
        )
    if not probe["measured_on_accelerator"]:
        lines += [
            f"WARNING: this probe ran on the CPU ({dev['name']}), not on a GPU:",
            "  these timings do not describe a GPU job. Use them to test the tools only.",
        ]
    return lines


def calibrated_scenario(
    scenario_path: str | Path,
    probe_path: str | Path,
    model_params: float | None = None,
    *,
    out_dir: str | Path | None = None,
) -> str:
    """TOML text of a new scenario with the probe's timings for ``model_params`` parameters.

    ``model_params`` defaults to the scenario's calibration.model_params, else the probe's
    largest size. The scenario's [calibration] table is dropped (its values are written in).
    A relative interruptions.path is rewritten for a file in ``out_dir`` (absolute if None).
    The text is not validated here: load it with load_scenario.
    """
    scenario_path, probe_path = Path(scenario_path), Path(probe_path)
    data = _read_toml(scenario_path)
    section = data.pop("calibration", None)
    if model_params is None and isinstance(section, dict):
        model_params = section.get("model_params")
    probe = load_probe(probe_path)
    times = timings(probe, model_params)
    out = apply_timings(data, times)
    _move_paths(out, scenario_path.parent, Path(out_dir) if out_dir is not None else None)
    header = _header(scenario_path, probe_path, probe, times, data)
    return "".join(f"# {line}\n" for line in header) + "\n" + tomli_w.dumps(out)
