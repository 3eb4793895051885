"""The reference module of the neuron zoo: a thin shell over ``_dynamics.simulate``.

IF / LIF / PLIF keep their own module (:class:`step.reference.neurons.ReferenceNeuron`, with
its fused fast path); every other registered kind runs here. The module owns the learnable
parameters (real ``nn.Parameter``\\ s named as the spec's ``learnable``) and nothing else: no
state survives a call unless the caller passes it back.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from step.nn.base import NeuronModule, State

# The kind modules register their equations when imported.
from step.reference import biophysical, gated, integer, lif_variants  # noqa: F401
from step.reference._dynamics import DYNAMICS, initial_parameters, simulate
from step.specs import NeuronSpec


def has_dynamics(kind: str) -> bool:
    """Whether ``kind`` runs on :class:`ZooNeuron`."""
    return kind in DYNAMICS


class ZooNeuron(NeuronModule):
    """Any zoo kind, computed by its registered step functions."""

    def __init__(self, spec: NeuronSpec) -> None:
        super().__init__(spec, "reference")
        for name, value in initial_parameters(spec, torch.get_default_dtype()).items():
            self.register_parameter(name, nn.Parameter(value))

    def params(self) -> dict[str, Tensor]:
        """The learnable parameters by name, as the step functions take them."""
        return dict(self.named_parameters(recurse=False))

    def run(self, x: Tensor, state: State | None, record_v: bool):
        out = simulate(self.spec, x, self.params(), state)
        return out.output, (out.v_seq if record_v else None), out.state
