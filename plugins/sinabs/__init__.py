"""Sinabs adapter (``step.backends: sinabs``), for sinabs 3.1 (SynSense).

Every neuron runs on ``sinabs.layers.functional.lif_forward``, the function ``sinabs.layers.LIF``
and ``IAF`` call in their ``forward``, given the layer's parts explicitly (decay factor,
threshold, ``spike_fn``, ``reset_fn``, ``surrogate_grad_fn``) and the membrane as a fresh state
dict: no layer memory (Sinabs layers keep ``v_mem`` between calls and re-initialise it when the
shape changes), so nothing leaks between calls. :mod:`.mapping` decides, from the spec alone and
without importing torch or Sinabs, how the library computes it.

Mapping (read from sinabs 3.1.3, ``layers/functional/lif.py`` and ``activation/``): per step
``v = alpha * v + (1 - alpha) * x`` (``norm_input=True``) or ``alpha * v + x``, then
``spike_fn``, then ``reset_fn``. The adapter works in the frame ``v_mem = v - v_reset`` and
passes ``alpha = 1 - 1/tau`` itself (Sinabs' ``LIF(tau_mem)`` uses ``exp(-1/tau_mem)``, the
exact solution of the continuous leak, not the canonical Euler step; ``train_alphas`` layers
take the decay factor directly, as here); IF is Sinabs' ``IAF`` (``alpha = 1``, no input
normalisation). ``decay_input`` is ``norm_input``. ``SingleSpike`` fires at ``v_mem - th >= 0``
(``fire="ge"``), the adapter nudges the threshold one ulp for ``fire="gt"``; Sinabs' default
``MultiSpike`` emits ``trunc(v/th)`` spikes per step and is never used. Hard reset is
``MembraneReset(0)`` in the shifted frame, soft reset ``MembraneSubtract(subtract_value=th)``,
no reset ``MembraneSubtract(subtract_value=0)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from step.backend import Backend
from step.hookspecs import hookimpl
from step.plugins._adapter import LibraryBackend, Plan
from step.quirks import Quirk, library_fire_rule
from step.specs import NeuronSpec

from .mapping import plan

if TYPE_CHECKING:
    from step.backend import NeuronModule


class SinabsBackend(LibraryBackend):
    """IF and LIF on Sinabs' functional LIF (PLIF emulated on it)."""

    name = "sinabs"
    label = "Sinabs"
    library = "sinabs"
    distribution = "sinabs"
    install_hint = "pip install 'step-snn[sinabs]'"
    description = "Sinabs 3.x functional lif_forward (SingleSpike, native fire rule >=)"
    fire_rules = ("gt", "ge")
    quirks = {q.name: q for q in (
        library_fire_rule("ge", "Sinabs", "SingleSpike: v_mem - spike_threshold >= 0"),
        Quirk("exp_decay", "Sinabs' LIF(tau_mem) decays by alpha = exp(-1/tau_mem), the exact "
              "solution of the leak, not the Euler step 1 - 1/tau (sinabs.layers.LIF."
              "alpha_mem_calculated)", when=lambda spec: spec.kind == "lif"),
    )}

    def base_plan(self, spec: NeuronSpec) -> Plan:
        return plan(spec, self.quirk_on("exp_decay"))

    def build(self, spec: NeuronSpec, plan: Plan) -> NeuronModule:
        from step.plugins.sinabs.neurons import SinabsNeuron

        return SinabsNeuron(spec, self)


@hookimpl
def step_backends() -> list[Backend]:
    return [SinabsBackend()]
