"""Spiking patch splitting (SPS): the convolutional front ends that turn images into tokens.

All variants map ``[T, B, C_in, H, W]`` to ``[T, B, D, H/P, W/P]`` with ``P = patch_size``, a power
of two reached by ``log2(P)`` max-pools (3x3, stride 2, padding 1, as every original) placed on
the *last* stages: CIFAR (``P = 4``) pools in the last two, ImageNet (``P = 16``) in all four,
which is exactly SDT's ``pooling_stat`` "0011" / "1111" and Spikformer's two code bases.

Channels go ``D/8, D/4, D/2, D``. The component study swaps them with one key, ``embedding``:

- ``sps`` (Spikformer, Zhou et al. ICLR 2023): Conv-BN-LIF(-pool) x4, then a relative position
  embedding ``LIF(BN(Conv3x3(x)))`` added to the spikes. Output: spike counts in {0, 1, 2}.
- ``sps_membrane`` (Spike-driven Transformer v1, Yao et al. 2023): Conv-BN-LIF(-pool) x3,
  Conv-BN(-pool) as membrane ``x_feat``, then ``BN(Conv3x3(LIF(x_feat)))`` added to it: the
  output is a membrane potential (the membrane shortcut starts here).
- ``sps_pre`` (Spikingformer, Zhou et al. 2023): pre-activation, Conv-BN then
  (LIF(-pool)-Conv-BN) x4, the last conv D -> D in place of an added position embedding; no
  residual. The paper's figure keeps a separate RPE; the code has none (followed here).
- ``conv``: one Conv-BN-LIF and the pools (the "SPS cut to one conv" ablation of STEP).
- ``sps_linear_rpe`` (STEP's port of the Spiking Wavelet Transformer): ``sps`` whose position
  embedding ``BN(Conv3x3(x))`` is added to the spikes without a neuron (its ``rpe_lif`` is
  commented out). Output: spikes plus a real-valued embedding.

Sequences (sMNIST, psMNIST, sCIFAR10 in STEP) enter through :class:`SequentialEmbedding`
(``embedding: sequential``), STEP's Conv1d front end that turns a whole sequence into 64 tokens.
"""

from __future__ import annotations

from torch import Tensor, nn

import step.nn as snn
from step.models.blocks import Neurons, conv_bn, max_pool, pool_count

EMBEDDINGS = ("sps", "sps_membrane", "sps_pre", "conv", "sps_linear_rpe")


def _pool_or_identity(pooled: bool) -> nn.Module:
    return max_pool() if pooled else nn.Identity()


class SPS(nn.Module):
    """Spiking patch splitting; ``style`` is one of :data:`EMBEDDINGS` (module docstring)."""

    def __init__(self, style: str, in_channels: int, dim: int, img_size: int, patch_size: int,
                 make: Neurons) -> None:
        super().__init__()
        if style not in EMBEDDINGS:
            raise ValueError(f"unknown embedding {style!r}: choose one of {EMBEDDINGS}")
        self.style = style
        n_stages = 1 if style == "conv" else 4
        k = pool_count(img_size, patch_size, 4, f"embedding {style}")
        if style == "conv":
            self.convs = nn.ModuleList([conv_bn(in_channels, dim)])
            self.lifs = nn.ModuleList([make()])
            self.pools = nn.ModuleList([nn.Sequential(*[max_pool() for _ in range(k)])])
            return
        widths = [dim // 8, dim // 4, dim // 2, dim]
        if min(widths) < 1:
            raise ValueError(f"embedding {style}: embed_dim {dim} must be at least 8")
        pooled = [i >= n_stages - k for i in range(n_stages)]
        if style == "sps_pre":
            widths = [*widths, dim]  # block0 .. block4, the last D -> D
            self.convs = nn.ModuleList(
                [conv_bn(in_channels, widths[0])]
                + [conv_bn(widths[i], widths[i + 1]) for i in range(4)]
            )
            self.lifs = nn.ModuleList([make() for _ in range(4)])
            self.pools = nn.ModuleList([_pool_or_identity(p) for p in pooled])
            return
        c_in = [in_channels, *widths[:-1]]
        self.convs = nn.ModuleList([conv_bn(c, w) for c, w in zip(c_in, widths, strict=True)])
        self.lifs = nn.ModuleList([make() for _ in range(3 if style == "sps_membrane" else 4)])
        self.pools = nn.ModuleList([_pool_or_identity(p) for p in pooled])
        self.rpe = conv_bn(dim, dim)
        self.rpe_lif = None if style == "sps_linear_rpe" else make()

    def forward(self, x: Tensor) -> Tensor:
        if self.style == "conv":
            return self.pools[0](self.lifs[0](self.convs[0](x)))
        if self.style == "sps_pre":
            x = self.convs[0](x)
            for lif, pool, conv in zip(self.lifs, self.pools, self.convs[1:], strict=True):
                x = conv(pool(lif(x)))
            return x
        if self.style in ("sps", "sps_linear_rpe"):
            for conv, lif, pool in zip(self.convs, self.lifs, self.pools, strict=True):
                x = pool(lif(conv(x)))
            if self.rpe_lif is None:
                return x + self.rpe(x)
            return x + self.rpe_lif(self.rpe(x))
        for i in range(3):  # sps_membrane
            x = self.pools[i](self.lifs[i](self.convs[i](x)))
        x_feat = self.pools[3](self.convs[3](x))
        return x_feat + self.rpe(self.rpe_lif(x_feat))


class SequentialEmbedding(nn.Module):
    """STEP's front end for sequential tasks (``sequential_embed`` in its
    cls/models/static/spikf_semm_cifar.py): a sequence ``[T, B, C, L]`` (the whole sequence at
    every step: direct encoding, the sequence is a spatial axis, not the time axis) becomes
    :data:`TOKENS` tokens ``[T, B, D, 64]``.

    Four Conv1d(k=5, bias)-BN-LIF stages with channels ``D/8, D/4, D/2, D`` and strides
    ``2, 2, 2, 2`` (``L >= 1024``) or ``1, 2, 2, 2``; each padding is the code's
    ``max(0, ((L_i // s - 1) * s + 5 - L_i) // 2)`` on the *planned* lengths ``L_i = L_0 //
    (s_0 ... s_{i-1})``, which are not the lengths the convolutions produce (784 gives 784, 391,
    195, 97, not 392, 196, 98), then an adaptive average pool to 64 tokens and a position
    embedding ``BN(Conv1d(D, D, 3, bias))`` added without a neuron (the tokens are spikes plus
    a real-valued embedding).
    """

    #: Tokens out (the code's ``out_length``; Spikformer+SEMM's EMSP lays them out 8x8).
    TOKENS = 64

    def __init__(self, in_channels: int, dim: int, length: int, make: Neurons) -> None:
        super().__init__()
        strides = [2, 2, 2, 2] if length >= 1024 else [1, 2, 2, 2]
        widths = [in_channels, dim // 8, dim // 4, dim // 2, dim]
        if min(widths) < 1:
            raise ValueError(f"sequential embedding: embed_dim {dim} must be at least 8")
        self.convs = nn.ModuleList()
        planned = length
        for c_in, c_out, s in zip(widths[:-1], widths[1:], strides, strict=True):
            target = planned // s
            pad = max(0, ((target - 1) * s + 5 - planned) // 2)
            self.convs.append(nn.Sequential(snn.Conv1d(c_in, c_out, 5, s, pad),
                                            snn.BatchNorm1d(c_out)))
            planned = target
        self.lifs = nn.ModuleList([make() for _ in range(4)])
        self.pool = snn.SeqWrap(nn.AdaptiveAvgPool1d(self.TOKENS))
        self.rpe = nn.Sequential(snn.Conv1d(dim, dim, 3, 1, 1), snn.BatchNorm1d(dim))

    def forward(self, x: Tensor) -> Tensor:
        for conv, lif in zip(self.convs, self.lifs, strict=True):
            x = lif(conv(x))
        x = self.pool(x)
        return x + self.rpe(x)
