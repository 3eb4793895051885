r"""Biophysical neurons: Izhikevich (2003) and Hodgkin-Huxley (1952).

Their membranes are in millivolts and their inputs in the models' own current units, not in
units of the threshold. The equations run in :mod:`step.reference.biophysical`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from step.specs.neuron import NeuronSpec, register_neuron

#: The largest Euler sub-step (ms) HH accepts. Forward Euler on C_m v' = -g v is stable only
#: for dt < 2 C_m / g, and at the spike peak the total conductance reaches ~38 mS/cm^2
#: (0.052 ms). Measured from rest over 100 ms, one sub-step per step: dt = 0.1 goes to NaN
#: within 1.5-7.4 ms for every current from 2.5 to 200 uA/cm^2, dt = 0.075 within 1.3-3.7 ms
#: from 10 uA/cm^2 up (and fires 3 times at 2.5 where a 0.001 ms run fires once), dt = 0.06
#: fires 5-7 times at 100-200 uA/cm^2 (once at 0.001 ms); dt = 0.05 matches the 0.001 ms
#: spike counts from 2.5 to 200 uA/cm^2.
HH_MAX_DT = 0.05


@register_neuron
class IzhikevichSpec(NeuronSpec):
    r"""Izhikevich's simple model (IEEE TNN 2003), regular spiking by default.

    .. math::

       v' = 0.04 v^2 + 5 v + 140 - u + I \qquad u' = a (b v - u) \qquad
       \text{if } v \ge 30: \; v \leftarrow c,\; u \leftarrow u + d

    Discrete update, in the order of the paper's own listing (one Euler step of ``dt`` ms):

    .. math::

       h[t] = v[t-1] + dt\,(0.04 v[t-1]^2 + 5 v[t-1] + 140 - u[t-1] + x[t])

       u_h[t] = u[t-1] + dt\, a\,(b\, h[t] - u[t-1]) \qquad s[t] = H(h[t] - v_{peak})

       v[t] = s\,c + (1 - s)\,h[t] \qquad u[t] = u_h[t] + d\, s[t]

    The spike condition :math:`v \ge 30` is written as the canonical strict
    :math:`h - v_{peak} > 0` (they differ only when :math:`h` is exactly 30); ``v_threshold``
    is :math:`v_{peak}` and ``v_reset`` is :math:`c`. Initial state :math:`v = c`,
    :math:`u = b c` (``v_init`` sets another start, :math:`u = b\, v_{init}`: the paper's
    listing starts every neuron at -65 mV, which differs from :math:`c` for the bursting
    types, e.g. IB and CH). Where: :math:`v` membrane (mV), :math:`u` recovery variable, :math:`a`
    recovery rate, :math:`b` recovery sensitivity, :math:`d` after-spike recovery jump,
    :math:`x` input current. The paper's listing splits the v update into two half steps of
    0.5 ms for stability; here it is one step of ``dt`` (set ``dt=0.5`` for finer steps), which
    is BrainCog's ``IzhNode``.

    Hand trace (input 100): h = -65 + (169 - 325 + 140 + 13 + 100) = 32 fires, v = -65,
    u = -13 + 0.02 (0.2 * 32 + 13) + 8 = -4.612; h = -65 + (169 - 325 + 140 + 4.612 + 100)
    = 23.612, u = -4.425312; h = 23.612 + (22.301062 + 118.06 + 140 + 4.425312 + 100) fires.

    >>> from step.trace import trace
    >>> t = trace(IzhikevichSpec(), [100.0, 100.0, 100.0])
    >>> t.spikes, [round(v, 6) for v in t.v]
    ([1, 0, 1], [-65.0, 23.612, -65.0])
    """

    kind: Literal["izhikevich"] = "izhikevich"
    v_threshold: float = Field(30.0, description="spike peak v_peak in mV (fires on h > v_peak)")
    v_reset: float = Field(-65.0, description="c: after-spike reset and initial membrane, mV")
    reset: Literal["hard"] = Field("hard", description="hard: v = c, u = u + d")
    a: float = Field(0.02, description="recovery rate (1/ms)")
    b: float = Field(0.2, description="sensitivity of u to v")
    d: float = Field(8.0, description="after-spike jump of u")
    dt: float = Field(1.0, description="time step in ms (> 0)")
    v_init: float | None = Field(None, description="initial membrane in mV (u starts at b "
                                                   "v_init); None: c (v_reset)")

    @property
    def initial_v(self) -> float:
        """The membrane a sequence starts from: v_init, or c when it is not given."""
        return self.v_reset if self.v_init is None else self.v_init

    @model_validator(mode="after")
    def _sane(self) -> IzhikevichSpec:
        if not self.dt > 0:
            raise ValueError(f"dt must be > 0 (ms per step), got {self.dt}")
        if not self.v_threshold > self.v_reset:
            raise ValueError(f"v_threshold (the spike peak, {self.v_threshold}) must be above "
                             f"v_reset (c, {self.v_reset})")
        return self


@register_neuron
class HHSpec(NeuronSpec):
    r"""Hodgkin-Huxley (1952), squid giant axon, membrane at rest at -65 mV.

    .. math::

       C_m v' = x - g_{Na} m^3 h (v - E_{Na}) - g_K n^4 (v - E_K) - g_L (v - E_L)

       q' = \alpha_q(v)(1 - q) - \beta_q(v)\, q \quad (q \in \{m, h, n\})

    with :math:`\alpha_m = 0.1 (v + 40)/(1 - e^{-(v + 40)/10})`,
    :math:`\beta_m = 4 e^{-(v + 65)/18}`, :math:`\alpha_h = 0.07 e^{-(v + 65)/20}`,
    :math:`\beta_h = 1/(1 + e^{-(v + 35)/10})`,
    :math:`\alpha_n = 0.01 (v + 55)/(1 - e^{-(v + 55)/10})`,
    :math:`\beta_n = 0.125 e^{-(v + 65)/80}` (1/ms, v in mV).

    Discrete update: each time step integrates ``substeps`` forward-Euler sub-steps of ``dt``
    ms with the step's input held constant, every derivative taken at the sub-step's start.
    The spike is an upward crossing on any sub-step :math:`k` of the step,
    :math:`v_{k-1} \le v_{th} < v_k` (strict above, so one spike per action potential; checked
    on every sub-step because near depolarisation block a spike can rise and fall within one
    step); its backward is the surrogate of :math:`v_k - v_{th}` at the first crossing
    sub-step (of :math:`v[t] - v_{th}` where none crosses and :math:`v[t-1] \le v_{th}`), the
    crossing condition is not differentiated. ``dt`` is at most 0.05 ms: forward Euler on the
    membrane is unstable above :math:`2 C_m / g \approx 0.052` ms at the spike peak.
    There is no reset: the potassium current repolarises the membrane. Initial state
    :math:`v = v_{reset}` (the resting potential) with every gate at its steady state there.

    Where: :math:`v` membrane (mV), :math:`x` injected current (uA/cm^2), :math:`m, h, n`
    sodium activation, sodium inactivation and potassium activation, :math:`C_m` capacitance
    (uF/cm^2), :math:`g` maximal conductances (mS/cm^2), :math:`E` reversal potentials (mV).
    The defaults (E_L = -54.387) make -65 mV an equilibrium. BrainCog's ``HHNode`` is not this
    model (it resets v to 0 after a spike and slows the gates tenfold).

    Hand trace (dt 0.05, one sub-step, input 10): at rest the ionic currents cancel (to
    -0.004 uA/cm^2), so v = -65 + 0.05 * 10 = -64.5; the gates have not moved yet, the
    currents grow by the resting conductance (0.677 mS/cm^2) times 0.5 mV, so
    v = -64.5 + 0.05 (10 - 0.339) = -64.02; then -63.55 (the sodium gate starts to open). With
    the defaults (0.5 ms steps) a constant 10 uA/cm^2 fires at step 3, then every 15 ms.

    >>> from step.trace import trace
    >>> t = trace(HHSpec(dt=0.05, substeps=1), [10.0, 10.0, 10.0])
    >>> t.spikes, [round(v, 2) for v in t.v]
    ([0, 0, 0], [-64.5, -64.02, -63.55])
    >>> t = trace(HHSpec(), [10.0] * 40)
    >>> [i for i, s in enumerate(t.spikes) if s]
    [3, 33]
    """

    kind: Literal["hh"] = "hh"
    v_threshold: float = Field(0.0, description="spike detection level in mV (upward crossing)")
    v_reset: float = Field(-65.0, description="resting potential and initial membrane, mV")
    reset: Literal["none"] = Field("none", description="none: HH repolarises by itself")
    dt: float = Field(0.025, description=f"Euler sub-step in ms (0 < dt <= {HH_MAX_DT})")
    substeps: int = Field(20, description="Euler sub-steps per time step (>= 1)")
    c_m: float = Field(1.0, description="membrane capacitance, uF/cm^2")
    g_na: float = Field(120.0, description="maximal sodium conductance, mS/cm^2")
    g_k: float = Field(36.0, description="maximal potassium conductance, mS/cm^2")
    g_l: float = Field(0.3, description="leak conductance, mS/cm^2")
    e_na: float = Field(50.0, description="sodium reversal potential, mV")
    e_k: float = Field(-77.0, description="potassium reversal potential, mV")
    e_l: float = Field(-54.387, description="leak reversal potential, mV")
    grid: ClassVar[dict[str, tuple[Any, ...]]] = {"detach_reset": (False,)}

    @model_validator(mode="after")
    def _sane(self) -> HHSpec:
        if not 0.0 < self.dt <= HH_MAX_DT:
            raise ValueError(
                f"dt must be in (0, {HH_MAX_DT}] ms: forward Euler on the membrane is "
                f"unstable above about 2 C_m / g = 0.052 ms at the spike peak (total "
                f"conductance ~38 mS/cm^2) and goes to NaN or miscounts spikes; raise "
                f"substeps instead, got {self.dt}")
        if self.substeps < 1:
            raise ValueError(f"substeps must be >= 1, got {self.substeps}")
        if not self.c_m > 0 or min(self.g_na, self.g_k, self.g_l) < 0:
            raise ValueError("c_m must be > 0 and the conductances >= 0")
        if self.detach_reset:
            raise ValueError("detach_reset must be false: HH has no reset")
        if self.learn_threshold:
            raise ValueError("learn_threshold must be false: HH's threshold only detects "
                             "spikes")
        return self
