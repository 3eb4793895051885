"""STEP backend for Norse 1.1.0 (``step.backends: norse``).

Importing this module imports neither torch nor norse: ``step backends`` stays fast and
``neuron_support`` answers from the spec alone (:mod:`step.plugins.norse.mapping`). Norse is
imported on the first ``build_neuron``, through ``Backend.import_library``, so a missing or
broken install becomes one clear error with the install hint.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from step.backend import Backend
from step.hookspecs import hookimpl
from step.plugins.norse.mapping import plan
from step.specs import NeuronSpec
from step.support import Support

if TYPE_CHECKING:
    from step.nn.base import NeuronModule


class NorseBackend(Backend):
    """Norse's LIFBoxCell and IAFCell, looped over time (see the mapping module for why)."""

    name = "norse"
    library = "norse"
    distribution = "norse"
    install_hint = "pip install 'step-snn[norse]'"
    description = "Norse (LIFBoxCell / IAFCell, dt = 1)"

    def neuron_support(self, spec: NeuronSpec) -> Support:
        return plan(spec).support

    def _build_neuron(self, spec: NeuronSpec, support: Support) -> NeuronModule:
        with warnings.catch_warnings():
            # norse.torch decorates functions with torch.jit.script, which torch 2.x
            # deprecates at import time: noise for a user of step, not an error.
            warnings.filterwarnings(
                "ignore", message=r".*torch\.jit\.script.*deprecated", category=FutureWarning
            )
            self.import_library("norse.torch")
            from step.plugins.norse.neurons import NorseNeuron

        return NorseNeuron(spec, plan(spec))


@hookimpl
def step_backends() -> list[Backend]:
    return [NorseBackend()]
