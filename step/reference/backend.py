"""The reference backend: STEP's canonical equations in plain PyTorch.

It is the yardstick of the conformance suite and the default backend. It has no library to
import, computes every neuron kind in :mod:`step.specs` natively, and is registered through the
``step.backends`` entry point like every other backend (:mod:`step.reference.plugin`).
"""

from __future__ import annotations

from step.backend import Backend
from step.specs import NeuronSpec
from step.support import Support


class ReferenceBackend(Backend):
    name = "reference"
    library = None
    description = "canonical equations in plain PyTorch (the yardstick)"
    fire_rules = ("gt", "ge")

    def neuron_support(self, spec: NeuronSpec) -> Support:
        if spec.kind in ("if", "lif", "plif"):
            return Support.native("step.reference.functional")
        # zoo kinds: step/reference/<name>.py mirrors step/specs/<name>.py
        return Support.native("step.reference." + type(spec).__module__.rsplit(".", 1)[-1])

    def _build_neuron(self, spec: NeuronSpec, support: Support):
        from step.reference.neurons import ReferenceNeuron

        return ReferenceNeuron(spec)
