"""How a neutral IF / LIF / PLIF spec maps onto snnTorch 1.0.0, decided from the spec alone.

This module imports neither torch nor snnTorch (``neuron_support`` must stay cheap); the
mapping itself is explained in :mod:`step.plugins.snntorch`, and the same parts serve the zoo
(:mod:`step.plugins.snntorch.zoo`) and the module (:mod:`step.plugins.snntorch.neurons`).
"""

from __future__ import annotations

from step.fire_rule import nudge_how
from step.plugins._adapter import Plan, float32_gradient
from step.specs import NeuronSpec, SurrogateSpec
from step.support import Level, Support

#: Why every snnTorch gradient is declared float32-accurate.
FLOAT32_SPIKES = ("snnTorch's spike functions return float32 spikes whatever the input dtype "
                  "(e.g. ATan.forward ends in .float()), so the surrogate backward runs in "
                  "float32")

#: Canonical family -> snnTorch surrogate factory and the name of its sharpness argument, for
#: the families whose formula (and gradient at every x) matches step.surrogates.
NATIVE_SURROGATES: dict[str, tuple[str, str | None]] = {
    "atan": ("atan", "alpha"),
    "fast_sigmoid": ("fast_sigmoid", "slope"),
    "straight_through": ("straight_through_estimator", None),
}

_WHY_EMULATED: dict[str, str] = {
    "sigmoid": "snnTorch's sigmoid(slope) computes slope*e^(-slope*x)/(e^(-slope*x)+1)^2, "
    "which overflows to inf/inf = NaN in float32 for x < -88/slope (x = -4 at slope 25)",
    "triangle": "snnTorch has no triangle surrogate (its `triangular` is a different function)",
    "rectangle": "snnTorch has no rectangle surrogate",
    "gaussian": "snnTorch has no gaussian (erf) surrogate",
}

_RESET_MECHANISM = {"hard": "zero", "soft": "subtract", "none": "none"}


def adapter_reset_reason(spec: NeuronSpec, as_shipped: bool = False) -> str | None:
    """Why the adapter must apply the reset itself (None: Leaky's own reset is canonical, or
    ``as_shipped``, the ``subtract_resubtracts`` quirk, keeps snnTorch's own soft reset)."""
    if spec.reset == "none":
        return None
    if spec.reset == "soft" and as_shipped:
        return None
    if spec.reset == "soft":
        return (
            "snnTorch's immediate 'subtract' reset re-subtracts the threshold before firing "
            "whenever the membrane after reset is still above threshold"
        )
    if spec.v_threshold < spec.v_reset:
        return (
            "with v_threshold < v_reset, snnTorch's immediate 'zero' reset takes the membrane "
            "reset to v_reset for a spike and keeps or doubles it"
        )
    if spec.detach_reset:
        return "snnTorch cannot detach its immediate reset (do_reset = spk - reset, spk attached)"
    return None


def fire_rule_support(spec: NeuronSpec) -> Support:
    """snnTorch fires on a strict ``mem - threshold > 0``: ``fire="ge"`` is that comparison
    with the threshold one ulp lower, set by the adapter for each call in the input's dtype;
    a learnt threshold is snnTorch's own Parameter, which the adapter cannot nudge."""
    if spec.fire == "gt":
        return Support(Level.NATIVE, Level.NATIVE, "", "")
    if spec.learn_threshold:
        return Support.unsupported(
            "with learn_threshold snnTorch compares against its own threshold Parameter "
            "(mem - threshold > 0): the one-ulp nudge that makes > fire as >= cannot be applied "
            "to it, so fire=ge is not available")
    how = nudge_how(spec.fire, "gt")
    return Support(Level.NATIVE, Level.NATIVE, how, "")


def _surrogate_support(sg: SurrogateSpec) -> tuple[Level, str]:
    if sg.kind in NATIVE_SURROGATES:
        factory, arg = NATIVE_SURROGATES[sg.kind]
        return Level.NATIVE, f"surrogate.{factory}({f'{arg}={sg.alpha:g}' if arg else ''})"
    why = _WHY_EMULATED.get(sg.kind, f"snnTorch has no {sg.kind} surrogate")
    return Level.EMULATED, (
        f"{why}; step's {sg.kind}(alpha={sg.alpha:g}) formula is plugged in through "
        "surrogate.custom_surrogate"
    )


def plan(spec: NeuronSpec, keep_library_reset: bool = False) -> Plan:
    """How snnTorch computes an IF, LIF or PLIF ``spec`` (``keep_library_reset``: the
    ``subtract_resubtracts`` quirk is on)."""
    kind = spec.kind
    beta = "beta = 1" if kind == "if" else "beta = 1 - 1/tau"
    if kind == "lif" and spec.decay_input:
        beta += ", input x/tau"
    if spec.learn_threshold:
        beta += ", learn_threshold=True"
    reset_how = adapter_reset_reason(spec, keep_library_reset)
    if reset_how is None:
        mechanism = _RESET_MECHANISM[spec.reset]
        how = f"snn.Leaky(reset_mechanism={mechanism!r}, reset_delay=False) with {beta}"
        forward = Support(Level.NATIVE, Level.NATIVE, how, how)
    else:
        how = (
            f"{reset_how}: snn.Leaky(reset_mechanism='none', reset_delay=False) with {beta} "
            "charges and fires, the adapter applies the reset to its membrane"
        )
        forward = Support(Level.EMULATED, Level.EMULATED, how, how)
    if kind == "plif":
        plif = (
            "snnTorch has no PLIF (learn_beta learns beta itself and the input is never "
            "scaled): the adapter owns w and feeds snn.Leaky beta = 1 - sigmoid(w) and "
            "input x*sigmoid(w) (x without decay_input) each call, so w gets its "
            "gradient through the library's charge"
        )
        forward = forward.combine(Support(Level.EMULATED, Level.EMULATED, plif, plif))
    forward = forward.combine(fire_rule_support(spec))
    sg_level, sg_how = _surrogate_support(spec.surrogate)
    support = forward.combine(Support(Level.NATIVE, sg_level, "", sg_how))
    return Plan(float32_gradient(support, FLOAT32_SPIKES))
