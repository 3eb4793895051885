"""The module of :mod:`step.plugins.spikingjelly.kernels`: SpikingJelly's functional neuron on
one pinned CUDA implementation, checked after every call (imports torch)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from step.backend import State
from step.errors import UnsupportedSpecError
from step.plugins.spikingjelly.kernels import PACKAGES, pin, variable
from step.plugins.spikingjelly.neurons import SpikingJellyNeuron
from step.specs import NeuronSpec

if TYPE_CHECKING:
    from step.plugins.spikingjelly.kernels import SpikingJellyKernelBackend


class KernelNeuron(SpikingJellyNeuron):
    """:class:`SpikingJellyNeuron` whose every call runs on ``implementation``'s kernels."""

    def __init__(self, spec: NeuronSpec, backend: SpikingJellyKernelBackend) -> None:
        pin(spec.kind, backend.implementation)  # before SpikingJelly loads the kernels
        super().__init__(spec, backend)
        self.implementation = backend.implementation

    def run(self, x: Tensor, state: State | None, record_v: bool
            ) -> tuple[Tensor, Tensor | None, State]:
        impl = self.implementation
        if x.device.type != "cuda":
            raise UnsupportedSpecError(
                f"{self.backend_name} runs SpikingJelly's {impl} CUDA kernels: give it CUDA "
                f"tensors (--device cuda); on the CPU use the backend spikingjelly")
        try:
            out = super().run(x, state, record_v)
        except RuntimeError as err:  # an explicit implementation raises instead of falling back
            text = " ".join(str(err).split())
            if variable(self.spec.kind) in text or "No available" in text:
                raise UnsupportedSpecError(
                    f"SpikingJelly cannot run this on its {impl} kernels: {text}") from None
            raise
        self.check_bound(x.device)
        return out

    def check_bound(self, device: torch.device) -> None:
        """Raise unless SpikingJelly bound ``implementation`` for ``device`` (never another)."""
        module = sys.modules.get(f"spikingjelly._ops.{PACKAGES[self.spec.kind]}")
        index = device.index if device.index is not None else torch.cuda.current_device()
        chosen = None if module is None else module._selection._selections.get(index)
        name = getattr(chosen, "name", None)
        if name != self.implementation:
            raise RuntimeError(
                f"{self.backend_name}: SpikingJelly ran {self.spec.kind} on "
                f"{name or 'no CUDA kernel'!r}, not {self.implementation!r}")
