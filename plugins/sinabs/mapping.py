"""How a neutral IF / LIF / PLIF spec maps onto Sinabs 3.1, decided from the spec alone.

Imports neither torch nor Sinabs (``neuron_support`` must stay cheap); the mapping is explained
in :mod:`step.plugins.sinabs`.
"""

from __future__ import annotations

from step.fire_rule import nudge_how
from step.plugins._adapter import Plan, float32_gradient
from step.specs import NeuronSpec, SurrogateSpec
from step.support import Level, Support

#: Why every Sinabs gradient is declared float32-accurate.
FLOAT32_SPIKES = ("Sinabs' spike functions return float32 spikes whatever the input dtype "
                  "(SingleSpike.forward ends in .float()), so the backward receives the "
                  "incoming gradient rounded to float32")


def surrogate_support(sg: SurrogateSpec) -> tuple[Level, str]:
    """Sinabs' ``Gaussian(mu=0, sigma)`` is the canonical gaussian with
    ``sigma = 1/(alpha*sqrt(2))``; its other surrogates (``SingleExponential``,
    ``PeriodicExponential``, ``Heaviside(window)`` = ``1[v >= th - window]/th``,
    ``MultiGaussian``) are none of the canonical families, so those are plugged in as a
    ``surrogate_grad_fn`` callable (the library's extension point)."""
    if sg.kind == "gaussian":
        return Level.NATIVE, f"sinabs.activation.Gaussian(mu=0, sigma=1/({sg.alpha:g}*sqrt(2)))"
    return Level.EMULATED, (
        f"Sinabs has no {sg.kind} surrogate; step's {sg.kind}(alpha={sg.alpha:g}) formula is "
        "passed as surrogate_grad_fn(v_mem, spike_threshold)")


def reset_support(spec: NeuronSpec) -> Support:
    """Sinabs' own reset functions where they compute the spec's reset, else a custom
    ``reset_fn`` (the library's extension point)."""
    if spec.reset == "none":
        return Support.native("MembraneSubtract(subtract_value=0)")
    if spec.reset == "soft" and not spec.detach_reset:
        return Support.native("MembraneSubtract(subtract_value=v_threshold)")
    if spec.reset == "hard" and spec.detach_reset:
        return Support.native("MembraneReset(reset_value=0) in the frame v_mem = v - v_reset")
    why = ("MembraneReset multiplies by (spikes == 0).float(), which has no gradient, so the "
           "reset is always detached" if spec.reset == "hard" else
           "MembraneSubtract subtracts spikes * threshold with the spikes attached, so the "
           "reset cannot be detached")
    how = f"{why}: the adapter passes its own reset_fn computing the spec's {spec.reset} reset"
    return Support(Level.EMULATED, Level.EMULATED, how, how)


def plan(spec: NeuronSpec, exp_decay: bool = False) -> Plan:
    """How Sinabs computes an IF, LIF or PLIF ``spec`` (``exp_decay``: the quirk is on)."""
    if spec.kind == "if":
        core = "lif_forward with alpha_mem=1, norm_input=False (Sinabs' IAF)"
    else:
        decay = "exp(-1/tau) (quirk exp_decay)" if exp_decay else "1 - 1/tau"
        core = f"lif_forward with alpha_mem={decay}, norm_input={spec.decay_input}"
    support = Support.native(core + ", spike_fn=SingleSpike")
    if spec.kind == "plif":
        how = ("Sinabs has no PLIF (train_alphas learns the decay factor itself): the adapter "
               "owns w and passes alpha_mem = 1 - sigmoid(w) each call, so w gets its gradient "
               "through the library's charge")
        support = support.combine(Support(Level.EMULATED, Level.EMULATED, how, how))
    support = support.combine(reset_support(spec))
    if spec.fire == "gt":
        support = support.combine(Support(Level.NATIVE, Level.NATIVE, nudge_how("gt", "ge"), ""))
    if spec.learn_threshold:
        why = ("Sinabs' spike functions return no gradient for spike_threshold "
               "(BackwardClass.backward returns None for it), so a learnt threshold gets none")
        support = support.combine(Support(Level.NATIVE, Level.UNSUPPORTED, "", why))
    sg_level, sg_how = surrogate_support(spec.surrogate)
    support = support.combine(Support(Level.NATIVE, sg_level, "", sg_how))
    return Plan(float32_gradient(support, FLOAT32_SPIKES))
