#!/usr/bin/env bash
# The prepared GPU check (benchmarks/gpu.py): conformance of every installed backend on CUDA
# (float32 and the bf16 autocast set), SpikingJelly's CUDA and Triton kernels each in its own
# process, a short training run and LIF timings; results and summary.json in $1 (runs/gpu).
# Exit 0 only when every step that ran passed. `benchmarks/gpu.sh runs/gpu-dry cpu` is the
# CPU dry run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
exec timeout 300 "$PY" -m benchmarks.gpu --out "${1:-runs/gpu}" --device "${2:-cuda}"
