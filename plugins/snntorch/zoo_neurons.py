"""snnTorch's Synaptic as the canonical CUBA LIF (imported lazily when one is built)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

from step.errors import InputError
from step.fire_rule import library_threshold
from step.nn.base import NeuronModule, State
from step.plugins.snntorch import _RESET_MECHANISM, adapter_reset_reason
from step.plugins.snntorch.neurons import _forget_global_registration, build_spike_grad
from step.specs import NeuronSpec

if TYPE_CHECKING:
    from step.backend import Backend


class SnnTorchCUBA(NeuronModule):
    """One ``snn.Synaptic`` called per step with its current and membrane passed explicitly."""

    def __init__(self, spec: NeuronSpec, backend: Backend) -> None:
        super().__init__(spec, backend.name)
        snn = backend.import_library("snntorch")
        surrogate_module = backend.import_library("snntorch.surrogate")
        self.adapter_reset = adapter_reset_reason(
            spec, backend.quirk_on("subtract_resubtracts")) is not None
        self.syn = snn.Synaptic(
            alpha=1.0 - 1.0 / spec.tau_syn, beta=1.0 - 1.0 / spec.tau,
            threshold=float(spec.v_threshold - spec.v_reset),
            spike_grad=build_spike_grad(spec.surrogate, surrogate_module),
            learn_threshold=spec.learn_threshold,
            reset_mechanism="none" if self.adapter_reset else _RESET_MECHANISM[spec.reset],
            reset_delay=False)
        _forget_global_registration(self.syn)
        self.k = 1.0 / spec.tau if spec.decay_input else 1.0  # input (and current) scale

    def _bind(self, like: Tensor) -> None:
        """alpha, beta and a fixed threshold in the input's dtype (float64 stays float64)."""
        spec, syn = self.spec, self.syn
        syn.alpha = torch.tensor(1.0 - 1.0 / spec.tau_syn, dtype=like.dtype, device=like.device)
        syn.beta = torch.tensor(1.0 - 1.0 / spec.tau, dtype=like.dtype, device=like.device)
        if not spec.learn_threshold:
            th = library_threshold(spec.v_threshold - spec.v_reset, like.dtype, spec.fire, "gt")
            syn.threshold = torch.tensor(th, dtype=like.dtype, device=like.device)

    def run(self, x: Tensor, state: State | None, record_v: bool):
        spec, syn = self.spec, self.syn
        self._bind(x)
        v_r = spec.v_reset
        if state is None:
            cur, mem = torch.zeros_like(x[0]), torch.zeros_like(x[0])
        else:
            cur, mem = state["i"] * self.k, state["v"] - v_r
            if not self.adapter_reset and spec.reset == "hard" and bool(
                    (mem > syn.threshold.detach()).any()):
                raise InputError("snntorch: a passed state above v_threshold would be zeroed by "
                                 "snnTorch's zero reset before the first step; pass the state "
                                 "a previous call left (neuron.last_state)")
        spikes, vs = [], []
        try:
            for xt in (x * self.k).unbind(0):
                spk, cur, mem = syn(xt, cur, mem)
                if self.adapter_reset:
                    s = spk.to(mem.dtype)
                    s = s.detach() if spec.detach_reset else s
                    # soft: subtract the threshold (the learnt one, frame-shifted back, so
                    # that its gradient flows through the reset too); hard: to v_reset (0)
                    if spec.reset == "soft":
                        th = syn.threshold + v_r if spec.learn_threshold else spec.v_threshold
                        mem = mem - s * th
                    else:
                        mem = mem - s * mem
                spikes.append(spk.to(x.dtype))
                if record_v:
                    vs.append(mem + v_r)
        finally:
            syn.syn = torch.zeros(0, dtype=x.dtype, device=x.device)
            syn.mem = torch.zeros(0, dtype=x.dtype, device=x.device)
            syn.reset = None
        final = {"v": mem + v_r, "i": cur / self.k}
        return torch.stack(spikes), (torch.stack(vs) if record_v else None), final
