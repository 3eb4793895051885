"""Spiking Wavelet Transformer (SWformer; Fang et al., "Spiking Wavelet Transformer", ECCV 2024):
attention-free, its token mixer (FATM, frequency-aware token mixer) learns in the Haar wavelet
domain.

The presets reproduce the STEP benchmark's port (github.com/Fancyssc/STEP,
cls/models/static/swformer_cifar.py with cls/models/utils/sw_layers.py, on BrainCog), the
configuration behind the 95.31 / 76.99 on the mission table. The authors' code
(github.com/bic-L/Spiking-Wavelet-Transformer, cifar10-100/model.py) differs in two places:

- the neurons inside the Haar transforms (role ``haar_neuron`` here) are its
  ``MultiStepNegIFNode``: a ternary integrate-and-fire neuron that emits +1 at ``v >= 1``,
  -1 at ``v <= -0.501`` (negative threshold 0.5 plus an ``inhibit`` of 1e-3), a hard reset to
  0 after either, the reset not detached. Step has no ternary neuron kind, so the authors'
  version cannot be built here yet; STEP's port uses the LIF of every other layer (tau 2,
  threshold 1);
- its SPS ends on the membrane (``embedding: sps_membrane``, the Spike-driven Transformer's:
  the last conv's BN output, pooled, plus ``BN(Conv(LIF(.)))``), where STEP's port adds
  ``BN(Conv(x))`` to the spikes (``sps_linear_rpe``). Both build the same layers, so the
  parameter counts agree.

The network, on ``[T, B, C, H, W]``: SPS (``D/8 .. D`` channels, 8x8 tokens on CIFAR), then
``depth`` blocks ``x + FATM(x)``, ``x + MLP(x)``; the MLP is pre-activation
(``BN(W_2 LIF(BN(W_1 LIF(x))))``, 1x1 convolutions with bias, as the Spike-driven
Transformer's); head: mean over tokens, Linear. FATM (:class:`FrequencyMixer`) has three
branches on the spikes ``s = LIF(x)``:

1. wavelet learner: the 2-D Haar transform ``H LIF(s H^T)`` (rows, a neuron, columns; ``H`` the
   fixed orthonormal Haar matrix of :mod:`step.models.wavelet`, all ``log2`` levels: it is not
   learnt), BN, LIF; a learnt block-diagonal channel mixing (``fl_blocks`` blocks of
   ``D / fl_blocks`` channels, weights 0.02 * N(0, 1)), BN; the inverse transform
   ``H^T LIF(LIF(.) H) `` (a neuron before each pass), BN;
2. a 1x1 convolution (with bias) shared by every channel block, BN over all channels;
3. a 3x3 convolution (with bias) shared the same way, BN;

summed (no neuron after the sum: the residual adds membrane potentials).

Init as the code: trunc-normal(0.02) on the Linear head only, PyTorch defaults elsewhere.
Neurons: BrainCog ``LIFNode`` with ``SigmoidGrad(alpha=4)``, firing at ``>=`` and detaching
the reset (as :func:`lif`).
"""

from __future__ import annotations

from typing import ClassVar, Literal

import torch
from pydantic import Field, model_validator
from torch import Tensor, nn

import step.nn as snn
from step.errors import InputError
from step.models._registry import register_model
from step.models.blocks import (
    Neurons,
    SpikingModel,
    TokenMLP,
    images,
    init_head,
    pool_count,
    tokens,
)
from step.models.config import ModelConfig, lif
from step.models.embeddings import SPS
from step.models.wavelet import along_columns, along_rows, haar_matrix
from step.specs import AnyNeuronSpec, LIFSpec, NeuronSpec

#: The code this model's presets reproduce (STEP's port; see the module docstring for the
#: authors' code); its golden file is tests/data/official_swformer.pt.
OFFICIAL_CODE = "Fancyssc/STEP@c0b31937b8ebd544084dbe59bef9a46846edbf95"


def _default_haar_neuron() -> NeuronSpec:
    return LIFSpec.parse(lif())


class SWformerConfig(ModelConfig):
    """Spiking Wavelet Transformer: SPS, ``depth`` FATM + MLP blocks, pooled head."""

    haar_neuron: AnyNeuronSpec = Field(
        default_factory=_default_haar_neuron,
        description="neuron between the passes of the Haar transforms")
    embed_dim: int = Field(384, ge=8, description="token channels D")
    depth: int = Field(4, ge=1, description="FATM + MLP blocks")
    patch_size: int = Field(4, ge=1, description="image side / token grid side (power of 2)")
    mlp_ratio: float = Field(4.0, gt=0, description="MLP hidden = dim * mlp_ratio")
    fl_blocks: int = Field(16, ge=1, description="channel blocks of the wavelet-domain mixing")
    embedding: Literal["sps_linear_rpe", "sps_membrane"] = Field(
        "sps_linear_rpe", description="sps_linear_rpe: STEP's port; sps_membrane: the authors'")

    neuron_roles: ClassVar[tuple[str, ...]] = ("neuron", "haar_neuron")

    @model_validator(mode="after")
    def _check_shapes(self) -> SWformerConfig:
        if self.embed_dim % self.fl_blocks:
            raise ValueError(
                f"embed_dim {self.embed_dim} is not divisible by fl_blocks {self.fl_blocks}")
        pool_count(self.img_size, self.patch_size, 4, "SWformer SPS")
        grid = self.img_size // self.patch_size
        if grid & (grid - 1):
            raise ValueError(f"the Haar transform needs a power-of-2 token grid, got "
                             f"{grid}x{grid} (img_size / patch_size)")
        return self


class FrequencyMixer(nn.Module):
    """FATM on images ``[T, B, D, n, n]`` (module docstring)."""

    def __init__(self, dim: int, blocks: int, grid: int, make: Neurons) -> None:
        super().__init__()
        self.blocks, self.block_size = blocks, dim // blocks
        bs = self.block_size
        self.haar_weight = nn.Parameter(0.02 * torch.randn(blocks, bs, bs))
        self.x_lif = make()
        self.haar_lif = make()
        self.forward_lif = make("haar_neuron")
        self.inverse_row_lif = make("haar_neuron")
        self.inverse_col_lif = make("haar_neuron")
        # registration order = the code's, so its state maps 1:1
        self.forward_bn = snn.BatchNorm2d(dim)
        self.multiply_bn = snn.BatchNorm2d(dim)
        self.inverse_bn = snn.BatchNorm2d(dim)
        self.conv1 = nn.Conv2d(bs, bs, 1)
        self.conv2 = nn.Conv2d(bs, bs, 3, padding=1)
        self.conv1_bn = snn.BatchNorm2d(dim)
        self.conv2_bn = snn.BatchNorm2d(dim)
        # float64 (cast to the input's dtype in forward), not part of the state: it is fixed
        self.register_buffer("haar", haar_matrix(grid, torch.float64), persistent=False)

    def mix(self, y: Tensor) -> Tensor:
        """Block-diagonal channel mixing: channel block b times ``haar_weight[b]``."""
        T, B, C, h, w = y.shape
        y = y.reshape(T, B, self.blocks, self.block_size, h, w).permute(0, 1, 4, 5, 2, 3)
        y = torch.einsum("...bd,bdk->...bk", y, self.haar_weight)
        return y.permute(0, 1, 4, 5, 2, 3).reshape(T, B, C, h, w)

    def shared_conv(self, conv: nn.Conv2d, s: Tensor) -> Tensor:
        """``conv`` applied to every block of channels with the same weights."""
        T, B, C, h, w = s.shape
        return conv(s.reshape(T * B * self.blocks, self.block_size, h, w)).reshape(s.shape)

    def forward(self, x: Tensor) -> Tensor:
        n = self.haar.shape[0]
        if x.shape[-2:] != (n, n):
            raise InputError(f"FATM was built for a {n}x{n} token grid, got "
                             f"{tuple(x.shape[-2:])}")
        haar = self.haar.to(x.dtype)
        s = self.x_lif(x)
        y = along_columns(self.forward_lif(along_rows(s, haar)), haar)
        y = self.mix(self.haar_lif(self.forward_bn(y)))
        y = self.inverse_row_lif(self.multiply_bn(y))
        y = along_columns(self.inverse_col_lif(along_rows(y, haar.T)), haar.T)
        y = self.inverse_bn(y)
        return (y + self.conv1_bn(self.shared_conv(self.conv1, s))
                + self.conv2_bn(self.shared_conv(self.conv2, s)))


class SWBlock(nn.Module):
    """``x + FATM(x)`` then ``x + MLP(x)`` (pre-activation) on images ``[T, B, D, n, n]``."""

    def __init__(self, config: SWformerConfig, make: Neurons) -> None:
        super().__init__()
        c = config
        self.mixer = FrequencyMixer(c.embed_dim, c.fl_blocks, c.img_size // c.patch_size, make)
        self.mlp = TokenMLP(c.embed_dim, int(c.embed_dim * c.mlp_ratio), make, pre=True)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.mixer(x)
        h, w = x.shape[-2:]
        return images(tokens(x) + self.mlp(tokens(x)), h, w)


class SWformer(SpikingModel):
    """SPS, ``depth`` :class:`SWBlock`, mean over tokens, Linear head."""

    def __init__(self, config: SWformerConfig, backend: str) -> None:
        super().__init__(config)
        c = config
        make = Neurons(config, backend)
        self.embed = SPS(c.embedding, c.in_channels, c.embed_dim, c.img_size, c.patch_size,
                         make)
        self.blocks = nn.ModuleList(SWBlock(c, make) for _ in range(c.depth))
        self.head = init_head(nn.Linear(c.embed_dim, c.num_classes))

    def features(self, x: Tensor) -> Tensor:
        x = self.embed(x)
        for block in self.blocks:
            x = block(x)
        return tokens(x).mean(-1)


_ARCH = dict(neuron=lif(), haar_neuron=lif(), embed_dim=384, depth=4, patch_size=4,
             mlp_ratio=4.0, fl_blocks=16, embedding="sps_linear_rpe")
SWFORMER_PRESETS: dict[str, dict] = {
    "cifar10": {**_ARCH},
    "cifar100": {**_ARCH, "num_classes": 100},
    "tiny": {**_ARCH, "img_size": 8, "in_channels": 1, "patch_size": 2, "embed_dim": 32,
             "depth": 1, "fl_blocks": 4},
}


@register_model(SWformerConfig, SWFORMER_PRESETS, default="cifar10",
                paper="Fang et al., Spiking Wavelet Transformer, ECCV 2024 (arXiv 2403.11138)")
def swformer(config: SWformerConfig, backend: str) -> SWformer:
    """SWformer-4-384 (CIFAR: four FATM blocks of 384 channels in 16 frequency blocks)."""
    return SWformer(config, backend)


__all__ = ["SWFORMER_PRESETS", "FrequencyMixer", "SWformer", "SWformerConfig", "swformer"]
