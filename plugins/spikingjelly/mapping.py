"""How a neutral IF / LIF / PLIF spec maps onto SpikingJelly 2.0.0, decided from the spec alone.

This module imports neither torch nor SpikingJelly (``neuron_support`` must stay cheap); the
mapping itself is explained in :mod:`step.plugins.spikingjelly`, and the surrogate parts serve
the zoo (:mod:`step.plugins.spikingjelly.zoo`) and the modules too.
"""

from __future__ import annotations

from step.fire_rule import nudge_how
from step.plugins._adapter import Plan
from step.specs import NeuronSpec, SurrogateSpec
from step.support import Level, Support

#: Canonical surrogate family -> SpikingJelly class with the same formula and the same alpha.
#: Each was checked numerically against step.surrogates (tests/test_adapter_spikingjelly).
NATIVE_SURROGATES: dict[str, str] = {
    "atan": "ATan",
    "sigmoid": "Sigmoid",
    "triangle": "PiecewiseQuadratic",
    "rectangle": "Rect",
    "gaussian": "Erf",
    "straight_through": "DeterministicPass",
}

_FUNCTIONS = {"if": "if_multi_step", "lif": "lif_multi_step", "plif": "plif_multi_step"}


def native_surrogate(sg: SurrogateSpec) -> tuple[str, dict[str, float]] | None:
    """The SpikingJelly surrogate class and arguments equal to ``sg``, or None if none is.

    ``fast_sigmoid`` 1/(1 + a|x|)^2 has no class with a free sharpness: SoftSign(s) is
    (s/2)/(1 + s|x|)^2 and SuperSpike(b) is b/(1 + |x|)^2, so only a = 2 (SoftSign(2)) and
    a = 1 (SuperSpike(1)) are exact.
    """
    if sg.kind == "straight_through":
        return "DeterministicPass", {}
    if sg.kind in NATIVE_SURROGATES:
        return NATIVE_SURROGATES[sg.kind], {"alpha": float(sg.alpha)}
    if sg.kind == "fast_sigmoid" and sg.alpha == 2.0:
        return "SoftSign", {"alpha": 2.0}
    if sg.kind == "fast_sigmoid" and sg.alpha == 1.0:
        return "SuperSpike", {"alpha": 1.0}
    return None


def _surrogate_support(sg: SurrogateSpec) -> tuple[Level, str]:
    found = native_surrogate(sg)
    if found is not None:
        name, kwargs = found
        args = ", ".join(f"{k}={v:g}" for k, v in kwargs.items())
        return Level.NATIVE, f"surrogate.{name}({args})"
    return Level.EMULATED, (
        f"SpikingJelly has no surrogate equal to {sg.kind}(alpha={sg.alpha:g}) (SoftSign and "
        "SuperSpike match fast_sigmoid only for alpha 2 and 1); step's formula is plugged in "
        "as a surrogate module (forward: SpikingJelly's heaviside)"
    )


def plan(spec: NeuronSpec) -> Plan:
    """How SpikingJelly computes an IF, LIF or PLIF ``spec``."""
    kind = spec.kind
    if spec.learn_threshold:
        return Plan(Support.unsupported(
            "SpikingJelly has no learnable threshold: its neurons take v_threshold as a "
            "Python float (BaseNode asserts isinstance(v_threshold, float))"
        ))
    base = f"functional.{_FUNCTIONS[kind]}"
    if kind == "plif":
        base += " with the module's own w (1/tau = sigmoid(w), w0 = -ln(tau - 1))"
    if spec.fire == "gt":
        base += "; " + nudge_how(spec.fire, "ge")
    if spec.reset == "soft" and kind != "if" and spec.v_reset != 0.0:
        base += "; input offset by v_reset (SpikingJelly's soft-reset LIF leaks towards 0)"
    sg_level, sg_how = _surrogate_support(spec.surrogate)
    if spec.reset == "none":
        how = (
            "SpikingJelly has no reset-free mode (v_reset=None is a soft reset): the "
            f"adapter runs {base} with an unreachable threshold (the dtype's largest "
            "value) to get the charge from the library, then fires with the library "
            "surrogate module on h - threshold"
        )
        return Plan(Support(Level.EMULATED, Level.EMULATED, how, f"{how}; {sg_how}"))
    return Plan(Support(Level.NATIVE, sg_level, base, f"{base}; {sg_how}"))
