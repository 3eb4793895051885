"""Equations of the gated and parallel neurons of :mod:`step.specs.gated`.

CLIF (complementary LIF), GLIF (gated LIF, Yao et al. 2022), HD-LIF (a per-neuron gated
mixture of IF / LIF / PLIF / EIF charges) and PSN (parallel spiking neuron, Fang et al. 2023).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from step.errors import InputError
from step.reference._dynamics import (
    Dynamics,
    Params,
    Run,
    State,
    no_parameters,
    register_dynamics,
    threshold,
)
from step.reference.functional import charge_if, charge_lif, fire, reset
from step.reference.lif_variants import charge_eif
from step.specs import NeuronSpec


def logit(p: float) -> float:
    """The raw value whose sigmoid is ``p`` (0 < p < 1)."""
    return -math.log(1.0 / p - 1.0)


# -- CLIF --------------------------------------------------------------------------------------
def clif_step(spec: NeuronSpec, x: Tensor, state: State, p: Params) -> tuple[Tensor, State]:
    """h = v - (v - v_reset)/tau + x; m = m sig(h/tau) + s; v = h - s (v_th + sig(m))."""
    th = threshold(spec, p)
    v, m = state["v"], state["m"]
    h = v - (v - spec.v_reset) / spec.tau + x
    s = fire(h, th, spec.surrogate, spec.fire)
    sr = s.detach() if spec.detach_reset else s
    m = m * torch.sigmoid(h / spec.tau) + sr
    return s, {"v": h - sr * (th + torch.sigmoid(m)), "m": m}


register_dynamics("clif", Dynamics(
    no_parameters,
    lambda spec, like, p: {"v": torch.full_like(like, spec.v_reset), "m": torch.zeros_like(like)},
    clif_step))


# -- GLIF --------------------------------------------------------------------------------------
def glif_parameters(spec: NeuronSpec, dtype: torch.dtype) -> Params:
    """Raw (pre-sigmoid) initial values: gates at init_gate, the rest at their init_ fields."""
    decay = spec.init_linear_decay if spec.init_linear_decay is not None \
        else spec.v_threshold / (2 * spec.T)
    subreset = spec.init_v_subreset if spec.init_v_subreset is not None else spec.v_threshold
    alpha, beta, gamma = spec.initial_gates
    scalar = {"alpha": alpha, "beta": beta, "gamma": gamma, "tau": spec.init_tau,
              "v_threshold": spec.v_threshold, "linear_decay": decay, "v_subreset": subreset}
    params = {k: torch.tensor(logit(v), dtype=dtype) for k, v in scalar.items()}
    params["conduct"] = torch.full((spec.T,), logit(spec.init_conduct), dtype=dtype)
    return params


def glif_step(spec: NeuronSpec, x: Tensor, state: State, p: Params) -> tuple[Tensor, State]:
    """One GLIF step; the reset of the previous step's spike acts inside this step's charge."""
    t = int(state["t"])
    if t >= spec.T:
        raise InputError(f"glif: step {t} is past T={spec.T} (GLIF learns one conductance per "
                         "step); set T to the sequence length")
    a, b, g = (torch.sigmoid(p[k]) for k in ("alpha", "beta", "gamma"))
    decay, th = torch.sigmoid(p["tau"]), torch.sigmoid(p["v_threshold"])
    linear, subreset = torch.sigmoid(p["linear_decay"]), torch.sigmoid(p["v_subreset"])
    conduct = torch.sigmoid(p["conduct"][t])
    v, s_prev = state["v"], state["s"]
    if spec.detach_reset:
        s_prev = s_prev.detach()
    leak = 1 - a * (1 - decay)
    u = (leak * v - (1 - a) * linear) + x * (1 - b * (1 - conduct))
    u = u - leak * v * g * s_prev - (1 - g) * subreset * s_prev
    s = fire(u, th, spec.surrogate, spec.fire)
    return s, {"v": u, "s": s, "t": state["t"] + 1}


register_dynamics("glif", Dynamics(
    glif_parameters,
    lambda spec, like, p: {"v": torch.zeros_like(like), "s": torch.zeros_like(like),
                           "t": torch.zeros((), dtype=torch.long, device=like.device)},
    glif_step))


# -- HD-LIF ------------------------------------------------------------------------------------
#: The experts of HD-LIF, in the order of its gate's logits.
HDLIF_EXPERTS = ("if", "lif", "plif", "eif")


def hdlif_parameters(spec: NeuronSpec, dtype: torch.dtype) -> Params:
    """PLIF expert's w0 = -ln(tau - 1); gate logits a + c x start at 0 (a uniform mixture)."""
    return {"w": torch.tensor(-math.log(spec.tau - 1.0), dtype=dtype),
            "gate_bias": torch.zeros(len(HDLIF_EXPERTS), dtype=dtype),
            "gate_weight": torch.zeros(len(HDLIF_EXPERTS), dtype=dtype)}


def hdlif_gate(x: Tensor, p: Params) -> Tensor:
    """pi = softmax(a + c x) over the experts, per neuron and sample: [..., 4]."""
    return torch.softmax(p["gate_bias"] + p["gate_weight"] * x.unsqueeze(-1), dim=-1)


def hdlif_step(spec: NeuronSpec, x: Tensor, state: State, p: Params) -> tuple[Tensor, State]:
    th = threshold(spec, p)
    v = state["v"]
    eif = charge_eif(x, v, spec.tau, spec.v_reset, spec.delta_t, spec.theta_rh,
                     spec.decay_input)
    charges = torch.stack([
        charge_if(x, v),
        charge_lif(x, v, 1.0 / spec.tau, spec.v_reset, spec.decay_input),
        charge_lif(x, v, torch.sigmoid(p["w"]), spec.v_reset, spec.decay_input),
        eif,
    ], dim=-1)
    h = (hdlif_gate(x, p) * charges).sum(-1)
    s = fire(h, th, spec.surrogate, spec.fire)
    return s, {"v": reset(h, s, th, spec.v_reset, spec.reset, spec.detach_reset)}


register_dynamics("hdlif", Dynamics(
    hdlif_parameters, lambda spec, like, p: {"v": torch.full_like(like, spec.v_reset)},
    hdlif_step))


# -- PSN ---------------------------------------------------------------------------------------
def psn_parameters(spec: NeuronSpec, dtype: torch.dtype) -> Params:
    """b = -v_threshold; W = identity (each step sees its own input), or drawn as
    ``nn.Linear(T, T)`` draws its weight (the same numbers for the same torch seed)."""
    bias = torch.full((spec.T,), -spec.v_threshold, dtype=dtype)
    if spec.init_weight == "identity":
        return {"weight": torch.eye(spec.T, dtype=dtype), "bias": bias}
    weight = torch.empty(spec.T, spec.T, dtype=dtype)
    torch.nn.init.kaiming_uniform_(weight, a=math.sqrt(5))  # nn.Linear.reset_parameters
    return {"weight": weight, "bias": bias}


def psn_sequence(spec: NeuronSpec, x: Tensor, p: Params) -> Run:
    """h = W x + b over the time axis, s = H(h) (strict); "v" is h, there is no reset."""
    if x.shape[0] != spec.T:
        raise InputError(f"psn: the input has {x.shape[0]} steps but T={spec.T} (PSN's weights "
                         "are T x T); set T to the sequence length")
    h = (p["weight"] @ x.reshape(spec.T, -1) + p["bias"].unsqueeze(-1)).reshape(x.shape)
    s = fire(h, 0.0, spec.surrogate, spec.fire)
    return Run(s, h, {"v": h[-1]})


register_dynamics("psn", Dynamics(psn_parameters, lambda spec, like, p: {}, sequence=psn_sequence))
