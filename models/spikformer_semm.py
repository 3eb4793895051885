"""Spikformer with the Spiking Experts Mixture Mechanism (Zhou et al., "Spiking Transformer with
Experts Mixture", NeurIPS 2024): SEMM plugs into Spikformer's block, nothing else changes.

The authors released no code of their own; the published code of this model is the STEP
benchmark's (github.com/Fancyssc/STEP, cls/models/static/spikf_semm_cifar.py, on BrainCog), and
the presets reproduce it. The model is Spikformer (:class:`step.models.spikformer.SpikingViT`:
SPS, blocks with residuals, pooled head) whose block is:

- EMSA (experts mixture spiking attention), replacing SSA. A spiking router
  ``LIF(BN(W_r x))`` gives each token one spike per expert and step; K = ``LIF(BN(W_k x))``
  (``expert_dim`` channels) and V = ``LIF(BN(W_v x))`` (``embed_dim`` channels) are shared;
  expert e has its own query ``Q_e = LIF(BN(W_e x))`` (``expert_dim`` channels) and output
  neuron: ``O_e = LIF(Q_e K^T V * 0.125)``. The output is ``sum_e router_e * O_e`` (a spike
  gates a spike train: no softmax, no top-k), then projection Linear-BN-LIF. There are no heads
  (the code reads ``num_heads`` and never uses it) and every neuron, the experts' output neurons
  included, has threshold 1.0 (the code keeps SSA's threshold-0.5 ``attn_lif`` commented out):
  the ``attn_neuron`` role here is the experts' output neuron and the presets give it 1.0.
- EMSP (experts mixture spiking perceptron), replacing the MLP. ``LIF(BN(W_1 x))`` with
  ``mlp_ratio * D`` channels is split in two halves: the first, through a depthwise 3x3
  convolution over the token grid, BN and LIF, holds the channel-wise experts; the second is
  their router; their product goes through ``LIF(BN(W_2 .))`` (``W_2``: ``mlp_ratio * D / 2 ->
  D``).

What the code does that changes what it computes, and what is not reproduced:

- the router's BatchNorm output ``[E, N]`` is reshaped to ``[N, E]`` without the transpose
  back (``router2(w.transpose(-1, -2)).reshape(T, B, N, E)``), so the spike that gates expert
  e at token n is the router's output for another (token, expert) pair. ``router_layout:
  as_released`` (the presets) reproduces it; ``tokens`` routes each token by its own outputs,
  as the paper describes;
- sequential tasks (presets ``smnist``, ``psmnist``: 784 x 1; ``scifar10``: 1024 x 3) read the
  whole sequence as one input through STEP's Conv1d front end
  (:class:`~step.models.embeddings.SequentialEmbedding`, ``embedding: sequential``), repeated
  over T = 4 steps, into 64 tokens that EMSP lays out 8x8; psMNIST's permutation is the
  data's (``mnist_pseq``);
- the code hard-codes T = 4 (``reshape(4, TB // 4)`` in each expert's query) and an 8x8 token
  grid in EMSP; neither is hard-coded here (T and the grid follow the config).

Init as the code: trunc-normal(0.02) on every Linear (here the 1x1 token projections, the
router, the experts' queries and the head), PyTorch defaults for convolutions (SPS, EMSP's
depthwise conv). Neurons: STEP's BrainCog ``LIFNode`` (tau 2, threshold 1, hard reset to 0,
reset detached, ``Sigmoid_Grad(alpha=4)`` firing at ``>=``: the code passes ``act_func=`` that
the node ignores, so its default surrogate is the one in force), i.e. :func:`lif` with
``fire="ge"``.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, model_validator
from torch import Tensor, nn

from step.models._registry import register_model
from step.models.blocks import Neurons, Pointwise, conv_bn, images, tokens
from step.models.config import lif
from step.models.embeddings import SequentialEmbedding
from step.models.spikformer import SpikingViT, SpikingViTConfig

#: The code this model's presets reproduce (the authors released none); its golden file is
#: tests/data/official_spikformer_semm.pt (tests/test_official_equivalence.py).
OFFICIAL_CODE = "Fancyssc/STEP@c0b31937b8ebd544084dbe59bef9a46846edbf95"


class SpikformerSEMMConfig(SpikingViTConfig):
    """Spikformer with experts-mixture attention (EMSA) and perceptron (EMSP)."""

    num_experts: int = Field(4, ge=1, description="attention experts (EMSA)")
    expert_dim: int = Field(96, ge=1, description="channels of each expert's Q and of the shared K")
    router_layout: Literal["as_released", "tokens"] = Field(
        "as_released", description="as_released: the code's router reshape without transpose "
        "(gates of other token/expert pairs); tokens: each token routed by its own outputs"
    )

    @model_validator(mode="after")
    def _check_semm(self) -> SpikformerSEMMConfig:
        hidden = int(self.embed_dim * self.mlp_ratio)
        if hidden % 2:
            raise ValueError(f"EMSP splits embed_dim * mlp_ratio = {hidden} channels in two "
                             "halves: it must be even")
        if self.attention != "ssa" or self.pre_activation or self.freeze_qk:
            raise ValueError("Spikformer+SEMM replaces the attention with EMSA on spikes: "
                             "attention must be ssa, pre_activation and freeze_qk false")
        return self


class Expert(nn.Module):
    """One attention expert: its query ``LIF(BN(W x))`` and its output neuron."""

    def __init__(self, dim: int, expert_dim: int, make: Neurons) -> None:
        super().__init__()
        self.q = Pointwise(dim, expert_dim, True)
        self.q_lif = make()
        self.attn_lif = make("attn_neuron")


class ExpertsMixtureAttention(nn.Module):
    """EMSA on tokens ``[T, B, D, N]`` (module docstring); ``E`` experts, one head."""

    def __init__(self, dim: int, expert_dim: int, num_experts: int, make: Neurons, *,
                 scale: float, router_layout: str) -> None:
        super().__init__()
        self.scale, self.router_layout = scale, router_layout
        # registration order = the code's (k, v, proj, router, experts), so the state maps 1:1
        self.k = Pointwise(dim, expert_dim, True)
        self.k_lif = make()
        self.v = Pointwise(dim, dim, True)
        self.v_lif = make()
        self.proj = Pointwise(dim, dim, True)
        self.proj_lif = make()
        self.router = Pointwise(dim, num_experts, True)
        self.router_lif = make()
        self.experts = nn.ModuleList(Expert(dim, expert_dim, make) for _ in range(num_experts))

    def gates(self, x: Tensor) -> Tensor:
        """Router spikes ``[T, B, E, N]``: the spike that gates expert e at token n."""
        r = self.router_lif(self.router(x))  # [T, B, E, N]; the neuron is elementwise
        if self.router_layout == "as_released":
            T, B, E, N = r.shape
            return r.reshape(T, B, N, E).transpose(-1, -2)
        return r

    def forward(self, x: Tensor) -> Tensor:
        k = self.k_lif(self.k(x))  # [T, B, d, N]
        v = self.v_lif(self.v(x))  # [T, B, D, N]
        gates = self.gates(x)
        # Q_e K^T V as Q_e (K^T V): K^T V is shared by the experts; spikes are small integers,
        # so both orders give the same floats.
        kv = k @ v.transpose(-1, -2)  # [T, B, d, D]
        y = 0
        for e, expert in enumerate(self.experts):
            q = expert.q_lif(expert.q(x))  # [T, B, d, N]
            out = expert.attn_lif((kv.transpose(-1, -2) @ q) * self.scale)  # [T, B, D, N]
            y = y + gates[:, :, e:e + 1] * out
        return self.proj_lif(self.proj(y))


class ExpertsMixtureMLP(nn.Module):
    """EMSP on tokens ``[T, B, D, N]`` laid out on a ``grid x grid`` image (module docstring)."""

    def __init__(self, dim: int, hidden: int, grid: int, make: Neurons) -> None:
        super().__init__()
        self.grid, half = grid, hidden // 2
        self.fc1 = Pointwise(dim, hidden, True)
        self.fc1_lif = make()
        self.dw = conv_bn(half, half, 3, groups=half)
        self.dw_lif = make()
        self.fc2 = Pointwise(half, dim, True)
        self.fc2_lif = make()

    def forward(self, x: Tensor) -> Tensor:
        experts, router = self.fc1_lif(self.fc1(x)).chunk(2, dim=2)
        experts = tokens(self.dw_lif(self.dw(images(experts, self.grid, self.grid))))
        return self.fc2_lif(self.fc2(experts * router))


class SEMMBlock(nn.Module):
    """``x + EMSA(x)`` then ``x + EMSP(x)`` (no LayerNorm, as Spikformer)."""

    def __init__(self, config: SpikformerSEMMConfig, make: Neurons) -> None:
        super().__init__()
        c = config
        self.attn = ExpertsMixtureAttention(c.embed_dim, c.expert_dim, c.num_experts, make,
                                            scale=c.attn_scale, router_layout=c.router_layout)
        self.mlp = ExpertsMixtureMLP(c.embed_dim, int(c.embed_dim * c.mlp_ratio),
                                     token_grid(c), make)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(x)
        return x + self.mlp(x)


def token_grid(config: SpikformerSEMMConfig) -> int:
    """Side of the square grid EMSP's depthwise convolution sees the tokens on: the patch grid
    of an image, 8 x 8 for the 64 tokens of the sequential embedding (as the code's EMSP)."""
    if config.embedding == "sequential":
        return math.isqrt(SequentialEmbedding.TOKENS)
    return config.img_size // config.patch_size


class SpikformerSEMM(SpikingViT):
    """Spikformer whose blocks are :class:`SEMMBlock`."""

    def make_block(self, make: Neurons) -> nn.Module:
        return SEMMBlock(self.config, make)


_ARCH = dict(
    neuron=lif(), attn_neuron=lif(), embed_dim=384, depth=4, num_heads=1, mlp_ratio=4.0,
    patch_size=4, embedding="sps", attention="ssa", pre_activation=False, qkv_bias=True,
    head_lif=False, weight_init="spikformer", num_experts=4, expert_dim=96,
    router_layout="as_released",
)
SPIKFORMER_SEMM_PRESETS: dict[str, dict] = {
    "cifar10": {**_ARCH},
    "cifar100": {**_ARCH, "num_classes": 100},
    "tiny": {**_ARCH, "img_size": 8, "in_channels": 1, "patch_size": 2, "embed_dim": 32,
             "depth": 1, "num_experts": 2, "expert_dim": 8},
    # STEP's sequential tasks (configs/spikf_semm/{smnist,psmnist,scifar10}.yml): the whole
    # sequence as one input to the Conv1d front end, repeated over T = 4 steps
    "smnist": {**_ARCH, "embedding": "sequential", "sequence_length": 784, "in_channels": 1},
    "psmnist": {**_ARCH, "embedding": "sequential", "sequence_length": 784, "in_channels": 1},
    "scifar10": {**_ARCH, "embedding": "sequential", "sequence_length": 1024, "in_channels": 3},
}


@register_model(SpikformerSEMMConfig, SPIKFORMER_SEMM_PRESETS, default="cifar10",
                paper="Zhou et al., Spiking Transformer with Experts Mixture, NeurIPS 2024")
def spikformer_semm(config: SpikformerSEMMConfig, backend: str) -> SpikformerSEMM:
    """Spikformer-4-384 with EMSA (4 experts of 96 channels) and EMSP (CIFAR)."""
    return SpikformerSEMM(config, backend)


__all__ = ["SPIKFORMER_SEMM_PRESETS", "SpikformerSEMM", "SpikformerSEMMConfig",
           "spikformer_semm"]
