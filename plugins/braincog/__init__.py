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
from step.plugins._adapter import ZOO_KINDS, LibraryBackend
from step.quirks import Quirk
from step.specs import NeuronSpec

from .mapping import BrainCogPlan, plan
from .zoo import zoo_plan

if TYPE_CHECKING:
    from step.backend import NeuronModule

#: Warnings BrainCog 0.2.7.19 triggers on import that say nothing about a user's run: timm's
#: deprecated import path, BrainCog's resnets overwriting timm's registry names, and dv's use
#: of the imp module. Only these are silenced, only during the import; errors still raise.
IMPORT_NOISE = [
    (FutureWarning, r"Importing from timm\.models\.layers is deprecated"),
    (UserWarning, r"Overwriting \w+ in registry with braincog\."),
    (DeprecationWarning, r"the imp module is deprecated"),
]


def _alpha_as_shipped(spec: NeuronSpec) -> NeuronSpec:
    """The surrogate BrainCog builds as shipped: its families at act_fun's alpha=2."""
    alpha = {"atan": 2.0, "sigmoid": 2.0, "triangle": 2.0, "rectangle": 1.0}.get(
        spec.surrogate.kind)
    if alpha is None:
        return spec
    return spec.model_copy(update={"surrogate": spec.surrogate.model_copy(
        update={"alpha": alpha})})


class BrainCogBackend(LibraryBackend):
    """BrainCog's IFNode, LIFNode and PLIFNode, one call per time step."""

    name = "braincog"
    label = "BrainCog"
    library = "braincog"
    distribution = "braincog"
    install_hint = "pip install 'step-snn[braincog]'"
    description = "BrainCog (IFNode / LIFNode / PLIFNode; hard, detached reset only)"
    fire_rules = ("gt", "ge")
    quirks = {q.name: q for q in (
        Quirk("library_fire_rule", "BrainCog fires at the rule of its surrogate (AtanGrad, "
              "QGateGrad, GateGrad: x > 0; SigmoidGrad, straight-through: x >= 0)",
              lambda spec: spec.model_copy(update={"fire": "ge" if spec.surrogate.kind in (
                  "sigmoid", "straight_through") else "gt"}) if spec.kind != "li" else spec),
        Quirk("surrogate_alpha_2", "every BrainCog node calls act_fun(alpha=2.) (node.py), "
              "so the configured surrogate alpha is ignored (GateGrad(2) is rectangle(1))",
              _alpha_as_shipped),
        Quirk("always_detached_reset", "BrainCog's nodes reset by mem *= 1 - spike.detach(): "
              "the reset is always detached",
              lambda spec: spec.model_copy(update={"detach_reset": True})
              if spec.reset != "none" else spec),
    )}

    def base_plan(self, spec: NeuronSpec) -> BrainCogPlan:
        return plan(spec)

    def zoo_plan(self, spec: NeuronSpec) -> BrainCogPlan:  # step.plugins.braincog.zoo
        return zoo_plan(spec)

    def import_modules(self) -> tuple[ModuleType, ModuleType]:
        """BrainCog's node and surrogate modules, imported once, without the import noise."""
        with warnings.catch_warnings():
            for category, message in IMPORT_NOISE:
                warnings.filterwarnings("ignore", message=message, category=category)
            nodes = self.import_library("braincog.base.node.node")
            surrogates = self.import_library("braincog.base.strategy.surrogate")
        return nodes, surrogates

    def build(self, spec: NeuronSpec, plan: BrainCogPlan) -> NeuronModule:  # type: ignore[override]
        nodes, surrogates = self.import_modules()
        if spec.kind in ZOO_KINDS:
            from .zoo_neurons import BrainCogIzhikevich

            return BrainCogIzhikevich(spec, plan, nodes, surrogates)
        from .neurons import BrainCogNeuron

        return BrainCogNeuron(spec, plan, nodes, surrogates)


@hookimpl
def step_backends() -> list[Backend]:
    return [BrainCogBackend()]
