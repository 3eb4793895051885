"""Stateless layers applied over time-first tensors ``[T, B, ...]``.

A stateless layer treats every time step alike, so it runs once on ``[T * B, ...]`` (one big
batch, the fast way) and the result is folded back to ``[T, B, ...]``.
"""

from __future__ import annotations

from torch import Tensor, nn


class SeqWrap(nn.Module):
    """Apply ``module`` to every time step of a ``[T, B, ...]`` tensor at once."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: Tensor) -> Tensor:
        T, B = x.shape[:2]
        y = self.module(x.reshape(T * B, *x.shape[2:]))
        return y.reshape(T, B, *y.shape[1:])


def Linear(*args, **kwargs) -> SeqWrap:  # noqa: N802
    """``nn.Linear`` over ``[T, B, ..., in]``."""
    return SeqWrap(nn.Linear(*args, **kwargs))


def Conv1d(*args, **kwargs) -> SeqWrap:  # noqa: N802
    """``nn.Conv1d`` over ``[T, B, C, L]``."""
    return SeqWrap(nn.Conv1d(*args, **kwargs))


def Conv2d(*args, **kwargs) -> SeqWrap:  # noqa: N802
    """``nn.Conv2d`` over ``[T, B, C, H, W]``."""
    return SeqWrap(nn.Conv2d(*args, **kwargs))


def BatchNorm1d(*args, **kwargs) -> SeqWrap:  # noqa: N802
    """``nn.BatchNorm1d`` over ``[T, B, C]`` or ``[T, B, C, L]`` (statistics over T and B)."""
    return SeqWrap(nn.BatchNorm1d(*args, **kwargs))


def BatchNorm2d(*args, **kwargs) -> SeqWrap:  # noqa: N802
    """``nn.BatchNorm2d`` over ``[T, B, C, H, W]`` (statistics over T and B)."""
    return SeqWrap(nn.BatchNorm2d(*args, **kwargs))


def MaxPool2d(*args, **kwargs) -> SeqWrap:  # noqa: N802
    """``nn.MaxPool2d`` over ``[T, B, C, H, W]``."""
    return SeqWrap(nn.MaxPool2d(*args, **kwargs))


def reset(module: nn.Module) -> None:
    """Reset every neuron and encoder inside ``module``, whatever its backend.

    Neurons start each call from rest anyway (the reset contract); this also clears their
    recorded traces and restarts the encoders' random generators from their seeds.
    """
    from step.backend import NeuronModule
    from step.nn.encoder import Encoder

    for m in module.modules():
        if isinstance(m, NeuronModule | Encoder):
            m.reset()
