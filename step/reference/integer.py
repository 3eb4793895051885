"""Equations of the integer-spike neurons of :mod:`step.specs.integer` (ILIF, NILIF).

The spike count ``C = #{k in 1..D : h > (k - 1/2) v_th}`` is the strict-``>`` reading of
``round(clip(h / v_th, 0, D))``: a level fires only when the membrane is strictly above its
boundary; with ``fire="ge"`` also exactly at it (``C = #{k : h >= (k - 1/2) v_th}``). Its
backward is the straight-through estimator ``dC/dh = 1/v_th`` on ``0 <= h <= D v_th`` (zero
outside), as in the I-LIF paper.
"""

from __future__ import annotations

import torch
from torch import Tensor

from step.reference._dynamics import Dynamics, Params, State, no_parameters, register_dynamics
from step.reference._dynamics import threshold as _threshold
from step.reference.functional import charge_lif
from step.specs import NeuronSpec


class IntegerSpike(torch.autograd.Function):
    """C = clamp(ceil(u - 1/2), 0, D) (``gt``) or clamp(floor(u + 1/2), 0, D) (``ge``: a level
    also fires exactly at its boundary), or clamp(round(u), 0, D) (``ties="even"``: torch.round,
    half levels to the even count) forward; straight-through on 0 <= u <= D backward."""

    @staticmethod
    def forward(ctx, u: Tensor, levels: int, rule: str = "gt",  # type: ignore[override]
                ties: str = "fire") -> Tensor:
        ctx.save_for_backward(u)
        ctx.levels = levels
        if ties == "even":
            count = torch.round(u)
        else:
            count = torch.floor(u + 0.5) if rule == "ge" else torch.ceil(u - 0.5)
        # + 0.0 turns the -0.0 that ceil and round give on (-0.5, 0.5) (and clamp keeps)
        # into +0.0
        return torch.clamp(count, 0, levels) + 0.0

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None, None, None]:  # type: ignore[override]
        (u,) = ctx.saved_tensors
        window = (u >= 0) & (u <= ctx.levels)
        return grad * window.to(grad.dtype), None, None, None


def spike_count(h: Tensor, v_threshold: float | Tensor, levels: int, rule: str = "gt",
                ties: str = "fire") -> Tensor:
    """The integer spike count of membrane ``h`` under the fire ``rule`` (module docstring);
    ``ties="even"`` rounds half levels to the even count instead."""
    return IntegerSpike.apply(h / v_threshold, levels, rule, ties)


def _count_step(spec: NeuronSpec, x: Tensor, state: State, p: Params) -> tuple[Tensor, Tensor]:
    """(count, membrane after the reset)."""
    th = _threshold(spec, p)
    h = charge_lif(x, state["v"], 1.0 / spec.tau, spec.v_reset, spec.decay_input)
    c = spike_count(h, th, spec.max_spikes, spec.fire, spec.round_ties)
    cr = c.detach() if spec.detach_reset else c
    return c, h - cr * th


def ilif_step(spec: NeuronSpec, x: Tensor, state: State, p: Params) -> tuple[Tensor, State]:
    """Output the count C in {0..D}; soft reset v = h - C v_th."""
    c, v = _count_step(spec, x, state, p)
    return c, {"v": v}


def nilif_step(spec: NeuronSpec, x: Tensor, state: State, p: Params) -> tuple[Tensor, State]:
    """Output C / D in {0, 1/D, .., 1}; the reset still removes the C v_th the count carried."""
    c, v = _count_step(spec, x, state, p)
    return c / spec.max_spikes, {"v": v}


def _rest(spec: NeuronSpec, like: Tensor, p: Params) -> State:
    return {"v": torch.full_like(like, spec.v_reset)}


register_dynamics("ilif", Dynamics(no_parameters, _rest, ilif_step))
register_dynamics("nilif", Dynamics(no_parameters, _rest, nilif_step))
