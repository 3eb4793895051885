"""The canonical neuron equations, once, as pure functions (see :mod:`step.specs.neuron`).

Each ``*_step(x, v, ...) -> (s, v_next)`` advances one time step (the time loop is
:func:`step.reference._dynamics.simulate`). Nothing here keeps state: the modules in
:mod:`step.reference.neurons` are thin shells around these functions.
"""

from __future__ import annotations

import torch
from torch import Tensor

from step.reference._dynamics import Dynamics, register_dynamics, threshold
from step.reference.surrogates import spike
from step.specs import NeuronSpec, SurrogateSpec

#: The kinds with a fused fast path (step.reference.fused) beside their step-by-step form.
BASE_KINDS = ("if", "lif", "plif")

Scalar = float | Tensor


def fire(h: Tensor, v_threshold: Scalar, surrogate: SurrogateSpec, rule: str = "gt") -> Tensor:
    """s = H(h - v_threshold) under the fire ``rule`` (``gt``: h > v_th, ``ge``: h >= v_th),
    surrogate backward."""
    return spike(h - v_threshold, surrogate, rule)


def reset(
    h: Tensor, s: Tensor, v_threshold: Scalar, v_reset: float, mode: str, detach: bool
) -> Tensor:
    """The membrane after the spike: hard, soft or no reset."""
    if mode == "none":
        return h
    sr = s.detach() if detach else s
    if mode == "hard":
        return sr * v_reset + (1 - sr) * h
    if mode == "soft":
        return h - sr * v_threshold
    raise ValueError(f"unknown reset mode {mode!r}")


def charge_if(x: Tensor, v: Tensor) -> Tensor:
    """IF charge: h = v + x."""
    return v + x


def charge_lif(x: Tensor, v: Tensor, inv_tau: Scalar, v_reset: float, decay_input: bool,
               tau: float | None = None) -> Tensor:
    """LIF charge with 1/tau given (a float, or a tensor for PLIF).

    With ``tau`` given the leak divides by it instead of multiplying by ``inv_tau``: the
    operation order of the spec's equation and of SpikingJelly (``v + (x - (v - v_r)) / tau``),
    so that a fixed-tau LIF is bit-identical to it (``* (1/tau)`` rounds differently unless
    tau is a power of 2, and one ulp at a threshold tie flips a spike).
    """
    if decay_input:
        drive = x - (v - v_reset)
        return v + (drive / tau if tau is not None else drive * inv_tau)
    leak = v - v_reset
    return v - (leak / tau if tau is not None else leak * inv_tau) + x


def neuron_step(
    spec: NeuronSpec, x: Tensor, v: Tensor, v_threshold: Scalar, inv_tau: Scalar | None = None,
    tau: float | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """One step of an IF / LIF / PLIF neuron: returns (spike, membrane after reset, h).

    A LIF passes its ``tau`` (the charge divides by it, the spec's order); PLIF passes
    ``inv_tau = sigmoid(w)``.
    """
    if spec.kind == "if":
        h = charge_if(x, v)
    else:
        assert inv_tau is not None or tau is not None, "LIF and PLIF need tau or 1/tau"
        h = charge_lif(x, v, inv_tau, spec.v_reset, spec.decay_input, tau)  # type: ignore[arg-type]
    s = fire(h, v_threshold, spec.surrogate, spec.fire)
    return s, reset(h, s, v_threshold, spec.v_reset, spec.reset, spec.detach_reset), h


# -- IF / LIF / PLIF in the dynamics table -------------------------------------------------------
# The same table as the zoo (step.reference._dynamics), so that one neuron class runs every kind;
# the fused path (step.reference.fused) is their fast implementation of these same equations.
def _base_parameters(spec: NeuronSpec, dtype: torch.dtype) -> dict[str, Tensor]:
    """PLIF learns w (1/tau = sigmoid(w), w0 = -ln(tau - 1)); IF and LIF learn nothing."""
    return {"w": torch.tensor(spec.initial_w, dtype=dtype)} if spec.kind == "plif" else {}


def _base_rest(spec: NeuronSpec, like: Tensor, params: dict[str, Tensor]) -> dict[str, Tensor]:
    return {"v": torch.full_like(like, spec.v_reset)}


def _base_step(spec: NeuronSpec, x: Tensor, state: dict[str, Tensor],
               params: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
    """:func:`neuron_step` in the dynamics table's form: (spike, state)."""
    th = threshold(spec, params)
    inv_tau = torch.sigmoid(params["w"]) if spec.kind == "plif" else None
    tau = spec.tau if spec.kind == "lif" else None
    s, v, _ = neuron_step(spec, x, state["v"], th, inv_tau, tau)
    return s, {"v": v}


for _kind in BASE_KINDS:
    register_dynamics(_kind, Dynamics(_base_parameters, _base_rest, _base_step))

