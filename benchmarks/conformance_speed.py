"""How long the full default conformance suite takes over every available backend.

The budget is two minutes on two CPU cores for five backends (both dtypes); the catalogue is
designed around it. Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/conformance_speed.py [--dtype float32|float64|both]

It prints the wall and CPU time of the whole suite (over ``--workers`` processes, two by
default), then per backend the time its cases took (summed over the workers; the reference
expectations are not charged to any backend) and the outcome counts.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter, defaultdict

BUDGET_S = 120.0


def _cpu() -> float:
    """CPU seconds of this process and of its finished worker processes."""
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="both", choices=["float32", "float64", "both"])
    parser.add_argument("--backends", default="all", help="'all' or comma-separated names")
    parser.add_argument("--workers", type=int, default=2,
                        help="processes (the budget is for two cores: 2)")
    args = parser.parse_args()

    import torch

    from step.conformance.cases import catalogue
    from step.conformance.runner import run_suite
    from step.registry import available_backends, get_backend

    torch.set_num_threads(1)
    names = available_backends() if args.backends == "all" else args.backends.split(",")
    backends = [get_backend(n) for n in names]
    cases = catalogue(["float32", "float64"] if args.dtype == "both" else [args.dtype])
    per_backend: dict[str, float] = defaultdict(float)
    counts: dict[str, Counter[str]] = defaultdict(Counter)

    def tick(result) -> None:  # the case's own time, charged to the backend that ran it
        per_backend[result.backend] += result.seconds
        counts[result.backend][result.status.value] += 1

    wall, cpu = time.perf_counter(), _cpu()
    run_suite(backends, cases, on_result=tick, workers=args.workers)
    wall, cpu = time.perf_counter() - wall, _cpu() - cpu
    verdict = "within" if wall <= BUDGET_S else "OVER"
    print(f"conformance suite: {len(cases)} cases x {len(backends)} backends = "
          f"{len(cases) * len(backends)} results in {wall:.1f} s wall, {cpu:.1f} s CPU "
          f"({verdict} the {BUDGET_S:.0f} s budget)")
    for name in names:
        summary = ", ".join(f"{k} {v}" for k, v in sorted(counts[name].items()))
        print(f"  {name:>14}: {per_backend[name]:6.1f} s  ({summary})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
