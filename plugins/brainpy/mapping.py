"""How a neutral LIF spec maps onto ``brainpy.dyn.Lif``, decided from the spec alone (no torch,
JAX or BrainPy import); the mapping is explained in :mod:`step.plugins.brainpy`."""

from __future__ import annotations

from step.fire_rule import nudge_how
from step.plugins._adapter import Plan
from step.specs import NeuronSpec, SurrogateSpec
from step.support import Level, Support

#: Canonical family -> braintools surrogate class with the same ``alpha`` and formula.
NATIVE_SURROGATES = {
    "atan": "Arctan",
    "sigmoid": "Sigmoid",
    "fast_sigmoid": "InvSquareGrad",
    "triangle": "PiecewiseQuadratic",
    "gaussian": "ERF",
}

_UNSUPPORTED_KIND = {
    "if": "brainpy.dyn.IF only integrates (its update has no spike and no reset)",
}


def surrogate_support(sg: SurrogateSpec) -> tuple[Level, str]:
    if sg.kind in NATIVE_SURROGATES:
        family = NATIVE_SURROGATES[sg.kind]
        return Level.NATIVE, f"braintools.surrogate.{family}(alpha={sg.alpha:g})"
    return Level.UNSUPPORTED, (
        f"braintools (BrainPy's surrogates) has no {sg.kind} surrogate, and step's neutral "
        "surrogates are torch functions that cannot run inside JAX's trace")


def plan(spec: NeuronSpec, exp_euler: bool = False) -> Plan:
    """How BrainPy computes a LIF ``spec`` (``exp_euler``: the quirk is on)."""
    if spec.kind in _UNSUPPORTED_KIND:
        return Plan(Support.unsupported(_UNSUPPORTED_KIND[spec.kind]))
    method = "exp_auto" if exp_euler else "euler"
    r = "1" if spec.decay_input else "tau"
    reset = {"hard": "spk_reset='hard', V_reset=v_reset",
             "soft": "spk_reset='soft', V_reset=0",
             "none": "spk_reset='soft', V_reset=V_th (subtracts 0)"}[spec.reset]
    # Lif's detach_spk also detaches the spike it returns (spike = stop_gradient(spike));
    # LifRef's detaches it only inside the reset, and with tau_ref=0 it is never refractory
    neuron = ("LifRef(tau_ref=0, detach_spk=True, " if spec.detach_reset and spec.reset != "none"
              else "Lif(")
    how = (f"brainpy.dyn.{neuron}method={method!r}, V_rest=v_reset, R={r}, {reset}) over "
           "jax.lax.scan; backward by jax.vjp")
    support = Support.native(how)
    if spec.fire == "gt":
        support = support.combine(Support(Level.NATIVE, Level.NATIVE, nudge_how("gt", "ge"), ""))
    if spec.kind == "plif":
        plif = ("BrainPy has no PLIF: the adapter owns w and passes tau = 1/sigmoid(w) to "
                "Lif as an input of the JAX function, so w gets its gradient from jax.vjp "
                "of BrainPy's charge")
        support = support.combine(Support(Level.EMULATED, Level.EMULATED, plif, plif))
    sg_level, sg_how = surrogate_support(spec.surrogate)
    return Plan(support.combine(Support(Level.NATIVE, sg_level, "", sg_how)))
