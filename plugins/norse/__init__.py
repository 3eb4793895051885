"""STEP backend for Norse 1.1.0 (``step.backends: norse``).

Importing this module imports neither torch nor norse: ``step backends`` stays fast and
``neuron_support`` answers from the spec alone (:mod:`step.plugins.norse.mapping`). Norse is
imported on the first ``build_neuron``, through ``Backend.import_library``, so a missing or
broken install becomes one clear error with the install hint.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from step.backend import Backend
from step.hookspecs import hookimpl
from step.plugins._adapter import ZOO_KINDS, LibraryBackend
from step.quirks import Quirk, library_fire_rule
from step.specs import NeuronSpec

from .mapping import NorsePlan, plan
from .zoo import zoo_plan

if TYPE_CHECKING:
    from step.backend import NeuronModule


class NorseBackend(LibraryBackend):
    """Norse's LIFBoxCell and IAFCell, looped over time (see the mapping module for why)."""

    name = "norse"
    label = "Norse"
    library = "norse"
    distribution = "norse"
    install_hint = "pip install 'step-snn[norse]'"
    description = "Norse (LIFBoxCell / IAFCell, dt = 1)"
    fire_rules = ("gt", "ge")
    quirks = {q.name: q for q in (
        library_fire_rule("gt", "Norse", "its heaviside is x > 0"),
        Quirk("super_ignores_alpha", "Norse 1.1.0's 'super' threshold method is "
              "1/(1 + |x|)^2 whatever alpha is given (fast_sigmoid(1))",
              lambda spec: spec.model_copy(update={"surrogate": spec.surrogate.model_copy(
                  update={"alpha": 1.0})}) if spec.surrogate.kind == "fast_sigmoid" else spec),
    )}

    def base_plan(self, spec: NeuronSpec) -> NorsePlan:
        return plan(spec)

    def zoo_plan(self, spec: NeuronSpec) -> NorsePlan:  # step.plugins.norse.zoo
        return zoo_plan(spec)

    def build(self, spec: NeuronSpec, plan: NorsePlan) -> NeuronModule:  # type: ignore[override]
        with quiet_import():
            self.import_library("norse.torch")
        if spec.kind in ZOO_KINDS:
            from .zoo_neurons import MODULES

            return MODULES[spec.kind](spec, plan)
        from .neurons import NorseNeuron

        return NorseNeuron(spec, plan)


@contextmanager
def quiet_import() -> Iterator[None]:
    """Import norse without its import-time noise (only that warning; errors still raise).

    norse.torch decorates functions with ``torch.jit.script``, which torch 2.x deprecates with
    a FutureWarning at import: nothing a user of step can act on.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r".*torch\.jit\.script.*deprecated", category=FutureWarning
        )
        yield


@hookimpl
def step_backends() -> list[Backend]:
    return [NorseBackend()]
