"""snnTorch adapter (``step.backends: snntorch``), for snntorch 1.0.0.

Every neuron is one ``snn.Leaky(reset_delay=False)`` called once per time step with the
membrane passed explicitly (``spk, mem = leaky(x_t, mem)``), never through its hidden-state
machinery (``init_hidden``, ``reset_hidden``), which re-zeroes the state silently whenever the
input shape changes and is shared through a global list. The canonical equations are in
:mod:`step.specs.neuron`; :mod:`.mapping` decides, from the spec alone and without importing torch
or snnTorch, how the library computes it.

Mapping (see ``shared/reference/backends.md``). ``Leaky`` computes
``mem = beta * mem + input`` and never scales the input, so with ``k = 1/tau`` (IF: ``k = 0``):
``beta = 1 - k``, and the input fed is ``x * k`` with ``decay_input``, ``x`` without. Hard and
no reset work in the frame ``mem = v - v_reset`` with threshold ``v_threshold - v_reset`` (the
zero reset is the canonical reset to ``v_reset``); the soft reset in the frame ``mem = v`` with
threshold ``v_threshold``, where the leak towards ``v_reset`` becomes an input offset
``v_reset * k``. snnTorch fires on a strict ``mem - threshold > 0`` (``fire="gt"``); for
``fire="ge"`` the adapter sets the threshold one ulp lower in the input's dtype
(:mod:`step.fire_rule`).

Where the library's own reset is used (``"zero"``, ``"none"``), it is native. Leaky's immediate
reset (``reset_delay=False``) recomputes the previous step's spike from the stored membrane
(``reset = H(mem - threshold)``) and subtracts it again before firing, which is only right
while the membrane after reset is at or below threshold. After a soft reset it often is not
(IF, threshold 1, input 2.5, 0, 0 gives spikes 1, 0, 0 and a membrane stuck at 1.5; the
canonical answer is 1, 1, 0), nor after a zero reset when ``v_threshold < v_reset``; and the
reset cannot be detached. In those cases the adapter runs ``Leaky(reset_mechanism="none")``
(library charge and fire) and applies the reset itself: reported ``emulated``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from step.backend import Backend
from step.hookspecs import hookimpl
from step.plugins._adapter import ZOO_KINDS, LibraryBackend, Plan
from step.quirks import Quirk, library_fire_rule
from step.specs import NeuronSpec

# the mapping's parts, also used by the zoo and the module
from .mapping import (  # noqa: F401
    _RESET_MECHANISM,
    NATIVE_SURROGATES,
    _surrogate_support,
    adapter_reset_reason,
    fire_rule_support,
    plan,
)
from .zoo import zoo_support

if TYPE_CHECKING:
    from step.backend import NeuronModule


class SnnTorchBackend(LibraryBackend):
    """IF and LIF on ``snn.Leaky`` (PLIF emulated on it), looped over time by the adapter."""

    name = "snntorch"
    label = "snnTorch"
    library = "snntorch"
    distribution = "snntorch"
    install_hint = "pip install 'step-snn[snntorch]'"
    description = "snnTorch 1.x snn.Leaky (reset_delay=False, explicit membrane), looped over T"
    fire_rules = ("gt", "ge")
    quirks = {q.name: q for q in (
        library_fire_rule("gt", "snnTorch", "mem - threshold > 0"),
        Quirk("subtract_resubtracts", "snnTorch's immediate 'subtract' reset re-subtracts the "
              "threshold whenever the membrane after reset is still above it (snn.Leaky "
              "reset_mechanism='subtract', reset_delay=False)",
              when=lambda spec: spec.reset == "soft"),
    )}

    def zoo_plan(self, spec: NeuronSpec) -> Plan:  # step.plugins.snntorch.zoo
        return Plan(zoo_support(spec, self.quirk_on("subtract_resubtracts")))

    def base_plan(self, spec: NeuronSpec) -> Plan:
        return plan(spec, self.quirk_on("subtract_resubtracts"))

    def build(self, spec: NeuronSpec, plan: Plan) -> NeuronModule:
        if spec.kind in ZOO_KINDS:
            from step.plugins.snntorch.zoo_neurons import SnnTorchCUBA

            return SnnTorchCUBA(spec, self)
        from step.plugins.snntorch.neurons import SnnTorchNeuron

        return SnnTorchNeuron(spec, self)


@hookimpl
def step_backends() -> list[Backend]:
    return [SnnTorchBackend()]
