"""SGLFormer (Zhang et al., "SGLFormer: Spiking Global-Local-Fusion Transformer with high
performance", Frontiers in Neuroscience 2024): local convolution, windowed (local) spiking
self-attention and global spiking self-attention fused in one block.

The presets reproduce the authors' code (github.com/ZhangHanN1/SGLFormer, cifar10/sglformer.py and
the identical cifar100/sglformer.py; SpikingJelly ``MultiStepLIFNode(tau=2, detach_reset=True)``,
firing at ``>=``, every attention neuron at threshold 0.5). Its parameter count is the paper's
(SGLFormer-4-384: 8.85 M on CIFAR-10, 8.88 M on CIFAR-100). The STEP benchmark's port
(Fancyssc/STEP, cls/models/static/sglformer_cifar.py), behind the 95.88 / 80.61 on the mission
table, computes another network and is not followed: its attention computes K and V with Q's
convolution, BatchNorm and neuron (``k_conv_out = self.q_conv(...)``), so K = V = Q and the
K and V layers it builds are never used (it builds the same 8,852,874 weights, 889,344 of them
idle); its tokenizer has no max-pool (1024 tokens instead of
64, which its head convolution of height 64 then slides over); and its BrainCog neurons are
called three times per attention on one membrane.

The network, on ``[T, B, C, H, W]`` (every convolution bias-free except the head's):

- stem and tokenizer: 3x3 Conv-BN-LIF with channels ``D/6, D/4, D/2, D, D``; the last
  ``log2(patch_size)`` tokenizer stages max-pool *between* BN and LIF (the code's ``Conv3x3``
  with stride 2), where Spikformer's SPS pools the spikes;
- ``depth`` blocks, each ``x + local(x)``, then ``x + local_ssa(x)``, ``x + mlp(x)`` and twice
  ``x + global_ssa(x)``, ``x + mlp(x)`` (3 attentions and 3 MLPs per block):

  - ``local``: ``y = x + LIF(BN(DWConv3x3(x)))``, returned as ``y + LIF(BN(1x1(LIF(BN(
    DWConv3x3(LIF(BN(1x1(y)))))))))`` with a 4 D hidden width, so the block adds ``2 x + ...``;
  - ``local_ssa``: spiking self-attention (SSA, Spikformer's ``Q K^T V * 0.125`` through a
    threshold-0.5 LIF, no softmax) inside each of ``local_windows^2`` windows. A window is a
    *strided* subset of the token grid (the code's ``Partition``: token ``(i n + a, j n + b)``
    belongs to window ``(a, b)``), not a contiguous patch;
  - ``global_ssa``: SSA over all tokens; Q, K, V and the projection are 1x1 Conv-BN-LIF;
  - ``mlp``: 1x1 Conv-BN-LIF to ``mlp_ratio * D``, 1x1 Conv-BN-LIF back;

- head: a depthwise convolution whose kernel covers every token and every time step
  (``Conv2d(D, D, (N, T), groups=D)``, with bias; ``N = 64`` hard-coded in the code, here the
  token count of the config), BN, then a Linear. Time is pooled by that learnt kernel, not by a
  mean, so the model takes exactly ``T`` steps: frames of another length are an input error.

Init as the code: trunc-normal(0.02) on the Linear head only, PyTorch defaults elsewhere.
"""

from __future__ import annotations

from pydantic import Field, model_validator
from torch import Tensor, nn

from step.errors import InputError
from step.models._registry import register_model
from step.models.blocks import (
    Neurons,
    SpikingAttention,
    SpikingModel,
    TokenMLP,
    conv_bn,
    images,
    init_head,
    max_pool,
    pool_count,
    tokens,
)
from step.models.config import TransformerConfig, lif

#: The code this model's presets reproduce; its golden file is tests/data/official_sglformer.pt
#: (tests/test_official_equivalence.py).
OFFICIAL_CODE = "ZhangHanN1/SGLFormer@4821b133c92d2e3baf1a6e4892bd6475f30b98ff"

#: Hidden width of the local convolution block, times D (``dw_dim = 4 * dim`` in the code,
#: whatever ``mlp_ratio`` says).
LOCAL_EXPANSION = 4


class SGLFormerConfig(TransformerConfig):
    """SGLFormer: stem + tokenizer, ``depth`` global-local blocks, token-and-time head."""

    embed_dim: int = Field(384, ge=6, description="token channels D (stem D/6)")
    depth: int = Field(1, ge=1, description="global-local blocks (3 attentions each)")
    num_heads: int = Field(16, ge=1, description="attention heads (local and global)")
    patch_size: int = Field(4, ge=1, description="image side / token grid side (power of 2)")
    local_windows: int = Field(
        2, ge=1, description="local attention: windows per side (the code's num_hw)")

    @model_validator(mode="after")
    def _check_shapes(self) -> SGLFormerConfig:
        if self.embed_dim % self.num_heads:
            raise ValueError(
                f"embed_dim {self.embed_dim} is not divisible by num_heads {self.num_heads}")
        pool_count(self.img_size, self.patch_size, 4, "SGLFormer tokenizer")
        grid = self.img_size // self.patch_size
        if grid % self.local_windows:
            raise ValueError(f"the {grid}x{grid} token grid does not split into "
                             f"local_windows={self.local_windows} windows per side")
        return self


def partition(x: Tensor, n: int) -> Tensor:
    """``[T, B, C, H, W] -> [T, B n n, C, H/n, W/n]``: window ``(a, b)`` holds the tokens
    ``(i n + a, j n + b)`` (the code's strided ``Partition``)."""
    T, B, C, H, W = x.shape
    x = x.reshape(T, B, C, H // n, n, W // n, n).permute(0, 1, 4, 6, 2, 3, 5)
    return x.reshape(T, B * n * n, C, H // n, W // n)


def integrate(x: Tensor, n: int) -> Tensor:
    """The inverse of :func:`partition`."""
    T, Bnn, C, h, w = x.shape
    x = x.reshape(T, Bnn // (n * n), n, n, C, h, w).permute(0, 1, 4, 5, 2, 6, 3)
    return x.reshape(T, Bnn // (n * n), C, h * n, w * n)


class Tokenizer(nn.Module):
    """Stem and tokenizer: 3x3 Conv-BN(-pool)-LIF, channels ``D/6, D/4, D/2, D, D``."""

    def __init__(self, in_channels: int, dim: int, pools: int, make: Neurons) -> None:
        super().__init__()
        widths = [in_channels, dim // 6, dim // 4, dim // 2, dim, dim]
        self.convs = nn.ModuleList(conv_bn(c, w)
                                   for c, w in zip(widths[:-1], widths[1:], strict=True))
        self.pools = nn.ModuleList(max_pool() if i >= 5 - pools else nn.Identity()
                                   for i in range(5))
        self.lifs = nn.ModuleList(make() for _ in range(5))

    def forward(self, x: Tensor) -> Tensor:
        for conv, pool, lif_ in zip(self.convs, self.pools, self.lifs, strict=True):
            x = lif_(pool(conv(x)))
        return x


class LocalConv(nn.Module):
    """The code's ``LocalBlock`` on images: ``y = x + dw(x)``, returns ``y + pw(dw(pw(y)))``."""

    def __init__(self, dim: int, make: Neurons) -> None:
        super().__init__()
        hidden = LOCAL_EXPANSION * dim
        self.dw = conv_bn(dim, dim, 3, groups=dim)
        self.dw_lif = make()
        self.expand = conv_bn(dim, hidden, 1)
        self.expand_lif = make()
        self.dw_hidden = conv_bn(hidden, hidden, 3, groups=hidden)
        self.dw_hidden_lif = make()
        self.reduce = conv_bn(hidden, dim, 1)
        self.reduce_lif = make()

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.dw_lif(self.dw(x))
        y = self.dw_hidden_lif(self.dw_hidden(self.expand_lif(self.expand(x))))
        return x + self.reduce_lif(self.reduce(y))


class LocalAttention(nn.Module):
    """SSA inside each window of :func:`partition` (images in, images out)."""

    def __init__(self, dim: int, heads: int, windows: int, make: Neurons) -> None:
        super().__init__()
        self.windows = windows
        self.attn = SpikingAttention(dim, heads, "ssa", make, pre=False, qkv_bias=False,
                                     proj_bias=False)

    def forward(self, x: Tensor) -> Tensor:
        p = partition(x, self.windows)
        h, w = p.shape[-2:]
        return integrate(images(self.attn(tokens(p)), h, w), self.windows)


class SGLBlock(nn.Module):
    """One global-local block on images ``[T, B, D, H, W]`` (module docstring)."""

    def __init__(self, config: SGLFormerConfig, make: Neurons) -> None:
        super().__init__()
        c = config
        hidden = int(c.embed_dim * c.mlp_ratio)

        def mlp() -> TokenMLP:
            return TokenMLP(c.embed_dim, hidden, make, pre=False, bias=False)

        def global_attn() -> SpikingAttention:
            return SpikingAttention(c.embed_dim, c.num_heads, "ssa", make, pre=False,
                                    qkv_bias=False, proj_bias=False)

        # registration order = the code's (loc, ssa1, mlp1, ssa2, mlp2, ssa3, mlp3)
        self.local = LocalConv(c.embed_dim, make)
        self.local_attn = LocalAttention(c.embed_dim, c.num_heads, c.local_windows, make)
        self.mlp1 = mlp()
        self.global_attn1 = global_attn()
        self.mlp2 = mlp()
        self.global_attn2 = global_attn()
        self.mlp3 = mlp()

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        x = x + self.local(x)
        x = x + self.local_attn(x)
        t = tokens(x)
        t = t + self.mlp1(t)
        t = t + self.global_attn1(t)
        t = t + self.mlp2(t)
        t = t + self.global_attn2(t)
        return images(t + self.mlp3(t), h, w)


class SGLFormer(SpikingModel):
    """Tokenizer, ``depth`` :class:`SGLBlock`, head over all tokens and time steps."""

    #: The head holds a weight per time step: the model takes exactly ``config.T`` steps.
    fixed_time_steps = True

    def __init__(self, config: SGLFormerConfig, backend: str) -> None:
        super().__init__(config)
        c = config
        make = Neurons(config, backend)
        self.embed = Tokenizer(c.in_channels, c.embed_dim,
                               pool_count(c.img_size, c.patch_size, 4, "SGLFormer"), make)
        self.blocks = nn.ModuleList(SGLBlock(c, make) for _ in range(c.depth))
        self.tokens = (c.img_size // c.patch_size) ** 2
        self.head_conv = nn.Conv2d(c.embed_dim, c.embed_dim, (self.tokens, c.T),
                                   groups=c.embed_dim)
        self.head_bn = nn.BatchNorm2d(c.embed_dim)
        self.head = init_head(nn.Linear(c.embed_dim, c.num_classes))

    def features(self, x: Tensor) -> Tensor:
        """``[T, B, ...] -> [1, B, D]``: the head convolution pools tokens and time at once
        (so the shell's mean over time is over one entry)."""
        if x.shape[0] != self.config.T:
            raise InputError(f"SGLFormer's head convolves over its T={self.config.T} time "
                             f"steps, got {x.shape[0]} (set T)")
        x = self.embed(x)
        for block in self.blocks:
            x = block(x)
        x = tokens(x).permute(1, 2, 3, 0)  # [B, D, N, T]
        return self.head_bn(self.head_conv(x)).flatten(1)[None]


SGLFORMER_PRESETS: dict[str, dict] = {
    "cifar10": {"neuron": lif(), "attn_neuron": lif(v_threshold=0.5), "embed_dim": 384,
                "depth": 1, "num_heads": 16, "mlp_ratio": 4.0, "patch_size": 4,
                "local_windows": 2},
}
SGLFORMER_PRESETS["cifar100"] = {**SGLFORMER_PRESETS["cifar10"], "num_classes": 100}
SGLFORMER_PRESETS["tiny"] = {**SGLFORMER_PRESETS["cifar10"], "img_size": 8, "in_channels": 1,
                             "patch_size": 2, "embed_dim": 48, "num_heads": 2}


@register_model(SGLFormerConfig, SGLFORMER_PRESETS, default="cifar10",
                paper="Zhang et al., SGLFormer, Frontiers in Neuroscience 2024 "
                      "(doi 10.3389/fnins.2024.1371290)")
def sglformer(config: SGLFormerConfig, backend: str) -> SGLFormer:
    """SGLFormer-4-384 (CIFAR: one global-local block of 384 channels, 16 heads)."""
    return SGLFormer(config, backend)


__all__ = ["SGLFORMER_PRESETS", "SGLFormer", "SGLFormerConfig", "integrate", "partition",
           "sglformer"]
