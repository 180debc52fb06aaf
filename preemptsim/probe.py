"""Measure a training step and a full checkpoint on this machine; write JSON for calibration.

Standalone (DESIGN.md §6): needs only PyTorch and the standard library, so a copy of this
file runs on a GPU box as ``python probe.py``. All times are seconds, sizes bytes,
bandwidths bytes per second. Weights are kept in float32 (master copy) and the step runs
under autocast in ``--dtype``, so a checkpoint holds fp32 weights plus two fp32 AdamW
moments: about 12 bytes/param, against 14-16 seen in practice (REFERENCES.md §4).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import platform
import shutil
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

try:  # the schema part (validate_probe, parse_size) works without PyTorch
    import torch
    from torch import nn
except ModuleNotFoundError:  # pragma: no cover - exercised by tests that hide torch
    torch = nn = None  # type: ignore[assignment]
HAS_TORCH = torch is not None

SCHEMA_VERSION = 1
# Space needed on --dir: ~16 bytes/param for a full mixed-precision Adam checkpoint
# (REFERENCES.md §4), with a 1.2 margin.
BYTES_PER_PARAM_BOUND = 16.0
SPACE_MARGIN = 1.2
NO_CUDA_LINE = "no CUDA device: measuring on the CPU; these timings do not describe a GPU"
_SUFFIXES = {"K": 1e3, "M": 1e6, "B": 1e9}
NEEDS_TORCH = "probe: PyTorch is not installed: pip install torch (or 'preemptsim[probe]')"
DTYPES = ("bfloat16", "float16", "float32")


def parse_size(text: str) -> int:
    """Parse a parameter count such as ``125M``, ``1.3B``, ``50K`` or ``7e6``."""
    raw = text.strip().upper()
    scale = _SUFFIXES.get(raw[-1:], 1.0)
    number = raw[:-1] if raw[-1:] in _SUFFIXES else raw
    try:
        value = float(number) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a parameter count: {text!r}") from None
    if not math.isfinite(value) or value < 1:
        raise argparse.ArgumentTypeError(f"parameter count must be >= 1, got {text!r}")
    return round(value)


def parse_sizes(text: str) -> list[int]:
    """Parse a comma list of parameter counts, e.g. ``125M,350M,1.3B``."""
    return [parse_size(part) for part in text.split(",") if part.strip()]


if nn is not None:

    class TinyLM(nn.Module):
        """Embedding, ``layers`` pre-norm attention+MLP blocks, final norm, LM head."""

        def __init__(self, vocab: int, width: int, layers: int, heads: int) -> None:
            super().__init__()
            self.embed = nn.Embedding(vocab, width)
            self.blocks = nn.ModuleList(
                nn.TransformerEncoderLayer(
                    width, heads, 4 * width, dropout=0.0, batch_first=True, norm_first=True
                )
                for _ in range(layers)
            )
            self.norm = nn.LayerNorm(width)
            self.head = nn.Linear(width, vocab, bias=False)

        def forward(self, tokens: torch.Tensor) -> torch.Tensor:
            """Logits of shape (batch, seq, vocab) under a causal mask."""
            seq = tokens.shape[1]
            mask = nn.Transformer.generate_square_subsequent_mask(seq, device=tokens.device)
            x = self.embed(tokens)
            for block in self.blocks:
                x = block(x, src_mask=mask, is_causal=True)
            out: torch.Tensor = self.head(self.norm(x))
            return out


def layer_params(width: int) -> int:
    """Exact parameters of one nn.TransformerEncoderLayer with a 4x MLP: 12 w^2 + 13 w."""
    return 12 * width * width + 13 * width


def model_params(vocab: int, width: int, layers: int) -> int:
    """Exact parameters of TinyLM: embedding + head 2 v w, final norm 2 w, the layers."""
    return 2 * vocab * width + 2 * width + layers * layer_params(width)


def choose_shape(target: int) -> dict[str, int]:
    """Pick vocab, width and depth whose TinyLM is closest to ``target`` parameters.

    Rule: vocab a power of two near sqrt(target)/2 (256..32768); width a multiple of 16
    chosen with depth ~ width/96 (GPT-like aspect); then depth re-solved for the target.
    """
    vocab = min(32768, max(256, 2 ** round(math.log2(math.sqrt(target) / 2))))
    widths = range(16, 16385, 16)
    width = min(widths, key=lambda w: abs(model_params(vocab, w, max(1, round(w / 96))) - target))
    layers = max(1, round((target - model_params(vocab, width, 0)) / layer_params(width)))
    heads = max(h for h in range(1, max(1, width // 64) + 1) if width % h == 0)
    return {"layers": layers, "width": width, "heads": heads, "vocab": vocab, "ffn": 4 * width}


def percentile(sorted_xs: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile ``q`` in [0, 100] of already sorted values."""
    pos = (len(sorted_xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (pos - lo)


def summarize(xs: Sequence[float]) -> dict[str, float]:
    """Median, p10, p90, p99, mean and count n of a sample (same units as ``xs``)."""
    s = sorted(xs)
    out = {f"p{q}": percentile(s, q) for q in (10, 90, 99)}
    return {"median": statistics.median(s), **out, "mean": statistics.fmean(s), "n": len(s)}


def fit_latency_bandwidth(points: Sequence[tuple[float, float]]) -> dict[str, Any]:
    """Fit time_s = latency_s + bytes / bandwidth to (bytes, time_s) points.

    Least squares over several sizes; through the origin (latency 0) with one size, or
    when the free fit is unphysical (slope <= 0 or negative latency).
    """
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    n = len(points)
    if n >= 2 and max(xs) > min(xs):
        mx, my = statistics.fmean(xs), statistics.fmean(ys)
        slope = sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x in xs)
        latency = my - slope * mx
        if slope > 0 and latency >= 0:
            return {"latency_s": latency, "bandwidth_bytes_per_s": 1 / slope, "method": "lsq"}
    slope = sum(x * y for x, y in points) / sum(x * x for x in xs)
    method = "single_size" if n == 1 else "through_origin"
    return {"latency_s": 0.0, "bandwidth_bytes_per_s": 1 / slope, "method": method}


def sync(device: torch.device) -> None:
    """Wait for queued device work (no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_step(
    model: nn.Module, opt: torch.optim.Optimizer, shape: dict[str, int], args: argparse.Namespace
) -> Callable[[], None]:
    """Return one training step on a fixed random batch: forward, backward, AdamW, zero_grad."""
    device = next(model.parameters()).device
    gen = torch.Generator(device=device).manual_seed(0)
    tokens = torch.randint(shape["vocab"], (args.batch, args.seq + 1), device=device, generator=gen)
    inputs, targets = tokens[:, :-1], tokens[:, 1:].reshape(-1)
    amp = args.dtype != "float32"

    def step() -> None:
        with torch.autocast(device.type, dtype=getattr(torch, args.dtype), enabled=amp):
            logits = model(inputs)
        loss = nn.functional.cross_entropy(logits.float().flatten(0, 1), targets)
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()
        opt.zero_grad(set_to_none=True)

    return step


def _cuda_event() -> Any:
    """A CUDA event that records time."""
    return torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]


def time_steps(step: Callable[[], None], device: torch.device, n: int) -> tuple[list[float], float]:
    """Per-step times (CUDA events or perf_counter) and wall clock of the block, seconds."""
    events = [(_cuda_event(), _cuda_event()) for _ in range(n)] if device.type == "cuda" else []
    sync(device)
    start = time.perf_counter()
    if events:
        for begin, end in events:
            begin.record()
            step()
            end.record()
        sync(device)
        times = [begin.elapsed_time(end) / 1000.0 for begin, end in events]
    else:
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)
    return times, time.perf_counter() - start


def tree_to(obj: Any, device: torch.device, snapshot: bool) -> Any:
    """Move every tensor in nested dicts/lists/tuples to ``device``.

    A snapshot always copies (even host to host). A restore leaves 0-dim tensors on the
    host, as AdamW keeps its step counters there.
    """
    if isinstance(obj, torch.Tensor):
        if not snapshot and obj.dim() == 0:
            return obj
        return obj.detach().to(device, copy=snapshot)
    if isinstance(obj, dict):
        return {k: tree_to(v, device, snapshot) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(tree_to(v, device, snapshot) for v in obj)
    return obj


def checkpoint_once(model: nn.Module, opt: torch.optim.Optimizer, path: str) -> dict[str, float]:
    """Blocking full checkpoint in phases (seconds): d2h, write (torch.save), fsync, total."""
    device, cpu = next(model.parameters()).device, torch.device("cpu")
    t0 = time.perf_counter()
    state = {"model": model.state_dict(), "optimizer": opt.state_dict()}
    state = tree_to(state, cpu, snapshot=True)
    sync(device)
    t1 = time.perf_counter()
    with open(path, "wb") as f:
        torch.save(state, f)
        f.flush()
        t2 = time.perf_counter()
        os.fsync(f.fileno())
        t3 = time.perf_counter()
    return {"d2h_s": t1 - t0, "write_s": t2 - t1, "fsync_s": t3 - t2, "total_s": t3 - t0}


def evict(path: str) -> str:
    """Drop ``path`` from the page cache so the next read is cold; return the method used."""
    if not hasattr(os, "posix_fadvise"):
        return "none"
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    return "posix_fadvise"


def restore_once(model: nn.Module, opt: torch.optim.Optimizer, path: str) -> dict[str, float]:
    """Restore in phases (seconds): read (torch.load to CPU), h2d, load_state_dict, total."""
    device = next(model.parameters()).device
    t0 = time.perf_counter()
    with open(path, "rb") as f:
        state = torch.load(f, map_location="cpu", weights_only=True)
    t1 = time.perf_counter()
    on_device = tree_to(state, device, snapshot=False)
    sync(device)
    t2 = time.perf_counter()
    model.load_state_dict(on_device["model"])
    opt.load_state_dict(on_device["optimizer"])
    sync(device)
    t3 = time.perf_counter()
    return {"read_s": t1 - t0, "h2d_s": t2 - t1, "load_s": t3 - t2, "total_s": t3 - t0}


def _medians(samples: list[dict[str, float]]) -> dict[str, Any]:
    """Median and n of each phase across repetitions."""
    return {
        k: {"median": statistics.median(s[k] for s in samples), "n": len(samples)}
        for k in samples[0]
    }


def measure_checkpoints(
    model: nn.Module, opt: torch.optim.Optimizer, workdir: str, reps: int
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """Checkpoint/evict/restore ``reps`` times; return checkpoint, restore, eviction method."""
    saves, loads, method, size = [], [], "none", 0
    for i in range(reps):
        path = os.path.join(workdir, f"ckpt-{i}.pt")
        try:
            saves.append(checkpoint_once(model, opt, path))
            size = os.path.getsize(path)
            method = evict(path)
            loads.append(restore_once(model, opt, path))
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
    ck, rs = _medians(saves), _medians(loads)
    ck_s = ck["write_s"]["median"] + ck["fsync_s"]["median"]
    ck.update(bytes=size, write_bandwidth_bytes_per_s=size / ck_s)
    rs["read_bandwidth_bytes_per_s"] = size / rs["read_s"]["median"]
    return ck, rs, method


def measure_size(
    target: int, args: argparse.Namespace, device: torch.device, workdir: str
) -> tuple[dict[str, Any], str]:
    """Build a model of about ``target`` params; time steps and checkpoints; free it."""
    shape = choose_shape(target)
    with device:
        model = TinyLM(shape["vocab"], shape["width"], shape["layers"], shape["heads"])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    try:
        step = make_step(model, opt, shape, args)
        time_steps(step, device, args.warmup)
        times, wall = time_steps(step, device, args.steps)
        ck, rs, method = measure_checkpoints(model, opt, workdir, args.ckpt_reps)
        params = sum(p.numel() for p in model.parameters())
    finally:
        del model, opt
        if device.type == "cuda":
            torch.cuda.empty_cache()
    ck["bytes_per_param"] = ck["bytes"] / params
    result = {
        "params": params,
        "requested_params": target,
        "model": shape,
        "step_s": summarize(times),
        "steps_wall_s": wall,
        "checkpoint": ck,
        "restore": rs,
    }
    return result, method


def describe_device(device: torch.device) -> dict[str, Any]:
    """Type, name and memory in bytes of the measuring device."""
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return {"type": "cuda", "name": props.name, "memory_bytes": props.total_memory}
    name = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        name = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), name)
    memory = None
    with contextlib.suppress(ValueError, OSError, AttributeError):
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {"type": "cpu", "name": name, "memory_bytes": memory}


def host_info() -> dict[str, Any]:
    """Hostname, platform, Python version and CPU count."""
    return {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
    }


def human(n: float, unit: str = "") -> str:
    """Short decimal form: 1.3G, 125M, 50K."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= scale:
            return f"{n / scale:.3g}{suffix}{unit}"
    return f"{n:.3g}{unit}"


def print_summary(doc: dict[str, Any]) -> None:
    """A short table per size on stdout."""
    dev = doc["device"]
    print(
        f"probe on {dev['type']} ({dev['name']}), dtype {doc['dtype']}, "
        f"dir {doc['checkpoint_dir']}, eviction {doc['eviction_method']}"
    )
    print(
        f"{'params':>8} {'LxW':>9} {'step med [p10-p90] s':>26} {'ckpt':>7} "
        f"{'save s':>8} {'write':>9} {'restore s':>9} {'read':>9}"
    )
    for s in doc["sizes"]:
        st, ck, rs = s["step_s"], s["checkpoint"], s["restore"]
        print(
            f"{human(s['params']):>8} {s['model']['layers']:>4}x{s['model']['width']:<4} "
            f"{st['median']:>9.4f} [{st['p10']:.4f}-{st['p90']:.4f}] "
            f"{human(ck['bytes'], 'B'):>7} {ck['total_s']['median']:>8.4f} "
            f"{human(ck['write_bandwidth_bytes_per_s'], 'B/s'):>9} "
            f"{rs['total_s']['median']:>9.4f} {human(rs['read_bandwidth_bytes_per_s'], 'B/s'):>9}"
        )
    for kind in ("write", "restore"):
        f = doc["fit"][kind]
        print(
            f"fit {kind}: {f['latency_s']:.4f} s + bytes / "
            f"{human(f['bandwidth_bytes_per_s'], 'B/s')} ({f['method']})"
        )


_REQUIRED = {
    "": "schema_version created_utc host torch cuda device measured_on_accelerator dtype "
    "checkpoint_dir eviction_method sizes fit",
    "device": "type name memory_bytes",
    "size": "params model step_s steps_wall_s checkpoint restore",
    "checkpoint": "bytes bytes_per_param d2h_s write_s fsync_s total_s write_bandwidth_bytes_per_s",
    "restore": "read_s h2d_s load_s total_s read_bandwidth_bytes_per_s",
    "fit": "write restore n_sizes",
    "line": "latency_s bandwidth_bytes_per_s",
}


def _require(obj: Any, kind: str, where: str) -> None:
    """Raise ValueError naming the first missing field of ``obj``."""
    if not isinstance(obj, dict):
        raise ValueError(f"probe: {where or 'document'} must be an object")
    for key in _REQUIRED[kind].split():
        if key not in obj:
            raise ValueError(f"probe: missing field {where + '.' if where else ''}{key}")


def validate_probe(doc: dict[str, Any]) -> None:
    """Check a probe document's schema_version and required fields; ValueError if wrong."""
    if not isinstance(doc, dict) or "schema_version" not in doc:
        raise ValueError(f"probe: schema_version missing (expected {SCHEMA_VERSION})")
    version = doc["schema_version"]
    if type(version) is not int or version != SCHEMA_VERSION:
        raise ValueError(f"probe: schema_version must be {SCHEMA_VERSION}, got {version!r}")
    _require(doc, "", "")
    _require(doc["device"], "device", "device")
    if not isinstance(doc["sizes"], list) or not doc["sizes"]:
        raise ValueError("probe: sizes must be a non-empty list")
    for i, size in enumerate(doc["sizes"]):
        _require(size, "size", f"sizes[{i}]")
        _require(size["checkpoint"], "checkpoint", f"sizes[{i}].checkpoint")
        _require(size["restore"], "restore", f"sizes[{i}].restore")
    _require(doc["fit"], "fit", "fit")
    for kind in ("write", "restore"):
        _require(doc["fit"][kind], "line", f"fit.{kind}")


def build_parser() -> argparse.ArgumentParser:
    """Command-line options; unset sizes/dtype/batch/seq get device-dependent defaults."""
    p = argparse.ArgumentParser(prog="probe.py", description=(__doc__ or "probe").splitlines()[0])
    p.add_argument("--params", type=parse_sizes, help="e.g. 125M,350M,1.3B (CPU: 2M,8M)")
    p.add_argument("--dtype", choices=DTYPES, help="autocast (bfloat16; CPU float32)")
    p.add_argument("--batch", type=int, help="sequences per step (8; CPU 2)")
    p.add_argument("--seq", type=int, help="tokens per sequence (1024; CPU 64)")
    p.add_argument("--steps", type=int, default=20, help="timed training steps")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    p.add_argument("--ckpt-reps", type=int, default=3, help="checkpoint/restore cycles")
    p.add_argument("--dir", help="where checkpoints are written (default: temp)")
    p.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto")
    p.add_argument("--out", help="JSON path (default probe-<device>.json)")
    p.add_argument("--quiet", action="store_true", help="no summary table")
    return p


def _fill_defaults(args: argparse.Namespace, device: torch.device) -> None:
    """Device-dependent defaults for options left unset."""
    cuda = device.type == "cuda"
    args.params = args.params or (
        [125_000_000, 350_000_000, 1_300_000_000] if cuda else [2_000_000, 8_000_000]
    )
    args.dtype = args.dtype or ("bfloat16" if cuda else "float32")
    args.batch = args.batch or (8 if cuda else 2)
    args.seq = args.seq or (1024 if cuda else 64)
    args.out = args.out or f"probe-{device.type}.json"


def _check_args(args: argparse.Namespace, device: torch.device | None) -> str | None:
    """One-line reason to refuse the run, or None."""
    if device is None:
        return "probe: --device cuda requested but no CUDA device is available"
    if min(args.steps, args.ckpt_reps, args.batch, args.seq) < 1 or args.warmup < 0:
        return "probe: --steps, --ckpt-reps, --batch, --seq must be >= 1 and --warmup >= 0"
    where = args.dir if args.dir is not None else tempfile.gettempdir()
    if not os.path.isdir(where):
        return f"probe: --dir {where} does not exist or is not a directory"
    shapes = [choose_shape(t) for t in args.params]
    largest = max(model_params(s["vocab"], s["width"], s["layers"]) for s in shapes)
    need, free = largest * BYTES_PER_PARAM_BOUND * SPACE_MARGIN, shutil.disk_usage(where).free
    if free < need:
        return (
            f"probe: --dir {where} has {human(free, 'B')} free, needs about "
            f"{human(need, 'B')} (16 bytes/param x 1.2 for {human(largest)} params)"
        )
    return None


def run_probe(args: argparse.Namespace, device: torch.device, workdir: str) -> dict[str, Any]:
    """Measure every size and assemble the JSON document (schema_version 1)."""
    sizes, method = [], "none"
    for target in args.params:
        if not args.quiet:
            print(f"measuring {human(target)} params ...", file=sys.stderr)
        result, method = measure_size(target, args, device, workdir)
        sizes.append(result)
    fit = {
        kind: fit_latency_bandwidth(
            [(s["checkpoint"]["bytes"], s[kind]["total_s"]["median"]) for s in sizes]
        )
        for kind in ("checkpoint", "restore")
    }
    return {
        "schema_version": SCHEMA_VERSION,
        "created_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),  # noqa: UP017
        "host": host_info(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "device": describe_device(device),
        "measured_on_accelerator": device.type == "cuda",
        "dtype": args.dtype,
        "param_dtype": "float32",
        "batch": args.batch,
        "seq": args.seq,
        "checkpoint_dir": os.path.abspath(os.path.dirname(workdir)),
        "eviction_method": method,
        "sizes": sizes,
        "fit": {"write": fit["checkpoint"], "restore": fit["restore"], "n_sizes": len(sizes)},
    }


def main(argv: list[str] | None = None) -> int:
    """Run the probe; 0 on success, 2 on refused options, 130 on Ctrl-C."""
    args = build_parser().parse_args(argv)
    if not HAS_TORCH:
        print(NEEDS_TORCH, file=sys.stderr)
        return 2
    cuda_ok = torch.cuda.is_available()
    want_cuda = args.device == "cuda" or (args.device == "auto" and cuda_ok)
    device = torch.device("cuda" if want_cuda else "cpu") if cuda_ok or not want_cuda else None
    _fill_defaults(args, device or torch.device("cpu"))
    problem = _check_args(args, device)
    if problem or device is None:
        print(problem, file=sys.stderr)
        return 2
    if device.type != "cuda":
        print(NO_CUDA_LINE, file=sys.stderr)
    torch.manual_seed(0)
    workdir = tempfile.mkdtemp(prefix="probe-", dir=args.dir)
    try:
        doc = run_probe(args, device, workdir)
    except KeyboardInterrupt:
        print("probe: interrupted; temporary files removed", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    validate_probe(doc)
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=2)
    if not args.quiet:
        print_summary(doc)
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
