"""Spike-driven Transformer v1 (Yao et al., "Spike-driven Transformer", NeurIPS 2023).

The same single-stage skeleton as Spikformer (:class:`step.models.spikformer.SpikingViT`) with
SDT's choices, as its code builds them (github.com/BICLab/Spike-Driven-Transformer,
module/ms_conv.py, module/sps.py, model/spikeformer.py):

- membrane shortcut (``pre_activation``): every block fires its membrane input first
  (``shortcut_lif`` in the code, ``in_lif`` here) and the residual adds membrane potentials;
- SDSA (``attention: sdsa``): Q, K, V 1x1 Conv2d without bias + BN + LIF,
  ``Q * LIF_0.5(sum_N(K * V))``, projection 1x1 conv with bias + BN and no neuron. The code
  builds an ``attn_lif`` and a ``talking_heads`` Conv1d(heads, heads, 1, bias=False) that its
  forward never uses; they are not reproduced (so CIFAR-10 2-512 has 10,233,418 parameters here
  against the code's 10,233,546; the paper's 10.28 M is the CIFAR-100 model, 10,279,716 in the
  code, 10,279,588 here);
- SPS with ``pooling_stat`` "0011" (CIFAR) / "1111" (ImageNet) and the relative position
  embedding added to the membrane (``embedding: sps_membrane``);
- a LIF between the pooled tokens and the linear head (``head_lif``);
- init: the code's ``_init_weights`` sets trunc-normal(0.02) on every Conv2d (SPS and
  projections) and leaves the head at PyTorch's default (``weight_init: sdt``).

The paper (Fig. 2) draws the MLP and SDSA with "SN" before each conv as here; its SDSA-3 text
scales nothing, as the code. Neurons: ``MultiStepLIFNode(tau=2, detach_reset=True)``, whose
surrogate is SpikingJelly's default Sigmoid(alpha=4); the attention neuron has threshold 0.5.
"""

from __future__ import annotations

from step.models._registry import register_model
from step.models.config import lif
from step.models.spikformer import SpikingViT, SpikingViTConfig, _presets

#: The official code this model's presets reproduce; its golden file is
#: tests/data/official_sdt.pt (tests/test_official_equivalence.py).
OFFICIAL_CODE = "BICLab/Spike-Driven-Transformer@3faa82272eb499e4d56ea77707d4536e7c69a54b"


class SDTConfig(SpikingViTConfig):
    """Spike-driven Transformer defaults (every field can still be overridden)."""


SDT_PRESETS = _presets(
    lif(), lif(v_threshold=0.5), embed_dim=512, depth=2, num_heads=8, mlp_ratio=4.0,
    patch_size=4, embedding="sps_membrane", attention="sdsa", pre_activation=True,
    qkv_bias=False, head_lif=True, weight_init="sdt",
)
# ImageNet: SDT-8-512 (29.68 M in the paper), one of its published ImageNet sizes.


@register_model(SDTConfig, SDT_PRESETS, default="cifar10",
                paper="Yao et al., Spike-driven Transformer, NeurIPS 2023 (arXiv 2307.01694)")
def sdt(config: SDTConfig, backend: str) -> SpikingViT:
    """Spike-driven Transformer v1, 2-512 (CIFAR), 8-512 (ImageNet)."""
    return SpikingViT(config, backend)
