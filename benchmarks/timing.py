"""Timing and memory measurement with the usual care: warm-up, repeats, median, one process."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass
class Measurement:
    median_ms: float
    min_ms: float
    repeats: int
    saved_bytes: int | None = None
    cuda_peak_bytes: int | None = None


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def saved_tensor_bytes(fn: Callable[[], torch.Tensor]) -> int:
    """Bytes autograd keeps for the backward pass of ``fn()`` (distinct storages, counted once)."""
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        try:
            storage = t.untyped_storage()
            seen[storage.data_ptr()] = storage.nbytes()
        except RuntimeError:
            pass
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    del out
    return sum(seen.values())


def measure(fn: Callable[[], object], device: str, warmup: int, repeats: int) -> Measurement:
    for _ in range(warmup):
        fn()
    _sync(device)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append((time.perf_counter() - t0) * 1e3)
    peak = torch.cuda.max_memory_allocated() if device.startswith("cuda") else None
    return Measurement(statistics.median(times), min(times), repeats, cuda_peak_bytes=peak)
