"""Building blocks the models share: neurons by role, the input/head shell, attention, MLP.

Layouts: image features are ``[T, B, C, H, W]``, tokens are channels-first ``[T, B, C, N]``. A
token projection is a 1x1 convolution over ``[T*B, C, N]`` followed by BatchNorm over C: the same
function and the same parameter count as Spikformer's ``Linear`` + ``BatchNorm1d`` on the
transposed tokens and as SDT's ``Conv2d(1x1)`` + ``BatchNorm2d``, so one block serves every paper.

Every neuron is a :class:`step.nn.NeuronModule` built by :class:`Neurons` from the config's spec
for its role, on the model's backend; module names (``blocks.0.attn.q_lif``) say where it sits.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

import step.nn as snn
from step.errors import InputError, SpecError
from step.models.config import ModelConfig
from step.nn.base import NeuronModule


@dataclass(frozen=True)
class Neurons:
    """Builds neuron modules: the spec of a role from the config, on one backend."""

    config: ModelConfig
    backend: str

    def __call__(self, role: str = "neuron") -> NeuronModule:
        return snn.Neuron(self.config.spec(role), backend=self.backend)


class SpikingModel(nn.Module):
    """Shell of every model: input checks, the encoder, and the time-averaged head.

    ``forward`` accepts a static batch ``[B, C, H, W]`` (encoded by the config's encoder into
    ``[T, B, C, H, W]``) or time-first frames ``[T, B, C, H, W]`` (used as they are). Subclasses
    implement :meth:`features` (``[T, B, C, H, W] -> [T, B, F]``) and set ``self.head``; the
    logits are the mean over time of the head's output, ``[B, num_classes]``.
    """

    #: Dimensionality of one sample without time (3 for images, 1 for feature vectors).
    sample_dims = 3

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = snn.Encoder(config.encoder)

    def time_first(self, x: Tensor) -> Tensor:
        """``[B, ...]`` -> encoded ``[T, B, ...]``; ``[T, B, ...]`` passes through."""
        if x.dim() == self.sample_dims + 1:
            return self.encoder(x)
        if x.dim() == self.sample_dims + 2:
            return x
        raise InputError(
            f"{type(self).__name__} takes [B, ...] or [T, B, ...] with {self.sample_dims} sample "
            f"dimensions, got shape {tuple(x.shape)}"
        )

    def check_image(self, x: Tensor) -> None:
        c, s = self.config.in_channels, self.config.img_size
        if tuple(x.shape[2:]) != (c, s, s):
            raise InputError(
                f"{type(self).__name__} was configured for {c}x{s}x{s} images, got "
                f"{tuple(x.shape[2:])} (set in_channels / img_size)"
            )

    def features(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        x = self.time_first(x)
        if self.sample_dims == 3:
            self.check_image(x)
        return self.head(self.features(x)).mean(0)


def init_head(head: nn.Linear) -> nn.Linear:
    """Truncated-normal (std 0.02) weights and zero bias, as every original's ``_init_weights``."""
    nn.init.trunc_normal_(head.weight, std=0.02)
    if head.bias is not None:
        nn.init.zeros_(head.bias)
    return head


def pool_count(img_size: int, patch_size: int, stages: int, what: str) -> int:
    """How many 2x max-pools turn ``img_size`` into ``img_size / patch_size`` tokens per side."""
    k = patch_size.bit_length() - 1
    if patch_size < 1 or 2**k != patch_size:
        raise SpecError(f"{what}: patch_size must be a power of 2, got {patch_size}")
    if k > stages:
        raise SpecError(f"{what}: patch_size {patch_size} needs {k} pools, the embedding has "
                        f"{stages} stages (at most {2**stages})")
    if img_size % patch_size:
        raise SpecError(f"{what}: img_size {img_size} is not divisible by patch_size {patch_size}")
    return k


class Pointwise(nn.Sequential):
    """Token projection ``[T, B, C_in, N] -> [T, B, C_out, N]``: 1x1 conv then BatchNorm."""

    def __init__(self, c_in: int, c_out: int, bias: bool, init_std: float | None = None) -> None:
        conv = nn.Conv1d(c_in, c_out, 1, bias=bias)
        if init_std is not None:  # Spikformer's nn.Linear init (trunc normal, zero bias)
            nn.init.trunc_normal_(conv.weight, std=init_std)
            if conv.bias is not None:
                nn.init.zeros_(conv.bias)
        super().__init__(snn.SeqWrap(conv), snn.BatchNorm1d(c_out))


def conv_bn(c_in: int, c_out: int, k: int = 3, stride: int = 1, groups: int = 1,
            bias: bool = False) -> nn.Sequential:
    """``k x k`` convolution (padding k//2) and BatchNorm2d over ``[T, B, C, H, W]``."""
    return nn.Sequential(
        snn.Conv2d(c_in, c_out, k, stride, k // 2, groups=groups, bias=bias),
        snn.BatchNorm2d(c_out),
    )


def heads_split(x: Tensor, heads: int) -> Tensor:
    """``[T, B, C, N] -> [T, B, heads, N, C/heads]``."""
    T, B, C, N = x.shape
    return x.reshape(T, B, heads, C // heads, N).transpose(-1, -2)


def heads_merge(x: Tensor) -> Tensor:
    """``[T, B, heads, N, d] -> [T, B, heads*d, N]``."""
    T, B, H, N, d = x.shape
    return x.transpose(-1, -2).reshape(T, B, H * d, N)
