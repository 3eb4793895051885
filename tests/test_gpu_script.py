"""The prepared GPU check (benchmarks/gpu.py, benchmarks/gpu.sh) passes its CPU dry run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_cpu_dry_run_passes_and_records_every_step(tmp_path: Path):
    done = subprocess.run([sys.executable, "-m", "benchmarks.gpu", "--device", "cpu",
                           "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    status = {r["step"]: r["status"] for r in summary["steps"]}
    assert list(status) == ["conformance", "autocast", "kernel-cuda", "kernel-triton", "train",
                            "speed"]
    assert all(status[s] == "passed" for s in ("conformance", "autocast", "train", "speed"))
    # without a GPU the pinned kernels are skipped with the reason, never run as another
    for kernel in ("kernel-cuda", "kernel-triton"):
        record = next(r for r in summary["steps"] if r["step"] == kernel)
        assert status[kernel] in ("skipped", "passed")
        if status[kernel] == "skipped":
            assert "NVIDIA" in record["reason"]
    assert json.loads((tmp_path / "train" / "result.json").read_text())["test"]["acc"] >= 0
    assert (tmp_path / "conformance" / "report.json").is_file()
    assert json.loads((tmp_path / "speed.json").read_text())["results"]


def test_a_gpu_run_without_a_gpu_is_one_line(tmp_path: Path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    done = subprocess.run([sys.executable, "-m", "benchmarks.gpu", "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "no CUDA GPU" in done.stderr
    assert not any(tmp_path.iterdir())
