"""The reference backend's neuron module: a thin shell over :mod:`step.reference.functional`."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from step.nn.base import NeuronModule, State
from step.reference.functional import neuron_step, run_sequence
from step.reference.fused import run_fused
from step.specs import NeuronSpec


class ReferenceNeuron(NeuronModule):
    """IF, LIF and PLIF computed by the canonical equations."""

    def __init__(self, spec: NeuronSpec) -> None:
        super().__init__(spec, "reference")
        if spec.learn_threshold:
            self.v_threshold = nn.Parameter(torch.tensor(spec.v_threshold))
        else:
            self.v_threshold = spec.v_threshold
        if spec.kind == "plif":
            # 1/tau = sigmoid(w), w0 = -ln(tau - 1)
            self.w = nn.Parameter(torch.tensor(spec.initial_w))

    def inv_tau(self) -> float | Tensor | None:
        if self.spec.kind == "plif":
            return torch.sigmoid(self.w)
        if self.spec.kind == "lif":
            return 1.0 / self.spec.tau
        return None

    #: Run whole sequences through :mod:`step.reference.fused` (same results, several times
    #: faster); False runs the step-by-step definition in :mod:`step.reference.functional`.
    fused: bool = True

    def run(self, x: Tensor, state: State | None, record_v: bool):
        v0 = state["v"] if state is not None else torch.full_like(x[0], self.spec.v_reset)
        if self.fused:
            k = torch.sigmoid(self.w) if self.spec.kind == "plif" else None
            th = self.v_threshold if isinstance(self.v_threshold, Tensor) else None
            spikes, v = run_fused(self.spec, x, v0, k, th, keep_v=record_v)
            if record_v:
                return spikes, v, {"v": v[-1]}
            return spikes, None, {"v": v}
        inv_tau = self.inv_tau()
        v_th = self.v_threshold

        tau = self.spec.tau if self.spec.kind == "lif" else None

        def step(xt: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
            s, v_next, _ = neuron_step(self.spec, xt, v, v_th, inv_tau, tau)
            return s, v_next

        spikes, v_seq, v_last = run_sequence(step, x, v0, record_v)
        return spikes, v_seq, {"v": v_last}
