"""The reference backend's one neuron module: a thin shell over the dynamics table.

Every kind, IF / LIF / PLIF and the zoo alike, registers its equations in
:mod:`step.reference._dynamics` (the base kinds in :mod:`step.reference.functional`, the zoo in the
mirrored kind modules), and :class:`ReferenceNeuron` runs them with ``simulate``. IF, LIF and PLIF
also have a fused fast path (:mod:`step.reference.fused`: the same equations with backpropagation
through time written out), chosen here by ``fused``. The module owns the learnable parameters
(real ``nn.Parameter``\\ s named as the spec's ``learnable``) and nothing else: no state survives a
call unless the caller passes it back.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from step.nn.base import NeuronModule, State

# The kind modules register their equations when imported.
from step.reference import biophysical, gated, integer, lif_variants  # noqa: F401
from step.reference._dynamics import initial_parameters, simulate
from step.reference.functional import BASE_KINDS
from step.reference.fused import run_fused
from step.specs import NeuronSpec


class ReferenceNeuron(NeuronModule):
    """Any registered kind, computed by its canonical equations."""

    #: Run IF / LIF / PLIF sequences through :mod:`step.reference.fused` (same results, several
    #: times faster); False runs their step-by-step definition like every other kind.
    fused: bool = True

    def __init__(self, spec: NeuronSpec) -> None:
        super().__init__(spec, "reference")
        for name, value in initial_parameters(spec, torch.get_default_dtype()).items():
            self.register_parameter(name, nn.Parameter(value))
        if "v_threshold" not in self._parameters:  # GLIF learns a raw one of its own
            self.v_threshold = spec.v_threshold  # a plain number, not trained

    def params(self) -> dict[str, Tensor]:
        """The learnable parameters by name, as the step functions take them."""
        return dict(self.named_parameters(recurse=False))

    def inv_tau(self) -> float | Tensor | None:
        """1/tau of IF / LIF / PLIF (None for IF): for code that steps them itself."""
        if self.spec.kind == "plif":
            return torch.sigmoid(self.w)
        if self.spec.kind == "lif":
            return 1.0 / self.spec.tau
        return None

    def run(self, x: Tensor, state: State | None, record_v: bool):
        if self.fused and self.spec.kind in BASE_KINDS:
            v0 = state["v"] if state is not None else torch.full_like(x[0], self.spec.v_reset)
            k = torch.sigmoid(self.w) if self.spec.kind == "plif" else None
            th = self.v_threshold if isinstance(self.v_threshold, Tensor) else None
            spikes, v = run_fused(self.spec, x, v0, k, th, keep_v=record_v)
            if record_v:
                return spikes, v, {"v": v[-1]}
            return spikes, None, {"v": v}
        out = simulate(self.spec, x, self.params(), state)
        return out.output, (out.v_seq if record_v else None), out.state
