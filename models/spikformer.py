"""Spikformer (Zhou et al., "Spikformer: When Spiking Neural Network Meets Transformer", ICLR 2023)
and the single-stage spiking ViT that Spikformer, SDT and Spikingformer all are.

The three papers share one skeleton: an SPS front end (:mod:`step.models.embeddings`), ``depth``
blocks of spiking self-attention and MLP with residuals (:class:`~step.models.blocks.
TransformerBlock`), global average pooling over tokens, a linear head averaged over time. They
differ in four config keys, so the component study swaps any of them with one key:
``embedding`` (sps | sps_membrane | sps_pre | conv; sequential for sequences),
``attention`` (ssa | sdsa | qk_token),
``pre_activation`` (neurons before or after each weight layer, i.e. spike or membrane shortcuts)
and ``head_lif``; plus ``qkv_bias``. Two ablation keys of the STEP paper's component study:
``freeze_qk`` (random, untrained Q and K projections) and ``embedding: conv`` (the SPS cut to
one convolution).

Spikformer as its code builds it (github.com/ZK-Zhou/spikformer, cifar10/model.py): SPS with
post-activation Conv-BN-LIF and a relative position embedding; SSA with Linear + BN1d + LIF for
Q, K, V (the Linear keeps its bias although ``qkv_bias=False`` is passed: reproduced), scores
``Q K^T V * 0.125`` through a threshold-0.5 LIF, projection Linear-BN-LIF; MLP Linear-BN-LIF x2.
The paper's equations put a LayerNorm-free residual on spikes, as the code does; the code also
builds two LayerNorms per block that forward never calls: not reproduced (9,324,730 parameters
for Spikformer-4-384 on CIFAR-10 instead of the code's 9,330,874; the paper says 9.32 M).
Init as the code: trunc-normal(0.02) for every Linear (here the 1x1 token projections and the
head), PyTorch defaults for convolutions. Neurons: SpikingJelly ``MultiStepLIFNode(tau=2,
detach_reset=True)``, whose default surrogate is Sigmoid(alpha=4).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from torch import Tensor, nn

from step.errors import InputError
from step.models._registry import register_model
from step.models.blocks import (
    FeatureInfo,
    Neurons,
    SpikingModel,
    TransformerBlock,
    images,
    init_head,
    pool_count,
    tokens,
    trunc_normal_init,
)
from step.models.config import TransformerConfig, lif
from step.models.embeddings import SPS, SequentialEmbedding

#: The official code this model's presets reproduce; its golden file is
#: tests/data/official_spikformer.pt (tests/test_official_equivalence.py).
OFFICIAL_CODE = "ZK-Zhou/spikformer@621268981827af47aa666c1b5f774de4281d90ad"


class SpikingViTConfig(TransformerConfig):
    """A single-stage spiking ViT (Spikformer, SDT, Spikingformer and their mixtures)."""

    embed_dim: int = Field(384, ge=8, description="token channels D")
    depth: int = Field(4, ge=1, description="transformer blocks")
    num_heads: int = Field(12, ge=1, description="attention heads")
    patch_size: int = Field(4, ge=1, description="image side / token grid side (power of 2)")
    embedding: Literal["sps", "sps_membrane", "sps_pre", "conv", "sequential"] = "sps"
    sequence_length: int | None = Field(
        None, ge=1, description="embedding sequential: the length L of a [L, C] input sequence"
    )
    attention: Literal["ssa", "sdsa", "qk_token"] = "ssa"
    attn_scale: float = Field(0.125, gt=0, description="SSA score scale (0.125 in the code)")
    pre_activation: bool = Field(False, description="neuron before each weight layer")
    qkv_bias: bool = Field(True, description="bias in the Q, K, V projections")
    head_lif: bool = Field(False, description="a LIF between the pooled tokens and the head")
    weight_init: Literal["spikformer", "sdt", "head_only"] = Field(
        "spikformer", description="which layers get trunc-normal(0.02) as in the original"
    )
    freeze_qk: bool = Field(
        False, description="keep the Q and K projections (weights, biases, BatchNorm affine) at "
        "their random initial values: STEP's 'random attention' ablation"
    )

    @model_validator(mode="after")
    def _check_shapes(self) -> SpikingViTConfig:
        if self.embed_dim % self.num_heads:
            raise ValueError(
                f"embed_dim {self.embed_dim} is not divisible by num_heads {self.num_heads}"
            )
        if self.embedding == "sequential":
            if self.sequence_length is None:
                raise ValueError("embedding sequential needs sequence_length (the input's L)")
            return self
        pool_count(self.img_size, self.patch_size, 1 if self.embedding == "conv" else 4,
                   f"{self.embedding} embedding")
        return self


class SpikingViT(SpikingModel):
    """SPS, ``depth`` transformer blocks on ``[T, B, D, N]`` tokens, pooled head."""

    def __init__(self, config: SpikingViTConfig, backend: str) -> None:
        super().__init__(config)
        make = Neurons(config, backend)
        c = config
        if c.embedding == "sequential":
            self.embed: nn.Module = SequentialEmbedding(c.in_channels, c.embed_dim,
                                                        c.sequence_length, make)
        else:
            self.embed = SPS(c.embedding, c.in_channels, c.embed_dim, c.img_size,
                             c.patch_size, make)
        self.blocks = nn.ModuleList(self.make_block(make) for _ in range(c.depth))
        self.head_lif = make() if c.head_lif else None
        self.head = nn.Linear(c.embed_dim, c.num_classes)
        if c.weight_init == "spikformer":  # every nn.Linear of the code: token projections
            trunc_normal_init(self, (nn.Conv1d, nn.Linear), keep=self.embed)
        elif c.weight_init == "sdt":  # SDT's _init_weights touches Conv2d only, not the head
            trunc_normal_init(self, (nn.Conv2d, nn.Conv1d))
        if c.weight_init != "sdt":
            init_head(self.head)
        if c.freeze_qk:
            freeze_qk(self.blocks)

    def time_first(self, x: Tensor) -> Tensor:
        """With ``embedding: sequential`` a sequence is one input, not T steps: ``[L, B, C]``
        (time-first, as step's sequence datasets give it) is encoded into ``[T, B, C, L]``
        by the config's encoder (STEP repeats it T times: direct); ``[T, B, C, L]`` passes."""
        if self.config.embedding != "sequential":
            return super().time_first(x)
        if x.dim() == 3:
            return self.encoder(x.permute(1, 2, 0))
        if x.dim() == 4:
            return x
        raise InputError(f"{type(self).__name__} with a sequential embedding takes [L, B, C] "
                         f"or [T, B, C, L], got shape {tuple(x.shape)}")

    def check_image(self, x: Tensor) -> None:
        c = self.config
        if c.embedding != "sequential":
            return super().check_image(x)
        if tuple(x.shape[2:]) != (c.in_channels, c.sequence_length):
            raise InputError(
                f"{type(self).__name__} was configured for sequences of {c.sequence_length} "
                f"steps of {c.in_channels} features, got {tuple(x.shape[2:])} as [C, L] "
                "(set sequence_length / in_channels)"
            )
        return None

    def make_block(self, make: Neurons) -> nn.Module:
        """One transformer block on ``[T, B, D, N]`` tokens; a family that swaps the block
        (Spikformer+SEMM's experts mixture) overrides this and keeps the rest of the model."""
        c = self.config
        return TransformerBlock(c.embed_dim, c.num_heads, c.mlp_ratio, c.attention, make,
                                pre=c.pre_activation, qkv_bias=c.qkv_bias, scale=c.attn_scale)

    @property
    def feature_info(self) -> list[FeatureInfo]:
        """One map: the last block's tokens on the patch grid (a single-stage ViT has one
        scale); none with the sequential front end (its tokens are no image grid)."""
        c = self.config
        if c.embedding == "sequential":
            return []
        return [FeatureInfo(c.embed_dim, c.patch_size, f"blocks.{c.depth - 1}")]

    def block_tokens(self, x: Tensor) -> Tensor:
        """Encoded input -> the last block's tokens ``[T, B, D, N]``."""
        x = tokens(self.embed(x))
        for block in self.blocks:
            x = block(x)
        return x

    def stage_maps(self, x: Tensor) -> list[Tensor]:
        if not self.feature_info:
            return super().stage_maps(x)
        side = self.config.img_size // self.config.patch_size
        return [images(self.block_tokens(x), side, side)]

    def features(self, x: Tensor) -> Tensor:
        x = self.block_tokens(x).mean(-1)  # [T, B, D]
        return x if self.head_lif is None else self.head_lif(x)


def freeze_qk(blocks: nn.ModuleList) -> None:
    """Random, untrained attention: Q and K keep their initial weights (no gradient, so AdamW
    neither steps nor decays them). The STEP paper does not say what happens to the BatchNorm
    after each projection; here its affine parameters are frozen too, while its running
    statistics still follow the data in training mode (as any BatchNorm's do), so the frozen
    projections stay normalised. V, the projection and the attention neuron train as usual."""
    for block in blocks:
        for p in (*block.attn.q.parameters(), *block.attn.k.parameters()):
            p.requires_grad_(False)


class SpikformerConfig(SpikingViTConfig):
    """Spikformer's defaults (every field can still be overridden)."""


def _presets(neuron: dict, attn: dict, **arch: object) -> dict[str, dict]:
    roles = {"neuron": neuron, "attn_neuron": attn}
    return {
        "cifar10": {**roles, **arch},
        "cifar100": {**roles, **arch, "num_classes": 100},
        "imagenet": {**roles, **arch, "img_size": 224, "patch_size": 16, "num_classes": 1000,
                     "embed_dim": 512, "depth": 8, "num_heads": 8},
        "tiny": {**roles, **arch, "img_size": 8, "in_channels": 1, "patch_size": 2,
                 "embed_dim": 32, "depth": 1, "num_heads": 2},
        # STEP's ADE20K segmentation backbone (seg/configs/spikformer/fcn_spikformer_8-512.py):
        # 8-512, 8 heads, T = 4, 512 x 512 crops, 150 classes; its patch_size 32 needs five
        # pools, the four-stage SPS here stops at 16 (a 32 x 32 token grid)
        "ade20k": {**roles, **arch, "img_size": 512, "patch_size": 16, "num_classes": 150,
                   "embed_dim": 512, "depth": 8, "num_heads": 8, "T": 4},
    }


SPIKFORMER_PRESETS = _presets(
    lif(), lif(v_threshold=0.5), embed_dim=384, depth=4, num_heads=12, mlp_ratio=4.0,
    patch_size=4, embedding="sps", attention="ssa", pre_activation=False, qkv_bias=True,
    head_lif=False, weight_init="spikformer",
)
# ImageNet: Spikformer-8-512 (29.68 M in the paper), one of its published ImageNet sizes.


@register_model(SpikformerConfig, SPIKFORMER_PRESETS, default="cifar10",
                paper="Zhou et al., Spikformer, ICLR 2023 (arXiv 2209.15425)")
def spikformer(config: SpikformerConfig, backend: str) -> SpikingViT:
    """Spikformer-4-384 (CIFAR), Spikformer-8-512 (ImageNet)."""
    return SpikingViT(config, backend)


__all__ = ["SPIKFORMER_PRESETS", "SpikformerConfig", "SpikingViT", "SpikingViTConfig",
           "freeze_qk", "spikformer"]
