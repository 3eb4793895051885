"""snnTorch support for the neuron zoo, decided from the spec alone (no import).

snnTorch has one zoo neuron: ``snn.Synaptic(alpha, beta)``, the current-based LIF
(``syn = alpha syn + x``, ``mem = beta mem + syn``). With ``alpha = 1 - 1/tau_syn`` and
``beta = 1 - 1/tau`` in the frame ``mem = v - v_reset`` it is the canonical CUBA LIF
(``decay_input=True`` is fed ``x/tau``, so its current is the canonical one over tau). Its
immediate reset (``reset_delay=False``) has the same limits as Leaky's
(:func:`step.plugins.snntorch.adapter_reset_reason`); there the adapter runs
``reset_mechanism="none"`` and applies the reset itself: emulated. snnTorch has no EIF, KLIF,
ILIF, CLIF, GLIF, PSN, adaptive LIF, leaky integrator readout, Izhikevich or Hodgkin-Huxley.
"""

from __future__ import annotations

from dataclasses import replace

from step.specs import NeuronSpec
from step.support import Level, Support


def zoo_support(spec: NeuronSpec, keep_library_reset: bool = False) -> Support:
    """How snnTorch computes a zoo ``spec``."""
    from step.plugins.snntorch import (
        _RESET_MECHANISM,
        _surrogate_support,
        adapter_reset_reason,
        fire_rule_support,
    )

    if spec.kind != "cuba_lif":
        return Support.unsupported(f"snnTorch has no {spec.kind} neuron (its only zoo neuron "
                                   "is Synaptic, the current-based LIF)")
    setup = ("alpha = 1 - 1/tau_syn, beta = 1 - 1/tau, frame mem = v - v_reset"
             + (", input x/tau" if spec.decay_input else "")
             + (", learn_threshold=True" if spec.learn_threshold else ""))
    reset_how = adapter_reset_reason(spec, keep_library_reset)
    if reset_how is None:
        how = (f"snn.Synaptic(reset_mechanism={_RESET_MECHANISM[spec.reset]!r}, "
               f"reset_delay=False) with {setup}")
        forward = Support(Level.NATIVE, Level.NATIVE, how, how)
    else:
        how = (f"{reset_how}: snn.Synaptic(reset_mechanism='none', reset_delay=False) with "
               f"{setup} charges and fires, the adapter applies the reset to its membrane")
        forward = Support(Level.EMULATED, Level.EMULATED, how, how)
    forward = forward.combine(fire_rule_support(spec))
    sg_level, sg_how = _surrogate_support(spec.surrogate)
    return replace(
        forward.combine(Support(Level.NATIVE, sg_level, "", sg_how)),
        gradient_precision="float32",
        precision_how="snnTorch's spike functions return float32 spikes whatever the input "
        "dtype, so the surrogate backward runs in float32",
    )
