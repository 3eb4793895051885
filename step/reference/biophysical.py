"""Equations of the biophysical neurons of :mod:`step.specs.biophysical`.

Izhikevich (2003) in the update order of its published listing (v first, then u from the new
v, reset applied to the crossing step), and Hodgkin-Huxley (1952, squid axon, membrane at rest
at -65 mV) integrated with forward Euler in ``substeps`` sub-steps of ``dt`` per time step.
"""

from __future__ import annotations

import torch
from torch import Tensor

from step.reference._dynamics import (
    Dynamics,
    Params,
    State,
    no_parameters,
    register_dynamics,
    threshold,
)
from step.reference.functional import fire, reset
from step.reference.surrogates import spike
from step.specs import NeuronSpec


# -- Izhikevich --------------------------------------------------------------------------------
def izhikevich_step(spec: NeuronSpec, x: Tensor, state: State, p: Params) -> tuple[Tensor, State]:
    """h = v + dt(0.04 v^2 + 5 v + 140 - u + x); u_h = u + dt a(b h - u); s = H(h - v_peak);
    v = c where s, u = u_h + d s."""
    th = threshold(spec, p)
    v, u = state["v"], state["u"]
    h = v + spec.dt * (0.04 * v * v + 5.0 * v + 140.0 - u + x)
    u_h = u + spec.dt * spec.a * (spec.b * h - u)
    s = fire(h, th, spec.surrogate, spec.fire)
    sr = s.detach() if spec.detach_reset else s
    v_next = reset(h, s, th, spec.v_reset, "hard", spec.detach_reset)
    return s, {"v": v_next, "u": u_h + spec.d * sr}


def izhikevich_rest(spec: NeuronSpec, like: Tensor, p: Params) -> State:
    """v = v_init (c unless given), u = b v."""
    return {"v": torch.full_like(like, spec.initial_v),
            "u": torch.full_like(like, spec.b * spec.initial_v)}


register_dynamics("izhikevich", Dynamics(no_parameters, izhikevich_rest, izhikevich_step))


# -- Hodgkin-Huxley ----------------------------------------------------------------------------
def _vtrap(x: Tensor, k: float) -> Tensor:
    """x / (1 - exp(-x/k)), finite (-> k) at x = 0, with a NaN-free gradient there."""
    y = x / k
    small = y.abs() < 1e-4
    y_safe = torch.where(small, torch.ones_like(y), y)
    exact = k * y_safe / -torch.expm1(-y_safe)
    series = k * (1.0 + y / 2.0 + y * y / 12.0)
    return torch.where(small, series, exact)


def hh_rates(v: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """(alpha_m, beta_m, alpha_h, beta_h, alpha_n, beta_n) in 1/ms at membrane v in mV."""
    alpha_m = 0.1 * _vtrap(v + 40.0, 10.0)
    beta_m = 4.0 * torch.exp(-(v + 65.0) / 18.0)
    alpha_h = 0.07 * torch.exp(-(v + 65.0) / 20.0)
    beta_h = 1.0 / (1.0 + torch.exp(-(v + 35.0) / 10.0))
    alpha_n = 0.01 * _vtrap(v + 55.0, 10.0)
    beta_n = 0.125 * torch.exp(-(v + 65.0) / 80.0)
    return alpha_m, beta_m, alpha_h, beta_h, alpha_n, beta_n


def hh_rest(spec: NeuronSpec, like: Tensor, p: Params) -> State:
    """v = v_reset, each gate at its steady state alpha/(alpha + beta) there."""
    v = torch.full_like(like, spec.v_reset)
    am, bm, ah, bh, an, bn = hh_rates(v)
    return {"v": v, "m": am / (am + bm), "h": ah / (ah + bh), "n": an / (an + bn)}


def hh_substep(spec: NeuronSpec, x: Tensor, st: State) -> State:
    """One forward-Euler sub-step of dt: every derivative from the sub-step's start."""
    v, m, h, n = st["v"], st["m"], st["h"], st["n"]
    i_ion = (spec.g_na * m ** 3 * h * (v - spec.e_na) + spec.g_k * n ** 4 * (v - spec.e_k)
             + spec.g_l * (v - spec.e_l))
    am, bm, ah, bh, an, bn = hh_rates(v)
    dt = spec.dt
    return {"v": v + dt * (x - i_ion) / spec.c_m, "m": m + dt * (am * (1 - m) - bm * m),
            "h": h + dt * (ah * (1 - h) - bh * h), "n": n + dt * (an * (1 - n) - bn * n)}


def hh_step(spec: NeuronSpec, x: Tensor, state: State, p: Params) -> tuple[Tensor, State]:
    """Integrate one time step; spike if any sub-step crosses upwards: v[k-1] <= v_th < v[k]
    (``gt``) or v[k-1] < v_th <= v[k] (``ge``).

    The crossing is checked on every sub-step, not only at the step's end: near depolarisation
    block an action potential can rise above v_th and fall back within one 0.5 ms step (at a
    constant 60 uA/cm^2, 4 of 13 spikes in 100 ms would be missed at the step ends). The
    surrogate acts on v - v_th at the first crossing sub-step (at the step's end where there
    is none, gated by the start being below v_th as before); the crossing condition itself is
    not differentiated.
    """
    th = spec.v_threshold
    st = state
    # "below" and "above" in the fire rule (gt: v <= th is below; ge: v < th is below)
    ge = spec.fire == "ge"
    start_below = state["v"] < th if ge else state["v"] <= th
    below = start_below
    crossed = torch.zeros_like(below)
    at_cross = state["v"] - th
    for _ in range(spec.substeps):
        st = hh_substep(spec, x, st)
        above = st["v"] - th
        new = below & (above >= 0 if ge else above > 0) & ~crossed  # not differentiated
        at_cross = torch.where(new, above, at_cross)
        crossed = crossed | new
        below = above < 0 if ge else above <= 0
    z = torch.where(crossed, at_cross, st["v"] - th)
    gate = (crossed | start_below).to(x.dtype)
    s = spike(z, spec.surrogate, spec.fire) * gate
    return s, st


register_dynamics("hh", Dynamics(no_parameters, hh_rest, hh_step))
