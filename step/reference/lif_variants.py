"""Equations of the LIF variants of :mod:`step.specs.lif_variants`, as pure step functions.

EIF, KLIF, adaptive-threshold LIF (ALIF), current-based LIF (CUBA) and the non-spiking leaky
integrator (LI). Each charges, fires on strict ``h > threshold`` and resets with the shared
:func:`step.reference.functional.fire` / :func:`~step.reference.functional.reset`, so the
fire rule and the reset are the same code as IF / LIF / PLIF.
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
from step.reference.functional import charge_lif, fire, reset
from step.specs import NeuronSpec


def _rest_v(spec: NeuronSpec, like: Tensor, params: Params) -> State:
    return {"v": torch.full_like(like, spec.v_reset)}


def _fire_reset(spec: NeuronSpec, h: Tensor, th: float | Tensor) -> tuple[Tensor, Tensor]:
    s = fire(h, th, spec.surrogate, spec.fire)
    return s, reset(h, s, th, spec.v_reset, spec.reset, spec.detach_reset)


# -- EIF ---------------------------------------------------------------------------------------
def charge_eif(x: Tensor, v: Tensor, tau: float, v_rest: float, delta_t: float,
               theta_rh: float, decay_input: bool) -> Tensor:
    """h = v + (x - (v - v_rest) + dT exp((v - theta_rh)/dT)) / tau (x undivided without
    decay_input)."""
    drift = -(v - v_rest) + delta_t * torch.exp((v - theta_rh) / delta_t)
    if decay_input:
        return v + (x + drift) / tau
    return v + drift / tau + x


def eif_step(spec: NeuronSpec, x: Tensor, state: State, p: Params) -> tuple[Tensor, State]:
    th = threshold(spec, p)
    h = charge_eif(x, state["v"], spec.tau, spec.v_rest, spec.delta_t, spec.theta_rh,
                   spec.decay_input)
    s, v = _fire_reset(spec, h, th)
    return s, {"v": v}


register_dynamics("eif", Dynamics(
    no_parameters, lambda spec, like, p: {"v": torch.full_like(like, spec.v_rest)}, eif_step))


# -- KLIF --------------------------------------------------------------------------------------
def klif_parameters(spec: NeuronSpec, dtype: torch.dtype) -> Params:
    """k, the learnable slope of the membrane's ReLU, starts at 1 (the paper's choice)."""
    return {"k": torch.tensor(1.0, dtype=dtype)}


def klif_step(spec: NeuronSpec, x: Tensor, state: State, p: Params) -> tuple[Tensor, State]:
    th = threshold(spec, p)
    h = torch.relu(p["k"] * charge_lif(x, state["v"], 1.0 / spec.tau, spec.v_reset,
                                       spec.decay_input))
    s, v = _fire_reset(spec, h, th)
    return s, {"v": v}


register_dynamics("klif", Dynamics(klif_parameters, _rest_v, klif_step))


# -- ALIF (adaptive threshold) -----------------------------------------------------------------
def alif_step(spec: NeuronSpec, x: Tensor, state: State, p: Params) -> tuple[Tensor, State]:
    """theta = v_th + beta a[t-1]; fire on h > theta; a[t] = (1 - 1/tau_adapt) a[t-1] + s."""
    theta = threshold(spec, p) + spec.beta * state["a"]
    h = charge_lif(x, state["v"], 1.0 / spec.tau, spec.v_reset, spec.decay_input)
    s, v = _fire_reset(spec, h, theta)
    a = state["a"] * (1.0 - 1.0 / spec.tau_adapt) + s
    return s, {"v": v, "a": a}


register_dynamics("alif", Dynamics(
    no_parameters,
    lambda spec, like, p: {"v": torch.full_like(like, spec.v_reset), "a": torch.zeros_like(like)},
    alif_step))


# -- CUBA LIF ----------------------------------------------------------------------------------
def cuba_step(spec: NeuronSpec, x: Tensor, state: State, p: Params) -> tuple[Tensor, State]:
    """i[t] = (1 - 1/tau_syn) i[t-1] + x[t]; the LIF charge driven by i[t]."""
    th = threshold(spec, p)
    i = state["i"] * (1.0 - 1.0 / spec.tau_syn) + x
    h = charge_lif(i, state["v"], 1.0 / spec.tau, spec.v_reset, spec.decay_input)
    s, v = _fire_reset(spec, h, th)
    return s, {"v": v, "i": i}


register_dynamics("cuba_lif", Dynamics(
    no_parameters,
    lambda spec, like, p: {"v": torch.full_like(like, spec.v_reset), "i": torch.zeros_like(like)},
    cuba_step))


# -- LI (non-spiking readout) ------------------------------------------------------------------
def li_step(spec: NeuronSpec, x: Tensor, state: State, p: Params) -> tuple[Tensor, State]:
    """The LIF charge, never fired nor reset: the output is the membrane."""
    v = charge_lif(x, state["v"], 1.0 / spec.tau, spec.v_reset, spec.decay_input)
    return v, {"v": v}


register_dynamics("li", Dynamics(no_parameters, _rest_v, li_step))
