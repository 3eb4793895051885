"""SpikingJelly adapter (``step.backends: spikingjelly``), for spikingjelly 2.0.0.

The neurons run on ``spikingjelly.activation_based.functional``'s multi-step functions
(``if_multi_step``, ``lif_multi_step``, ``plif_multi_step``), which take the membrane as an
explicit argument: no module memory, so nothing leaks between calls and a batch-size change is
safe. The canonical equations are in :mod:`step.specs.neuron`; :mod:`.mapping` decides, from
the spec alone and without importing torch or SpikingJelly, how the library computes it.

Mapping (see ``shared/reference/backends.md``): ``tau``, ``v_threshold``, ``v_reset`` and
``decay_input`` pass through; ``reset="soft"`` is SpikingJelly's ``v_reset=None``. Two
differences are normalised by the adapter, not hidden:

- SpikingJelly fires at equality (``h - th >= 0``), which is the spec's ``fire="ge"``. For
  ``fire="gt"`` the adapter hands it the next representable threshold above ``v_threshold`` in
  the input's dtype, so it fires exactly when ``h > v_threshold`` holds (IEEE-754:
  ``a >= nextafter(b)`` iff ``a > b``; :mod:`step.fire_rule`). A soft reset then subtracts that
  nudged threshold: one ulp of ``v_threshold`` per spike (1.2e-7 for 1.0 in float32).
- With a soft reset SpikingJelly's LIF leaks towards 0, not ``v_reset``; the adapter adds
  ``v_reset`` (times ``1/tau`` without ``decay_input``) to the input, which is the same charge.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from step.backend import Backend
from step.hookspecs import hookimpl
from step.plugins._adapter import LibraryBackend, Plan
from step.quirks import library_fire_rule
from step.specs import NeuronSpec

# the mapping's parts, also used by the zoo and the modules
from .mapping import NATIVE_SURROGATES, _surrogate_support, native_surrogate, plan  # noqa: F401
from .zoo import LIBRARY as ZOO_LIBRARY
from .zoo import zoo_support

if TYPE_CHECKING:
    from step.backend import NeuronModule


class SpikingJellyBackend(LibraryBackend):
    """IF, LIF and PLIF on SpikingJelly's functional multi-step neurons."""

    name = "spikingjelly"
    label = "SpikingJelly"
    library = "spikingjelly"
    distribution = "spikingjelly"
    install_hint = "pip install 'step-snn[spikingjelly]'"
    description = "SpikingJelly 2.x functional multi-step neurons (native fire rule >=)"
    fire_rules = ("gt", "ge")
    quirks = {q.name: q for q in (
        library_fire_rule("ge", "SpikingJelly", "its heaviside is x >= 0"),
    )}

    def zoo_plan(self, spec: NeuronSpec) -> Plan:  # step.plugins.spikingjelly.zoo
        if spec.kind not in ZOO_LIBRARY:
            return super().zoo_plan(spec)
        return Plan(zoo_support(spec))

    def base_plan(self, spec: NeuronSpec) -> Plan:
        return plan(spec)

    def build(self, spec: NeuronSpec, plan: Plan) -> NeuronModule:
        if spec.kind in ZOO_LIBRARY:
            from step.plugins.spikingjelly.zoo_neurons import MODULES

            return MODULES[spec.kind](spec, self)
        from step.plugins.spikingjelly.neurons import SpikingJellyNeuron

        return SpikingJellyNeuron(spec, self)


@hookimpl
def step_backends() -> list[Backend]:
    from step.plugins.spikingjelly.kernels import (
        SpikingJellyCudaBackend,
        SpikingJellyCupyBackend,
        SpikingJellyTritonBackend,
    )

    return [SpikingJellyBackend(), SpikingJellyCudaBackend(), SpikingJellyTritonBackend(),
            SpikingJellyCupyBackend()]
