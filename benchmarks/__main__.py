"""Benchmark runner: ``python -m benchmarks [--sizes small,issue] [--out FILE] [--docs]``.

Measures LIF layers alone and behind a Linear, forward and forward + backward, on every step
backend and on each library called directly, plus the start-up time of the ``step`` command.
Results go to JSON; ``--docs`` regenerates docs/performance.md and its plot from every results
file in benchmarks/results/.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

from benchmarks.direct import LIBRARIES, SURROGATE
from benchmarks.timing import measure, saved_tensor_bytes

SIZES = {  # name: (N, T, B)
    "small": (512, 32, 16),
    "issue": (512, 100, 16),  # the shape measured in the performance issue
    "large": (16384, 500, 16),  # the Open Neuromorphic benchmark shape (GPU)
}
RESULTS = Path(__file__).parent / "results"
SPEC = {"kind": "lif", "tau": 2.0, "v_threshold": 1.0, "v_reset": 0.0, "detach_reset": True,
        "surrogate": {"kind": "atan", "alpha": 2.0}}


def _step_runner(backend: str):
    import step.nn

    # the surrogate the direct LIF of that library computes (Norse 1.1.0 has no atan)
    spec = {**SPEC, "surrogate": SURROGATE.get(backend, SPEC["surrogate"])}
    neuron = step.nn.Neuron(spec, backend=backend)
    return neuron, neuron


def implementations(backends: list[str], direct: list[str]) -> dict[str, tuple]:
    impls = {}
    for name in backends:
        impls[f"step:{name}"] = _step_runner(name)
    for name in direct:
        impls[f"direct:{name}"] = LIBRARIES[name]()
    return impls


def bench_neurons(size: str, backends: list[str], direct: list[str], device: str,
                  warmup: int, repeats: int, progress: bool = True,
                  cases: tuple[str, ...] = ("lif", "linear+lif")) -> list[dict]:
    N, T, B = SIZES[size]
    gen = torch.Generator().manual_seed(0)
    rows = []
    for case in cases:
        linear = torch.nn.Linear(N, N).to(device) if case == "linear+lif" else None
        scale = 2.0 if linear is None else 6.0
        x0 = (torch.rand(T, B, N, generator=gen) * scale).to(device)
        for impl_name, (run, module) in implementations(backends, direct).items():
            module.to(device)
            for mode in ("forward", "forward+backward"):
                x = x0.clone().requires_grad_(mode != "forward" and linear is None)

                def forward(x=x, run=run, linear=linear):  # noqa: ANN001, ANN202
                    inp = linear(x) if linear is not None else x
                    return run(inp)

                if mode == "forward":
                    def fn(forward=forward):  # noqa: ANN001, ANN202
                        with torch.no_grad():
                            return forward()
                else:
                    def fn(forward=forward, x=x, linear=linear):  # noqa: ANN001, ANN202
                        forward().sum().backward()
                        x.grad = None
                        if linear is not None:
                            linear.zero_grad(set_to_none=True)
                m = measure(fn, device, warmup, repeats)
                saved = saved_tensor_bytes(forward) if mode != "forward" else None
                rows.append({"size": size, "N": N, "T": T, "B": B, "case": case, "mode": mode,
                             "impl": impl_name, "median_ms": round(m.median_ms, 3),
                             "min_ms": round(m.min_ms, 3), "repeats": m.repeats,
                             "saved_bytes": saved, "cuda_peak_bytes": m.cuda_peak_bytes})
                if progress:
                    print(f"  {size:6s} {case:11s} {mode:17s} {impl_name:20s} "
                          f"{m.median_ms:9.2f} ms", file=sys.stderr, flush=True)
    return rows


def startup(repeats: int = 5) -> dict[str, float]:
    out = {}
    exe = Path(sys.executable).with_name("step")
    for args in (["--help"], ["backends"]):
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run([str(exe), *args], capture_output=True, check=True)
            times.append(time.perf_counter() - t0)
        out["step " + " ".join(args)] = round(sorted(times)[len(times) // 2], 3)
    return out


def environment(device: str, threads: int) -> dict:
    from importlib.metadata import PackageNotFoundError, version

    from step._env import environment as machine

    libs = {}
    for lib in ("torch", *LIBRARIES):
        try:
            libs[lib] = version(lib)
        except PackageNotFoundError:
            libs[lib] = None
    return machine(processor=platform.processor() or platform.machine(), threads=threads,
                   device=device, libraries=libs)


def main(argv: list[str] | None = None) -> int:
    from step.registry import available_backends

    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--sizes", default="small,issue", help=f"comma list of {', '.join(SIZES)}")
    p.add_argument("--backends", default="all", help="step backends to run, or 'all'")
    p.add_argument("--direct", default="all", help="libraries called directly, or 'all'/'none'")
    p.add_argument("--cases", default="lif,linear+lif", help="lif and/or linear+lif")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--out", default=None, help="results JSON (default results/<device>.json)")
    p.add_argument("--docs", action="store_true", help="only regenerate docs/performance.md")
    p.add_argument("--no-startup", action="store_true",
                   help="skip timing the step command's start-up (10 processes)")
    args = p.parse_args(argv)
    if args.docs:
        from benchmarks.report import write_docs

        write_docs()
        return 0
    torch.set_num_threads(args.threads)
    avail = available_backends()
    backends = avail if args.backends == "all" else args.backends.split(",")
    backends = [b for b in backends if b != "numpy"]  # the example plugin has no gradient
    direct = [] if args.direct == "none" else (
        [lib for lib in LIBRARIES if lib in avail] if args.direct == "all"
        else args.direct.split(","))
    rows = []
    for size in args.sizes.split(","):
        if size not in SIZES:
            p.error(f"unknown size {size!r}: choose from {', '.join(SIZES)}")
        rows += bench_neurons(size, backends, direct, args.device, args.warmup, args.repeats,
                              cases=tuple(args.cases.split(",")))
    result = {"schema": "step.benchmarks/1", "environment": environment(args.device, args.threads),
              "startup_s": None if args.no_startup else startup(), "results": rows}
    sizes = args.sizes.replace(',', '-')
    out = Path(args.out) if args.out else RESULTS / f"{args.device.split(':')[0]}-{sizes}.json"
    from step._io import write_json

    write_json(out, result)
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
