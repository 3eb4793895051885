"""Forward + backward time of every model's ``tiny`` preset on the reference backend.

Median over repeats after warm-up, in milliseconds per batch. Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/models_speed.py --batch 32 --repeats 20

``--img-size 32 --in-channels 3`` times the tiny presets on CIFAR-sized input instead of 8x8.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import step.models as models


def time_model(name: str, batch: int, repeats: int, warmup: int, **overrides: object) -> float:
    """Median milliseconds of one forward + backward of ``name``'s tiny preset."""
    torch.manual_seed(0)
    model = models.create(name, "tiny", **overrides)
    c = model.config
    x = torch.rand(batch, c.in_channels, c.img_size, c.img_size)
    times = []
    for i in range(warmup + repeats):
        model.zero_grad(set_to_none=True)
        start = time.perf_counter()
        model(x).logsumexp(-1).sum().backward()
        if i >= warmup:
            times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--img-size", type=int, default=None)
    parser.add_argument("--in-channels", type=int, default=None)
    parser.add_argument("--pattern", default="*", help="wildcard on model names")
    args = parser.parse_args()
    overrides = {k: v for k, v in (("img_size", args.img_size),
                                   ("in_channels", args.in_channels)) if v is not None}
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, batch {args.batch}, "
          f"median of {args.repeats} after {args.warmup} warm-up")
    print(f"{'model':<18}{'params':>10}{'ms/batch':>12}")
    for name in models.list_models(args.pattern):
        params = models.count_parameters(name, "tiny", **overrides)
        ms = time_model(name, args.batch, args.repeats, args.warmup, **overrides)
        print(f"{name:<18}{params:>10,}{ms:>12.2f}")


if __name__ == "__main__":
    main()
