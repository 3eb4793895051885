"""Does the spec's charge order cost time? ``python -m benchmarks.charge_order``.

The fused reference LIF used to charge as ``(1 - k) v + k x + k v_r`` (3 in-place operations);
it now evaluates the spec's (and SpikingJelly's) ``v + (x - (v - v_r)) / tau`` (3 to 4), which is
bit-identical to SpikingJelly and so keeps threshold ties where the official code has them. This
times both forward recursions in the same process, interleaved (so a busy machine slows both
alike), and the whole fused reference LIF forward + backward at the same sizes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from benchmarks.timing import measure

SIZES = {"small": (512, 32, 16), "issue": (512, 100, 16), "wide": (16384, 100, 16)}


def affine_order(x: torch.Tensor, tau: float) -> torch.Tensor:
    """The former charge: h = (1 - k) v + k x, hard reset to 0 at threshold 1 (the baseline)."""
    k = 1.0 / tau
    h_seq = torch.empty_like(x)
    fired = torch.empty(x.shape[1:], dtype=torch.bool)
    zero = torch.zeros((), dtype=x.dtype)
    v = torch.zeros_like(x[0])
    for t in range(x.shape[0]):
        h = h_seq[t]
        torch.mul(v, 1.0 - k, out=h)
        h.add_(x[t], alpha=k)
        torch.gt(h, 1.0, out=fired)
        v = torch.where(fired, zero, h)
    return h_seq


def spec_order(x: torch.Tensor, tau: float) -> torch.Tensor:
    """The spec's charge as the fused reference now runs it: h = v + (x - v) / tau."""
    h_seq = torch.empty_like(x)
    fired = torch.empty(x.shape[1:], dtype=torch.bool)
    zero = torch.zeros((), dtype=x.dtype)
    v = torch.zeros_like(x[0])
    for t in range(x.shape[0]):
        h = h_seq[t]
        torch.sub(x[t], v, out=h)
        h.div_(tau)
        h.add_(v)
        torch.gt(h, 1.0, out=fired)
        v = torch.where(fired, zero, h)
    return h_seq


def _interleaved(fns: dict, x: torch.Tensor, repeats: int) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn(x, 2.0)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) * 1e3 for name, ts in times.items()}


def run(sizes: list[str], repeats: int) -> dict:
    import step.nn

    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "sizes": {}}
    for size in sizes:
        N, T, B = SIZES[size]
        x = torch.rand(T, B, N) * 2
        charge = _interleaved({"affine_order_ms": affine_order, "spec_order_ms": spec_order},
                              x, repeats)
        neuron = step.nn.Neuron({"kind": "lif", "tau": 2.0, "detach_reset": True,
                                 "surrogate": {"kind": "atan", "alpha": 2.0}})
        xg = x.clone().requires_grad_()

        def fwd_bwd(neuron=neuron, xg=xg) -> None:  # noqa: ANN001
            neuron(xg).sum().backward()

        full = measure(fwd_bwd, "cpu", warmup=2, repeats=repeats).median_ms
        out["sizes"][size] = {"N": N, "T": T, "B": B, **charge,
                              "slowdown_pct": 100 * (charge["spec_order_ms"]
                                                     / charge["affine_order_ms"] - 1),
                              "fused_reference_fwd_bwd_ms": full}
        print(f"{size}: {json.dumps(out['sizes'][size])}", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="small,issue,wide")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"
                                             / "charge-order.json"))
    args = parser.parse_args()
    result = run(args.sizes.split(","), args.repeats)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
