r"""LIF variants: exponential (EIF), ReLU-scaled (KLIF), adaptive threshold (ALIF), current-based
(CUBA) and the non-spiking leaky integrator (LI).

Every kind here follows the discrete update of :mod:`step.specs.neuron` (one step per index,
fire on strict :math:`h - \theta > 0`, reset ``hard`` / ``soft`` / ``none``) and changes only
the charge, or the threshold. The equations run in :mod:`step.reference.lif_variants`; the
doctests are hand traces run against it.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from step.specs.neuron import _LeakySpec, register_neuron
from step.specs.surrogate import SurrogateSpec


def check_resting_state(delta_t: float, theta_rh: float, v_rest: float) -> None:
    """An EIF charge has a stable rest only if the exponential loses to the leak at theta_rh."""
    if not delta_t < theta_rh - v_rest:
        raise ValueError(
            f"delta_t ({delta_t}) must be below theta_rh - v_rest ({theta_rh - v_rest:g}): "
            "otherwise the exponential outweighs the leak everywhere and the neuron fires "
            "without input (lower delta_t or raise theta_rh)"
        )


@register_neuron
class EIFSpec(_LeakySpec):
    r"""Exponential integrate-and-fire (Fourcaud-Trocmé et al. 2003).

    .. math::

       \tau \frac{dv}{dt} = -(v - v_{rest}) + \Delta_T e^{(v - \theta_{rh})/\Delta_T} + x

    Discrete update (forward Euler, one step per index; ``decay_input=False`` adds :math:`x`
    undivided):

    .. math::

       h[t] = v[t-1] + \big(x[t] - (v[t-1] - v_{rest})
              + \Delta_T e^{(v[t-1] - \theta_{rh})/\Delta_T}\big) / \tau

    then fire on :math:`h > v_{th}` and reset (hard to :math:`v_{reset}`, or soft).

    Where: :math:`\Delta_T` sharpness of the spike initiation, :math:`\theta_{rh}` rheobase
    (above it the exponential runs away), :math:`v_{rest}` resting potential (the leak target
    and the initial membrane), :math:`v_{reset}` where a spike sends the membrane,
    :math:`v_{th}` the cut-off at which the runaway is registered as a spike.

    STEP's code has the same charge (dT=1, theta_rh=0.8, reset to -0.1), leaking towards 0;
    here the leak target is ``v_rest``. STEP's dT=1 leaves the neuron without a resting state:
    at rest the exponential (e^-0.8 = 0.45) outweighs the leak for every v, so it drifts up and
    fires with no input at all. A resting state needs :math:`\Delta_T < \theta_{rh} - v_{rest}`
    (validated); the default here is dT = 0.2. Without a reset the exponential diverges, so
    ``reset`` is ``hard`` or ``soft``.

    Hand trace (defaults: theta_rh 0.8, dT 0.2, v_reset -0.1; input 1.5):
    h = (1.5 + 0.2 e^-4)/2 = 0.751832; h = 0.751832 + (1.5 - 0.751832 + 0.2 e^-0.240840)/2
    = 0.751832 + (0.748168 + 0.157193)/2 = 1.204512 fires, v = -0.1;
    h = -0.1 + (1.6 + 0.2 e^-4.5)/2 = 0.701111.

    >>> from step.trace import trace
    >>> t = trace(EIFSpec(), [1.5, 1.5, 1.5])
    >>> t.spikes, [round(v, 6) for v in t.v]
    ([0, 1, 0], [0.751832, -0.1, 0.701111])
    """

    kind: Literal["eif"] = "eif"
    reset: Literal["hard", "soft"] = Field("hard", description="hard or soft (EIF diverges "
                                                               "without a reset)")
    v_reset: float = Field(-0.1, description="where a spike sends the membrane (hard reset)")
    v_rest: float = Field(0.0, description="resting potential: leak target and initial membrane")
    delta_t: float = Field(0.2, description="sharpness Delta_T of the exponential (> 0, below "
                                            "theta_rh - v_rest)")
    theta_rh: float = Field(0.8, description="rheobase: above it the exponential runs away")

    @field_validator("delta_t")
    @classmethod
    def _positive_delta(cls, value: float) -> float:
        if not value > 0:
            raise ValueError(f"delta_t must be > 0 (the exponential's sharpness), got {value}")
        return value

    @model_validator(mode="after")
    def _threshold_above_rheobase(self) -> EIFSpec:
        check_resting_state(self.delta_t, self.theta_rh, self.v_rest)
        if not self.v_threshold > self.theta_rh:
            raise ValueError(
                f"v_threshold ({self.v_threshold}) must be above theta_rh ({self.theta_rh}): "
                "the spike is registered where the exponential runaway has started"
            )
        return self


@register_neuron
class KLIFSpec(_LeakySpec):
    r"""KLIF (Jiang & Zhang 2023): the LIF membrane scaled by a learnt slope, through a ReLU.

    .. math::

       h[t] = \mathrm{ReLU}\big(k \cdot \mathrm{charge}_{LIF}(v[t-1], x[t])\big)

    then fire on :math:`h > v_{th}` and reset. Where: :math:`k` a learnable scalar (initially
    1) that steepens or flattens the membrane and hence the surrogate's effective slope;
    :math:`\mathrm{charge}_{LIF}` the LIF charge of :class:`step.specs.LIFSpec`. The ReLU keeps
    the membrane at or above 0 (so with ``v_reset < 0`` the leak never reaches its target).

    Hand trace (tau 2, input -1, 2, 2): h = ReLU((−1 − 0)/2) = 0; h = (2 − 0)/2 = 1 (not
    above 1); h = 1 + (2 − 1)/2 = 1.5 fires. A LIF would sink to -0.5 first and fire later.

    >>> from step.trace import trace
    >>> trace(KLIFSpec(), [-1.0, 2.0, 2.0])
    Trace(spikes=[0, 0, 1], v=[0.0, 1.0, 0.0])
    """

    kind: Literal["klif"] = "klif"
    learnable: ClassVar[dict[str, str]] = {"k": "slope of the membrane's ReLU (starts at 1)"}


@register_neuron
class ALIFSpec(_LeakySpec):
    r"""Adaptive-threshold LIF (ALIF, the adaptive neuron of LSNNs; Bellec et al. 2018).

    .. math::

       \theta[t] = v_{th} + \beta\, a[t-1] \qquad
       a[t] = (1 - 1/\tau_a)\, a[t-1] + s[t]

    .. math::

       h[t] = v[t-1] + (x[t] - (v[t-1] - v_{reset}))/\tau \qquad s[t] = H(h[t] - \theta[t])

    (the LIF charge; ``decay_input=False`` adds :math:`x` undivided); the hard reset goes to
    :math:`v_{reset}`, the soft reset subtracts :math:`\theta[t]`. Each spike raises the
    threshold by :math:`\beta`, and the raise decays by :math:`1 - 1/\tau_a` per step back to
    :math:`v_{th}`.

    Where: :math:`a` the adaptation variable (0 at rest), :math:`\beta \ge 0` the threshold
    increment per spike, :math:`\tau_a` its decay time constant in steps.

    Hand trace (tau 2, tau_adapt 2, beta 1, input 4): theta = 1, h = 4/2 = 2 fires, a = 1;
    theta = 1 + 1 = 2, h = 0 + 4/2 = 2 (not above 2), a = 0.5; theta = 1.5,
    h = 2 + (4 - 2)/2 = 3 fires. A LIF would fire at every step.

    >>> from step.trace import trace
    >>> trace(ALIFSpec(tau_adapt=2.0, beta=1.0), [4.0, 4.0, 4.0])
    Trace(spikes=[1, 0, 1], v=[0.0, 2.0, 0.0])
    """

    kind: Literal["alif"] = "alif"
    tau_adapt: float = Field(20.0, description="decay time constant of the adaptation in steps "
                                               "(> 1)")
    beta: float = Field(1.8, description="threshold increment per spike (>= 0)")

    @field_validator("tau_adapt")
    @classmethod
    def _tau_adapt_above_one(cls, value: float) -> float:
        if not value > 1.0:
            raise ValueError(f"tau_adapt must be > 1 (time constant in steps), got {value}")
        return value

    @field_validator("beta")
    @classmethod
    def _beta_non_negative(cls, value: float) -> float:
        if value < 0:
            raise ValueError(f"beta must be >= 0 (a spike raises the threshold), got {value}")
        return value


@register_neuron
class CUBALIFSpec(_LeakySpec):
    r"""Current-based LIF: the input charges a synaptic current, the current charges the LIF.

    .. math::

       i[t] = (1 - 1/\tau_{syn})\, i[t-1] + x[t] \qquad
       h[t] = v[t-1] + (i[t] - (v[t-1] - v_{reset}))/\tau

    (``decay_input=False``: :math:`h = v - (v - v_{reset})/\tau + i`), then fire and reset as
    the LIF. Where: :math:`i` the synaptic current (0 at rest),
    :math:`\tau_{syn}` its decay time constant in steps.

    Hand trace (tau 2, tau_syn 2, input 3, 0, 0): i = 3, h = 3/2 = 1.5 fires, v = 0;
    i = 1.5, h = 0 + 1.5/2 = 0.75; i = 0.75, h = 0.75 + (0.75 - 0.75)/2 = 0.75: the current
    keeps charging after the input stops.

    >>> from step.trace import trace
    >>> trace(CUBALIFSpec(), [3.0, 0.0, 0.0])
    Trace(spikes=[1, 0, 0], v=[0.0, 0.75, 0.75])
    """

    kind: Literal["cuba_lif"] = "cuba_lif"
    tau_syn: float = Field(2.0, description="synaptic current time constant in steps (> 1)")

    @field_validator("tau_syn")
    @classmethod
    def _tau_syn_above_one(cls, value: float) -> float:
        if not value > 1.0:
            raise ValueError(f"tau_syn must be > 1 (time constant in steps), got {value}")
        return value


class _NoResetMixin:
    """Validation shared by kinds that never reset: nothing to detach, no threshold to learn."""

    def _check_no_reset(self: Any, why: str) -> None:
        if self.detach_reset:
            raise ValueError(f"detach_reset must be false: {why}")
        if self.learn_threshold:
            raise ValueError(f"learn_threshold must be false: {why}")


@register_neuron
class LISpec(_LeakySpec, _NoResetMixin):
    r"""Leaky integrator: a non-spiking readout whose output is its membrane.

    .. math::

       v[t] = v[t-1] + (x[t] - (v[t-1] - v_{reset}))/\tau

    (``decay_input=False``: :math:`v[t] = v[t-1] - (v[t-1] - v_{reset})/\tau + x[t]`); no
    threshold, no reset, ``forward`` returns :math:`v`. Where: :math:`v_{reset}` is the
    resting potential and initial membrane. ``v_threshold`` and ``surrogate`` are unused.

    Hand trace (tau 2, input 2, 2, 0): v = 1, v = 1 + (2 - 1)/2 = 1.5, v = 1.5 - 1.5/2 = 0.75.

    >>> from step.trace import trace
    >>> trace(LISpec(), [2.0, 2.0, 0.0])
    Trace(spikes=[1, 1.5, 0.75], v=[1.0, 1.5, 0.75])
    """

    kind: Literal["li"] = "li"
    reset: Literal["none"] = Field("none", description="none: a leaky integrator never resets")
    output: ClassVar[str] = "membrane"
    grid: ClassVar[dict[str, tuple[Any, ...]]] = {"detach_reset": (False,),
                                                  "surrogate": (SurrogateSpec(),),
                                                  "fire": ("gt",)}

    @model_validator(mode="after")
    def _nothing_to_reset(self) -> LISpec:
        self._check_no_reset("a leaky integrator neither fires nor resets")
        if self.fire != "gt":
            raise ValueError("fire must be gt: a leaky integrator never fires, so it has no "
                             "fire rule")
        return self
