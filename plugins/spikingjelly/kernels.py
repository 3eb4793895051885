"""SpikingJelly's GPU kernels as backends of their own: ``spikingjelly-cuda``,
``spikingjelly-triton`` (and ``spikingjelly-cupy``, which says why it cannot exist).

On CUDA, SpikingJelly 2.0.0 picks one implementation per neuron operator: its compiled
``cuda`` kernels, else ``triton``, else ``torch`` (``SJ_LIF_CUDA_IMPLEMENTATION=auto``). The
plain ``spikingjelly`` backend leaves that choice to SpikingJelly; these backends pin it, so the
conformance suite checks each kernel like any backend (SpikingJelly fixed a silent
zero-gradient bug in five of its Triton surrogates in 2026: a suite run per kernel is how a user
catches such a thing). The CuPy back-end of SpikingJelly 0.0.0.0.14 is gone in 2.0.0 (no
``backend=`` argument, no CuPy code): ``spikingjelly-cupy`` is listed as unavailable with that
reason, never run as something else.

How the kernel is pinned, and why a process runs one kernel only: SpikingJelly reads
``SJ_<KIND>_CUDA_IMPLEMENTATION`` once, when it first loads the kernels of a neuron kind
(``spikingjelly._ops.lif`` and so on), and an explicit value allows only that implementation
(it raises instead of falling back). The module sets the variable before that first load; if
this process has already loaded the kind with another value (the plain backend ran it first),
the spec is ``unsupported`` with the command to run instead. After every call the module checks
the implementation SpikingJelly bound for the device, and a float64 input or a surrogate the
kernels do not fuse (which only the torch path takes) is refused with SpikingJelly's own
message: nothing is ever computed by another implementation under this backend's name.

Availability is decided without importing torch (``step backends`` stays fast): the library,
``triton`` for the Triton kernels, and an NVIDIA driver (``/proc/driver/nvidia/version``); a
CPU tensor given to these modules is refused in one line.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from step.plugins._adapter import Plan
from step.plugins.spikingjelly import SpikingJellyBackend
from step.plugins.spikingjelly.mapping import native_surrogate, plan
from step.specs import NeuronSpec
from step.support import Level, Support

if TYPE_CHECKING:
    from step.backend import NeuronModule

#: SpikingJelly's operator package of each base kind (``spikingjelly._ops.<package>``).
PACKAGES = {"if": "if_", "lif": "lif", "plif": "plif"}
#: Where Linux shows a loaded NVIDIA driver (read without importing torch).
NVIDIA_DRIVER = Path("/proc/driver/nvidia/version")


def variable(kind: str) -> str:
    """SpikingJelly's environment variable that selects the CUDA kernels of ``kind``."""
    return f"SJ_{kind.upper()}_CUDA_IMPLEMENTATION"


def loaded_with(kind: str) -> str | None:
    """The implementation this process's SpikingJelly was asked for when it loaded ``kind``'s
    kernels (None: not loaded yet)."""
    module = sys.modules.get(f"spikingjelly._ops.{PACKAGES[kind]}")
    return None if module is None else module._selection._requested


class SpikingJellyKernelBackend(SpikingJellyBackend):
    """SpikingJelly's IF, LIF and PLIF on one pinned CUDA implementation."""

    implementation: ClassVar[str]
    install_hint = ("an NVIDIA GPU with its driver, then pip install 'step-snn[spikingjelly]' "
                    "(and triton for the Triton kernels)")

    def availability(self) -> tuple[bool, str]:
        available, reason = super().availability()
        if not available:
            return available, reason
        if self.implementation == "triton" and importlib.util.find_spec("triton") is None:
            return False, "SpikingJelly's Triton kernels need the triton package"
        if not NVIDIA_DRIVER.exists():
            return False, (f"SpikingJelly's {self.implementation} kernels run on NVIDIA GPUs "
                           f"only: no NVIDIA driver on this machine ({NVIDIA_DRIVER} is "
                           "missing); on the CPU use the backend spikingjelly")
        return True, ""

    def zoo_plan(self, spec: NeuronSpec) -> Plan:
        return Plan(Support.unsupported(
            f"{self.name} pins the kernels of IF, LIF and PLIF only; run {spec.kind} on the "
            "backend spikingjelly"))

    def base_plan(self, spec: NeuronSpec) -> Plan:
        base = plan(spec).support
        if base.forward is Level.UNSUPPORTED:
            return Plan(base)
        impl, var = self.implementation, variable(spec.kind)
        if spec.reset == "none":
            return Plan(Support.unsupported(
                "the adapter's reset-free emulation runs SpikingJelly's torch path, not its "
                f"{impl} kernels"))
        if native_surrogate(spec.surrogate) is None:
            return Plan(Support.unsupported(
                f"SpikingJelly's {impl} kernels fuse only its built-in surrogates, and "
                f"{spec.surrogate.kind}(alpha={spec.surrogate.alpha:g}) has none equal to it "
                "(the plain spikingjelly backend plugs step's formula into its torch path)"))
        loaded = loaded_with(spec.kind)
        if loaded not in (None, impl):
            return Plan(Support.unsupported(
                f"this process already loaded SpikingJelly's {spec.kind} kernels with {var}="
                f"{loaded!r} (SpikingJelly reads it once): run {self.name} in a process of "
                f"its own, e.g. {var}={impl} step conformance --backends {self.name} "
                "--device cuda"))
        how = f"SpikingJelly's {impl} CUDA kernels ({var}={impl}, checked after every call)"
        return Plan(Support(base.forward, base.gradient, f"{base.forward_how}; {how}",
                            f"{base.gradient_how}; {how}"))

    def build(self, spec: NeuronSpec, plan: Plan) -> NeuronModule:
        from step.plugins.spikingjelly.kernel_neuron import KernelNeuron

        return KernelNeuron(spec, self)


class SpikingJellyCudaBackend(SpikingJellyKernelBackend):
    name = "spikingjelly-cuda"
    implementation = "cuda"
    description = "SpikingJelly 2.x on its compiled CUDA kernels only (NVIDIA GPU)"


class SpikingJellyTritonBackend(SpikingJellyKernelBackend):
    name = "spikingjelly-triton"
    implementation = "triton"
    description = "SpikingJelly 2.x on its Triton kernels only (NVIDIA GPU)"


class SpikingJellyCupyBackend(SpikingJellyKernelBackend):
    name = "spikingjelly-cupy"
    implementation = "cupy"
    description = "SpikingJelly's former CuPy kernels (gone in SpikingJelly 2.x)"
    install_hint = ""

    def availability(self) -> tuple[bool, str]:
        return False, ("SpikingJelly 2.0.0 has no CuPy back-end (its GPU kernels are "
                       "compiled CUDA and Triton: spikingjelly-cuda, spikingjelly-triton)")


def pin(kind: str, implementation: str) -> None:
    """Ask SpikingJelly for ``implementation`` before it loads ``kind``'s kernels (it reads
    the variable once); refuse when this process loaded them with another value."""
    from step.errors import UnsupportedSpecError

    loaded = loaded_with(kind)
    if loaded is None:
        os.environ[variable(kind)] = implementation
    elif loaded != implementation:
        raise UnsupportedSpecError(
            f"this process already loaded SpikingJelly's {kind} kernels with "
            f"{variable(kind)}={loaded!r}: run spikingjelly-{implementation} in a process of "
            "its own")


__all__ = ["SpikingJellyCudaBackend", "SpikingJellyCupyBackend", "SpikingJellyKernelBackend",
           "SpikingJellyTritonBackend", "pin"]
