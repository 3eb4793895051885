r"""Gated and parallel neurons: CLIF, GLIF, HD-LIF and PSN.

The equations run in :mod:`step.reference.gated`; the doctests are hand traces run against it.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from step.specs.lif_variants import check_resting_state
from step.specs.neuron import NeuronSpec, _LeakySpec, register_neuron


def _tau_above_one(value: float) -> float:
    if not value > 1.0:
        raise ValueError(f"tau must be > 1 (time constant in steps), got {value}")
    return value


def _open_unit(name: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must lie in (0, 1) (it is learnt through a sigmoid), got "
                         f"{value}")


@register_neuron
class CLIFSpec(NeuronSpec):
    r"""Complementary LIF (CLIF, Huang et al. ICML 2024).

    .. math::

       h[t] = v[t-1] - (v[t-1] - v_{reset})/\tau + x[t] \qquad s[t] = H(h[t] - v_{th})

       m[t] = m[t-1]\,\sigma(h[t]/\tau) + s[t] \qquad
       v[t] = h[t] - s[t]\,\big(v_{th} + \sigma(m[t])\big)

    Where: :math:`m` the complementary potential (0 at rest), which remembers recent spikes
    and makes each further spike's reset deeper; :math:`\sigma` the logistic function. The
    reset is not detached in the paper; ``detach_reset`` detaches :math:`s` in both the reset
    and :math:`m`'s increment. STEP's code and SpikingJelly's ``ComplementaryLIFNode`` follow
    the same equations, leaking towards 0 (here towards ``v_reset``, 0 by default).

    Hand trace (tau 2, input 1.5, 0, 0): h = 1.5 fires, m = 0 + 1 = 1,
    v = 1.5 - (1 + sig(1)) = 1.5 - 1.731059 = -0.231059; h = -0.231059/2 = -0.115529,
    m = sig(-0.057765) = 0.485563; h = -0.057765.

    >>> from step.trace import trace
    >>> t = trace(CLIFSpec(), [1.5, 0.0, 0.0])
    >>> t.spikes, [round(v, 6) for v in t.v]
    ([1, 0, 0], [-0.231059, -0.115529, -0.057765])
    """

    kind: Literal["clif"] = "clif"
    tau: float = Field(2.0, description="membrane time constant in steps (> 1)")
    reset: Literal["complementary"] = Field(
        "complementary", description="complementary: v = h - s (v_threshold + sigmoid(m))")

    @field_validator("tau")
    @classmethod
    def _tau_in_steps(cls, value: float) -> float:
        return _tau_above_one(value)


@register_neuron
class GLIFSpec(NeuronSpec):
    r"""Gated LIF (GLIF, Yao et al. NeurIPS 2022), layer-wise: learnt gates mix leak,
    integration and reset.

    .. math::

       U[t] = \lambda\, U[t-1]\,(1 - \gamma s[t-1]) - (1 - \alpha)\, l
              + \big(1 - \beta (1 - g_t)\big)\, x[t] - (1 - \gamma)\, r\, s[t-1]

       \lambda = 1 - \alpha (1 - \tau) \qquad s[t] = H(U[t] - v_{th})

    Every symbol is a learnt parameter passed through a sigmoid: gates :math:`\alpha`
    (exponential vs linear leak), :math:`\beta` (constant vs time-varying conductance),
    :math:`\gamma` (hard vs soft reset); :math:`\tau` the multiplicative leak,
    :math:`l` the linear leak, :math:`r` the soft-reset depth, :math:`g_t` one conductance per
    time step (so the neuron runs at most ``T`` steps), :math:`v_{th}` the threshold. The reset
    of a spike acts inside the next step's charge, so ``v`` (and traces) report
    :math:`U[t]` before it. Initial values: gates ``init_gate``, :math:`\tau` ``init_tau``,
    :math:`v_{th}` ``v_threshold``, :math:`l = v_{th}/(2T)`, :math:`r = v_{th}`,
    :math:`g_t` ``init_conduct`` (the paper's and SpikingJelly's defaults, gates at 0.5
    instead of random). The authors' script starts the gates at (0.45, 0.35, 0.45) (its
    ``--gate 0.6 0.8 0.6``, mapped to :math:`p = (g - 0.5)/2 + 0.5` and stored as
    :math:`\ln(1/p - 1)`, whose sigmoid is :math:`1 - p`) and the linear leak at
    :math:`v_{th}/8` whatever T is (``published("glif")``).

    STEP's version keeps the gates static, which collapses the model to an IF with a linear
    leak and a soft reset (a bug); here every gate is learnt, as in the paper.

    Hand trace (T 3, input 0.5; lambda = 1 - 0.5 * 0.75 = 0.625, input gain 0.75,
    (1 - alpha) l = 1/24): U = -1/24 + 0.375 = 0.333333; U = 0.625 * 0.333333 - 1/24 + 0.375
    = 0.541667 fires; U = 0.625 * 0.541667 * (1 - 0.5) - 1/24 + 0.375 - 0.5 * 0.5 = 0.252604.

    >>> from step.trace import trace
    >>> t = trace(GLIFSpec(T=3), [0.5, 0.5, 0.5])
    >>> t.spikes, [round(v, 6) for v in t.v]
    ([0, 1, 0], [0.333333, 0.541667, 0.252604])
    """

    kind: Literal["glif"] = "glif"
    T: int = Field(4, description="number of time steps (one learnt conductance per step)")
    v_threshold: float = Field(0.5, description="initial threshold, in (0, 1)")
    reset: Literal["gated"] = Field("gated", description="gated: a learnt mix of hard and soft")
    init_gate: float | tuple[float, float, float] = Field(
        0.5, description="initial alpha, beta and gamma (one value for all three, or a "
                         "triple), each in (0, 1)")
    init_tau: float = Field(0.25, description="initial multiplicative leak tau, in (0, 1)")
    init_conduct: float = Field(0.5, description="initial conductance g_t, in (0, 1)")
    init_linear_decay: float | None = Field(
        None, description="initial linear leak, in (0, 1); None: v_threshold / (2 T)")
    init_v_subreset: float | None = Field(
        None, description="initial soft-reset depth, in (0, 1); None: v_threshold")
    learnable: ClassVar[dict[str, str]] = {
        "alpha": "leak gate", "beta": "integration gate", "gamma": "reset gate",
        "tau": "multiplicative leak", "v_threshold": "threshold", "linear_decay": "linear leak",
        "v_subreset": "soft-reset depth", "conduct": "conductance per time step [T]"}

    @model_validator(mode="after")
    def _gated_ranges(self) -> GLIFSpec:
        if self.T < 1:
            raise ValueError(f"T must be >= 1 (the number of time steps), got {self.T}")
        for name in ("v_threshold", "init_tau", "init_conduct", "init_linear_decay",
                     "init_v_subreset"):
            value = getattr(self, name)
            if value is not None:
                _open_unit(name, value)
        for gate, value in zip(("alpha", "beta", "gamma"), self.initial_gates, strict=True):
            _open_unit(f"init_gate ({gate})", value)
        if self.learn_threshold:
            raise ValueError("learn_threshold must be false: GLIF always learns its threshold")
        if self.v_reset != 0.0:
            raise ValueError(f"v_reset must be 0: GLIF starts at 0 and resets through its "
                             f"gates, got {self.v_reset}")
        return self

    @property
    def initial_gates(self) -> tuple[float, float, float]:
        """(alpha, beta, gamma) at initialisation, after the sigmoid."""
        g = self.init_gate
        return (g, g, g) if isinstance(g, float) else g


@register_neuron
class HDLIFSpec(_LeakySpec):
    r"""HD-LIF: a per-neuron gated mixture of the IF, LIF, PLIF and EIF charges.

    .. math::

       h[t] = \sum_{e} \pi_e[t]\, \mathrm{charge}_e(v[t-1], x[t]) \qquad
       \pi[t] = \mathrm{softmax}(a + c\, x[t])

    over the experts :math:`e \in` (IF, LIF, PLIF, EIF); then fire on :math:`h > v_{th}` and
    reset. Where: :math:`a, c \in \mathbb{R}^4` learnt gate logits and input sensitivities
    (0 at first: a uniform mixture), the PLIF expert's :math:`1/\tau = \sigma(w)`
    (:math:`w_0 = -\ln(\tau - 1)`), the EIF expert's rest is ``v_reset`` with ``delta_t`` and
    ``theta_rh``. Each neuron of each sample gates on its own input only.

    STEP's HD-LIF computes its gate from statistics over the batch, so one sample's output
    depends on the others in its batch (a bug); here the gate is per sample and per neuron.

    Hand trace (tau 2, input 1): charges 1, 0.5, 0.5 and (1 + 0.2 e^-4)/2 = 0.501832, mean
    0.625458; then 1.625458, 0.812729, 0.812729 and 0.625458 + (0.374542 + 0.2 e^-0.872710)/2
    = 0.854510, mean 1.026357 fires; then as the first step.

    >>> from step.trace import trace
    >>> t = trace(HDLIFSpec(), [1.0, 1.0, 1.0])
    >>> t.spikes, [round(v, 6) for v in t.v]
    ([0, 1, 0], [0.625458, 0.0, 0.625458])
    """

    kind: Literal["hdlif"] = "hdlif"
    reset: Literal["hard", "soft"] = Field("hard", description="hard or soft (the EIF expert "
                                                               "diverges without a reset)")
    delta_t: float = Field(0.2, description="EIF expert: sharpness Delta_T (> 0, below "
                                            "theta_rh - v_reset)")
    theta_rh: float = Field(0.8, description="EIF expert: rheobase")
    learnable: ClassVar[dict[str, str]] = {
        "w": "PLIF expert, 1/tau = sigmoid(w)", "gate_bias": "gate logits a [4]",
        "gate_weight": "gate input sensitivities c [4]"}

    @field_validator("delta_t")
    @classmethod
    def _positive_delta(cls, value: float) -> float:
        if not value > 0:
            raise ValueError(f"delta_t must be > 0 (the EIF expert's sharpness), got {value}")
        return value

    @model_validator(mode="after")
    def _expert_rests(self) -> HDLIFSpec:
        check_resting_state(self.delta_t, self.theta_rh, self.v_reset)
        return self


@register_neuron
class PSNSpec(NeuronSpec):
    r"""Parallel spiking neuron (PSN, Fang et al. NeurIPS 2023): no state, all steps at once.

    .. math::

       H = W X + b \qquad S = \Theta(H) \;(\text{strict } H > 0)

    over the time axis: :math:`X, H, S \in \mathbb{R}^{T \times N}`, :math:`W` a learnt
    :math:`T \times T` matrix, :math:`b` a learnt per-step bias (the negated threshold). There
    is no membrane and no reset; ``v`` reports the pre-activation :math:`H` (so ``v > 0`` is
    exactly where it fires) and the final state is :math:`H[T-1]`. Initial values:
    :math:`W = I` (each step sees only its own input), :math:`b = -v_{th}`, so a fresh PSN
    fires where :math:`x > v_{th}`. The authors (and SpikingJelly) draw :math:`W` as
    ``nn.Linear(T, T)`` does (``init_weight="kaiming_uniform"``: uniform on
    :math:`\pm 1/\sqrt{T}`, drawn from torch's global generator) with :math:`b = -1`; a
    fresh PSN then fires much less often. The input must have exactly ``T`` steps, and a call
    cannot continue another (a non-causal W needs the whole sequence).

    Hand trace (T 3, input 0.5, 2, 1): H = 0.5 - 1, 2 - 1, 1 - 1 = -0.5, 1, 0; only the
    second step is strictly above 0.

    >>> from step.trace import trace
    >>> trace(PSNSpec(T=3), [0.5, 2.0, 1.0])
    Trace(spikes=[0, 1, 0], v=[-0.5, 1.0, 0.0])
    """

    kind: Literal["psn"] = "psn"
    T: int = Field(4, description="number of time steps: W is T x T")
    reset: Literal["none"] = Field("none", description="none: PSN has no membrane to reset")
    init_weight: Literal["identity", "kaiming_uniform"] = Field(
        "identity", description="initial W: identity, or kaiming_uniform (PyTorch's nn.Linear "
                                "default, the authors' and SpikingJelly's choice)")
    learnable: ClassVar[dict[str, str]] = {"weight": "W [T, T]", "bias": "b [T]"}
    grid: ClassVar[dict[str, tuple[Any, ...]]] = {"detach_reset": (False,)}

    @model_validator(mode="after")
    def _stateless(self) -> PSNSpec:
        if self.T < 1:
            raise ValueError(f"T must be >= 1 (the number of time steps), got {self.T}")
        if self.detach_reset:
            raise ValueError("detach_reset must be false: PSN has no reset")
        if self.learn_threshold:
            raise ValueError("learn_threshold must be false: PSN's bias b is its learnt "
                             "threshold already")
        return self
