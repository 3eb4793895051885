"""Rockpool neuron module: canonical IF / LIF (soft reset) on ``LIFNeuronTorch``.

Imported only when a neuron is built; why each mapping holds is explained in
:mod:`step.plugins.rockpool`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from step.backend import State
from step.plugins._adapter import LibraryNeuron
from step.specs import NeuronSpec, SurrogateSpec
from step.surrogates import surrogate_grad

if TYPE_CHECKING:
    from step.backend import Backend


def spike_function(step_pwl: Any, sg: SurrogateSpec) -> type:
    """A Rockpool ``spike_generation_fn``: Rockpool's ``StepPWL`` forward, step's surrogate
    backward (no gradient to the threshold, window or spike cap)."""
    kind, alpha = sg.kind, float(sg.alpha)

    class StepPWLNeutralGrad(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, v: Tensor, threshold: Tensor, window: Any, max_spikes: Any
                    ) -> Tensor:
            ctx.save_for_backward(v, threshold)
            return step_pwl.apply(v, threshold, window, max_spikes)

        @staticmethod
        def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None, None]:
            v, threshold = ctx.saved_tensors
            return grad * surrogate_grad(kind, v - threshold, alpha), None, None, None

    return StepPWLNeutralGrad


class RockpoolNeuron(LibraryNeuron):
    """One ``LIFNeuronTorch`` call per sequence (one Rockpool module per feature count)."""

    library_rule = "ge"  # StepPWL: v >= threshold

    def __init__(self, spec: NeuronSpec, backend: Backend) -> None:
        super().__init__(spec, backend.name, owns_w=False, owns_threshold=True)
        modules = backend.import_library("rockpool.nn.modules")
        self._lif_class = modules.LIFNeuronTorch
        step_pwl = backend.import_library("rockpool.nn.modules.torch.lif_neuron_torch").StepPWL
        self._spike_fn = spike_function(step_pwl, spec.surrogate)
        # Rockpool modules by feature count; a plain dict, so that their Parameters are not
        # this module's (the adapter sets them every call)
        self._rockpool: dict[int, Any] = {}

    def _k(self) -> float:
        return 0.0 if self.spec.kind == "if" else 1.0 / self.spec.tau

    def _module(self, n: int, dtype: torch.dtype) -> Any:
        """Rockpool's module for ``n`` features with this call's parameters in ``dtype``."""
        if n not in self._rockpool:
            lif = self._lif_class(shape=(n,), dt=1.0, spike_generation_fn=self._spike_fn,
                                  max_spikes_per_dt=1.0)
            for _, parameter in lif.named_parameters():  # set by the adapter, never trained
                parameter.requires_grad = False
            self._rockpool[n] = lif
        lif = self._rockpool[n]
        k = self._k()
        tau_mem = math.inf if k == 0.0 else -1.0 / math.log1p(-k)
        th = float(self.v_threshold) if self.spec.learn_threshold else self.spec.v_threshold
        # [n]-shaped, so that float32 spikes times the threshold promote to the input's dtype
        lif.tau_mem.data = torch.full((n,), tau_mem, dtype=torch.float64)
        lif.threshold.data = torch.full((n,), self.fire_threshold(th, dtype), dtype=dtype)
        lif.bias.data = torch.full((n,), self.spec.v_reset * k, dtype=dtype)
        return lif

    @contextmanager
    def bound(self, x: Tensor) -> Iterator[None]:
        """Rockpool builds its output and record buffers with torch's default dtype and draws
        its (zero-scaled) noise from the global generator: bind the one, fork the other."""
        previous = torch.get_default_dtype()
        torch.set_default_dtype(x.dtype)
        try:
            with torch.random.fork_rng(devices=[]):
                yield
        finally:
            torch.set_default_dtype(previous)

    def drive(self, x: Tensor) -> Tensor:
        k = self._k()
        return x * k if (k and self.spec.decay_input) else x

    def start(self, x: Tensor, state: State | None) -> Tensor:
        if state is not None:
            return state["v"].to(x.dtype)
        return torch.full_like(x[0], float(self.spec.v_reset))

    def membrane(self, v: Tensor) -> Tensor:
        return v

    def run(self, x: Tensor, state: State | None, record_v: bool
            ) -> tuple[Tensor, Tensor | None, dict[str, Tensor]]:
        t, b = x.shape[:2]
        v0 = self.start(x, state).reshape(b, -1)
        drive = self.drive(x).reshape(t, b, -1).movedim(0, 1)  # Rockpool: [B, T, N]
        lif = self._module(drive.shape[-1], x.dtype)
        # Rockpool leaves batch element 0's last membrane in its vmem state: start from 0
        lif.vmem = torch.zeros(drive.shape[-1], dtype=x.dtype, device=x.device)
        # Rockpool's vmem state holds one value per neuron, not per batch element: the module
        # starts from vmem = 0 and the batch's own start enters with the first input. Its first
        # step computes (0 * alpha + drive[0]) + bias, so adding alpha * v0 (in the input's
        # dtype, as Rockpool's in-place vmem *= alpha rounds) is that step from v0 exactly.
        alpha = torch.exp(-1.0 / lif.tau_mem)  # Rockpool's tau_to_decay with dt = 1
        first = drive[:, 0] + (v0 * alpha).to(x.dtype)
        drive = torch.cat([first.unsqueeze(1), drive[:, 1:]], dim=1)
        with self.bound(x):
            # record: the membrane trace (the final state is its last step, for every batch
            # element; Rockpool's own vmem state keeps batch element 0 only)
            spikes, _, record = lif.evolve(drive, record=True)
        v_seq = record["vmem"]
        spikes = spikes.movedim(1, 0).reshape(x.shape).to(x.dtype)
        v_seq = v_seq.movedim(1, 0).reshape(x.shape)
        return spikes, (v_seq if record_v else None), {"v": v_seq[-1]}
