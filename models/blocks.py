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


@dataclass(frozen=True)
class FeatureInfo:
    """One feature map a backbone exposes: its channels, its stride against the input (as
    timm's ``feature_info`` ``num_chs`` / ``reduction``) and the module that produces it."""

    channels: int
    reduction: int
    module: str


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
        """``[B, ...]`` -> encoded ``[T, B, ...]``; ``[T, B, ...]`` passes through.

        An image model configured for 1x1 images also takes a sequence ``[T, B, F]`` as
        ``[T, B, F, 1, 1]``: each step one pixel of F channels (sequential tasks then reach a
        spiking transformer through its time axis, one token per step)."""
        if (x.dim() == 3 and self.sample_dims == 3
                and getattr(self.config, "img_size", None) == 1):
            return x[..., None, None]
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
        """[T, B, ...] -> [T, B, features] before the head; every model family defines it."""
        raise NotImplementedError(f"{type(self).__name__} must define features()")

    @property
    def feature_info(self) -> list[FeatureInfo]:
        """The spatial feature maps :meth:`feature_maps` returns, finest first (as timm's
        ``feature_info``): channels and stride of each. Empty for a model without a spatial
        grid (an MLP, a recurrent net, a sequence front end): it cannot carry a dense head."""
        return []

    def stage_maps(self, x: Tensor) -> list[Tensor]:
        """Encoded ``[T, B, C, H, W]`` -> the maps of :attr:`feature_info`, each
        ``[T, B, C_i, H_i, W_i]``; families with a spatial grid define it."""
        raise InputError(f"{type(self).__name__} has no spatial feature maps (no token grid): "
                         "a dense task needs a model with one (e.g. spikformer, qkformer)")

    def feature_maps(self, x: Tensor) -> list[Tensor]:
        """The multi-scale features of an input ``forward`` accepts (static ``[B, C, H, W]`` or
        time-first), computed by the same layers as the classification path: the one door a
        segmentation or detection head uses, so no head reaches into a model's internals."""
        x = self.time_first(x)
        self.check_image(x)
        return self.stage_maps(x)

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


def trunc_normal_init(module: nn.Module, kinds: tuple[type[nn.Module], ...],
                      keep: nn.Module | None = None) -> None:
    """Truncated-normal (std 0.02) weights, zero biases, for every ``kinds`` layer in ``module``
    outside ``keep`` (a part whose layers the original leaves at PyTorch's default init: STEP's
    sequential front end is made of Conv1d, which its ``_init_weights`` does not touch).

    The originals differ here (each family's docstring says which layers it touches); the other
    layers keep PyTorch's default init. Drawn in module order, so the same seed gives the same
    weights on every backend (neurons draw no random numbers).
    """
    kept = {id(m) for m in keep.modules()} if keep is not None else set()
    for m in module.modules():
        if isinstance(m, kinds) and id(m) not in kept:
            nn.init.trunc_normal_(m.weight, std=0.02)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)


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

    def __init__(self, c_in: int, c_out: int, bias: bool) -> None:
        super().__init__(snn.SeqWrap(nn.Conv1d(c_in, c_out, 1, bias=bias)), snn.BatchNorm1d(c_out))


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


ATTENTION_KINDS = ("ssa", "sdsa", "qk_token")


class SpikingAttention(nn.Module):
    """Spiking self-attention over tokens ``[T, B, C, N]``; ``kind`` picks the score rule.

    - ``ssa`` (Spikformer, Zhou et al. ICLR 2023, eq. 8): ``attn_lif(Q K^T V * scale)`` with spike
      Q, K, V and no softmax; scale 0.125 in every original whatever the head size. Computed as
      ``Q (K^T V)`` when that is cheaper (as QKFormer and Spikingformer do); spikes are small
      integers, so both orders give the same floats.
    - ``sdsa`` (Spike-driven Transformer v1, Yao et al. NeurIPS 2023, SDSA-3):
      ``Q * attn_lif(sum_N(K * V))``, column sums per head, linear in N. The paper's figure
      names the neuron after the sum "SN"; the code uses ``talking_heads_lif`` with threshold 0.5
      (its ``attn_lif`` and ``talking_heads`` Conv1d are built and never used; not reproduced).
    - ``qk_token`` (QKFormer, Zhou et al. NeurIPS 2024, token attention): a token mask
      ``attn_lif(sum_channels(Q))`` per head gates K; no V projection exists.

    ``pre=True`` (SDT, Spikingformer) fires the membrane input first (``in_lif``) and leaves the
    projection without a neuron, so the residual adds membrane potentials; ``pre=False``
    (Spikformer, QKFormer) takes spikes and ends with ``proj_lif``. ``proj_bias=False``: the
    projection without bias (SGLFormer's, whose every 1x1 convolution is bias-free, and TIM's).

    ``q_temporal`` (None by default) is a module applied to the query spikes ``[T, B, heads,
    N, d]`` before the scores: the place where TIM (:mod:`step.models.tim`) mixes each step's
    query with the previous steps'.
    """

    def __init__(self, dim: int, heads: int, kind: str, make: Neurons, *, pre: bool,
                 qkv_bias: bool, scale: float = 0.125, proj_bias: bool = True) -> None:
        super().__init__()
        if kind not in ATTENTION_KINDS:
            raise SpecError(f"unknown attention {kind!r}: choose one of {ATTENTION_KINDS}")
        if dim % heads:
            raise SpecError(f"dim {dim} is not divisible by num_heads={heads}")
        self.kind, self.heads, self.scale = kind, heads, scale
        self.in_lif = make() if pre else None
        self.q = Pointwise(dim, dim, qkv_bias)
        self.q_lif = make()
        self.k = Pointwise(dim, dim, qkv_bias)
        self.k_lif = make()
        if kind != "qk_token":
            self.v = Pointwise(dim, dim, qkv_bias)
            self.v_lif = make()
        self.attn_lif = make("attn_neuron")
        self.proj = Pointwise(dim, dim, proj_bias)
        self.proj_lif = None if pre else make()
        self.q_temporal: nn.Module | None = None

    def forward(self, x: Tensor) -> Tensor:
        if self.in_lif is not None:
            x = self.in_lif(x)
        q = heads_split(self.q_lif(self.q(x)), self.heads)  # [T, B, h, N, d]
        k = heads_split(self.k_lif(self.k(x)), self.heads)
        if self.q_temporal is not None:
            q = self.q_temporal(q)
        if self.kind == "ssa":
            v = heads_split(self.v_lif(self.v(x)), self.heads)
            N, d = q.shape[-2:]
            out = (q @ (k.transpose(-1, -2) @ v)) if d < N else ((q @ k.transpose(-1, -2)) @ v)
            out = self.attn_lif(heads_merge(out * self.scale))
        elif self.kind == "sdsa":
            v = heads_split(self.v_lif(self.v(x)), self.heads)
            kv = self.attn_lif((k * v).sum(dim=-2, keepdim=True))  # [T, B, h, 1, d]
            out = heads_merge(q * kv)
        else:
            mask = self.attn_lif(q.sum(dim=-1, keepdim=True))  # [T, B, h, N, 1]
            out = heads_merge(mask * k)
        out = self.proj(out)
        return out if self.proj_lif is None else self.proj_lif(out)


class TokenMLP(nn.Module):
    """Two pointwise layers with BatchNorm; ``pre`` puts each neuron before its layer.

    Post-activation (Spikformer, QKFormer): ``LIF(BN(W1 x))``, ``LIF(BN(W2 .))``. Pre-activation
    (SDT, Spikingformer): ``BN(W1 LIF(x))``, ``BN(W2 LIF(.))``. SDT's code adds an inner residual
    when hidden == dim (mlp_ratio 1); no published config uses it, so it is not reproduced.
    ``bias=False``: both layers without bias (SGLFormer).
    """

    def __init__(self, dim: int, hidden: int, make: Neurons, *, pre: bool,
                 bias: bool = True) -> None:
        super().__init__()
        self.pre = pre
        self.fc1 = Pointwise(dim, hidden, bias)
        self.fc1_lif = make()
        self.fc2 = Pointwise(hidden, dim, bias)
        self.fc2_lif = make()

    def forward(self, x: Tensor) -> Tensor:
        if self.pre:
            return self.fc2(self.fc2_lif(self.fc1(self.fc1_lif(x))))
        return self.fc2_lif(self.fc2(self.fc1_lif(self.fc1(x))))


class TransformerBlock(nn.Module):
    """``x + attn(x)`` then ``x + mlp(x)`` on tokens ``[T, B, C, N]`` (no LayerNorm: the
    originals build ``norm1``/``norm2`` but never call them; they are not reproduced)."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float, attention: str, make: Neurons,
                 *, pre: bool, qkv_bias: bool, scale: float = 0.125,
                 proj_bias: bool = True) -> None:
        super().__init__()
        self.attn = SpikingAttention(dim, heads, attention, make, pre=pre, qkv_bias=qkv_bias,
                                     scale=scale, proj_bias=proj_bias)
        self.mlp = TokenMLP(dim, int(dim * mlp_ratio), make, pre=pre)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(x)
        return x + self.mlp(x)


def tokens(x: Tensor) -> Tensor:
    """``[T, B, C, H, W] -> [T, B, C, H*W]``."""
    return x.flatten(3)


def images(x: Tensor, h: int, w: int) -> Tensor:
    """``[T, B, C, H*W] -> [T, B, C, H, W]``."""
    return x.reshape(*x.shape[:3], h, w)


def max_pool() -> nn.Module:
    """The originals' 3x3, stride 2, padding 1 max-pool over ``[T, B, C, H, W]``."""
    return snn.MaxPool2d(kernel_size=3, stride=2, padding=1)

