"""Measure a training step and a checkpoint on this machine; write JSON for calibration.

Standalone (DESIGN.md §6): needs only PyTorch and the standard library, so a copy of this
file runs on a GPU box as ``python probe.py``. All times are seconds, sizes bytes,
bandwidths bytes per second. Weights are kept in float32 (master copy) and the step runs
under autocast in ``--dtype``, so a checkpoint holds fp32 weights plus two fp32 AdamW
moments: about 12 bytes per trained parameter, against 14-16 seen in practice
(REFERENCES.md §4). With ``--trainable`` below 1 only low-rank adapters train (LoRA-like)
and the checkpoint holds the adapters and their optimizer state alone.

Options are checked, and stale folders of earlier runs removed, before PyTorch is
imported; the JSON is rewritten atomically after each size (``complete`` false until the
end), so an interrupted run keeps what it measured. SIGTERM is handled as Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.util
import json
import math
import os
import platform
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

torch: Any = None  # imported by load_torch() once the options are known to be good
nn: Any = None
HAS_TORCH = importlib.util.find_spec("torch") is not None

SCHEMA_VERSION = 2
METHODS = ("torch.save", "dcp", "dcp-async")
# Bandwidths a checkpoint disk can have; a fitted line outside them is not believed.
BANDWIDTH_MIN_BYTES_PER_S, BANDWIDTH_MAX_BYTES_PER_S = 1e6, 1e12
# Space needed on --dir: what probe.py saves, 12 bytes per trained parameter (fp32 weights
# and two AdamW moments) plus pickle or DCP metadata (12.1-12.4 measured from 200K
# parameters up), bounded by 12.5, with a 1.1 margin.
BYTES_PER_PARAM_BOUND = 12.5
SPACE_MARGIN = 1.1
MARKER = ".preemptsim-probe"  # in each work folder: which host and process made it
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


def parse_share(text: str) -> float:
    """The share of parameters that train, in (0, 1]: ``0.01`` for a LoRA-like run."""
    try:
        share = float(text)
    except ValueError:
        share = math.nan
    if not 0 < share <= 1:
        raise argparse.ArgumentTypeError(f"must be a share in (0, 1], got {text!r}")
    return share


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


def lora_rank(shape: dict[str, int], share: float) -> int:
    """Adapter rank r giving about ``share`` of the base parameters (0 = train them all).

    Adapters sit on both MLP linears of every layer: r (w + 4w) + r (4w + w) = 10 r w
    parameters a layer. r is at least 1 and at most the width.
    """
    if share >= 1:
        return 0
    base = model_params(shape["vocab"], shape["width"], shape["layers"])
    per_rank = 10 * shape["width"] * shape["layers"]
    return min(shape["width"], max(1, round(share * base / per_rank)))


def trained_params(shape: dict[str, int], share: float) -> int:
    """Parameters that train in TinyLM of ``shape``: the adapters' 10 r w a layer, or all."""
    rank = lora_rank(shape, share)
    if rank:
        return 10 * rank * shape["width"] * shape["layers"]
    return model_params(shape["vocab"], shape["width"], shape["layers"])


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
    when the free fit is unphysical (negative latency, or a slope that is not positive or
    implies more than BANDWIDTH_MAX_BYTES_PER_S).
    """
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    n = len(points)
    if n >= 2 and max(xs) > min(xs):
        mx, my = statistics.fmean(xs), statistics.fmean(ys)
        slope = sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x in xs)
        latency = my - slope * mx
        if slope * BANDWIDTH_MAX_BYTES_PER_S > 1 and latency >= 0:
            return {"latency_s": latency, "bandwidth_bytes_per_s": 1 / slope, "method": "lsq"}
    slope = sum(x * y for x, y in points) / sum(x * x for x in xs)
    method = "single_size" if n == 1 else "through_origin"
    return {"latency_s": 0.0, "bandwidth_bytes_per_s": 1 / slope, "method": method}


def load_torch() -> None:
    """Import PyTorch into this module's ``torch`` and ``nn`` (once)."""
    global torch, nn
    import torch as torch_module

    torch, nn = torch_module, torch_module.nn


def _dcp() -> Any:
    """torch.distributed.checkpoint, imported when a DCP method is measured (a few seconds)."""
    import warnings

    import torch.distributed.checkpoint as dcp

    # no_dist=True is the single process asked for; DCP still warns that it assumes so.
    warnings.filterwarnings("ignore", message="torch.distributed is disabled")
    return dcp


def build_model(shape: dict[str, int], rank: int, device: Any) -> Any:
    """TinyLM on ``device``: embedding, pre-norm attention+MLP blocks, final norm, LM head.

    With ``rank`` > 0 the base is frozen and rank-``rank`` adapters (B A, B zero at first,
    as in LoRA) add to the output of both MLP linears of every block; only they train.
    """

    class TinyLM(nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            width = shape["width"]
            self.embed = nn.Embedding(shape["vocab"], width)
            self.blocks = nn.ModuleList(
                nn.TransformerEncoderLayer(
                    width,
                    shape["heads"],
                    4 * width,
                    dropout=0.0,
                    batch_first=True,
                    norm_first=True,
                )
                for _ in range(shape["layers"])
            )
            self.norm = nn.LayerNorm(width)
            self.head = nn.Linear(width, shape["vocab"], bias=False)

        def forward(self, tokens: Any) -> Any:
            """Logits of shape (batch, seq, vocab) under a causal mask."""
            seq = tokens.shape[1]
            mask = nn.Transformer.generate_square_subsequent_mask(seq, device=tokens.device)
            x = self.embed(tokens)
            for block in self.blocks:
                x = block(x, src_mask=mask, is_causal=True)
            return self.head(self.norm(x))

    with device:
        model = TinyLM()
        if rank:
            model.requires_grad_(False)
            linears = [m for b in model.blocks for m in (b.linear1, b.linear2)]
            model.adapters = nn.ModuleList(_adapter(m, rank) for m in linears)
    return model


def _adapter(linear: Any, rank: int) -> Any:
    """Trainable low-rank A (rank x in), B (out x rank) added to ``linear``'s output."""
    pair = nn.ParameterDict(
        {
            "a": nn.Parameter(torch.randn(rank, linear.in_features) / linear.in_features**0.5),
            "b": nn.Parameter(torch.zeros(linear.out_features, rank)),
        }
    )
    linear.register_forward_hook(lambda _m, args, out: out + args[0] @ pair.a.t() @ pair.b.t())
    return pair


def trained(model: Any) -> list[Any]:
    """The parameters that get gradients and optimizer state."""
    return [p for p in model.parameters() if p.requires_grad]


def sync(device: Any) -> None:
    """Wait for queued device work (no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_step(model: Any, opt: Any, shape: dict[str, int], args: Any) -> Callable[[], None]:
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
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    return step


def time_steps(step: Callable[[], None], device: Any, n: int) -> tuple[list[float], float]:
    """Per-step times (CUDA events or perf_counter) and wall clock of the block, seconds."""
    cuda = device.type == "cuda"
    pairs = range(n if cuda else 0)
    events = [
        (torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in pairs
    ]
    sync(device)
    start = time.perf_counter()
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        if cuda:
            events[i][0].record()
        step()
        if cuda:
            events[i][1].record()
        times.append(time.perf_counter() - t0)
    sync(device)
    if cuda:
        times = [begin.elapsed_time(end) / 1000.0 for begin, end in events]
    return times, time.perf_counter() - start


def tree_to(obj: Any, device: Any, snapshot: bool) -> Any:
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


def checkpoint_state(model: Any, opt: Any) -> dict[str, Any]:
    """What a checkpoint holds: the trained weights (all, or the adapters) and AdamW state."""
    names = {name for name, p in model.named_parameters() if p.requires_grad}
    weights = {k: v for k, v in model.state_dict().items() if k in names}
    return {"model": weights, "optimizer": opt.state_dict()}


def load_state(model: Any, opt: Any, state: dict[str, Any]) -> None:
    """Put a checkpoint's weights and optimizer state back (frozen weights stay)."""
    result = model.load_state_dict(state["model"], strict=False)
    if result.unexpected_keys:
        raise RuntimeError(f"probe: checkpoint has unknown weights {result.unexpected_keys}")
    opt.load_state_dict(state["optimizer"])


def save_torch(state: dict[str, Any], path: str, device: Any, _: list[Any]) -> dict[str, float]:
    """torch.save in phases (seconds): d2h copy, write, fsync; it all blocks."""
    t0 = time.perf_counter()
    host = tree_to(state, torch.device("cpu"), snapshot=True)
    sync(device)
    t1 = time.perf_counter()
    with open(path, "wb") as f:
        torch.save(host, f)
        f.flush()
        t2 = time.perf_counter()
        os.fsync(f.fileno())
    t3 = time.perf_counter()
    return {"d2h_s": t1 - t0, "write_s": t2 - t1, "fsync_s": t3 - t2, "blocking_s": t3 - t0}


def save_dcp(state: dict[str, Any], path: str, device: Any, _: list[Any]) -> dict[str, float]:
    """torch.distributed.checkpoint.save in one process (no process group): it all blocks."""
    t0 = time.perf_counter()
    _dcp().save(state, checkpoint_id=path, no_dist=True)
    sync(device)
    return {"blocking_s": time.perf_counter() - t0}


def save_dcp_async(
    state: dict[str, Any], path: str, device: Any, pending: list[Any]
) -> dict[str, float]:
    """DCP async_save: blocking = staging to host memory, until the call returns (what a
    training loop waits for); background = the write that follows in a thread, until its
    future is done. The future goes in ``pending`` so that a cleanup can wait for it."""
    t0 = time.perf_counter()
    future = _dcp().async_save(state, checkpoint_id=path, no_dist=True)
    pending.append(future)
    sync(device)
    t1 = time.perf_counter()
    future.result()
    return {"blocking_s": t1 - t0, "background_s": time.perf_counter() - t1}


def evict(path: str) -> str:
    """Drop the file(s) at ``path`` from the page cache so the next read is cold."""
    if not hasattr(os, "posix_fadvise"):
        return "none"
    for name in _files(path):
        fd = os.open(name, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    return "posix_fadvise"


def _files(path: str) -> list[str]:
    """``path`` itself, or every file under it when it is a folder (DCP)."""
    if not os.path.isdir(path):
        return [path]
    return [os.path.join(root, f) for root, _, files in os.walk(path) for f in files]


def restore_torch(model: Any, opt: Any, path: str) -> dict[str, float]:
    """Restore in phases (seconds): read (torch.load to CPU), h2d, load_state_dict, total."""
    device = next(model.parameters()).device
    t0 = time.perf_counter()
    with open(path, "rb") as f:
        state = torch.load(f, map_location="cpu", weights_only=True)
    t1 = time.perf_counter()
    on_device = tree_to(state, device, snapshot=False)
    sync(device)
    t2 = time.perf_counter()
    load_state(model, opt, on_device)
    sync(device)
    t3 = time.perf_counter()
    return {"read_s": t1 - t0, "h2d_s": t2 - t1, "load_s": t3 - t2, "total_s": t3 - t0}


def restore_dcp(model: Any, opt: Any, path: str) -> dict[str, float]:
    """DCP load in place into the live state (read and host→device in one), then
    load_state_dict; total seconds."""
    device = next(model.parameters()).device
    t0 = time.perf_counter()
    state = checkpoint_state(model, opt)
    _dcp().load(state, checkpoint_id=path, no_dist=True)
    load_state(model, opt, state)
    sync(device)
    return {"total_s": time.perf_counter() - t0}


SaveFn = Callable[[dict[str, Any], str, Any, list[Any]], dict[str, float]]
RestoreFn = Callable[[Any, Any, str], dict[str, float]]
SAVE: dict[str, tuple[SaveFn, RestoreFn]] = {
    "torch.save": (save_torch, restore_torch),
    "dcp": (save_dcp, restore_dcp),
    "dcp-async": (save_dcp_async, restore_dcp),
}


def _remove(path: str, pending: list[Any]) -> None:
    """Wait for a background write still running, then delete ``path`` (file or folder)."""
    for future in pending:
        with contextlib.suppress(Exception):
            future.result()
    pending.clear()
    if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)


def _medians(samples: list[dict[str, float]]) -> dict[str, Any]:
    """Median and n of each phase across repetitions."""
    return {
        k: {"median": statistics.median(s[k] for s in samples), "n": len(samples)}
        for k in samples[0]
    }


def measure_checkpoints(
    model: Any, opt: Any, method: str, workdir: str, reps: int
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """Checkpoint/evict/restore ``reps`` times; return checkpoint, restore, eviction method."""
    save, restore = SAVE[method]
    device = next(model.parameters()).device
    saves, loads, evicted, size = [], [], "none", 0
    pending: list[Any] = []
    for i in range(reps):
        path = os.path.join(workdir, f"ckpt-{i}")
        try:
            phases = {
                "background_s": 0.0,
                **save(checkpoint_state(model, opt), path, device, pending),
            }
            phases["total_s"] = phases["blocking_s"] + phases["background_s"]
            saves.append(phases)
            size = sum(os.path.getsize(f) for f in _files(path))
            evicted = evict(path)
            loads.append(restore(model, opt, path))
        finally:
            _remove(path, pending)
    ck, rs = _medians(saves), _medians(loads)
    ck.update(bytes=size, write_bandwidth_bytes_per_s=size / _disk_s(ck, method))
    rs["read_bandwidth_bytes_per_s"] = size / rs.get("read_s", rs["total_s"])["median"]
    return ck, rs, evicted


def _disk_s(ck: dict[str, Any], method: str) -> float:
    """Median seconds of the part of a save that writes to disk: write + fsync for
    torch.save, the background part for dcp-async, all of it for dcp (inseparable)."""
    parts = {"torch.save": ("write_s", "fsync_s"), "dcp": ("total_s",)}
    return float(sum(ck[k]["median"] for k in parts.get(method, ("background_s",))))


def measure_size(target: int, args: Any, device: Any, workdir: str) -> tuple[dict[str, Any], str]:
    """Build a model of about ``target`` params; time steps and checkpoints; free it."""
    shape = choose_shape(target)
    rank = lora_rank(shape, args.trainable)
    model = build_model(shape, rank, device)
    opt = torch.optim.AdamW(trained(model), lr=1e-4)
    try:
        step = make_step(model, opt, shape, args)
        time_steps(step, device, args.warmup)
        times, wall = time_steps(step, device, args.steps)
        ck, rs, evicted = measure_checkpoints(model, opt, args.method, workdir, args.ckpt_reps)
        params = sum(p.numel() for n, p in model.named_parameters() if "adapters." not in n)
        trainable = sum(p.numel() for p in trained(model))
    finally:
        del model, opt
        if device.type == "cuda":
            torch.cuda.empty_cache()
    ck["bytes_per_param"] = ck["bytes"] / trainable
    result = {
        "params": params,
        "trainable_params": trainable,
        "lora_rank": rank,
        "requested_params": target,
        "model": shape,
        "step_s": summarize(times),
        "steps_wall_s": wall,
        "checkpoint": ck,
        "restore": rs,
    }
    return result, evicted


def describe_device(device: Any) -> dict[str, Any]:
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
        f"probe on {dev['type']} ({dev['name']}), {doc['method']}, dtype {doc['dtype']}, "
        f"trainable {doc['trainable_share']:g}, dir {doc['checkpoint_dir']}"
    )
    print(
        f"{'params':>8} {'LxW':>9} {'step med [p10-p90] s':>26} {'ckpt':>7} "
        f"{'block s':>8} {'bg s':>8} {'write':>9} {'restore s':>9}"
    )
    for s in doc["sizes"]:
        st, ck, rs = s["step_s"], s["checkpoint"], s["restore"]
        print(
            f"{human(s['params']):>8} {s['model']['layers']:>4}x{s['model']['width']:<4} "
            f"{st['median']:>9.4f} [{st['p10']:.4f}-{st['p90']:.4f}] "
            f"{human(ck['bytes'], 'B'):>7} {ck['blocking_s']['median']:>8.4f} "
            f"{ck['background_s']['median']:>8.4f} "
            f"{human(ck['write_bandwidth_bytes_per_s'], 'B/s'):>9} {rs['total_s']['median']:>9.4f}"
        )
    for kind, f in doc["fit"].items():
        if isinstance(f, dict):
            print(
                f"fit {kind}: {f['latency_s']:.4f} s + bytes / "
                f"{human(f['bandwidth_bytes_per_s'], 'B/s')} ({f['method']})"
            )


def build_parser() -> argparse.ArgumentParser:
    """Command-line options; unset sizes/dtype/batch/seq get device-dependent defaults."""
    p = argparse.ArgumentParser(prog="probe.py", description=(__doc__ or "probe").splitlines()[0])
    p.add_argument("--params", type=parse_sizes, help="e.g. 125M,350M,1.3B (CPU: 2M,8M)")
    p.add_argument("--method", choices=METHODS, default="torch.save", help="how to save")
    p.add_argument("--trainable", type=parse_share, default=1.0, help="share that trains (1)")
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


def _fill_defaults(args: argparse.Namespace, cuda: bool) -> None:
    """Device-dependent defaults for options left unset."""
    if args.params is None:
        args.params = [125_000_000, 350_000_000, 1_300_000_000] if cuda else [2_000_000, 8_000_000]
    if args.dtype is None:
        args.dtype = "bfloat16" if cuda else "float32"
    if args.batch is None:
        args.batch = 8 if cuda else 2
    if args.seq is None:
        args.seq = 1024 if cuda else 64
    if args.out is None:
        args.out = f"probe-{'cuda' if cuda else 'cpu'}.json"


def check_out(path: str) -> str | None:
    """One-line reason why ``path`` cannot take the JSON, or None (tried with a temp file)."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        return f"probe: --out {path} is a folder; give the JSON file's name"
    if not os.path.isdir(folder):
        return f"probe: --out {path}: folder {folder} does not exist"
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-check-"):
            pass
    except OSError as exc:
        return f"probe: --out {path}: cannot write in {folder} ({exc.strerror or exc})"
    return None


def check_options(args: argparse.Namespace) -> str | None:
    """One-line reason to refuse the options as given, or None. Needs no PyTorch, so a bad
    --out or --dir is refused at once, before anything is measured."""
    counts = [args.steps, args.ckpt_reps, *(n for n in (args.batch, args.seq) if n is not None)]
    if min(counts) < 1 or args.warmup < 0:
        return "probe: --steps, --ckpt-reps, --batch, --seq must be >= 1 and --warmup >= 0"
    where = args.dir if args.dir is not None else tempfile.gettempdir()
    if not os.path.isdir(where):
        return f"probe: --dir {where} does not exist or is not a directory"
    if not os.access(where, os.W_OK | os.X_OK):
        return f"probe: --dir {where} is not writable"
    return check_out(args.out) if args.out is not None else None


def check_space(args: argparse.Namespace) -> str | None:
    """One-line reason why --dir has too little free space for the largest size, or None."""
    where = args.dir if args.dir is not None else tempfile.gettempdir()
    largest = max(trained_params(choose_shape(t), args.trainable) for t in args.params)
    need, free = largest * BYTES_PER_PARAM_BOUND * SPACE_MARGIN, shutil.disk_usage(where).free
    if free < need:
        return (
            f"probe: --dir {where} has {human(free, 'B')} free, needs about {human(need, 'B')}"
            f" ({BYTES_PER_PARAM_BOUND:g} B x {SPACE_MARGIN:g} for {human(largest)} trained params)"
        )
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(where: str) -> list[str]:
    """Delete the ``probe-*`` folders in ``where`` that a probe of this host left behind
    (its marker names a process that no longer runs); return their paths."""
    removed = []
    for name in sorted(n for n in os.listdir(where) if n.startswith("probe-")):
        folder = os.path.join(where, name)
        try:
            with open(os.path.join(folder, MARKER)) as f:
                mark = json.load(f)
            mine = mark["host"] == socket.gethostname() and not _alive(int(mark["pid"]))
        except (OSError, ValueError, TypeError, KeyError):
            continue
        if mine:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def make_workdir(where: str | None) -> str:
    """A new ``probe-*`` folder in ``where`` with its marker (host and process id)."""
    workdir = tempfile.mkdtemp(prefix="probe-", dir=where)
    with open(os.path.join(workdir, MARKER), "w") as f:
        json.dump({"host": socket.gethostname(), "pid": os.getpid()}, f)
    return workdir


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json_atomic(path: str, doc: dict[str, Any]) -> None:
    """Write ``doc`` to a temp file beside ``path``, fsync it, then rename it over ``path``."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; readable as umask allows
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f, indent=2)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)


def document(
    args: argparse.Namespace, device: Any, sizes: list[dict[str, Any]], evicted: str
) -> dict[str, Any]:
    """The JSON document (schema_version 2) of the sizes measured so far."""
    lines = {"write": ("checkpoint", "total_s"), "restore": ("restore", "total_s")}
    if args.method == "dcp-async":
        lines |= {
            "blocking": ("checkpoint", "blocking_s"),
            "background": ("checkpoint", "background_s"),
        }
    fit: dict[str, Any] = {
        kind: fit_latency_bandwidth(
            [(s["checkpoint"]["bytes"], s[part][key]["median"]) for s in sizes]
        )
        for kind, (part, key) in lines.items()
    }
    return {
        "schema_version": SCHEMA_VERSION,
        "complete": len(sizes) == len(args.params),
        "created_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),  # noqa: UP017
        "host": host_info(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "device": describe_device(device),
        "measured_on_accelerator": device.type == "cuda",
        "method": args.method,
        "trainable_share": args.trainable,
        "dtype": args.dtype,
        "param_dtype": "float32",
        "batch": args.batch,
        "seq": args.seq,
        "checkpoint_dir": os.path.abspath(os.path.dirname(args.workdir)),
        "eviction_method": evicted,
        "sizes": sizes,
        "fit": {**fit, "n_sizes": len(sizes)},
    }


def run_probe(args: argparse.Namespace, device: Any) -> dict[str, Any]:
    """Measure every size, rewriting --out after each one (``args.sizes`` holds those done);
    return the last document."""
    doc: dict[str, Any] = {}
    for target in args.params:
        if not args.quiet:
            print(f"measuring {human(target)} params ...", file=sys.stderr)
        result, evicted = measure_size(target, args, device, args.workdir)
        args.sizes.append(result)
        doc = document(args, device, args.sizes, evicted)
        write_json_atomic(args.out, doc)
    return doc


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt (as Ctrl-C does)."""

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _device(args: argparse.Namespace) -> tuple[Any, str | None]:
    """The measuring device, or None and why not."""
    cuda_ok = torch.cuda.is_available()
    if args.device == "cuda" and not cuda_ok:
        return None, "probe: --device cuda requested but no CUDA device is available"
    return torch.device("cuda" if cuda_ok and args.device != "cpu" else "cpu"), None


def main(argv: list[str] | None = None) -> int:
    """Run the probe; 0 on success, 2 on refused options, 130 on Ctrl-C or SIGTERM."""
    args = build_parser().parse_args(argv)
    if not HAS_TORCH:
        print(NEEDS_TORCH, file=sys.stderr)
        return 2
    with sigterm_as_interrupt():
        args.sizes, args.workdir = [], None
        try:
            return _run(args)
        except KeyboardInterrupt:
            done = len(args.sizes)
            kept = (
                f"kept {done} size(s) in {args.out} (complete: false)" if done else "nothing kept"
            )
            print(f"probe: interrupted; {kept}; temporary files removed", file=sys.stderr)
            return 130
        finally:
            if args.workdir:
                shutil.rmtree(args.workdir, ignore_errors=True)


def _run(args: argparse.Namespace) -> int:
    """main's body: check, import PyTorch, check what needed the device, measure."""
    if problem := check_options(args):
        print(problem, file=sys.stderr)
        return 2
    load_torch()
    device, problem = _device(args)
    if device is not None:
        _fill_defaults(args, device.type == "cuda")
        problem = check_out(args.out) or check_space(args)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    if device.type != "cuda":
        print(NO_CUDA_LINE, file=sys.stderr)
    for folder in remove_stale(args.dir or tempfile.gettempdir()):
        print(f"probe: removed {folder}, left by an earlier run", file=sys.stderr)
    if args.method != "torch.save":
        _dcp()  # imported now, not inside the first timed save
    args.workdir = make_workdir(args.dir)
    torch.manual_seed(0)
    doc = run_probe(args, device)
    if not args.quiet:
        print_summary(doc)
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
