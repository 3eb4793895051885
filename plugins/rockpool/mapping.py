"""How a neutral IF / LIF spec maps onto Rockpool's ``LIFNeuronTorch``, decided from the spec
alone (no torch or Rockpool import); the mapping is explained in :mod:`step.plugins.rockpool`."""

from __future__ import annotations

from step.fire_rule import nudge_how
from step.plugins._adapter import Plan, float32_gradient
from step.specs import NeuronSpec
from step.support import Level, Support

#: Why every Rockpool gradient is declared float32-accurate.
FLOAT32_SPIKES = ("Rockpool's StepPWL returns float32 spikes whatever the input dtype (its "
                  "forward ends in .float()), so the backward receives the incoming gradient "
                  "rounded to float32")


def plan(spec: NeuronSpec) -> Plan:
    """How Rockpool computes an IF or LIF ``spec``."""
    if spec.kind == "plif":
        return Plan(Support.unsupported(
            "Rockpool's LIFNeuronTorch takes its decay from its own tau_mem Parameter "
            "(alpha = exp(-dt/tau_mem)); it cannot be made a function of PLIF's w"))
    if spec.reset != "soft":
        return Plan(Support.unsupported(
            f"Rockpool's LIF neurons only subtract the threshold on a spike (vmem - spikes * "
            f"threshold): no {spec.reset!r} reset"))
    if spec.v_threshold <= 0:
        return Plan(Support.unsupported(
            "Rockpool counts spikes as floor(vmem / threshold), which needs a threshold > 0"))
    if spec.kind == "if":
        core = "LIFNeuronTorch(tau_mem=inf) (alpha = 1)"
    else:
        scale = "input x/tau" if spec.decay_input else "input x"
        core = f"LIFNeuronTorch(tau_mem=-1/ln(1 - 1/tau)) ({scale}, bias v_reset/tau)"
    core += ", max_spikes_per_dt=1"
    support = Support.native(core)
    if spec.fire == "gt":
        support = support.combine(Support(Level.NATIVE, Level.NATIVE, nudge_how("gt", "ge"), ""))
    if spec.detach_reset:
        why = ("LIFNeuronTorch subtracts spikes * threshold with the spikes attached: its "
               "reset cannot be detached")
        support = support.combine(Support(Level.NATIVE, Level.UNSUPPORTED, "", why))
    if spec.learn_threshold:
        why = ("the adapter's spike function gives no gradient to Rockpool's threshold "
               "Parameter, which is not the spec's v_threshold")
        support = support.combine(Support(Level.NATIVE, Level.UNSUPPORTED, "", why))
    sg = spec.surrogate
    how = (f"Rockpool's StepPWL surrogate (1/th wherever v >= th - window) is not {sg.kind}: the "
           f"adapter's spike_generation_fn runs StepPWL forward and step's "
           f"{sg.kind}(alpha={sg.alpha:g}) backward")
    support = support.combine(Support(Level.NATIVE, Level.EMULATED, "", how))
    return Plan(float32_gradient(support, FLOAT32_SPIKES))
