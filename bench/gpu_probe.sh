#!/usr/bin/env bash
# The prepared probe run for a machine with a GPU (issue 12; DESIGN.md §6): model sizes
# 350M, 1.3B and 3B in bf16 with AdamW, once per save path (torch.save, dcp, dcp-async),
# checkpoints on the machine's local disk, in about 8 minutes.
#
#   bench/gpu_probe.sh OUT        # one JSON per method: OUT/<device>-<method>.json, + a log
#
# Needs only python3 with PyTorch: it runs preemptsim/probe.py as a standalone script
# (python -I: nothing of the package is importable).
# Each method gets at most PER_METHOD_S seconds (default 155): at the limit `timeout` sends
# SIGTERM and the probe keeps the sizes it finished (complete: false), so the three runs
# together stay within about 8 minutes whatever the disk's speed. Sizes run smallest
# first. Where the local disk has too little room for the 3B checkpoint (12.5 B/param x 1.1,
# about 41 GB), 3B is left out and the log says so.
#
# Environment (all optional): PYTHON (python3), PROBE_DIR (checkpoints; default
# ./probe-ckpt, on the disk holding the working tree, never a RAM-backed /tmp), PARAMS
# (350M,1.3B,3B), METHODS ("torch.save dcp dcp-async"), PER_METHOD_S, PROBE_ARGS (extra
# options, e.g. "--device cpu --steps 2" to try the script on a machine without a GPU).
# Estimate on an H200 for 3B (36 GB of fp32 weights and AdamW moments): step ~0.5 s,
# device->host ~4 s, write and cold read ~20-40 s each at 1-2 GB/s; 350M and 1.3B add
# about a third. Measure, do not trust this comment.
set -euo pipefail

out=${1:?usage: bench/gpu_probe.sh OUT_FOLDER}
here=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
dir=${PROBE_DIR:-$PWD/probe-ckpt}
params=${PARAMS:-350M,1.3B,3B}
methods=${METHODS:-torch.save dcp dcp-async}
limit_s=${PER_METHOD_S:-155}
mkdir -p "$out" "$dir"
log="$out/gpu_probe.log"

device=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 || true)
device=${device:-cpu}
slug=$(printf '%s' "$device" | tr 'A-Z' 'a-z' | sed 's/^nvidia //; s/[^a-z0-9]\+/-/g; s/-$//')

free_kb=$(df -Pk "$dir" | awk 'NR == 2 {print $4}')
if [[ $params == *3B* ]] && ((free_kb < 41000000)); then
    params=${params//,3B/}
    echo "only $((free_kb / 1000000)) GB free on $dir: 3B left out, sizes $params" | tee -a "$log"
fi

{
    date -u +"%Y-%m-%dT%H:%M:%SZ start on $device ($slug), sizes $params, dir $dir"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || true
} 2>&1 | tee -a "$log"  # each JSON records the torch and CUDA versions

status=0
for method in $methods; do
    json="$out/$slug-${method//./-}.json"
    echo "== $method -> $json (at most $limit_s s)" | tee -a "$log"
    # shellcheck disable=SC2086  # PROBE_ARGS is a list of options
    if ! PYTHONUNBUFFERED=1 timeout -s TERM "$limit_s" "$python" -I "$here/preemptsim/probe.py" \
        --params "$params" --method "$method" --dtype bfloat16 --steps 10 --warmup 3 \
        --ckpt-reps 1 --dir "$dir" --out "$json" ${PROBE_ARGS:-} 2>&1 | tee -a "$log"; then
        status=1
        echo "== $method stopped early; $json keeps the sizes it finished" | tee -a "$log"
    fi
done
rmdir "$dir" 2>/dev/null || true  # the probe removes its own folders; keep anything else
date -u +"%Y-%m-%dT%H:%M:%SZ done" | tee -a "$log"
exit "$status"
