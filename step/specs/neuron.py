r"""Neuron specs: what a neuron computes, independent of any library.

Every neuron is a multi-step module over time-first tensors ``[T, B, ...]``. It starts each
sequence at rest (:math:`v[0] = v_{reset}`) and at every step charges, fires, then resets:

.. math::

   h[t] = \mathrm{charge}(v[t-1], x[t]) \qquad
   s[t] = H(h[t] - v_{th}) \qquad
   v[t] = \mathrm{reset}(h[t], s[t])

Fire rule (``fire``): ``gt`` fires when :math:`h[t] > v_{th}` (strict: snnTorch, Norse,
BrainCog, NIR), ``ge`` when :math:`h[t] \ge v_{th}` (SpikingJelly, and so the official code of
every spiking transformer). They differ only on exact ties, which are common where a neuron
sums spikes (an attention neuron at threshold 0.5 fed multiples of 0.125), so a model must use
the rule of the code it reproduces. The surrogate gradient is the same under both rules.

Reset modes: ``hard`` :math:`v = s\,v_{reset} + (1 - s)\,h`; ``soft`` :math:`v = h - s\,v_{th}`;
``none`` :math:`v = h`. With ``detach_reset`` the gradient does not flow through :math:`s`
inside the reset. The backward of :math:`s` is the surrogate of :mod:`step.specs.surrogate`.

Where: :math:`x` input current, :math:`h` membrane after charging, :math:`v` membrane after
reset (what traces report), :math:`s \in \{0, 1\}` spike, :math:`v_{th}` threshold,
:math:`v_{reset}` reset potential (also the resting potential the leak pulls towards),
:math:`\tau` membrane time constant in steps.

The equations run in :mod:`step.reference.functional`; the doctests below are hand traces run
against it.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field, field_validator

from step.errors import SpecError
from step.specs._base import Spec
from step.specs.surrogate import SurrogateSpec

ResetMode = Literal["hard", "soft", "none"]
#: ``gt``: fire when h > v_threshold; ``ge``: fire when h >= v_threshold.
FireRule = Literal["gt", "ge"]

#: kind name -> spec class; filled by :func:`register_neuron`. New neuron kinds register here.
NEURON_KINDS: dict[str, type[NeuronSpec]] = {}


def register_neuron(cls: type[NeuronSpec]) -> type[NeuronSpec]:
    """Class decorator: make a spec class parseable by its ``kind``."""
    kind = cls.model_fields["kind"].default
    if kind in NEURON_KINDS:
        raise SpecError(f"neuron kind {kind!r} is registered twice")
    NEURON_KINDS[kind] = cls
    return cls


class NeuronSpec(Spec):
    """Fields every spiking neuron shares."""

    kind: str
    v_threshold: float = Field(1.0, description="firing threshold")
    v_reset: float = Field(0.0, description="reset and resting potential; initial membrane")
    fire: FireRule = Field(
        "gt", description="fire rule: gt fires when h > v_threshold, ge when h >= v_threshold"
    )
    reset: ResetMode = Field("hard", description="hard, soft or none")
    detach_reset: bool = Field(False, description="stop the gradient through s in the reset")
    surrogate: SurrogateSpec = Field(default_factory=SurrogateSpec, description="backward of s")
    learn_threshold: bool = Field(False, description="make v_threshold a trainable parameter")

    #: The learnable parameters the reference creates for this kind (name -> meaning).
    learnable: ClassVar[dict[str, str]] = {}
    #: What ``forward`` returns: binary ``spikes``, ``graded`` spike counts, or the
    #: ``membrane`` itself (a non-spiking readout). Comparisons and docs read it.
    output: ClassVar[str] = "spikes"
    #: Values :func:`step.backend.representative_specs` tries per field, where a kind accepts
    #: fewer than the base grid (a fixed surrogate, no reset to detach).
    grid: ClassVar[dict[str, tuple[Any, ...]]] = {}

    def learnable_parameters(self) -> dict[str, str]:
        """Names of the trainable parameters this spec creates, with their meaning."""
        out = dict(self.learnable)
        if self.learn_threshold:
            out["v_threshold"] = "firing threshold"
        return out


@register_neuron
class IFSpec(NeuronSpec):
    r"""Integrate-and-fire: :math:`h[t] = v[t-1] + x[t]`.

    Hand trace (threshold 1, hard reset to 0, input 0.75 three times):
    h = 0.75 (no spike), h = 1.5 (spike, reset to 0), h = 0.75. With a soft reset the spike
    subtracts the threshold: v = 0.5 after step 2, then h = 1.25 fires again, v = 0.25.

    >>> from step.trace import trace
    >>> trace(IFSpec(), [0.75, 0.75, 0.75])
    Trace(spikes=[0, 1, 0], v=[0.75, 0.0, 0.75])
    >>> trace(IFSpec(reset="soft"), [0.75, 0.75, 0.75])
    Trace(spikes=[0, 1, 1], v=[0.75, 0.5, 0.25])
    """

    kind: Literal["if"] = "if"


class _LeakySpec(NeuronSpec):
    tau: float = Field(2.0, description="membrane time constant in steps (> 1)")
    decay_input: bool = Field(True, description="divide the input by tau as well as the leak")

    @field_validator("tau")
    @classmethod
    def _tau_above_one(cls, tau: float) -> float:
        if not tau > 1.0:
            raise ValueError(
                f"tau must be > 1 (time constant in steps; tau=2 halves the distance to "
                f"v_reset each step), got {tau}"
            )
        return tau


@register_neuron
class LIFSpec(_LeakySpec):
    r"""Leaky integrate-and-fire.

    ``decay_input=True``: :math:`h[t] = v[t-1] + (x[t] - (v[t-1] - v_{reset}))/\tau`;
    ``decay_input=False``: :math:`h[t] = v[t-1] - (v[t-1] - v_{reset})/\tau + x[t]`.

    Hand trace (tau 2, threshold 1, hard reset to 0, input 2 three times):
    h = 0 + (2 - 0)/2 = 1 (not above 1: no spike), h = 1 + (2 - 1)/2 = 1.5 (spike, v = 0),
    h = 1 again. Soft reset: v = 1.5 - 1 = 0.5 after step 2, then h = 0.5 + (2 - 0.5)/2 = 1.25
    fires again and leaves v = 0.25.

    >>> from step.trace import trace
    >>> trace(LIFSpec(tau=2.0), [2.0, 2.0, 2.0])
    Trace(spikes=[0, 1, 0], v=[1.0, 0.0, 1.0])
    >>> trace(LIFSpec(tau=2.0, decay_input=False), [0.5, 0.5, 0.5])
    Trace(spikes=[0, 0, 0], v=[0.5, 0.75, 0.875])
    >>> trace(LIFSpec(tau=2.0, reset="soft"), [2.0, 2.0, 2.0])
    Trace(spikes=[0, 1, 1], v=[1.0, 0.5, 0.25])

    With ``fire="ge"`` the first step's h = 1 sits exactly on the threshold and fires (reset to
    0); step 2 charges to h = (2 - 0)/2 = 1 again and fires again, and so does step 3.

    >>> trace(LIFSpec(tau=2.0, fire="ge"), [2.0, 2.0, 2.0])
    Trace(spikes=[1, 1, 1], v=[0.0, 0.0, 0.0])
    """

    kind: Literal["lif"] = "lif"


@register_neuron
class PLIFSpec(_LeakySpec):
    r"""Parametric LIF: LIF whose :math:`1/\tau = \sigma(w)` is learnt.

    ``tau`` is the initial time constant, :math:`w_0 = -\ln(\tau - 1)`. The forward pass is
    the LIF's with the current :math:`\tau`.

    >>> from step.trace import trace
    >>> trace(PLIFSpec(tau=2.0), [2.0, 2.0, 2.0])
    Trace(spikes=[0, 1, 0], v=[1.0, 0.0, 1.0])
    """

    kind: Literal["plif"] = "plif"
    learnable: ClassVar[dict[str, str]] = {"w": "1/tau = sigmoid(w)"}

    @property
    def initial_w(self) -> float:
        """The starting value of the learnt parameter: sigmoid(w0) = 1/tau, w0 = -ln(tau - 1)."""
        return -math.log(self.tau - 1.0)


def parse_neuron(data: Any) -> NeuronSpec:
    """Build the neuron spec of the right kind from a dict, a kind name or a spec."""
    if isinstance(data, NeuronSpec):
        return data
    if isinstance(data, str):
        data = {"kind": data}
    if not isinstance(data, dict):
        raise SpecError(f"a neuron spec is a mapping with a 'kind' key, got {type(data).__name__}")
    kind = data.get("kind")
    if kind not in NEURON_KINDS:
        known = ", ".join(sorted(NEURON_KINDS))
        raise SpecError(f"unknown neuron kind {kind!r}: choose one of {known}")
    return NEURON_KINDS[kind].parse(data, what=f"{kind} neuron spec")


#: Use as a field type in configs that hold a neuron: accepts a dict, a kind name or a spec.
AnyNeuronSpec = Annotated[NeuronSpec, BeforeValidator(parse_neuron)]
