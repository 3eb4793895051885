"""Rockpool adapter (``step.backends: rockpool``), for rockpool 3.1 (SynSense).

Every neuron is one ``rockpool.nn.modules.LIFNeuronTorch`` called once per sequence (Rockpool
loops over time itself): per step ``vmem = alpha * vmem + input + bias``, spikes from its
``spike_generation_fn``, then ``vmem -= spikes * threshold``. :mod:`.mapping` decides, from the
spec alone and without importing torch or Rockpool, how the library computes it.

Mapping (read from rockpool 3.1.0 ``nn/modules/torch/lif_neuron_torch.py``):

- ``alpha = exp(-dt/tau_mem)``: the adapter sets ``tau_mem = -dt/ln(1 - 1/tau)`` (IF:
  ``tau_mem = inf``, ``alpha = 1``) in the input's dtype, and feeds ``x/tau`` (``decay_input``)
  or ``x``, with ``bias = v_reset/tau`` for the leak towards ``v_reset``.
- Rockpool's only reset subtracts the threshold (``soft``); ``hard`` and ``none`` are not
  available. Its spike count is ``(v >= th) * floor(v/th)`` clamped to ``max_spikes_per_dt``
  (the adapter sets 1): one spike per step at ``v >= th`` (``fire="ge"``; nudged one ulp for
  ``gt``), which needs ``th > 0``.
- Rockpool's surrogate (``StepPWL``: ``1[v >= th - window]/th``) is none of the canonical
  families: the adapter passes a ``spike_generation_fn`` whose forward is Rockpool's
  ``StepPWL`` and whose backward is step's surrogate (emulated gradient).
- The state: ``LIFNeuronTorch`` keeps ``vmem`` of batch element 0 only (``self.vmem =
  vmem[0].detach()``) and records in float32 buffers built with torch's default dtype. The
  adapter sets ``vmem`` to the batch's initial membrane before each call (``_auto_batch``
  broadcasts it), reads the final membrane from the recorded trace, and binds torch's default
  dtype to the input's for the call; Rockpool's noise draw (``randn``, scaled by
  ``noise_std = 0``) runs in a forked RNG so that the caller's random stream is untouched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from step.backend import Backend
from step.hookspecs import hookimpl
from step.plugins._adapter import LibraryBackend, Plan
from step.quirks import library_fire_rule
from step.specs import NeuronSpec

from .mapping import plan

if TYPE_CHECKING:
    from step.backend import NeuronModule


class RockpoolBackend(LibraryBackend):
    """IF and LIF with a soft reset on Rockpool's ``LIFNeuronTorch``."""

    name = "rockpool"
    label = "Rockpool"
    library = "rockpool"
    distribution = "rockpool"
    install_hint = "pip install 'step-snn[rockpool]'"
    description = "Rockpool 3.x LIFNeuronTorch (subtractive reset only, native fire rule >=)"
    fire_rules = ("gt", "ge")
    quirks = {q.name: q for q in (
        library_fire_rule("ge", "Rockpool", "StepPWL: v >= threshold"),
    )}

    def base_plan(self, spec: NeuronSpec) -> Plan:
        return plan(spec)

    def build(self, spec: NeuronSpec, plan: Plan) -> NeuronModule:
        from step.plugins.rockpool.neurons import RockpoolNeuron

        return RockpoolNeuron(spec, self)


@hookimpl
def step_backends() -> list[Backend]:
    return [RockpoolBackend()]
