"""Spikingformer (Zhou et al., "Spikingformer: Spike-driven Residual Learning for Transformer-based
Spiking Neural Network", arXiv 2304.11954, 2023).

The single-stage skeleton (:class:`step.models.spikformer.SpikingViT`) with pre-activation
("spike-driven") residuals: every weight layer is preceded by its neuron, so convolutions see
spikes only and the shortcut adds BN outputs. As its code builds it
(github.com/zhouchenlin2096/Spikingformer, cifar10/model.py):

- tokenizer (``embedding: sps_pre``): Conv-BN, then (LIF, max-pool where pooled, Conv-BN) x4
  with channels D/8, D/4, D/2, D, D; no separate relative position embedding (the fifth conv takes
  its place; the paper's figure still draws an RPE block);
- SSA (``attention: ssa``): ``proj_lif`` on the input first, Q, K, V Conv1d without bias + BN +
  LIF, ``Q (K^T V) * 0.125`` through a threshold-0.5 LIF, projection Conv1d with bias + BN and
  no neuron;
- MLP: LIF-Conv-BN twice; head on the pooled membrane, without a neuron;
- two LayerNorms per block are built and never used: not reproduced (CIFAR-10 4-384: 9,320,122
  here, 9,326,266 in the code, 9.32 M in the paper);
- init: trunc-normal(0.02) on the head only (the code's ``_init_weights`` touches nn.Linear).

Neurons: ``MultiStepLIFNode(tau=2, detach_reset=True)``, surrogate Sigmoid(alpha=4) (SpikingJelly's
default), attention neuron threshold 0.5.
"""

from __future__ import annotations

from step.models._registry import register_model
from step.models.config import lif
from step.models.spikformer import SpikingViT, SpikingViTConfig, _presets

#: The official code this model's presets reproduce; its golden file is
#: tests/data/official_spikingformer.pt (tests/test_official_equivalence.py).
OFFICIAL_CODE = "zhouchenlin2096/Spikingformer@4378623b82bb1999b137244950ad648566e148fd"


class SpikingformerConfig(SpikingViTConfig):
    """Spikingformer defaults (every field can still be overridden)."""


SPIKINGFORMER_PRESETS = _presets(
    lif(), lif(v_threshold=0.5), embed_dim=384, depth=4, num_heads=12, mlp_ratio=4.0,
    patch_size=4, embedding="sps_pre", attention="ssa", pre_activation=True,
    qkv_bias=False, head_lif=False, weight_init="head_only",
)
# ImageNet: Spikingformer-8-512 (29.68 M in the paper), one of its published ImageNet sizes.


@register_model(SpikingformerConfig, SPIKINGFORMER_PRESETS, default="cifar10",
                paper="Zhou et al., Spikingformer, arXiv 2304.11954 (2023)")
def spikingformer(config: SpikingformerConfig, backend: str) -> SpikingViT:
    """Spikingformer-4-384 (CIFAR), 8-512 (ImageNet)."""
    return SpikingViT(config, backend)
