"""SpikingResformer (Shi, Hao, Yu, "SpikingResformer: Bridging ResNet and Vision Transformer in
Spiking Neural Networks", CVPR 2024, arXiv 2403.14302).

A ResNet-like hierarchy (stem, stages separated by stride-2 downsampling) whose stages alternate
Dual Spike Self-Attention (DSSA) and a grouped-convolution FFN (GWFFN), both with membrane
shortcuts. As its code builds it (github.com/xyshi2000/SpikingResformer, models/):

- stem: CIFAR one Conv3x3 + BN (``stem: cifar``); ImageNet Conv7x7/2 + BN + MaxPool 3/2
  (``stem: imagenet``). Every convolution is bias-free; the classifier has no bias.
- DSSA(D, heads, p): ``x = LIF(in)``; ``Y = BN(Conv_pxp/p(x))`` with 2D channels split into Y1,
  Y2 per head; ``attn = LIF(Y1^T x * s1)``, ``out = LIF(Y2 attn * s2)``; ``BN(Conv1x1(out)) + in``.
  The scales ``s1 = 1/sqrt(r_x * D/heads)`` and ``s2 = 1/sqrt(r_attn * N_p)`` use running
  firing rates (momentum 0.999, updated in training; ``N_p`` the number of p x p patches). Where
  this differs from the code: a rate still at its initial zero (a model never trained) is replaced
  by the current batch's rate, and rates are floored at 1e-6, so an untrained model in eval mode
  gives finite outputs instead of NaN.
- GWFFN(D): ``u = BN(Conv1x1(LIF(x)))`` to 4D; ``u + BN(GroupConv3x3(LIF(u)))`` (groups of 64
  channels); ``BN(Conv1x1(LIF(.)))`` back to D; ``+ x``.
- downsampling between stages: ``BN(Conv3x3/2(LIF(x)))``; head: average over space (membrane),
  Linear per time step, averaged over time.
- init: trunc-normal(0.02) on every convolution and linear layer.

There is no separate attention neuron in the code: ``attn_neuron`` defaults to the same LIF
(threshold 1) and is the neuron of the score map. Neurons: SpikingJelly ``LIFNode(tau=2,
v_threshold=1, v_reset=0, detach_reset=True)`` with ``surrogate.ATan()`` (alpha 2). The CIFAR
model (``spikingresformer_cifar``) has 10,793,152 parameters in the code and here; the paper
gives no CIFAR count. Attention is DSSA only: its inputs (a patch-conv key map against the full
token map) do not fit the SSA/SDSA/Q-K interface, so it is not swappable by a key here.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Literal

import torch
from pydantic import Field, model_validator
from torch import Tensor, nn

from step.models._registry import register_model
from step.models.blocks import (
    FeatureInfo,
    Neurons,
    SpikingModel,
    conv_bn,
    max_pool,
    trunc_normal_init,
)
from step.models.config import TransformerConfig, lif

#: The official code this model's presets reproduce; its golden file is
#: tests/data/official_spikingresformer.pt (tests/test_official_equivalence.py).
OFFICIAL_CODE = "xyshi2000/SpikingResformer@3f751275dedfda8b0a4ed0bf50e85e02a4335f3e"

_ATAN = {"kind": "atan", "alpha": 2.0}


class SpikingResformerConfig(TransformerConfig):
    """Stages of ``layers[i]`` DSSA + GWFFN pairs with ``planes[i]`` channels."""

    planes: list[int] = Field(default_factory=lambda: [64, 192, 384], description="stage widths")
    num_heads: list[int] = Field(default_factory=lambda: [1, 3, 6], description="per stage")
    patch_sizes: list[int] = Field(default_factory=lambda: [4, 2, 1], description="DSSA p")
    layers: list[int] = Field(default_factory=lambda: [1, 2, 3], description="pairs per stage")
    group_size: int = Field(64, ge=1, description="channels per group in the GWFFN 3x3 conv")
    stem: Literal["cifar", "imagenet"] = Field("cifar", description="stem convolution")
    rate_momentum: float = Field(0.999, ge=0, lt=1, description="firing-rate running average")

    @model_validator(mode="after")
    def _check_shapes(self) -> SpikingResformerConfig:
        n = len(self.planes)
        if not (len(self.num_heads) == len(self.patch_sizes) == len(self.layers) == n):
            raise ValueError("planes, num_heads, patch_sizes and layers need equal lengths")
        size = self.img_size // 4 if self.stem == "imagenet" else self.img_size
        for i, (d, h, p) in enumerate(zip(self.planes, self.num_heads, self.patch_sizes,
                                          strict=True)):
            size = size if i == 0 else (size + 1) // 2
            if d % h:
                raise ValueError(f"stage {i}: planes {d} not divisible by num_heads {h}")
            if (int(d * self.mlp_ratio)) % self.group_size:
                raise ValueError(f"stage {i}: GWFFN width {int(d * self.mlp_ratio)} not "
                                 f"divisible by group_size {self.group_size}")
            if size % p:
                raise ValueError(f"stage {i}: feature map {size}x{size} not divisible by "
                                 f"patch size {p} (change img_size or patch_sizes)")
        return self


class DSSA(nn.Module):
    """Dual spike self-attention with firing-rate scaling (module docstring)."""

    def __init__(self, dim: int, heads: int, patches: int, patch: int, momentum: float,
                 make: Neurons) -> None:
        super().__init__()
        self.dim, self.heads, self.patches, self.momentum = dim, heads, patches, momentum
        self.in_lif = make()
        self.W = conv_bn(dim, 2 * dim, k=patch, stride=patch)
        self.W[0].module.padding = (0, 0)  # a p x p patch convolution has no padding
        self.attn_lif = make("attn_neuron")
        self.out_lif = make()
        self.proj = conv_bn(dim, dim, k=1)
        self.register_buffer("rate_x", torch.zeros(1, 1, heads, 1, 1))
        self.register_buffer("rate_attn", torch.zeros(1, 1, heads, 1, 1))

    def _rate(self, name: str, x: Tensor) -> Tensor:
        batch = x.detach().mean((0, 1, 3, 4), keepdim=True)
        buf: Tensor = getattr(self, name)
        if self.training:
            new = batch if bool((buf == 0).all()) else buf * self.momentum + batch * (
                1 - self.momentum)
            buf.copy_(new)
        rate = batch if bool((buf == 0).all()) else buf
        return rate.clamp_min(1e-6)

    def forward(self, x: Tensor) -> Tensor:
        T, B, C, H, W = x.shape
        d = C // self.heads
        s = self.in_lif(x)
        y = self.W(s).reshape(T, B, self.heads, 2 * d, -1)
        y1, y2 = y[:, :, :, :d], y[:, :, :, d:]
        s = s.reshape(T, B, self.heads, d, H * W)
        attn = (y1.transpose(-1, -2) @ s) / torch.sqrt(self._rate("rate_x", s) * d)
        attn = self.attn_lif(attn)
        out = (y2 @ attn) / torch.sqrt(self._rate("rate_attn", attn) * self.patches)
        out = self.out_lif(out.reshape(T, B, C, H, W))
        return self.proj(out) + x


class GWFFN(nn.Module):
    """Grouped-wide FFN with an inner and an outer membrane shortcut."""

    def __init__(self, dim: int, ratio: float, group_size: int, make: Neurons) -> None:
        super().__init__()
        inner = int(dim * ratio)
        self.up_lif, self.up = make(), conv_bn(dim, inner, k=1)
        self.conv_lif = make()
        self.conv = conv_bn(inner, inner, k=3, groups=inner // group_size)
        self.down_lif, self.down = make(), conv_bn(inner, dim, k=1)

    def forward(self, x: Tensor) -> Tensor:
        u = self.up(self.up_lif(x))
        u = u + self.conv(self.conv_lif(u))
        return self.down(self.down_lif(u)) + x


class Downsample(nn.Sequential):
    """``BN(Conv3x3/2(LIF(x)))`` between stages."""

    def __init__(self, c_in: int, c_out: int, make: Neurons) -> None:
        super().__init__(OrderedDict(lif=make(), conv=conv_bn(c_in, c_out, k=3, stride=2)))


class SpikingResformer(SpikingModel):
    """Stem, stages of (Downsample,) DSSA + GWFFN pairs, space-averaged linear head."""

    def __init__(self, config: SpikingResformerConfig, backend: str) -> None:
        super().__init__(config)
        c = config
        make = Neurons(c, backend)
        if c.stem == "imagenet":
            self.stem = nn.Sequential(conv_bn(c.in_channels, c.planes[0], k=7, stride=2),
                                      max_pool())
            size = c.img_size // 4
        else:
            self.stem = conv_bn(c.in_channels, c.planes[0])
            size = c.img_size
        stages = []
        for i, (d, h, p, n) in enumerate(zip(c.planes, c.num_heads, c.patch_sizes, c.layers,
                                             strict=True)):
            stage = nn.Sequential()
            if i:
                stage.append(Downsample(c.planes[i - 1], d, make))
                size = (size + 1) // 2
            for _ in range(n):
                stage.append(DSSA(d, h, (size // p) ** 2, p, c.rate_momentum, make))
                stage.append(GWFFN(d, c.mlp_ratio, c.group_size, make))
            stages.append(stage)
        self.stages = nn.Sequential(*stages)
        self.head = nn.Linear(c.planes[-1], c.num_classes, bias=False)
        trunc_normal_init(self, (nn.Conv2d, nn.Linear))

    @property
    def feature_info(self) -> list[FeatureInfo]:
        """The output of every stage: ``planes[i]`` channels; stride 1 (CIFAR stem) or 4
        (ImageNet stem) in the first stage, doubled by each downsampling."""
        c = self.config
        first = 4 if c.stem == "imagenet" else 1
        return [FeatureInfo(d, first * 2**i, f"stages.{i}") for i, d in enumerate(c.planes)]

    def stage_maps(self, x: Tensor) -> list[Tensor]:
        x = self.stem(x)
        maps = []
        for stage in self.stages:
            x = stage(x)
            maps.append(x)
        return maps

    def features(self, x: Tensor) -> Tensor:
        return self.stage_maps(x)[-1].flatten(3).mean(-1)


def _resformer_presets() -> dict[str, dict]:
    roles = {"neuron": lif(surrogate=_ATAN), "attn_neuron": lif(surrogate=_ATAN)}
    return {
        "cifar10": {**roles},
        "cifar100": {**roles, "num_classes": 100},
        "imagenet": {**roles, "img_size": 224, "num_classes": 1000, "stem": "imagenet",
                     "planes": [64, 256, 512], "num_heads": [1, 4, 8]},
        "tiny": {**roles, "img_size": 8, "in_channels": 1, "planes": [16, 32, 64],
                 "num_heads": [1, 2, 4], "layers": [1, 1, 1], "group_size": 16},
    }


@register_model(SpikingResformerConfig, _resformer_presets(), default="cifar10",
                paper="Shi et al., SpikingResformer, CVPR 2024 (arXiv 2403.14302)")
def spikingresformer(config: SpikingResformerConfig, backend: str) -> SpikingResformer:
    """SpikingResformer: the code's ``spikingresformer_cifar`` (CIFAR), ``_s`` (ImageNet)."""
    return SpikingResformer(config, backend)



