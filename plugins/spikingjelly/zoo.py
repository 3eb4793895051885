"""SpikingJelly support for the neuron zoo, decided from the spec alone (no import).

Native: EIF (``functional.eif_multi_step``), KLIF (``functional.klif_step``), ILIF
(``functional.ilif_multi_step`` with ``surrogate.MultiLevelSpikeCount``), CLIF
(``functional.clif_step``), GLIF (``functional.gated_lif_step``), PSN (``neuron.PSN``),
CUBA LIF (``functional.cuba_lif_step``), LI (``neuron.NonSpikingLIFNode``'s charge).
NILIF is emulated (the ILIF count divided by D). SpikingJelly's ``IzhikevichNode`` is a
quadratic adaptive IF, not Izhikevich's 2003 model; it has no adaptive-threshold LIF, no
HD-LIF and no Hodgkin-Huxley. The modules are in :mod:`step.plugins.spikingjelly.zoo_neurons`.

Normalisations, as for LIF: SpikingJelly fires at ``h - th >= 0`` (``fire="ge"``) and its integer
count uses ``torch.round`` (ties to even); for ``fire="gt"`` the adapter hands it
``nextafter(v_threshold, +inf)``, which makes both strict (a soft reset then subtracts one ulp
more per spike). Where the library
leaks towards 0 but the spec towards ``v_reset``, the adapter offsets the input where that is
exact (a linear charge), and reports the rest unsupported.
"""

from __future__ import annotations

from step.fire_rule import nudge_how
from step.specs import NeuronSpec
from step.support import Level, Support

NATIVE, EMULATED, UNSUPPORTED = Level.NATIVE, Level.EMULATED, Level.UNSUPPORTED

#: zoo kind -> what SpikingJelly computes it with ("" where it has nothing equivalent).
LIBRARY = {
    "eif": "functional.eif_multi_step", "klif": "functional.klif_step",
    "ilif": "functional.ilif_multi_step + surrogate.MultiLevelSpikeCount(D)",
    "nilif": "functional.ilif_multi_step + surrogate.MultiLevelSpikeCount(D)",
    "clif": "functional.clif_step", "glif": "functional.gated_lif_step",
    "psn": "neuron.PSN", "cuba_lif": "functional.cuba_lif_step",
    "li": "neuron.NonSpikingLIFNode.neuronal_charge",
    "izhikevich": "", "alif": "", "hdlif": "", "hh": "",
}

_MISSING = {
    "izhikevich": "SpikingJelly's IzhikevichNode is a quadratic adaptive IF (tau dv/dt = "
                  "a0 (v - v_rest)(v - v_c) + ... with its own w), not Izhikevich's 2003 model "
                  "(0.04 v^2 + 5 v + 140 - u)",
    "alif": "SpikingJelly has no adaptive-threshold LIF (its adapt.py nodes adapt a current)",
    "hdlif": "SpikingJelly has no gated mixture of neuron experts",
    "hh": "SpikingJelly has no Hodgkin-Huxley neuron",
}

def _rule(spec: NeuronSpec) -> str:
    """"; <how the threshold is nudged>" for fire="gt" (SpikingJelly fires at >=), else ""."""
    how = nudge_how(spec.fire, "ge")
    return "; " + how if how else ""


def _why_leak(kind: str) -> str:
    return (f"SpikingJelly's {kind} leaks towards 0 (and starts there); a v_reset other than 0 "
            "cannot be mapped onto it exactly")


def zoo_support(spec: NeuronSpec) -> Support:
    """How SpikingJelly computes a zoo ``spec`` (forward and gradient, with the reason)."""
    from step.plugins.spikingjelly import _surrogate_support

    kind = spec.kind
    if not LIBRARY[kind]:
        return Support.unsupported(_MISSING[kind])
    if spec.learn_threshold:
        return Support.unsupported("SpikingJelly takes v_threshold as a Python float: no "
                                   "learnable threshold")
    how = LIBRARY[kind]
    fwd = grad = NATIVE
    sg_level, sg_how = _surrogate_support(spec.surrogate)
    if kind in ("ilif", "nilif"):
        sg_level, sg_how = NATIVE, "MultiLevelSpikeCount's straight-through window [0, D]"
        if spec.round_ties == "even":
            how += "; torch.round's ties to even as the spec asks (round_ties=even)"
        else:
            sign = "+inf" if spec.fire == "gt" else "-inf"
            how += (f"; unit nudged to nextafter(v_threshold, {sign}) so that torch.round, "
                    f"which rounds half levels to even, counts ties as fire={spec.fire}")
        if spec.decay_input:
            how += "; input fed as x/tau (decay_input=True)"
        if kind == "nilif":
            fwd = grad = EMULATED
            how = "SpikingJelly has no NILIF: the ILIF count divided by D; " + how
    elif kind in ("clif", "cuba_lif", "li") and spec.v_reset != 0.0:
        return Support.unsupported(_why_leak(kind))
    elif kind in ("klif", "eif", "cuba_lif") and spec.reset == "none":
        return Support.unsupported("SpikingJelly has no reset-free mode for this neuron "
                                   "(v_reset=None is its soft reset)")
    elif kind == "glif":
        how += " with the module's sigmoid-parameterised gates" + _rule(spec)
        if spec.detach_reset:
            grad = EMULATED
            sg_how += "; detach_reset: the adapter passes the previous spike detached"
    elif kind == "psn":
        how += "; the adapter evaluates h = W x + b (PSN.forward's addmm) to report v"
        if spec.fire == "gt":
            how += ", and drops SpikingJelly's spikes at exactly h == 0 (it fires at >=)"
    elif kind == "li":
        how += "; input fed as x*tau (decay_input=False)" if not spec.decay_input else ""
        sg_level, sg_how = NATIVE, "no spike: the membrane's own gradient"
    else:
        how += _rule(spec)
        if kind == "eif" and not spec.decay_input:
            how += "; input fed as x*tau (decay_input=False: SpikingJelly's EIF decays it)"
        if kind == "cuba_lif" and spec.decay_input:
            how += "; input fed as x/tau (decay_input=True: SpikingJelly's CUBA does not)"
        if kind == "klif" and spec.reset == "soft" and spec.v_reset != 0.0:
            how += "; input offset by v_reset (SpikingJelly's soft KLIF leaks towards 0)"
    if kind == "clif" and spec.detach_reset:
        return Support(NATIVE, UNSUPPORTED, how, "SpikingJelly's clif_step never detaches the "
                       "reset")
    grad_level = max(grad, sg_level, key=lambda lv: lv.rank)
    return Support(fwd, grad_level, how, f"{how}; {sg_how}")
