"""How a neutral neuron spec maps onto Norse 1.1.0, decided from the spec alone (no import).

This module imports neither torch nor norse: ``neuron_support`` must stay cheap, and the same
plan drives :mod:`step.plugins.norse.neurons`, so what is reported is what is built.

The mapping (canonical equations in :mod:`step.specs.neuron`):

- LIF: ``LIFBoxCell(LIFBoxParameters(tau_mem_inv=1/tau, v_leak=v_r, v_th=th, v_reset=v_r))``
  with ``dt=1``. Norse charges ``v + dt*tau_inv*(x + v_leak - v)``, the canonical
  ``decay_input=True`` charge; ``decay_input=False`` is fed ``x*tau`` (a constant input scale,
  a parameter mapping: still native).
- IF: ``IAFCell(IAFParameters(v_th=th, v_reset=v_r))``: ``v + x``, then a hard reset written
  inline (no reset method to choose, nothing to detach).
- Fire: Norse's ``heaviside`` is strict ``x > 0`` (``fire="gt"``); for ``fire="ge"`` the adapter
  hands it ``nextafter(v_th, -inf)`` in the input's dtype (:mod:`step.fire_rule`).
- Surrogates: Norse 1.1.0 takes only its method strings. ``super`` is ``1/(1+|x|)^2`` whatever
  alpha (fast_sigmoid at alpha 1 only); ``triangle`` is ``a*relu(1-|x|)`` (canonical at alpha 1);
  ``tanh`` k=2 is the canonical sigmoid at alpha 4; ``heavi_erfc`` k=2 the gaussian at alpha 2.
  For other alphas of triangle, sigmoid and gaussian the adapter runs Norse in rescaled units
  ``v' = c*v`` (every parameter and the input times c; the dynamics are linear, so spikes and
  ``v'/c`` are the same): Norse's surrogate of ``c*(h - th)`` then equals the canonical one
  exactly (``c = alpha`` for triangle, ``alpha/4`` for sigmoid, ``alpha/2`` for gaussian).
  That gradient is reported emulated. fast_sigmoid cannot be rescaled (it is not a density, a
  factor c would remain), nor can atan, rectangle or straight_through (no Norse method).
"""

from __future__ import annotations

from dataclasses import dataclass

from step.fire_rule import nudge_how
from step.plugins._adapter import Plan, float32_gradient
from step.specs import NeuronSpec
from step.support import Level, Support

NATIVE, EMULATED, UNSUPPORTED = Level.NATIVE, Level.EMULATED, Level.UNSUPPORTED


@dataclass(frozen=True)
class NorsePlan(Plan):
    """What to build: cell, threshold method, its alpha, the unit scale, and the support."""

    method: str = "heaviside"
    alpha: float = 0.0
    #: Norse runs on ``v' = scale * v``; 1.0 keeps canonical units.
    scale: float = 1.0


def _surrogate(spec: NeuronSpec) -> tuple[str, float, float, Support]:
    """(method, norse alpha, unit scale, gradient support) for the spec's surrogate."""
    kind, a = spec.surrogate.kind, float(spec.surrogate.alpha or 0.0)
    # (method, norse alpha, alpha at which it equals the canonical family, scale for others)
    exact = {
        "triangle": ("triangle", 1.0, 1.0, a),
        "sigmoid": ("tanh", 2.0, 4.0, a / 4.0),
        "gaussian": ("heavi_erfc", 2.0, 2.0, a / 2.0),
    }
    if kind in exact:
        method, norse_alpha, native_at, scale = exact[kind]
        if a == native_at:
            how = f"Norse threshold method {method!r} (alpha {norse_alpha:g}) is {kind}({a:g})"
            return method, norse_alpha, 1.0, Support(NATIVE, NATIVE, "", how)
        how = (f"Norse method {method!r} (alpha {norse_alpha:g}) equals {kind}({native_at:g}) "
               f"only; the adapter runs Norse in units v' = {scale:g}*v so that it equals "
               f"{kind}({a:g})")
        return method, norse_alpha, scale, Support(NATIVE, EMULATED, "", how)
    if kind == "fast_sigmoid" and a == 1.0:
        return "super", 1.0, 1.0, Support(NATIVE, NATIVE, "", "Norse 'super' is fast_sigmoid(1)")
    if kind == "fast_sigmoid":
        why = (f"Norse 1.1.0 'super' ignores its alpha (always 1/(1+|x|)^2), so "
               f"fast_sigmoid({a:g}) has no Norse equivalent; methods are fixed strings, "
               "so step's surrogate cannot be plugged in")
    else:
        why = (f"Norse 1.1.0 has no {kind} surrogate and its threshold() takes only the method "
               "strings heaviside/super/triangle/tanh/circ/heavi_erfc, so step's surrogate "
               "cannot be plugged in")
    # 'heaviside' has no gradient at all: nothing pretends to be the surrogate.
    return "heaviside", 0.0, 1.0, Support(NATIVE, UNSUPPORTED, "", why)


def _dynamics(spec: NeuronSpec) -> Support:
    """Support of the charge, reset and learnable parameters (everything but the surrogate)."""
    parts: list[Support] = []
    if spec.kind == "if":
        if spec.reset != "hard":
            why = (f"Norse's IAFCell only resets to v_reset (written inline, no reset_method), "
                   f"and LIFBox cannot integrate without leak: {spec.reset} reset is not "
                   "available for IF")
            return Support.unsupported(why)
        parts.append(Support(NATIVE, NATIVE, "Norse IAFCell", "Norse IAFCell"))
        if spec.detach_reset:
            parts.append(Support(NATIVE, UNSUPPORTED, "", (
                "Norse's IAFCell writes its reset inline as (1-z)v + z*v_reset, so the "
                "gradient through z cannot be detached")))
    elif spec.kind in ("lif", "plif"):
        cell = "Norse LIFBoxCell (dt=1, tau_mem_inv=1/tau, v_leak=v_reset)"
        if spec.kind == "plif":
            how = ("Norse has no PLIF: LIFBoxCell with tau_mem_inv = sigmoid(w), w an "
                   "nn.Parameter that Norse's step differentiates through")
            parts.append(Support(EMULATED, EMULATED, how, how))
            if not spec.decay_input:
                how = "input fed as x/sigmoid(w) (decay_input=False)"
                parts.append(Support(EMULATED, EMULATED, how, how))
        elif not spec.decay_input:
            how = f"{cell} fed x*tau (decay_input=False: a constant input scale)"
            parts.append(Support(NATIVE, NATIVE, how, how))
        else:
            parts.append(Support(NATIVE, NATIVE, cell, cell))
        if spec.reset == "none":
            how = "Norse has no 'no reset': an identity LIFBoxParameters.reset_method"
            parts.append(Support(EMULATED, EMULATED, how, how))
        else:
            name = "reset_value" if spec.reset == "hard" else "reset_subtract"
            parts.append(Support(NATIVE, NATIVE, f"Norse {name}", f"Norse {name}"))
            if spec.detach_reset:
                parts.append(Support(NATIVE, EMULATED, "", (
                    f"Norse's {name} does not detach the spike; the adapter passes "
                    f"{name} applied to z.detach() as LIFBoxParameters.reset_method")))
    else:  # never reached through the backend, which routes only IF / LIF / PLIF here
        return Support.unsupported(f"the Norse adapter has no {spec.kind!r} neuron")
    if spec.learn_threshold:
        parts.append(Support(NATIVE, EMULATED, "", (
            "Norse has no learnable-threshold option: the adapter passes an nn.Parameter "
            "as v_th and Norse's step differentiates through it")))
    if spec.fire == "ge":
        parts.append(Support(NATIVE, NATIVE, nudge_how(spec.fire, "gt"), ""))
    return Support.all_of(*parts)


def plan(spec: NeuronSpec) -> NorsePlan:
    """The Norse configuration of ``spec`` and its support, from the spec alone."""
    dynamics = _dynamics(spec)
    if dynamics.forward is UNSUPPORTED:
        return NorsePlan(dynamics)
    method, alpha, scale, grad = _surrogate(spec)
    support = dynamics.combine(grad)
    if method == "heavi_erfc":
        support = float32_gradient(
            support, "Norse 1.1.0's heavi_erfc backward divides by "
            "torch.as_tensor(np.pi).sqrt(), a float32 constant, whatever the input dtype")
    return NorsePlan(support, method, alpha, scale)
