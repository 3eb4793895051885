"""snnTorch adapter (``step.backends: snntorch``), for snntorch 1.0.0.

Every neuron is one ``snn.Leaky(reset_delay=False)`` called once per time step with the
membrane passed explicitly (``spk, mem = leaky(x_t, mem)``), never through its hidden-state
machinery (``init_hidden``, ``reset_hidden``), which re-zeroes the state silently whenever the
input shape changes and is shared through a global list. The canonical equations are in
:mod:`step.specs.neuron`; this module decides, from the spec alone and without importing torch
or snnTorch, how the library computes it.

Mapping (see ``shared/reference/backends.md``). ``Leaky`` computes
``mem = beta * mem + input`` and never scales the input, so with ``k = 1/tau`` (IF: ``k = 0``):
``beta = 1 - k``, and the input fed is ``x * k`` with ``decay_input``, ``x`` without. Hard and
no reset work in the frame ``mem = v - v_reset`` with threshold ``v_threshold - v_reset`` (the
zero reset is the canonical reset to ``v_reset``); the soft reset in the frame ``mem = v`` with
threshold ``v_threshold``, where the leak towards ``v_reset`` becomes an input offset
``v_reset * k``. snnTorch fires on a strict ``mem - threshold > 0`` (``fire="gt"``); for
``fire="ge"`` the adapter sets the threshold one ulp lower in the input's dtype
(:mod:`step.fire_rule`).

Where the library's own reset is used (``"zero"``, ``"none"``), it is native. Leaky's immediate
reset (``reset_delay=False``) recomputes the previous step's spike from the stored membrane
(``reset = H(mem - threshold)``) and subtracts it again before firing, which is only right
while the membrane after reset is at or below threshold. After a soft reset it often is not
(IF, threshold 1, input 2.5, 0, 0 gives spikes 1, 0, 0 and a membrane stuck at 1.5; the
canonical answer is 1, 1, 0), nor after a zero reset when ``v_threshold < v_reset``; and the
reset cannot be detached. In those cases the adapter runs ``Leaky(reset_mechanism="none")``
(library charge and fire) and applies the reset itself: reported ``emulated``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from step.backend import Backend
from step.fire_rule import nudge_how
from step.hookspecs import hookimpl
from step.quirks import Quirk, library_fire_rule
from step.specs import NeuronSpec, SurrogateSpec
from step.support import Level, Support

from .zoo import ZOO_KINDS, zoo_support

if TYPE_CHECKING:
    from step.nn.base import NeuronModule

#: Canonical family -> snnTorch surrogate factory and the name of its sharpness argument, for
#: the families whose formula (and gradient at every x) matches step.reference.surrogates.
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


class SnnTorchBackend(Backend):
    """IF and LIF on ``snn.Leaky`` (PLIF emulated on it), looped over time by the adapter."""

    name = "snntorch"
    library = "snntorch"
    distribution = "snntorch"
    install_hint = "pip install 'step-snn[snntorch]'"
    description = "snnTorch 1.x snn.Leaky (reset_delay=False, explicit membrane), looped over T"
    fire_rules = ("gt", "ge")
    quirks = {q.name: q for q in (
        library_fire_rule("gt", "snnTorch", "mem - threshold > 0"),
        Quirk("subtract_resubtracts", "snnTorch's immediate 'subtract' reset re-subtracts the "
              "threshold whenever the membrane after reset is still above it (snn.Leaky "
              "reset_mechanism='subtract', reset_delay=False)"),
    )}

    def neuron_support(self, spec: NeuronSpec) -> Support:
        kind = spec.kind
        if kind in ZOO_KINDS:  # the neuron zoo: step.plugins.snntorch.zoo
            return zoo_support(spec, self.quirk_on("subtract_resubtracts"))
        if kind not in ("if", "lif", "plif"):
            return Support.unsupported(f"the snnTorch adapter has no {kind!r} neuron")
        beta = "beta = 1" if kind == "if" else "beta = 1 - 1/tau"
        if kind == "lif" and spec.decay_input:
            beta += ", input x/tau"
        if spec.learn_threshold:
            beta += ", learn_threshold=True"
        reset_how = adapter_reset_reason(spec, self.quirk_on("subtract_resubtracts"))
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
        return replace(
            forward.combine(Support(Level.NATIVE, sg_level, "", sg_how)),
            gradient_precision="float32",
            precision_how="snnTorch's spike functions return float32 spikes whatever the input "
            "dtype (e.g. ATan.forward ends in .float()), so the surrogate backward runs in float32",
        )

    def _build_neuron(self, spec: NeuronSpec, support: Support) -> NeuronModule:
        if spec.kind in ZOO_KINDS:
            from step.plugins.snntorch.zoo_neurons import SnnTorchCUBA

            return SnnTorchCUBA(spec, self)
        from step.plugins.snntorch.neurons import SnnTorchNeuron

        return SnnTorchNeuron(spec, self)


@hookimpl
def step_backends() -> list[Backend]:
    return [SnnTorchBackend()]
