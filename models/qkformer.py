"""QKFormer (Zhou et al., "QKFormer: Hierarchical Spiking Transformer using Q-K Attention",
NeurIPS 2024, arXiv 2403.16552).

A three-stage hierarchy with channels ``D/4, D/2, D``. As its CIFAR code builds it
(github.com/zhouchenlin2096/QKFormer, cifar10/model.py):

- stage 1 embedding at full resolution: ``s = LIF(BN(Conv3x3(x)))`` (D/8 channels), then
  ``LIF(BN(Conv3x3(s))) + LIF(BN(Conv1x1(s)))`` (the 1x1 shortcut has its own BN and LIF);
- stage 2 and 3 embeddings: ``LIF(MaxPool(BN(Conv3x3(LIF(BN(Conv3x3(x)))))))`` plus a stride-2
  ``LIF(BN(Conv1x1(x)))`` shortcut;
- blocks with spike residuals (post-activation): Q-K token attention in stages 1 and 2 (Q and K
  Conv1d without bias + BN + LIF; a per-head token mask ``LIF_0.5(sum_channels Q)`` gates K;
  no V; projection Conv1d with bias + BN + LIF), standard SSA in stage 3 (``Q (K^T V) * 0.125``);
  MLP 1x1 Conv2d with bias + BN + LIF, twice. One block each in stages 1 and 2, ``depth - 2`` in
  stage 3 (``depths`` here). No LayerNorm anywhere.
- the head averages the tokens and time, no neuron; init trunc-normal(0.02) on the head only.

Where this differs from the code: the code hard-codes ``num_heads = [8, 8, 8]`` and ignores the
argument (the published STEP inherited that); here ``num_heads`` is used. And the code has a bug
that is not reproduced: its last-stage attention (``Spiking_Self_Attention``) fires the output
neuron ``proj_lif`` on ``x.flatten(0, 1)``, ``[T*B, C, N]``, which a multi-step neuron reads as
``T*B`` time steps, so every image starts from the membrane the previous image of the batch left
and its logits depend on the other images in the batch (running one image alone instead of in a
batch of two changes its logits by 3e-2 to 1e-1 in the CIFAR model HST-4-384 with random,
BatchNorm-calibrated weights, by 8e-3 in the small golden configuration). Here that neuron
fires on ``[T, B, C, N]``, as every other neuron of the model: one image's logits do not depend
on its batch. The golden file that pins this model to the official code
(``tests/data/official_qkformer.pt``) comes from the official code with that one line fixed;
with it, step computes the official logits and gradients to 1e-9 in float64. The paper's Table 1
lists 6.74 M for CIFAR, the CIFAR-100 model (6,740,884 here and in the code; CIFAR-10 6,706,234).
ImageNet: the code's ImageNet embedding (``patch_size`` 16, extra stem convolutions) is not
reproduced; the ``imagenet`` preset keeps this CIFAR structure with two max-pools after the
first convolution (224 -> 56 -> 28 -> 14, the paper's stage resolutions), so its parameter
count differs from the paper's HST-10-768 (64.96 M). Neurons: ``MultiStepLIFNode(tau=2,
detach_reset=True)``, Sigmoid(alpha=4) surrogate (SpikingJelly's default), attention threshold 0.5.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from torch import Tensor, nn

from step.models._registry import register_model
from step.models.blocks import (
    FeatureInfo,
    Neurons,
    SpikingModel,
    TransformerBlock,
    conv_bn,
    images,
    init_head,
    max_pool,
    tokens,
)
from step.models.config import TransformerConfig, lif

#: The official code this model's presets reproduce; its golden file is
#: tests/data/official_qkformer.pt (tests/test_official_equivalence.py).
OFFICIAL_CODE = "zhouchenlin2096/QKFormer@c2a00e8e54538e76f5954614a60c1d53824bbee9"

Attention = Literal["ssa", "sdsa", "qk_token"]


class QKFormerConfig(TransformerConfig):
    """QKFormer: three stages of widths ``embed_dim / 4, / 2, / 1``."""

    embed_dim: int = Field(384, ge=8, description="channels of the last stage D")
    depths: list[int] = Field(default_factory=lambda: [1, 1, 2], description="blocks per stage")
    num_heads: int = Field(8, ge=1, description="attention heads in every stage")
    attention: list[Attention] = Field(
        default_factory=lambda: ["qk_token", "qk_token", "ssa"], description="per stage"
    )
    stem_pools: int = Field(0, ge=0, le=4, description="max-pools after the first conv")
    attn_scale: float = Field(0.125, gt=0, description="SSA score scale")

    @model_validator(mode="after")
    def _check_shapes(self) -> QKFormerConfig:
        if len(self.depths) != 3 or len(self.attention) != 3:
            raise ValueError("depths and attention need one entry per stage (3)")
        for dim in (self.embed_dim // 4, self.embed_dim // 2, self.embed_dim):
            if dim % self.num_heads:
                raise ValueError(f"stage width {dim} is not divisible by num_heads "
                                 f"{self.num_heads} (embed_dim / 4 must be)")
        step = 2 ** (self.stem_pools + 2)
        if self.img_size % step:
            raise ValueError(f"img_size {self.img_size} must be divisible by {step} "
                             f"(2 stage pools and {self.stem_pools} stem pools)")
        return self


class FirstEmbedding(nn.Module):
    """Stage-1 embedding: conv to D/2 channels, then a 3x3 path and a 1x1 shortcut to D."""

    def __init__(self, c_in: int, dim: int, pools: int, make: Neurons) -> None:
        super().__init__()
        self.conv = conv_bn(c_in, dim // 2)
        self.lif = make()
        self.pool = nn.Sequential(*[max_pool() for _ in range(pools)])
        self.conv1 = conv_bn(dim // 2, dim)
        self.lif1 = make()
        self.res = conv_bn(dim // 2, dim, k=1)
        self.res_lif = make()

    def forward(self, x: Tensor) -> Tensor:
        s = self.pool(self.lif(self.conv(x)))
        return self.lif1(self.conv1(s)) + self.res_lif(self.res(s))


class StageEmbedding(nn.Module):
    """Stage-2/3 embedding: two 3x3 convs and a max-pool, plus a stride-2 1x1 shortcut."""

    def __init__(self, c_in: int, dim: int, make: Neurons) -> None:
        super().__init__()
        self.conv1 = conv_bn(c_in, dim)
        self.lif1 = make()
        self.conv2 = conv_bn(dim, dim)
        self.pool = max_pool()
        self.lif2 = make()
        self.res = conv_bn(c_in, dim, k=1, stride=2)
        self.res_lif = make()

    def forward(self, x: Tensor) -> Tensor:
        y = self.lif2(self.pool(self.conv2(self.lif1(self.conv1(x)))))
        return y + self.res_lif(self.res(x))


class QKFormer(SpikingModel):
    """Embedding and blocks per stage, tokens averaged, linear head averaged over time."""

    def __init__(self, config: QKFormerConfig, backend: str) -> None:
        super().__init__(config)
        c = config
        make = Neurons(c, backend)
        dims = [c.embed_dim // 4, c.embed_dim // 2, c.embed_dim]
        self.embeds = nn.ModuleList([
            FirstEmbedding(c.in_channels, dims[0], c.stem_pools, make),
            StageEmbedding(dims[0], dims[1], make),
            StageEmbedding(dims[1], dims[2], make),
        ])
        self.stages = nn.ModuleList(
            nn.ModuleList(
                TransformerBlock(dim, c.num_heads, c.mlp_ratio, kind, make, pre=False,
                                 qkv_bias=False, scale=c.attn_scale)
                for _ in range(depth)
            )
            for dim, depth, kind in zip(dims, c.depths, c.attention, strict=True)
        )
        self.head = init_head(nn.Linear(c.embed_dim, c.num_classes))

    @property
    def feature_info(self) -> list[FeatureInfo]:
        """The output of each of the three stages: widths D/4, D/2, D at strides
        ``2^stem_pools`` times 1, 2, 4."""
        c = self.config
        first = 2 ** c.stem_pools
        dims = [c.embed_dim // 4, c.embed_dim // 2, c.embed_dim]
        return [FeatureInfo(d, first * 2**i, f"stages.{i}") for i, d in enumerate(dims)]

    def stage_maps(self, x: Tensor) -> list[Tensor]:
        maps = []
        for embed, blocks in zip(self.embeds, self.stages, strict=True):
            x = embed(x)
            h, w = x.shape[-2:]
            t = tokens(x)
            for block in blocks:
                t = block(t)
            x = images(t, h, w)
            maps.append(x)
        return maps

    def features(self, x: Tensor) -> Tensor:
        return self.stage_maps(x)[-1].flatten(3).mean(-1)


def _qk_presets() -> dict[str, dict]:
    roles = {"neuron": lif(), "attn_neuron": lif(v_threshold=0.5)}
    base = {**roles, "embed_dim": 384, "depths": [1, 1, 2], "num_heads": 8, "mlp_ratio": 4.0}
    return {
        "cifar10": base,
        "cifar100": {**base, "num_classes": 100},
        "imagenet": {**roles, "img_size": 224, "num_classes": 1000, "embed_dim": 768,
                     "depths": [1, 2, 7], "num_heads": 8, "stem_pools": 2},
        "tiny": {**roles, "img_size": 8, "in_channels": 1, "embed_dim": 32,
                 "depths": [1, 1, 1], "num_heads": 2},
    }


@register_model(QKFormerConfig, _qk_presets(), default="cifar10",
                paper="Zhou et al., QKFormer, NeurIPS 2024 (arXiv 2403.16552)")
def qkformer(config: QKFormerConfig, backend: str) -> QKFormer:
    """QKFormer (HST-4-384 on CIFAR)."""
    return QKFormer(config, backend)


__all__ = ["QKFormer", "QKFormerConfig", "qkformer"]
