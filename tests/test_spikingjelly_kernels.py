"""SpikingJelly's GPU kernels as backends (spikingjelly-cuda, -triton; -cupy says why not).

Without an NVIDIA GPU they are unavailable with the reason; their plans are checked with the
driver check patched; on a GPU (skipped here) the conformance suite runs on each kernel.
"""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest
import torch

from step.errors import BackendUnavailableError, UnsupportedSpecError
from step.plugins.spikingjelly import kernels
from step.registry import backend_statuses, get_backend, load_plugins
from step.specs import IFSpec, LIFSpec, SurrogateSpec
from step.support import Level

pytest.importorskip("spikingjelly")


def test_cupy_is_never_available_and_says_why():
    status = backend_statuses()["spikingjelly-cupy"]
    assert not status.available and "no CuPy back-end" in status.reason
    with pytest.raises(BackendUnavailableError, match="no CuPy back-end"):
        get_backend("spikingjelly-cupy")


@pytest.fixture
def no_driver(monkeypatch, tmp_path, fresh_registry):
    monkeypatch.setattr(kernels, "NVIDIA_DRIVER", tmp_path / "missing")
    load_plugins(reload=True)


@pytest.fixture
def driver(monkeypatch, tmp_path, fresh_registry):
    """A machine with an NVIDIA driver, in a process whose SpikingJelly has not loaded its
    IF/LIF/PLIF kernels yet (other tests in this process may have: hidden for the test)."""
    version = tmp_path / "version"
    version.write_text("NVRM version: test\n")
    monkeypatch.setattr(kernels, "NVIDIA_DRIVER", version)
    for package in kernels.PACKAGES.values():
        monkeypatch.delitem(sys.modules, f"spikingjelly._ops.{package}", raising=False)
    load_plugins(reload=True)


def test_without_a_gpu_the_kernels_are_unavailable(no_driver):
    for name in ("spikingjelly-cuda", "spikingjelly-triton"):
        status = backend_statuses()[name]
        assert not status.available and "no NVIDIA driver" in status.reason
        with pytest.raises(BackendUnavailableError, match="NVIDIA GPUs only"):
            get_backend(name)


def test_plans_name_the_kernel_and_refuse_what_only_the_torch_path_computes(driver):
    triton = get_backend("spikingjelly-triton")
    s = triton.neuron_support(LIFSpec(tau=2.0))
    assert s.forward is Level.NATIVE and "SJ_LIF_CUDA_IMPLEMENTATION=triton" in s.forward_how
    odd = LIFSpec(surrogate=SurrogateSpec(kind="fast_sigmoid", alpha=3.0))
    assert "fuse only its built-in surrogates" in triton.neuron_support(odd).forward_how
    assert triton.neuron_support(odd).forward is Level.UNSUPPORTED
    assert triton.neuron_support(IFSpec(reset="none")).forward is Level.UNSUPPORTED


def test_a_process_that_loaded_other_kernels_refuses(driver, monkeypatch):
    fake = SimpleNamespace(_selection=SimpleNamespace(_requested="auto"))
    monkeypatch.setitem(sys.modules, "spikingjelly._ops.lif", fake)
    s = get_backend("spikingjelly-cuda").neuron_support(LIFSpec())
    assert s.forward is Level.UNSUPPORTED and "in a process of its own" in s.forward_how
    with pytest.raises(UnsupportedSpecError, match="SJ_LIF_CUDA_IMPLEMENTATION='auto'"):
        kernels.pin("lif", "cuda")


def test_a_cpu_tensor_is_refused_in_one_line(driver, monkeypatch):
    monkeypatch.setenv("SJ_IF_CUDA_IMPLEMENTATION", "auto")  # restored after the test
    neuron = get_backend("spikingjelly-triton").build_neuron(IFSpec())
    with pytest.raises(UnsupportedSpecError, match="give it CUDA tensors"):
        neuron(torch.ones(2, 1, 3))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("name", ["spikingjelly-cuda", "spikingjelly-triton"])
def test_each_kernel_conforms_on_cuda(name):
    import subprocess

    # one process per kernel: SpikingJelly reads its implementation once per process
    done = subprocess.run([sys.executable, "-m", "step", "conformance", "--backends", name,
                           "--cases", "lif-tau5", "--dtype", "float32", "--device", "cuda",
                           "--out", f"/tmp/step-{name}"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
