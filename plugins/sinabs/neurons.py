"""Sinabs neuron module: canonical IF / LIF / PLIF on ``sinabs.layers.functional.lif_forward``.

Imported only when a neuron is built (it imports torch; Sinabs is imported through
:meth:`step.backend.Backend.import_library`). Why each mapping holds is explained in
:mod:`step.plugins.sinabs`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from step.backend import State
from step.plugins._adapter import LibraryNeuron
from step.plugins.sinabs.mapping import reset_support
from step.specs import NeuronSpec
from step.support import Level
from step.surrogates import surrogate_grad

if TYPE_CHECKING:
    from step.backend import Backend


class SinabsNeuron(LibraryNeuron):
    """One call of Sinabs' ``lif_forward`` per sequence, in the frame ``v_mem = v - v_reset``."""

    library_rule = "ge"  # SingleSpike: v_mem - spike_threshold >= 0

    def __init__(self, spec: NeuronSpec, backend: Backend) -> None:
        super().__init__(spec, backend.name, owns_threshold=True)
        self._functional = backend.import_library("sinabs.layers.functional")
        self._activation = backend.import_library("sinabs.activation")
        self._exp_decay = backend.quirk_on("exp_decay")
        self._own_reset = reset_support(spec).forward is Level.EMULATED
        sg = spec.surrogate
        if sg.kind == "gaussian":
            self._surrogate: Any = self._activation.Gaussian(
                mu=0.0, sigma=1.0 / (float(sg.alpha) * math.sqrt(2.0)))
        else:
            kind, alpha = sg.kind, float(sg.alpha)

            def neutral(v_mem: Tensor, spike_threshold: Any) -> Tensor:
                return surrogate_grad(kind, v_mem - spike_threshold, alpha)

            self._surrogate = neutral

    # -- parameter mapping ------------------------------------------------------------------
    def _alpha(self, dtype: torch.dtype) -> float | Tensor:
        spec = self.spec
        if spec.kind == "if":
            return 1.0
        if spec.kind == "plif":
            return 1.0 - torch.sigmoid(self.w).to(dtype)
        return math.exp(-1.0 / spec.tau) if self._exp_decay else 1.0 - 1.0 / spec.tau

    def _threshold(self, dtype: torch.dtype) -> float | Tensor:
        """The spec's threshold (a learnt tensor or a float) in the shifted frame."""
        if self.spec.learn_threshold:
            return self.v_threshold.to(dtype) - self.spec.v_reset
        return float(self.spec.v_threshold) - float(self.spec.v_reset)

    def _reset_fn(self, dtype: torch.dtype, device: torch.device) -> Any:
        spec, act = self.spec, self._activation
        if self._own_reset:
            return self._canonical_reset
        if spec.reset == "hard":
            return act.MembraneReset(reset_value=0.0)
        if spec.reset == "none":
            return act.MembraneSubtract(subtract_value=0.0)
        # soft: a [1]-shaped tensor so that float32 spikes times it promote to its dtype
        th = self.v_threshold.to(dtype).reshape(1) if spec.learn_threshold else \
            torch.tensor([float(spec.v_threshold)], dtype=dtype, device=device)
        return act.MembraneSubtract(subtract_value=th)

    def _canonical_reset(self, spikes: Tensor, state: dict, threshold: Any) -> dict:
        """The spec's reset as a Sinabs ``reset_fn`` (where Sinabs' own cannot detach or
        attach the spike as the spec asks)."""
        v = state["v_mem"]
        s = spikes.to(v.dtype)
        if self.spec.detach_reset:
            s = s.detach()
        new = state.copy()
        if self.spec.reset == "hard":  # reset to v_reset = 0 in the shifted frame
            new["v_mem"] = (1.0 - s) * v
        else:
            th = self.v_threshold.to(v.dtype) if self.spec.learn_threshold else \
                float(self.spec.v_threshold)
            new["v_mem"] = v - s * th
        return new

    # -- the whole sequence in one library call -----------------------------------------------
    def start(self, x: Tensor, state: State | None) -> Tensor:
        if state is not None:
            return state["v"].to(x.dtype) - self.spec.v_reset
        return torch.zeros_like(x[0])

    def membrane(self, v_mem: Tensor) -> Tensor:
        return v_mem + self.spec.v_reset

    def run(self, x: Tensor, state: State | None, record_v: bool
            ) -> tuple[Tensor, Tensor | None, dict[str, Tensor]]:
        spec = self.spec
        v0 = self.start(x, state)
        threshold = self.fire_threshold(self._threshold(x.dtype), x.dtype)
        spikes, final, rec = self._functional.lif_forward(
            input_data=x.movedim(0, 1),  # Sinabs is batch-first: [B, T, ...]
            alpha_mem=self._alpha(x.dtype),
            alpha_syn=None,
            state={"v_mem": v0},
            spike_threshold=threshold,
            spike_fn=self._activation.SingleSpike,
            reset_fn=self._reset_fn(x.dtype, x.device),
            surrogate_grad_fn=self._surrogate,
            min_v_mem=None,
            norm_input=spec.kind != "if" and spec.decay_input,
            record_states=record_v,
        )
        v_seq = self.membrane(rec["v_mem"].movedim(1, 0)) if record_v else None
        return spikes.movedim(1, 0).to(x.dtype), v_seq, {"v": self.membrane(final["v_mem"])}
