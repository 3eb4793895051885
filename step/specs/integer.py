r"""Integer-spike neurons: ILIF (counts in :math:`\{0..D\}`) and NILIF (the count over D).

Both charge as a LIF, emit a spike *count* instead of a single spike, and subtract the charge
the count carried (a soft reset). The equations run in :mod:`step.reference.integer`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from step.specs.neuron import _LeakySpec, register_neuron
from step.specs.surrogate import SurrogateSpec


class _IntegerSpec(_LeakySpec):
    r"""Fields and checks shared by ILIF and NILIF."""

    tau: float = Field(4.0 / 3.0, description="membrane time constant in steps (> 1); the "
                                               "paper's beta = 1 - 1/tau = 0.25")
    decay_input: bool = Field(False, description="divide the input by tau as well (STEP's "
                                                 "code); the paper adds it undivided")
    reset: Literal["soft"] = Field("soft", description="soft: the reset subtracts C v_threshold")
    max_spikes: int = Field(4, description="D, the largest spike count per step (>= 1)")
    round_ties: Literal["fire", "even"] = Field(
        "fire", description="a membrane exactly on a level boundary (k - 1/2) v_threshold: "
                            "fire (the fire rule decides), or even (torch.round, ties to the "
                            "even count: the authors' code)")
    surrogate: SurrogateSpec = Field(
        default_factory=lambda: SurrogateSpec(kind="straight_through"),
        description="fixed: straight_through (dC/dh = 1/v_threshold on 0 <= h <= D v_threshold)")
    output: ClassVar[str] = "graded"
    grid: ClassVar[dict[str, tuple[Any, ...]]] = {
        "surrogate": (SurrogateSpec(kind="straight_through"),)}

    @field_validator("max_spikes")
    @classmethod
    def _at_least_one(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"max_spikes must be >= 1 (D, the largest count), got {value}")
        return value

    @model_validator(mode="after")
    def _fixed_backward_and_origin(self) -> _IntegerSpec:
        if self.surrogate.kind != "straight_through":
            raise ValueError(
                f"surrogate must be straight_through: the backward of the rounding is the "
                f"straight-through estimator on 0 <= h <= D v_threshold, got "
                f"{self.surrogate.kind}"
            )
        if self.v_reset != 0.0:
            raise ValueError(
                f"v_reset must be 0: the count measures the membrane in multiples of "
                f"v_threshold above 0, got {self.v_reset}"
            )
        if not self.v_threshold > 0:
            raise ValueError(f"v_threshold must be > 0 (the count's unit), got "
                             f"{self.v_threshold}")
        return self


@register_neuron
class ILIFSpec(_IntegerSpec):
    r"""Integer LIF (I-LIF, Luo et al. ECCV 2024): integer spike counts, soft reset.

    .. math::

       h[t] = v[t-1] - (v[t-1] - v_{reset})/\tau + x[t] \qquad
       C[t] = \#\{k \in 1..D : h[t] > (k - \tfrac12)\, v_{th}\} \qquad
       v[t] = h[t] - C[t]\, v_{th}

    :math:`C` is :math:`\mathrm{round}(\mathrm{clip}(h / v_{th}, 0, D))` read with the strict
    rule: a level counts only when the membrane is strictly above its boundary (at exactly
    1.5 the count is 1; ``torch.round`` would give 2). ``round_ties="even"`` rounds as
    ``torch.round`` does, ties to the even count (1.5 gives 2, 2.5 gives 2), as the authors'
    code (SpikeYOLO's ``MultiSpike4``), which also detaches the count in the reset
    (``published("ilif")``). Backward: straight-through,
    :math:`\partial C/\partial h = 1/v_{th}` on :math:`0 \le h \le D v_{th}`, zero outside.

    Where: :math:`D` ``max_spikes``, :math:`C` the count the neuron outputs,
    :math:`\beta = 1 - 1/\tau` the paper's leak (its code: 0.25, ``tau = 4/3``).

    STEP's code charges with the input divided by tau (``decay_input=True`` here) and uses
    D = 2; the paper adds the input undivided, D = 4 (the defaults here).

    Hand trace (tau 2, input 2.75, 1, 0.25): h = 2.75, C = 3 (2.75 is above 2.5), v = -0.25;
    h = -0.25 + 0.125 + 1 = 0.875, C = 1, v = -0.125; h = -0.125 + 0.0625 + 0.25 = 0.1875,
    C = 0. A drive of 9 saturates at C = D = 4 and keeps v = 5; 1.5 exactly gives C = 1.

    >>> from step.trace import trace
    >>> trace(ILIFSpec(tau=2.0), [2.75, 1.0, 0.25])
    Trace(spikes=[3, 1, 0], v=[-0.25, -0.125, 0.1875])
    >>> trace(ILIFSpec(tau=2.0), [9.0]), trace(ILIFSpec(tau=2.0), [1.5])
    (Trace(spikes=[4], v=[5.0]), Trace(spikes=[1], v=[0.5]))
    """

    kind: Literal["ilif"] = "ilif"


@register_neuron
class NILIFSpec(_IntegerSpec):
    r"""Normalised integer LIF (NI-LIF): the ILIF count divided by D.

    .. math::

       s[t] = C[t] / D \in \{0, \tfrac1D, \dots, 1\} \qquad v[t] = h[t] - C[t]\, v_{th}

    with :math:`h` and :math:`C` as :class:`ILIFSpec`; the backward is
    :math:`\partial s/\partial h = 1/(D v_{th})` on :math:`0 \le h \le D v_{th}`. The reset
    removes the charge the count carried, as in ILIF.

    STEP's code rounds *after* dividing by D (``round(clamp(v/th, 0, D)/D)``), which makes the
    output binary (0 or 1) and the "integer" levels unreachable: a bug; here the count is
    rounded first, then normalised.

    Hand trace (tau 2, input 2.75, 1, 0.25): the ILIF counts 3, 1, 0 over D = 4.

    >>> from step.trace import trace
    >>> trace(NILIFSpec(tau=2.0), [2.75, 1.0, 0.25])
    Trace(spikes=[0.75, 0.25, 0], v=[-0.25, -0.125, 0.1875])
    """

    kind: Literal["nilif"] = "nilif"
