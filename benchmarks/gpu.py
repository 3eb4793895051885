"""One prepared GPU check: ``python -m benchmarks.gpu --device cuda --out runs/gpu`` (or
``benchmarks/gpu.sh``), correctness first, then speed, in under five minutes on one GPU.

Steps, each a command of its own (its own process, its own time limit), all results in
``--out``:

1. ``conformance``: the float32 catalogue's IF/LIF/PLIF cases (``--cases`` pattern below) on
   every installed backend with its modules on the device (report in ``conformance/``);
2. ``autocast``: the bf16 autocast case set on the device (``autocast/``);
3. ``kernel-cuda``, ``kernel-triton``: SpikingJelly's pinned GPU kernels (``spikingjelly-cuda``,
   ``spikingjelly-triton``), each in a process of its own with ``SJ_*_CUDA_IMPLEMENTATION`` set,
   as SpikingJelly reads it once per process; a kernel that is unavailable here is ``skipped``
   with the reason, never run as another;
4. ``train``: a short Spikformer training run on the device (``train/result.json``);
5. ``speed``: ``python -m benchmarks`` LIF timings, forward and forward + backward, every
   backend and library (``speed.json``).

``summary.json`` lists every step with its command, exit code, seconds and last output lines;
the exit code is 0 only when every step that ran passed. ``--device cpu`` is the dry run: the
same steps, scaled down (a few cases on the reference, a small MLP on 64 samples, one
repeat), which the test suite runs so that the script is known to work before a GPU is at
hand.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

#: The conformance cases of the GPU run (substring of the case ids) and of the CPU dry run.
CASES = {"cuda": "if-", "cpu": "lif-tau5/random/multi-step"}
#: Per-step time limit (seconds); the five steps stay under five minutes together on a GPU.
LIMIT_S = {"cuda": 110, "cpu": 120}
KERNEL_KINDS = ("IF", "LIF", "PLIF")


def steps(device: str, out: Path) -> list[tuple[str, list[str], dict[str, str]]]:
    """(name, command, extra environment) of every step for ``device``."""
    gpu = device.startswith("cuda")
    step_cli = [sys.executable, "-m", "step"]
    cases = CASES["cuda" if gpu else "cpu"]
    plan: list[tuple[str, list[str], dict[str, str]]] = [
        ("conformance", [*step_cli, "conformance", "--backends", "all" if gpu else "reference",
                         "--device", device,
                         "--dtype", "float32", "--cases", cases,
                         "--out", str(out / "conformance")], {}),
        ("autocast", [*step_cli, "conformance", "--backends", "all" if gpu else "reference",
                      "--device", device, "--dtype", "bf16-autocast",
                      *([] if gpu else ["--cases", "lif-tau5/random"]),
                      "--out", str(out / "autocast")], {}),
    ]
    for impl in ("cuda", "triton"):
        pinned = {f"SJ_{k}_CUDA_IMPLEMENTATION": impl for k in KERNEL_KINDS}
        plan.append((f"kernel-{impl}", [*step_cli, "conformance", "--backends",
                                        f"spikingjelly-{impl}", "--device", device, "--dtype",
                                        "float32", "--cases", cases,
                                        "--out", str(out / f"kernel-{impl}")], pinned))
    train = ["--model", "spikformer", "--preset", "tiny", "--dataset", "digits",
             "--epochs", "2", "--batch-size", "64"] if gpu else [
        "--model", "spiking_mlp", "--preset", "tiny", "--dataset", "digits", "--epochs", "1",
        "--train-subset", "64", "--eval-subset", "32"]
    plan.append(("train", [*step_cli, "train", *train, "--device", device, "--backend",
                           "spikingjelly" if gpu else "reference", "--quiet", "--overwrite",
                           "--out", str(out / "train")], {}))
    speed = ["--sizes", "issue,large", "--repeats", "5"] if gpu else [
        "--sizes", "small", "--repeats", "1", "--warmup", "1", "--backends", "reference",
        "--direct", "none", "--cases", "lif", "--no-startup"]
    plan.append(("speed", [sys.executable, "-m", "benchmarks", *speed, "--device", device,
                           "--out", str(out / "speed.json")], {}))
    return plan


def unavailable(name: str, command: list[str]) -> str | None:
    """Why a kernel step cannot run here (its backend is unavailable), or None."""
    if not name.startswith("kernel-"):
        return None
    from step.registry import backend_statuses

    backend = command[command.index("--backends") + 1]
    status = backend_statuses().get(backend)
    if status is None or not status.available:
        return status.reason if status is not None else f"no backend {backend!r}"
    return None


def run_step(name: str, command: list[str], env: dict[str, str], limit_s: int) -> dict[str, Any]:
    """Run one step to the end (or its limit); what summary.json records of it."""
    reason = unavailable(name, command)
    record: dict[str, Any] = {"step": name, "command": command, "env": env}
    if reason is not None:
        return {**record, "status": "skipped", "reason": reason}
    t0 = time.perf_counter()
    try:
        done = subprocess.run(command, env={**os.environ, **env}, capture_output=True,
                              text=True, timeout=limit_s)
        code, tail = done.returncode, (done.stdout + done.stderr).strip().splitlines()[-12:]
    except subprocess.TimeoutExpired:
        code, tail = 124, [f"stopped after its limit of {limit_s} s"]
    status = "passed" if code == 0 else "failed"
    return {**record, "status": status, "returncode": code,
            "seconds": round(time.perf_counter() - t0, 1), "output_tail": tail}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.gpu", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda", help="cuda (default) or cpu (the dry run)")
    p.add_argument("--out", default="runs/gpu", help="folder of the results")
    p.add_argument("--only", help="comma list of steps to run (default all)")
    args = p.parse_args(argv)
    from step._io import write_json
    from step.device import device_flag
    from step.errors import StepError

    try:
        device_flag(args.device)
    except StepError as err:
        sys.stderr.write(f"benchmarks.gpu: error: {err}\n")
        return 2
    out = Path(args.out)
    plan = steps(args.device, out)
    wanted = set(args.only.split(",")) if args.only else {name for name, _, _ in plan}
    limit = LIMIT_S["cuda" if args.device.startswith("cuda") else "cpu"]
    started, records = time.perf_counter(), []
    for name, command, env in plan:
        if name not in wanted:
            continue
        record = run_step(name, command, env, limit)
        records.append(record)
        print(f"{name:14s} {record['status']:8s} {record.get('seconds', '')!s:>6} "
              f"{record.get('reason', '')}", file=sys.stderr, flush=True)
        write_json(out / "summary.json", {"device": args.device, "steps": records,
                                          "seconds": round(time.perf_counter() - started, 1)})
    failed = [r["step"] for r in records if r["status"] == "failed"]
    print(json.dumps({"summary": str(out / "summary.json"), "failed": failed}))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
