"""TIM, the Temporal Interaction Module (Shen et al., "TIM: An Efficient Temporal Interaction
Module for Spiking Transformer", IJCAI 2024, arXiv 2401.11687), in Spikformer for event data.

TIM plugs into Spikformer's attention (:class:`~step.models.blocks.SpikingAttention`, its
``q_temporal`` slot); nothing else of Spikformer (:class:`~step.models.spikformer.SpikingViT`:
SPS, blocks with residuals, pooled head) changes. In each head, the query spikes ``Q_t``
``[N, d]`` of step ``t`` are replaced by

    ``Y_0 = Q_0``,  ``Y_t = LIF_out(alpha * LIF_in(Conv1d(Y_{t-1})) + (1 - alpha) * Q_t)``

where the Conv1d (kernel 5, padding 2, with bias, shared by the heads) takes the ``N`` tokens
as its channels and slides along the ``d`` channels of the head, and ``LIF_in``, ``LIF_out``
are neurons whose membranes run over the steps ``1 .. T-1`` (one call per step, the state
carried: :class:`TemporalInteraction`). ``alpha`` is ``tim_alpha`` (0.5).

Two codes exist; the presets follow the one STEP benchmarked, which is also the published code
this project names (github.com/Fancyssc/STEP, cls/models/dvs/tim.py, on BrainCog; config
cls/configs/tim/dvsc10.yml): CIFAR10-DVS at 64 x 64 with T = 10, patch 16 (4 x 4 = 16 tokens,
four max-pools in the SPS), embed_dim 256, 16 heads, depth 2, mlp ratio 4, attention scale
0.25 and attention neuron threshold 0.5, Q, K, V and the projection bias-free 1x1 convolutions
(the MLP's keep their bias), every other neuron BrainCog's ``LIFNode`` (tau 2, threshold 1,
hard reset to 0, reset detached; the code passes ``act_func=`` that the node ignores, so the
node's default surrogate ``QGateGrad(alpha=2)`` is the one in force, and it fires at ``h >
v_th``, not at SpikingJelly's ``>=``), TIM's two neurons included. (STEP's other models use
its own ``node.py``, whose ``LIFNode`` defaults to ``SigmoidGrad`` and ``>=``; TIM's file
imports BrainCog's.) The authors' code (github.com/BrainCog-X/Brain-Cog, examples/TIM) builds
the same layers with its own node ``MyNode``, whose thresholds are all 1.0: TIM's
``v_threshold=0.3/0.5`` and the attention's ``v_threshold=0.5`` go to ``**kwargs`` and are
ignored (``MyNode`` reads ``threshold``). STEP's code sizes the Conv1d by the token count of a
64 x 64 input (``event_size=64`` is hard-coded in its ``Block``); here it follows the config's
image and patch size.

Not reproduced: the two LayerNorms per block the code builds and never calls (2 x 512 weights
per block), its unused ``res_lif`` (no weights) and ``Dropout``. Init as the code:
trunc-normal(0.02) on the head only (the code's ``_init_weights`` touches ``nn.Linear``; every
other layer is a convolution with PyTorch's default init).
"""

from __future__ import annotations

import torch
from pydantic import Field, model_validator
from torch import Tensor, nn

import step.nn as snn
from step.models._registry import register_model
from step.models.blocks import Neurons, TransformerBlock
from step.models.config import lif
from step.models.spikformer import SpikingViT, SpikingViTConfig

#: The code this model's presets reproduce; its golden file is tests/data/official_tim.pt
#: (tests/test_official_equivalence.py).
OFFICIAL_CODE = "Fancyssc/STEP@c0b31937b8ebd544084dbe59bef9a46846edbf95"


class TIMConfig(SpikingViTConfig):
    """Spikformer whose attention queries pass through TIM."""

    tim_alpha: float = Field(0.5, ge=0, le=1, description="TIM's weight of the past query")
    tim_kernel: int = Field(5, ge=1, description="TIM's Conv1d kernel (odd: same length out)")
    proj_bias: bool = Field(False, description="bias in the attention's output projection")

    @model_validator(mode="after")
    def _check_tim(self) -> TIMConfig:
        if self.tim_kernel % 2 == 0:
            raise ValueError(f"tim_kernel must be odd (padding keeps the length), got "
                             f"{self.tim_kernel}")
        if self.embedding == "sequential" or self.attention != "ssa" or self.pre_activation:
            raise ValueError("TIM mixes the query spikes of Spikformer's SSA on an image's "
                             "tokens: embedding must be an image embedding, attention ssa, "
                             "pre_activation false")
        return self


class TemporalInteraction(nn.Module):
    """TIM on query spikes ``[T, B, heads, N, d]`` (module docstring): step 0 passes, each
    later step mixes the interactor's view of the previous output with the current query."""

    def __init__(self, tokens: int, make: Neurons, alpha: float, kernel: int = 5) -> None:
        super().__init__()
        self.alpha = alpha
        self.interactor = snn.Conv1d(tokens, tokens, kernel, 1, kernel // 2)
        self.in_lif = make()
        self.out_lif = make()

    def forward(self, q: Tensor) -> Tensor:
        T, B, H, N, d = q.shape
        y = q[0]
        out = [y]
        in_state = out_state = None
        for t in range(1, T):
            z = self.interactor(y.reshape(1, B * H, N, d)).reshape(1, B, H, N, d)
            a = self.in_lif(z, state=in_state)
            in_state = self.in_lif.last_state
            y = self.out_lif(a * self.alpha + q[t:t + 1] * (1 - self.alpha), state=out_state)
            out_state = self.out_lif.last_state
            y = y[0]
            out.append(y)
        return torch.stack(out)


class TIMSpikformer(SpikingViT):
    """Spikformer with TIM in every attention block and bias-free attention projections."""

    def make_block(self, make: Neurons) -> nn.Module:
        c = self.config
        block = TransformerBlock(c.embed_dim, c.num_heads, c.mlp_ratio, c.attention, make,
                                 pre=c.pre_activation, qkv_bias=c.qkv_bias, scale=c.attn_scale,
                                 proj_bias=c.proj_bias)
        tokens = (c.img_size // c.patch_size) ** 2
        block.attn.q_temporal = TemporalInteraction(tokens, make, c.tim_alpha, c.tim_kernel)
        return block


#: BrainCog's own ``LIFNode`` default surrogate, ``QGateGrad(alpha=2)``: ``max(0, 2 - 4|x|)``,
#: the canonical ``triangle`` with alpha 2; it fires at ``h > v_th``.
QGATE = {"kind": "triangle", "alpha": 2.0}
_ARCH = dict(
    neuron=lif(surrogate=QGATE, fire="gt"),
    attn_neuron=lif(0.5, surrogate=QGATE, fire="gt"), embed_dim=256, depth=2, num_heads=16,
    mlp_ratio=4.0, patch_size=16, embedding="sps", attention="ssa", attn_scale=0.25,
    pre_activation=False, qkv_bias=False, proj_bias=False, head_lif=False,
    weight_init="head_only", tim_alpha=0.5, tim_kernel=5,
)
TIM_PRESETS: dict[str, dict] = {
    # STEP's cls/configs/tim/dvsc10.yml: CIFAR10-DVS frames at 64 x 64, T = 10
    "cifar10dvs": {**_ARCH, "T": 10, "img_size": 64, "in_channels": 2, "num_classes": 10},
    "tiny": {**_ARCH, "T": 4, "img_size": 8, "in_channels": 2, "patch_size": 2,
             "embed_dim": 32, "depth": 1, "num_heads": 2},
}


@register_model(TIMConfig, TIM_PRESETS, default="cifar10dvs",
                paper="Shen et al., TIM: An Efficient Temporal Interaction Module for Spiking "
                      "Transformer, IJCAI 2024 (arXiv 2401.11687)")
def tim(config: TIMConfig, backend: str) -> TIMSpikformer:
    """Spikformer-2-256 with TIM on CIFAR10-DVS (64 x 64, T = 10)."""
    return TIMSpikformer(config, backend)


__all__ = ["TIMConfig", "TIMSpikformer", "TIM_PRESETS", "TemporalInteraction", "tim"]
