"""Norse support for the neuron zoo, decided from the spec alone (no import).

- CUBA LIF: ``lif_feed_forward_step`` (Norse's current-based LIF, dt = 1): ``i += x``,
  ``v += (v_leak - v + i)/tau``, ``i *= 1 - 1/tau_syn``: the canonical ``decay_input=True``
  charge from ``i[t] = (1 - 1/tau_syn) i[t-1] + x[t]``, with Norse's stored current the
  canonical one times ``1 - 1/tau_syn``. ``decay_input=False`` is fed ``x*tau``. Hard reset
  only, written inline (no detach).
- LI: ``li_feed_forward_step`` with ``tau_syn_inv = 1`` (the current is flushed every step, so
  the membrane is driven by this step's input): the canonical leaky integrator.
- ALIF: ``lsnn_feed_forward_step``. Norse decays the threshold before comparing
  (``b += (v_th - b)/tau_adapt``) and then adds ``beta`` per spike, so its threshold is the
  canonical one with ``beta_norse = beta / (1 - 1/tau_adapt)`` and ``b = v_th + beta_norse a``.
  Norse adds the input to the synaptic current *after* the voltage update (a one-step delay);
  the adapter places ``x[t]`` in that current before each step (``tau_syn_inv = 1`` flushes
  it), so the membrane sees ``x[t]`` at step t. Hard reset only.
- Izhikevich: unsupported. ``izhikevich_feed_forward_step`` updates u from the previous v
  (explicit Euler); the canonical update (Izhikevich's listing, BrainCog) uses the new v.
- The surrogate (and Norse's unit rescaling for alphas its methods lack) is the LIF mapping's
  (:func:`step.plugins.norse.mapping._surrogate`).
"""

from __future__ import annotations

from step.fire_rule import nudge_how
from step.specs import NeuronSpec
from step.support import Level, Support

from .mapping import NorsePlan, _surrogate

NATIVE, EMULATED, UNSUPPORTED = Level.NATIVE, Level.EMULATED, Level.UNSUPPORTED

_MISSING = {
    "izhikevich": "Norse's izhikevich_feed_forward_step updates u from the previous v "
                  "(explicit Euler) where the canonical update, as Izhikevich's own listing, "
                  "uses the new v: the trajectories differ",
    "eif": "Norse 1.1.0 has no exponential IF (LIFEx adds the exponential to a current-based "
           "LIF with its own parameters)",
    "hh": "Norse has no Hodgkin-Huxley neuron",
}


def zoo_plan(spec: NeuronSpec) -> NorsePlan:
    """The Norse configuration of a zoo ``spec`` and its support."""
    kind = spec.kind
    cell = {"cuba_lif": "Norse lif_feed_forward_step (dt=1, tau_syn_inv=1/tau_syn)",
            "li": "Norse li_feed_forward_step (dt=1, tau_syn_inv=1: the current flushed)",
            "alif": "Norse lsnn_feed_forward_step (dt=1, beta/(1 - 1/tau_adapt); x[t] placed "
                    "in the flushed synaptic current before each step)"}.get(kind)
    if cell is None:
        return NorsePlan(Support.unsupported(
            _MISSING.get(kind, f"Norse has no {kind} neuron")))
    if kind != "li" and spec.reset != "hard":
        return NorsePlan(Support.unsupported(
            f"Norse's {kind} step resets only to v_reset ((1 - z) v + z v_reset, inline): "
            f"{spec.reset} reset is not available"))
    if kind == "alif" and spec.beta == 0.0:
        return NorsePlan(Support.unsupported(
            "with beta = 0 Norse's threshold state b carries no trace of the adaptation a, "
            "so the state cannot be converted (an ALIF with beta 0 is a LIF: use kind lif)"))
    if kind == "alif" and spec.fire == "ge":
        return NorsePlan(Support.unsupported(
            "Norse's lsnn step compares strictly with its adaptive threshold state b, which "
            "decays towards v_th every step: a one-ulp nudge of v_th does not stay one ulp in "
            "b, so fire=ge cannot be made exact"))
    how = cell + ("" if spec.decay_input else "; input fed as x*tau (decay_input=False)")
    if kind == "cuba_lif" and spec.fire == "ge":
        how += "; " + nudge_how(spec.fire, "gt")
    if kind == "li":  # no spike: nothing to map but the membrane
        return NorsePlan(Support(NATIVE, NATIVE, how, how))
    method, alpha, scale, grad = _surrogate(spec)
    support = Support(NATIVE, NATIVE, how, how).combine(grad)
    if spec.detach_reset:
        support = support.combine(Support(NATIVE, UNSUPPORTED, "", (
            f"Norse's {kind} step writes its reset inline as (1 - z) v + z v_reset, so the "
            "gradient through z cannot be detached")))
    if spec.learn_threshold:
        support = support.combine(Support(NATIVE, EMULATED, "", (
            "Norse has no learnable-threshold option: the adapter passes an nn.Parameter as "
            "v_th and Norse's step differentiates through it")))
    return NorsePlan(support, method, alpha, scale)
