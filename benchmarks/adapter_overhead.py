"""Adapter overhead: a model run through step on backend X against the same model on X directly.

"Directly" means every step neuron module of the model is swapped for the library's own LIF
written in benchmarks/direct.py (no step code on the neuron path), with the same tau and
threshold; the stateless layers are the same modules in both runs, so the difference is what
step's adapter adds. The surrogate is set to the one the direct LIF uses (direct.SURROGATE) so
both sides compute the same backward. Run from the repository root::

    python -m benchmarks.adapter_overhead --models spikformer,spiking_cnn --presets tiny,cifar10
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch
from torch import Tensor, nn

from benchmarks.direct import LIBRARIES, SURROGATE
from step.nn import NeuronModule


class DirectNeuron(nn.Module):
    """A library LIF in place of a step neuron module."""

    def __init__(self, library: str, tau: float, threshold: float) -> None:
        super().__init__()
        self.run, self.inner = LIBRARIES[library](tau, threshold)

    def forward(self, x: Tensor) -> Tensor:
        return self.run(x)


def swap_neurons(model: nn.Module, library: str) -> int:
    """Replace every step neuron in ``model`` by a direct library LIF; returns how many."""
    swaps = []
    for name, module in model.named_modules():
        for child_name, child in module.named_children():
            if isinstance(child, NeuronModule):
                spec = child.spec
                if spec.kind != "lif" or spec.reset != "hard" or spec.v_reset != 0.0:
                    raise ValueError(f"{name}.{child_name}: only hard-reset LIF from 0 is swapped")
                swaps.append((module, child_name, DirectNeuron(library, spec.tau,
                                                               spec.v_threshold)))
    for parent, child_name, new in swaps:
        setattr(parent, child_name, new)
    return len(swaps)


def time_fwd_bwd(model: nn.Module, x: Tensor, warmup: int, repeats: int) -> float:
    times = []
    for i in range(warmup + repeats):
        model.zero_grad(set_to_none=True)
        t0 = time.perf_counter()
        model(x).logsumexp(-1).sum().backward()
        if i >= warmup:
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def overhead(name: str, preset: str, backend: str, batch: int, warmup: int,
             repeats: int) -> dict:
    import step.models as models

    surrogate = SURROGATE[backend]
    torch.manual_seed(0)
    through_step = models.create(name, preset, backend=backend, surrogate=surrogate)
    torch.manual_seed(0)
    direct = models.create(name, preset, backend="reference", surrogate=surrogate)
    n = swap_neurons(direct, backend)
    c = through_step.config
    x = torch.rand(batch, c.in_channels, c.img_size, c.img_size)
    # interleave the two so that machine load affects both alike
    t_step, t_direct = [], []
    for _ in range(3):
        t_step.append(time_fwd_bwd(through_step, x, warmup, repeats))
        t_direct.append(time_fwd_bwd(direct, x, warmup, repeats))
    s, d = statistics.median(t_step), statistics.median(t_direct)
    return {"model": name, "preset": preset, "backend": backend, "neurons": n, "batch": batch,
            "step_ms": round(s, 2), "direct_ms": round(d, 2), "overhead": round(s / d - 1, 4)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="spiking_mlp,spiking_cnn,spikformer")
    p.add_argument("--presets", default="tiny")
    p.add_argument("--backends", default=",".join(LIBRARIES))
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=None, help="write the rows as JSON to this file")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    for name in args.models.split(","):
        for preset in args.presets.split(","):
            for backend in args.backends.split(","):
                row = overhead(name, preset, backend, args.batch, args.warmup, args.repeats)
                rows.append(row)
                pct = 100 * row["overhead"]
                print(f"{name:12s} {preset:8s} {backend:13s} step {row['step_ms']:9.2f} ms  "
                      f"direct {row['direct_ms']:9.2f} ms  overhead {pct:+6.1f} %",
                      file=sys.stderr, flush=True)
    if args.out:
        from step._io import write_json

        write_json(args.out, {"schema": "step.adapter-overhead/1", "threads": args.threads,
                              "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
