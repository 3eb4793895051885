"""STEP backend for BrainCog 0.2.7.19 (``step.backends: braincog``).

Importing this module imports neither torch nor BrainCog (which takes seconds and pulls in
timm's model registry): ``step backends`` stays fast and ``neuron_support`` answers from the
spec alone (:mod:`step.plugins.braincog.mapping`). BrainCog is imported on the first
``build_neuron``, through ``Backend.import_library``, so a missing or broken install becomes
one clear error with the install hint.
"""

from __future__ import annotations

import warnings
from types import ModuleType
from typing import TYPE_CHECKING

from step.backend import Backend
from step.hookspecs import hookimpl
from step.specs import NeuronSpec
from step.support import Support

from .mapping import plan
from .zoo import ZOO_KINDS, zoo_plan

if TYPE_CHECKING:
    from step.nn.base import NeuronModule

#: Warnings BrainCog 0.2.7.19 triggers on import that say nothing about a user's run: timm's
#: deprecated import path, BrainCog's resnets overwriting timm's registry names, and dv's use
#: of the imp module. Only these are silenced, only during the import; errors still raise.
IMPORT_NOISE = [
    (FutureWarning, r"Importing from timm\.models\.layers is deprecated"),
    (UserWarning, r"Overwriting \w+ in registry with braincog\."),
    (DeprecationWarning, r"the imp module is deprecated"),
]


class BrainCogBackend(Backend):
    """BrainCog's IFNode, LIFNode and PLIFNode, one call per time step."""

    name = "braincog"
    library = "braincog"
    distribution = "braincog"
    install_hint = "pip install 'step-snn[braincog]'"
    description = "BrainCog (IFNode / LIFNode / PLIFNode; hard, detached reset only)"
    fire_rules = ("gt", "ge")

    def neuron_support(self, spec: NeuronSpec) -> Support:
        if spec.kind in ZOO_KINDS:  # the neuron zoo: step.plugins.braincog.zoo
            return zoo_plan(spec).support
        return plan(spec).support

    def import_modules(self) -> tuple[ModuleType, ModuleType]:
        """BrainCog's node and surrogate modules, imported once, without the import noise."""
        with warnings.catch_warnings():
            for category, message in IMPORT_NOISE:
                warnings.filterwarnings("ignore", message=message, category=category)
            nodes = self.import_library("braincog.base.node.node")
            surrogates = self.import_library("braincog.base.strategy.surrogate")
        return nodes, surrogates

    def _build_neuron(self, spec: NeuronSpec, support: Support) -> NeuronModule:
        nodes, surrogates = self.import_modules()
        if spec.kind in ZOO_KINDS:
            from .zoo_neurons import BrainCogIzhikevich

            return BrainCogIzhikevich(spec, zoo_plan(spec), nodes, surrogates)
        from .neurons import BrainCogNeuron

        return BrainCogNeuron(spec, plan(spec), nodes, surrogates)


@hookimpl
def step_backends() -> list[Backend]:
    return [BrainCogBackend()]
