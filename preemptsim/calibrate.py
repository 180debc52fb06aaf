"""Turn a probe's JSON (probe.py, DESIGN.md §6) into a scenario's timings for a model size.

Rules, in seconds, bytes and parameters, for a model of ``model_params`` parameters
(default: the probe's largest measured size) of which ``trainable_params`` train (default:
the share that trained in the probe, all of them for a full probe):

- checkpoint bytes = trainable_params × bytes/param, the bytes per trained parameter the
  probe measured at its largest size (or ``bytes_per_param`` when given). probe.py keeps
  fp32 weights and two fp32 AdamW moments: about 12 B/param. Mixed-precision Adam
  checkpoints seen in practice hold 14–16 B/param (bf16 weights 2 + fp32 master 4 + two
  moments 8, + fp32 grads if saved; REFERENCES.md §4). An adapter-only (LoRA) checkpoint
  holds the adapters and their optimizer state alone.
- write = fit.write.latency_s + bytes / fit.write.bandwidth_bytes_per_s: the probe's fit
  of the time until a checkpoint is durable (all of it blocking, or for dcp-async its
  blocking and background parts together) over its sizes.
- restore = fit.restore.latency_s + (bytes + base bytes) / fit.restore.bandwidth: cold
  read, host→device, load. Base bytes = the frozen parameters × 2 (bf16 weights,
  REFERENCES.md §4): a new instance of an adapter job reads its base model again.
- async: a dcp-async probe sets checkpoint.mode = "async" with snapshot = its fitted
  blocking part and persist = its fitted background part, each latency + bytes /
  bandwidth. From a torch.save probe: snapshot = the device→host copy at its largest size
  scaled by bytes (at most the write), persist = write − snapshot. A dcp probe has no
  separate copy to host, so it cannot calibrate an async scenario.
- step time ∝ parameters, from the measured size nearest in log(parameters). A rough
  approximation: it assumes the same device and tokens per step, and compute linear in
  parameters (it ignores attention's cost in sequence length, batch size, parallelism and
  kernel efficiency changing with size).

Needs only the standard library and tomli_w: probe.py imports PyTorch only to measure.
"""

from __future__ import annotations

import copy
import math
import os
from argparse import ArgumentTypeError
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomli_w

from preemptsim import inputs, probe_schema, shipped
from preemptsim.errors import InputError, printable
from preemptsim.probe import BANDWIDTH_MAX_BYTES_PER_S, BANDWIDTH_MIN_BYTES_PER_S, parse_size
from preemptsim.units import format_duration

if TYPE_CHECKING:
    from preemptsim.scenario import Scenario

MIN_MODEL_PARAMS = 1e5  # fewer is a typo ("7" for "7B"), not a model worth a checkpoint
BASE_BYTES_PER_PARAM = 2.0  # frozen base weights in bf16 (REFERENCES.md §4)
# Keys a calibration sets, by table: a file that sets one too gets an error, not an override.
CALIBRATED = {
    "job": ("step_time",),
    "checkpoint": ("write", "snapshot", "persist", "mode", "size_gb"),
    "restart": ("restore",),
}
DURATIONS = {"job": ("step_time",), "checkpoint": ("write", "snapshot", "persist"),
             "restart": ("restore",)}  # fmt: skip


class CalibrationError(InputError):
    """A probe or calibration that cannot be used; the message is one line."""


def schema_version() -> int:
    """The probe schema version probe.py writes (version 1 files still load)."""
    return probe_schema.SCHEMA_VERSIONS[-1]


def parse_params(text: str) -> int:
    """A parameter count such as ``7e9``, ``7B`` or ``125M`` (probe.parse_size)."""
    return parse_size(text)


def load_probe(path: str | Path) -> dict[str, Any]:
    """Read and check a probe JSON file of either version, as version 2 (probe_schema);
    CalibrationError (one line naming the file and the field) if it cannot be used."""
    path = Path(path)
    text = inputs.read_text(path, "probe file", CalibrationError)
    doc = inputs.parse(text, path, "probe file", CalibrationError)
    try:
        return probe_schema.validate(doc)
    except ValueError as exc:
        raise CalibrationError(f"{path}: {exc}") from None


def _number(value: Any, where: str) -> float:
    """``value`` as a finite positive float, else CalibrationError naming ``where``."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value <= 0:
        raise CalibrationError(f"{where}: must be a positive number, got {value!r}")
    return float(value)


def params_count(value: Any, where: str) -> float:
    """A parameter count given as a number or as text ("7B", "350M"), at least 10⁵."""
    count = value
    if isinstance(value, str):
        try:
            count = parse_size(value)
        except ArgumentTypeError:
            raise CalibrationError(f'{where}: must be a parameter count such as "7B" or 7e9, '
                                   f"got {value!r}") from None  # fmt: skip
    count = _number(count, where)
    if count < MIN_MODEL_PARAMS:
        raise CalibrationError(
            f'{where}: {value!r} is fewer than 1e5 parameters; write e.g. 7e9 or "7B"'
        )
    return count


def _line(fit: Mapping[str, Any], where: str, nbytes: float) -> float:
    """latency_s + nbytes / bandwidth_bytes_per_s of one fitted line, in seconds; a
    bandwidth outside 1 MB/s .. 1 TB/s is refused (a broken fit or file)."""
    bandwidth = fit["bandwidth_bytes_per_s"]
    if not BANDWIDTH_MIN_BYTES_PER_S <= bandwidth <= BANDWIDTH_MAX_BYTES_PER_S:
        raise CalibrationError(
            f"probe {where}.bandwidth_bytes_per_s: {bandwidth:.3g} B/s is outside "
            "1 MB/s .. 1 TB/s; measure again with larger --params"
        )
    return float(fit["latency_s"] + nbytes / bandwidth)


def _async_parts(
    probe: Mapping[str, Any], nbytes: float, write_s: float
) -> tuple[float | None, float | None]:
    """(snapshot_s, persist_s) by the module docstring's rules; None for a dcp probe."""
    if probe["method"] == "dcp-async":
        fit = probe["fit"]
        return _line(fit["blocking"], "fit.blocking", nbytes), _line(
            fit["background"], "fit.background", nbytes
        )
    ckpt = _largest(probe)["checkpoint"]
    if "d2h_s" not in ckpt:
        return None, None
    snapshot_s = min(write_s, ckpt["d2h_s"]["median"] * nbytes / ckpt["bytes"])
    return snapshot_s, write_s - snapshot_s


def _largest(probe: Mapping[str, Any]) -> Mapping[str, Any]:
    sizes: list[Mapping[str, Any]] = probe["sizes"]
    return max(sizes, key=lambda s: float(s["params"]))


def timings(
    probe: Mapping[str, Any],
    model_params: Any = None,
    *,
    trainable_params: Any = None,
    bytes_per_param: Any = None,
) -> dict[str, Any]:
    """Timings in seconds of a model of ``model_params`` parameters (module docstring).

    Counts may be numbers or text ("7B"). Keys: model_params, trainable_params,
    bytes_per_param, bytes, base_bytes, size_gb (10⁹ bytes), write_s, restore_s,
    snapshot_s and persist_s (None from a dcp probe), step_time_s, step_from_params (the
    measured size used) and method (the probe's).
    """
    largest = _largest(probe)
    given = model_params is not None
    params = params_count(model_params, "model_params") if given else float(largest["params"])
    if trainable_params is None:
        trainable = params * largest["trainable_params"] / largest["params"]
    else:
        trainable = params_count(trainable_params, "trainable_params")
    if trainable > params:
        raise CalibrationError(f"trainable_params: {trainable:.4g} is more than the model's "
                               f"{params:.4g} parameters")  # fmt: skip
    per_param = (
        largest["checkpoint"]["bytes_per_param"]
        if bytes_per_param is None
        else _number(bytes_per_param, "bytes_per_param")
    )
    nbytes, base_bytes = trainable * per_param, (params - trainable) * BASE_BYTES_PER_PARAM
    write_s = _line(probe["fit"]["write"], "fit.write", nbytes)
    snapshot_s, persist_s = _async_parts(probe, nbytes, write_s)
    counts = [float(s["params"]) for s in probe["sizes"]]
    near = min(range(len(counts)), key=lambda i: abs(math.log(params / counts[i])))
    return {
        "model_params": params,
        "trainable_params": trainable,
        "bytes_per_param": per_param,
        "bytes": nbytes,
        "base_bytes": base_bytes,
        "size_gb": nbytes / 1e9,
        "write_s": write_s,
        "restore_s": _line(probe["fit"]["restore"], "fit.restore", nbytes + base_bytes),
        "snapshot_s": snapshot_s,
        "persist_s": persist_s,
        "step_time_s": probe["sizes"][near]["step_s"]["median"] * params / counts[near],
        "step_from_params": counts[near],
        "method": probe["method"],
    }


def apply_timings(data: Mapping[str, Any], times: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of raw scenario data with the calibrated keys set, in seconds and GB.

    checkpoint.write (sync) or checkpoint.snapshot and persist (async; a dcp-async probe
    makes the mode async), checkpoint.size_gb, restart.restore, and job.step_time only when
    the job is given as steps (job.work kept). Tables that are missing or not tables are
    left for validation to report.
    """
    out = copy.deepcopy(dict(data))
    job, ckpt = out.get("job"), out.get("checkpoint")
    if isinstance(job, dict) and "steps" in job:
        job["step_time"] = times["step_time_s"]
    if isinstance(ckpt, dict):
        if times["method"] == "dcp-async":
            ckpt["mode"] = "async"
        if ckpt.get("mode") == "async":
            if times["snapshot_s"] is None:
                raise CalibrationError(
                    'checkpoint.mode: "async" needs a probe that times the snapshot apart '
                    "(--method dcp-async or torch.save); this one measured dcp"
                )
            ckpt.pop("write", None)  # the measured snapshot and persist replace a write
            ckpt.update(snapshot=times["snapshot_s"], persist=times["persist_s"])
        else:
            ckpt["write"] = times["write_s"]
        ckpt["size_gb"] = times["size_gb"]
    restart = out.setdefault("restart", {})
    if isinstance(restart, dict):
        restart["restore"] = times["restore_s"]
    return out


def _overridden(data: Mapping[str, Any], out: Mapping[str, Any]) -> str | None:
    """The first key the file sets that the calibration changed or removed, or None."""
    for table, keys in CALIBRATED.items():
        before, after = _table(data, table), _table(out, table)
        for key in keys:
            if key in before and before[key] != after.get(key):
                return f"{table}.{key}"
    return None


def _counts(section: Mapping[str, Any]) -> dict[str, Any]:
    """The [calibration] table's model_params, trainable_params and bytes_per_param, with
    counts given as text ("7B") turned into numbers."""
    out = {}
    for key in ("model_params", "trainable_params"):
        if section.get(key) is not None:
            out[key] = params_count(section[key], f"calibration.{key}")
    if section.get("bytes_per_param") is not None:
        out["bytes_per_param"] = _number(section["bytes_per_param"], "calibration.bytes_per_param")
    return out


def apply_calibration(data: Mapping[str, Any]) -> dict[str, Any]:
    """Raw scenario data with its ``[calibration]`` probe's timings applied (reads the probe).

    ``calibration.probe`` is used as given (load_scenario makes it relative to the file).
    A key that the file sets and the calibration would change is an error, not an override.
    Errors are one CalibrationError line naming the key.
    """
    section = data["calibration"]
    probe_path = section.get("probe") if isinstance(section, Mapping) else None
    if not isinstance(probe_path, str):
        raise CalibrationError("calibration.probe: must be the path of a probe JSON file")
    counts = _counts(section)
    try:
        probe = load_probe(probe_path)
    except CalibrationError as exc:
        raise CalibrationError(f"calibration.probe: {exc}") from None
    times = timings(probe, **counts)
    out = apply_timings(data, times)
    if key := _overridden(data, out):
        raise CalibrationError(
            f"{key}: set in the file and measured by [calibration] ({probe_path}); "
            "remove one of the two"
        )
    out["calibration"] = {**section, **counts}
    return out


def cpu_line(path: str | Path, probe: Mapping[str, Any]) -> str | None:
    """The warning that a probe ran on the CPU, or None for a GPU probe."""
    if probe["measured_on_accelerator"]:
        return None
    name = probe["device"]["name"]
    return f"{path} was measured on the CPU ({name}): its timings do not describe a GPU"


def cpu_probe_warning(scenario: Scenario) -> str | None:
    """What `run` says once on stderr when the scenario's [calibration] probe ran on the
    CPU, or None (no calibration table, or a GPU probe)."""
    if scenario.calibration is None:
        return None
    return cpu_line(scenario.calibration.probe, load_probe(scenario.calibration.probe))


def _read_toml(path: Path) -> dict[str, Any]:
    text = inputs.read_text(path, "scenario file", CalibrationError)
    data: dict[str, Any] = inputs.parse(text, path, "scenario file", CalibrationError, toml=True)
    return data


def _move_paths(data: dict[str, Any], source_dir: Path, out_dir: Path | None) -> None:
    """Keep a relative interruptions.path pointing at its file from the new scenario's folder
    (absolute when ``out_dir`` is None); a shipped trace's name stays as it is."""
    section = data.get("interruptions")
    if isinstance(section, dict) and isinstance(section.get("path"), str):
        target = Path(section["path"])
        named = shipped.trace_file(section["path"]) and not inputs.exists(source_dir / target)
        if not target.is_absolute() and not named:
            target = (source_dir / target).resolve()
            section["path"] = os.path.relpath(target, out_dir) if out_dir else str(target)


def _table(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    table = data.get(name)
    return table if isinstance(table, Mapping) else {}


def format_size(size_gb: float) -> str:
    """A size a person reads, in decimal units: ``"84GB"``, ``"504MB"``, ``"81.2kB"``."""
    for unit, scale in (("TB", 1e3), ("GB", 1.0), ("MB", 1e-3), ("kB", 1e-6)):
        if size_gb >= scale:
            return f"{size_gb / scale:.3g}{unit}"
    return f"{size_gb * 1e9:.3g}B"


def readable(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with the calibrated durations and size written as text a person reads
    ("2.2h", "504MB"; units.format_duration), not 7914.84."""
    for table, keys in DURATIONS.items():
        section = data.get(table)
        for key in keys:
            if isinstance(section, dict) and isinstance(section.get(key), float):
                section[key] = format_duration(section[key])
    ckpt = data.get("checkpoint")
    if isinstance(ckpt, dict) and isinstance(ckpt.get("size_gb"), float):
        ckpt["size_gb"] = format_size(ckpt["size_gb"])
    return data


def _header(
    scenario: Path, probe_path: Path, probe: Mapping[str, Any], t: Mapping[str, Any], steps: bool
) -> list[str]:
    """Comment lines that say where each calibrated value came from."""
    dev, fit = probe["device"], probe["fit"]
    wfit, rfit = fit["write"], fit["restore"]
    step_at = t["step_time_s"] * t["step_from_params"] / t["model_params"]
    complete = "" if probe["complete"] else ", INCOMPLETE (interrupted)"
    lines = [
        f"Calibrated by `preemptsim calibrate` from {scenario}",
        "  (its comments are not kept).",
        f"Probe {probe_path}: {dev['type']} {dev['name']!r}, measured {probe['created_utc']},",
        f"  torch {probe['torch']}, {probe['method']}, dtype {probe['dtype']}, "
        f"{fit['n_sizes']} size(s){complete}.",
        f"Model {t['model_params']:,.0f} params, {t['trainable_params']:,.0f} trained;"
        f" checkpoint {t['trainable_params']:,.0f} x {t['bytes_per_param']:.2f} B/param"
        f" = {t['size_gb']:.4g} GB",
        "  (REFERENCES.md §4: 14-16 B/param with mixed-precision Adam; the probe saves fp32",
        "  weights and two AdamW moments, about 12).",
        f"Write = {wfit['latency_s']:.4g} s + bytes / {wfit['bandwidth_bytes_per_s'] / 1e9:.4g}"
        f" GB/s = {t['write_s']:.4g} s (fit: {wfit.get('method', '?')}).",
        f"restart.restore = {rfit['latency_s']:.4g} s + (bytes + {t['base_bytes'] / 1e9:.4g} GB"
        f" frozen base at 2 B/param) / {rfit['bandwidth_bytes_per_s'] / 1e9:.4g} GB/s"
        f" = {t['restore_s']:.4g} s.",
        f"Step time = {step_at:.4g} s (probe median at {t['step_from_params']:,.0f} params)"
        f" x {t['model_params'] / t['step_from_params']:.4g} = {t['step_time_s']:.4g} s:",
        "  step time ∝ parameters from the nearest measured size, a rough approximation"
        + ("; job.step_time set." if steps else "; not used, job.work kept."),
    ]
    if t["method"] == "dcp-async":
        lines.append(
            f'checkpoint.mode = "async" (DCP async_save): snapshot = its blocking part ='
            f" {t['snapshot_s']:.4g} s, persist = its background part = {t['persist_s']:.4g} s."
        )
    elif t["snapshot_s"] is not None:
        lines.append(
            f"If async: snapshot = device->host copy scaled by bytes = {t['snapshot_s']:.4g} s,"
            f" persist = write - snapshot = {t['persist_s']:.4g} s."
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
    model_params: Any = None,
    *,
    trainable_params: Any = None,
    bytes_per_param: Any = None,
    out_dir: str | Path | None = None,
) -> str:
    """TOML text of a new scenario with the probe's timings for ``model_params`` parameters.

    Counts not given come from the scenario's [calibration] table, else the probe
    (timings). The [calibration] table is dropped (its values are written in, as text a
    person reads). A relative interruptions.path is rewritten for a file in ``out_dir``
    (absolute if None). The text is not validated here: load it with load_scenario.
    """
    scenario_path, probe_path = Path(scenario_path), Path(probe_path)
    data = _read_toml(scenario_path)
    section = data.pop("calibration", None)
    given = {"model_params": model_params, "trainable_params": trainable_params,
             "bytes_per_param": bytes_per_param}  # fmt: skip
    counts = _counts(section) if isinstance(section, Mapping) else {}
    counts |= {k: v for k, v in given.items() if v is not None}
    probe = load_probe(probe_path)
    times = timings(probe, **counts)
    out = readable(apply_timings(data, times))
    _move_paths(out, scenario_path.parent, Path(out_dir) if out_dir is not None else None)
    header = _header(scenario_path, probe_path, probe, times, "steps" in _table(data, "job"))
    # A comment holds no control characters: a probe's names are written escaped.
    comments = "".join(f"# {printable(line)}\n" for line in header)
    return comments + "\n" + tomli_w.dumps(out)
