"""How a neutral neuron spec maps onto BrainCog 0.2.7.19, decided from the spec alone.

This module imports neither torch nor braincog (importing BrainCog takes seconds and pulls in
timm): ``neuron_support`` must stay cheap, and the same plan drives
:mod:`step.plugins.braincog.neurons`, so what is reported is what is built.

The mapping (canonical equations in :mod:`step.specs.neuron`):

- BrainCog's membrane ``mem`` leaks towards 0 and resets to 0, so it is the canonical
  membrane shifted by the reset potential: ``v = mem + v_reset``, ``threshold = th - v_reset``
  (BrainCog's own ``v_reset`` is left at 0: its ``calc_spike`` ignores it while ``n_reset``
  starts from it). The input is unchanged.
- ``LIFNode(tau)``: ``mem += (x - mem)/tau`` is the ``decay_input=True`` charge;
  ``decay_input=False`` is fed ``x*tau`` (a constant input scale: a parameter mapping, native).
  ``PLIFNode(tau)``: ``mem += (x - mem)*sigmoid(w)``, ``w0 = -ln(tau - 1)``.
  ``IFNode``: ``mem += x``.
- Reset: ``mem *= 1 - spike.detach()``, a hard reset whose gradient never flows through the
  spike. Soft and no reset do not exist; detach_reset=False has no BrainCog gradient.
- Fire: AtanGrad, QGateGrad, GateGrad compare ``x > 0`` (``fire="gt"``); SigmoidGrad and the
  straight-through estimator ``x >= 0`` (``fire="ge"``). Where the spec's rule differs, the
  threshold is moved one ulp in the input's dtype (:mod:`step.fire_rule`), which leaves the
  surrogate one ulp off; step's own spike function (the emulated path) fires by the spec's rule.
- Surrogates: AtanGrad(a) is atan(a), QGateGrad(a) triangle(a), SigmoidGrad(a) sigmoid(a),
  GateGrad(2) rectangle(1) (GateGrad(2a) is rectangle(a) / a), BrainCog's
  straight_through_estimator the straight-through family. Other families (fast_sigmoid,
  gaussian, rectangle with alpha != 1) plug step's surrogate into BrainCog's act_fun extension
  point (a SurrogateFunctionBase subclass): emulated. Every surrogate is built with
  ``requires_grad=False``: BrainCog's PLIFNode would otherwise train AtanGrad's alpha silently.
"""

from __future__ import annotations

from dataclasses import dataclass

from step.fire_rule import nudge_how
from step.plugins._adapter import Plan, float32_gradient
from step.specs import NeuronSpec
from step.support import Level, Support

NATIVE, EMULATED, UNSUPPORTED = Level.NATIVE, Level.EMULATED, Level.UNSUPPORTED

#: BrainCog node class per neuron kind.
NODES = {"if": "IFNode", "lif": "LIFNode", "plif": "PLIFNode"}

#: family -> (BrainCog surrogate taking the neutral alpha as its own, fires at h == th)
NATIVE_SURROGATES = {
    "atan": ("AtanGrad", False),
    "triangle": ("QGateGrad", False),
    "sigmoid": ("SigmoidGrad", True),
    "straight_through": ("straight_through_estimator", True),
}


@dataclass(frozen=True)
class BrainCogPlan(Plan):
    """What to build: node class, surrogate (BrainCog's or 'step'), its alpha, and support."""

    node: str = ""
    #: a BrainCog surrogate class name, or "step" for step's surrogate via act_fun
    surrogate: str = "step"
    alpha: float = 1.0
    #: the chosen spike function fires at equality (``>=``); the threshold is nudged one ulp
    #: wherever this differs from the spec's fire rule (:mod:`step.fire_rule`)
    fires_at_equality: bool = False


def _rule(at_equality: bool) -> str:
    return "ge" if at_equality else "gt"


def _surrogate(spec: NeuronSpec) -> tuple[str, float, bool, Support]:
    """(surrogate, alpha, whether the chosen spike function fires at equality, support).

    BrainCog's own surrogates each compare with a fixed rule; where it differs from the spec's
    ``fire`` the threshold is nudged one ulp (:mod:`step.fire_rule`). A learnt threshold cannot
    be nudged, so there step's surrogate is plugged in instead, firing by the spec's rule.
    """
    kind, a = spec.surrogate.kind, float(spec.surrogate.alpha or 1.0)
    own = NATIVE_SURROGATES.get(kind, ("", False))[1]
    if kind in NATIVE_SURROGATES and not (spec.learn_threshold and _rule(own) != spec.fire):
        name, at_equality = NATIVE_SURROGATES[kind]
        how = f"BrainCog {name}" + ("" if kind == "straight_through" else f"({a:g})")
        nudge = nudge_how(spec.fire, _rule(at_equality))
        fwd = f"BrainCog {name} fires at {'>=' if at_equality else '>'}: {nudge}" if nudge \
            else ""
        return name, a, at_equality, Support(NATIVE, NATIVE, fwd, how)
    if kind == "rectangle" and a == 1.0 and not (spec.learn_threshold and spec.fire == "ge"):
        nudge = nudge_how(spec.fire, "gt")
        fwd = f"BrainCog GateGrad fires at >: {nudge}" if nudge else ""
        return "GateGrad", 2.0, False, Support(NATIVE, NATIVE, fwd, "BrainCog GateGrad(2)")
    if kind in NATIVE_SURROGATES or kind == "rectangle" and a == 1.0:
        # a learnt threshold whose rule differs from the library function's: no ulp shift there
        rule = ">=" if own else ">"
        why = (f"BrainCog's {NATIVE_SURROGATES.get(kind, ('GateGrad',))[0]} fires at {rule}, "
               f"which a learnt threshold cannot be shifted to make fire={spec.fire}; ")
    elif kind == "rectangle":
        why = f"BrainCog GateGrad(2a) is rectangle(a)/a, not rectangle({a:g}); "
    else:
        why = f"BrainCog has no {kind} surrogate; "
    how = why + "step's surrogate is plugged into BrainCog's act_fun (SurrogateFunctionBase)"
    # step's spike fires by the spec's own rule (BrainCog's heaviside, or 1 - heaviside(-x))
    return "step", a, spec.fire == "ge", Support(NATIVE, EMULATED, "", how)


def _dynamics(spec: NeuronSpec) -> Support:
    if spec.kind not in NODES:  # never reached through the backend (IF / LIF / PLIF only)
        return Support.unsupported(f"the BrainCog adapter has no {spec.kind!r} neuron")
    node = f"BrainCog {NODES[spec.kind]}"
    if spec.reset != "hard":
        return Support.unsupported(
            f"BrainCog's {NODES[spec.kind]} always resets by mem *= 1 - spike.detach() (a hard "
            f"reset to v_reset); {spec.reset} reset does not exist there")
    parts = [Support(NATIVE, NATIVE, node + " (v = mem + v_reset, threshold - v_reset)", node)]
    if spec.kind in ("lif", "plif") and not spec.decay_input:
        if spec.kind == "plif":
            how = "input fed as x/sigmoid(w) (decay_input=False; BrainCog decays the input)"
            parts.append(Support(EMULATED, EMULATED, how, how))
        else:
            how = "fed x*tau (decay_input=False: a constant input scale)"
            parts.append(Support(NATIVE, NATIVE, how, how))
    if not spec.detach_reset:
        parts.append(Support(NATIVE, UNSUPPORTED, "", (
            "BrainCog always detaches the reset (mem *= 1 - spike.detach()), so the gradient "
            "through the spike in the reset (detach_reset=False) cannot be computed; set "
            "detach_reset=true")))
    if spec.learn_threshold:
        parts.append(Support(NATIVE, NATIVE, "", "BrainCog requires_thres_grad=True"))
    return Support.all_of(*parts)


def plan(spec: NeuronSpec) -> BrainCogPlan:
    """The BrainCog configuration of ``spec`` and its support, from the spec alone."""
    dynamics = _dynamics(spec)
    if dynamics.forward is UNSUPPORTED:
        return BrainCogPlan(dynamics)
    name, alpha, at_equality, grad = _surrogate(spec)
    support = dynamics.combine(grad)
    if name != "step":
        support = float32_gradient(
            support, "BrainCog's surrogates keep alpha as a float32 parameter and AtanGrad, "
            "QGateGrad and GateGrad return float32 spikes for float64 input, so their backward "
            "is float32-accurate")
    return BrainCogPlan(support, NODES[spec.kind], name, alpha, at_equality)
