"""BrainCog support for the neuron zoo, decided from the spec alone (no import).

- Izhikevich: ``IzhNode(threshold=v_peak, a, b, c=v_reset, d, dt)``. Its ``integral`` is
  ``mem += dt (0.04 mem^2 + 5 mem - u + 140 + x)`` then ``u += dt (a b mem - a u)`` with the new
  ``mem``, and ``calc_spike`` fires on ``mem - threshold`` and sets ``mem = c``, ``u += d``
  with the spike detached: the canonical update in canonical units (mV), so only the initial
  state is set by the adapter (``mem = v_init``, ``u = b v_init``, ``v_init`` = c unless the
  spec gives it; BrainCog's ``n_reset`` starts from 0).
  The reset is always detached, so ``detach_reset=False`` has no BrainCog gradient.
- Hodgkin-Huxley: unsupported. BrainCog's ``HHNode`` resets the membrane to 0 after each
  spike, starts from a random membrane with closed gates, and divides the gate rates by 10 in
  a 0 mV-rest convention: not the 1952 model. ``SimHHNode`` uses other constants again.
- BrainCog has none of the other zoo kinds (its ``aEIF`` is an adaptive EIF, its DGLIF /
  HTDGLIF are not GLIF).

The surrogate mapping is the LIF one (:func:`step.plugins.braincog.mapping._surrogate`).
"""

from __future__ import annotations

from dataclasses import replace

from step.specs import NeuronSpec
from step.support import Level, Support

from .mapping import BrainCogPlan, _surrogate

_MISSING = {
    "hh": "BrainCog's HHNode is not the classic model: it resets the membrane to 0 after each "
          "spike, starts from a random membrane with closed gates and divides the gate rates "
          "by 10 (0 mV-rest convention); SimHHNode uses other constants",
    "eif": "BrainCog has no plain EIF (aEIF is an adaptive exponential IF)",
    "glif": "BrainCog's DGLIF / HTDGLIF nodes are not the gated LIF of Yao et al. 2022",
}


def zoo_plan(spec: NeuronSpec) -> BrainCogPlan:
    """The BrainCog configuration of a zoo ``spec`` and its support."""
    if spec.kind != "izhikevich":
        why = _MISSING.get(spec.kind, f"BrainCog has no {spec.kind} neuron")
        return BrainCogPlan(Support.unsupported(why))
    node = ("BrainCog IzhNode (threshold = v_peak, c = v_reset, a, b, d, dt; initial mem = "
            "v_init (c by default), u = b mem set by the adapter)")
    support = Support(Level.NATIVE, Level.NATIVE, node, node)
    if not spec.detach_reset:
        support = support.combine(Support(Level.NATIVE, Level.UNSUPPORTED, "", (
            "BrainCog's IzhNode always detaches the reset (mem = mem (1 - s.detach()) + "
            "s.detach() c), so detach_reset=False has no BrainCog gradient; set "
            "detach_reset=true")))
    if spec.learn_threshold:
        support = support.combine(Support(Level.NATIVE, Level.NATIVE, "",
                                          "BrainCog requires_thres_grad=True"))
    name, alpha, at_equality, grad = _surrogate(spec)
    support = support.combine(grad)
    if name != "step":
        support = replace(
            support, gradient_precision="float32",
            precision_how="BrainCog's surrogates keep alpha as a float32 parameter and return "
            "float32 spikes for float64 input, so their backward is float32-accurate")
    return BrainCogPlan(support, "IzhNode", name, alpha, at_equality)
