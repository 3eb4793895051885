"""The surrogate-gradient formulas of :mod:`step.specs.surrogate`, and the spike function.

``surrogate_grad`` is the one implementation of each formula: the reference backend uses it, and
adapters plug it into a library's extension point when the library has no equivalent (which
they then report as ``emulated``). It is neutral ground, not part of the reference backend:
``step.reference.surrogates`` only re-exports it for plugins written before the move.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from step.specs import SurrogateSpec


def surrogate_grad(kind: str, x: Tensor, alpha: float | Tensor) -> Tensor:
    """g(x) for the family ``kind`` with sharpness ``alpha`` (x = h - v_threshold)."""
    if kind == "atan":
        return (alpha / 2) / (1 + (math.pi / 2 * alpha * x) ** 2)
    if kind == "sigmoid":
        sg = torch.sigmoid(alpha * x)
        return alpha * sg * (1 - sg)
    if kind == "fast_sigmoid":
        return 1 / (1 + alpha * x.abs()) ** 2
    if kind == "triangle":
        return alpha * torch.relu(1 - alpha * x.abs())
    if kind == "rectangle":
        return alpha * (x.abs() < 0.5 / alpha).to(x.dtype)
    if kind == "gaussian":
        return alpha / math.sqrt(math.pi) * torch.exp(-((alpha * x) ** 2))
    if kind == "straight_through":
        return torch.ones_like(x)
    raise ValueError(f"unknown surrogate kind {kind!r}")


def heaviside(x: Tensor, rule: str = "gt") -> Tensor:
    """The spike of the fire rule: ``x > 0`` (``gt``) or ``x >= 0`` (``ge``), in x's dtype.

    ``x = h - v_th`` is exactly 0 only when ``h == v_th`` (IEEE-754 subtraction is exact there),
    so this is the rule on ``h`` itself.
    """
    if rule == "gt":
        return (x > 0).to(x.dtype)
    if rule == "ge":
        return (x >= 0).to(x.dtype)
    raise ValueError(f"unknown fire rule {rule!r}: choose gt or ge")


class SpikeFunction(torch.autograd.Function):
    """Heaviside forward (``x > 0`` or ``x >= 0``), surrogate backward (the same for both)."""

    @staticmethod
    def forward(ctx, x: Tensor, kind: str, alpha: float,  # type: ignore[override]
                rule: str = "gt") -> Tensor:
        ctx.save_for_backward(x)
        ctx.kind = kind
        ctx.alpha = alpha
        return heaviside(x, rule)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None, None, None]:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return grad * surrogate_grad(ctx.kind, x, ctx.alpha), None, None, None


def spike(x: Tensor, surrogate: SurrogateSpec, rule: str = "gt") -> Tensor:
    """s = H(x) under the fire ``rule`` with the surrogate's backward; x = h - v_th."""
    return SpikeFunction.apply(x, surrogate.kind, surrogate.alpha, rule)
