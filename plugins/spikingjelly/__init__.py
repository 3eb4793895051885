"""SpikingJelly adapter (``step.backends: spikingjelly``), for spikingjelly 2.0.0.

The neurons run on ``spikingjelly.activation_based.functional``'s multi-step functions
(``if_multi_step``, ``lif_multi_step``, ``plif_multi_step``), which take the membrane as an
explicit argument: no module memory, so nothing leaks between calls and a batch-size change is
safe. The canonical equations are in :mod:`step.specs.neuron`; this module only decides, from
the spec alone and without importing torch or SpikingJelly, how the library computes it.

Mapping (see ``shared/reference/backends.md``): ``tau``, ``v_threshold``, ``v_reset`` and
``decay_input`` pass through; ``reset="soft"`` is SpikingJelly's ``v_reset=None``. Two
differences are normalised by the adapter, not hidden:

- SpikingJelly fires at equality (``h - th >= 0``), which is the spec's ``fire="ge"``. For
  ``fire="gt"`` the adapter hands it the next representable threshold above ``v_threshold`` in
  the input's dtype, so it fires exactly when ``h > v_threshold`` holds (IEEE-754:
  ``a >= nextafter(b)`` iff ``a > b``; :mod:`step.fire_rule`). A soft reset then subtracts that
  nudged threshold: one ulp of ``v_threshold`` per spike (1.2e-7 for 1.0 in float32).
- With a soft reset SpikingJelly's LIF leaks towards 0, not ``v_reset``; the adapter adds
  ``v_reset`` (times ``1/tau`` without ``decay_input``) to the input, which is the same charge.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from step.backend import Backend
from step.fire_rule import nudge_how
from step.hookspecs import hookimpl
from step.quirks import library_fire_rule
from step.specs import NeuronSpec, SurrogateSpec
from step.support import Level, Support

from .zoo import LIBRARY as ZOO_LIBRARY
from .zoo import zoo_support

if TYPE_CHECKING:
    from step.nn.base import NeuronModule

#: Canonical surrogate family -> SpikingJelly class with the same formula and the same alpha.
#: Each was checked numerically against step.reference.surrogates (tests/test_adapter_spikingjelly).
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


class SpikingJellyBackend(Backend):
    """IF, LIF and PLIF on SpikingJelly's functional multi-step neurons."""

    name = "spikingjelly"
    library = "spikingjelly"
    distribution = "spikingjelly"
    install_hint = "pip install 'step-snn[spikingjelly]'"
    description = "SpikingJelly 2.x functional multi-step neurons (native fire rule >=)"
    fire_rules = ("gt", "ge")
    quirks = {q.name: q for q in (
        library_fire_rule("ge", "SpikingJelly", "its heaviside is x >= 0"),
    )}

    def neuron_support(self, spec: NeuronSpec) -> Support:
        kind = spec.kind
        if kind in ZOO_LIBRARY:  # the neuron zoo: step.plugins.spikingjelly.zoo
            return zoo_support(spec)
        if kind not in _FUNCTIONS:
            return Support.unsupported(f"the SpikingJelly adapter has no {kind!r} neuron")
        if spec.learn_threshold:
            return Support.unsupported(
                "SpikingJelly has no learnable threshold: its neurons take v_threshold as a "
                "Python float (BaseNode asserts isinstance(v_threshold, float))"
            )
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
            return Support(Level.EMULATED, Level.EMULATED, how, f"{how}; {sg_how}")
        return Support(Level.NATIVE, sg_level, base, f"{base}; {sg_how}")

    def _build_neuron(self, spec: NeuronSpec, support: Support) -> NeuronModule:
        if spec.kind in ZOO_LIBRARY:
            from step.plugins.spikingjelly.zoo_neurons import MODULES

            return MODULES[spec.kind](spec, self)
        from step.plugins.spikingjelly.neurons import SpikingJellyNeuron

        return SpikingJellyNeuron(spec, self)


@hookimpl
def step_backends() -> list[Backend]:
    return [SpikingJellyBackend()]
