"""Regenerate ``official_<model>.pt``: golden data from the official spiking-transformer code.

Not part of the test suite and never imported by step: it runs the *official* repositories
(checked out outside this repository, see ``README.md`` here for the commits and the edits) and
writes what ``tests/test_official_equivalence.py`` compares step's models with. Nothing here
comes from step, so the golden files are an independent expectation.

Usage (from the repository root, with the official checkouts under ``SRC``)::

    python tests/data/make_official_golden.py --src SRC [--only spikformer ...]

What it does for each model, all in float64 on CPU:

1. copies the official model file(s) into a temporary folder and applies the listed text edits
   (each must match exactly as often as stated, so a changed upstream file fails loudly);
   ``spikingjelly.clock_driven`` (removed in SpikingJelly 2.0) is provided by a small module
   that maps ``MultiStepLIFNode(**kw)`` to ``activation_based.neuron.LIFNode(step_mode="m",
   **kw)`` and drops the ``backend="cupy"`` argument (torch kernels);
2. builds the small configuration with ``torch.manual_seed(0)`` (the official init), then gives
   every BatchNorm a random affine (weight U(0.5, 1.5), bias U(-0.5, 1.5), seed 1) and
   calibrates its running statistics on four random batches in training mode (momentum
   ``None``: the exact average; the official momentum is restored afterwards), so that eval
   mode fires at training-like rates and two BatchNorms of one shape never look alike;
3. records the modules the official forward never calls (forward hooks);
4. saves the state_dict, the input ``randn(2, 3, S, S)`` (seed 2) and targets, the eval logits,
   then one training-mode forward with cross-entropy on the logits (the time-averaged output)
   and the gradients of a few named parameters, plus the training logits and loss;
5. measures how much the fire rule matters: the largest change of the eval logits when every
   neuron fires at ``>`` instead of SpikingJelly's ``>=`` (threshold moved one ulp up).
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
FORMAT = 1

SHIM = '''"""spikingjelly.clock_driven.neuron (removed in SpikingJelly 2.0) on activation_based."""
from spikingjelly.activation_based import neuron


def MultiStepLIFNode(*args, backend="torch", **kwargs):
    return neuron.LIFNode(*args, step_mode="m", **kwargs)


def MultiStepParametricLIFNode(*args, backend="torch", **kwargs):
    return neuron.ParametricLIFNode(*args, step_mode="m", **kwargs)
'''

CLOCK_DRIVEN = "from spikingjelly.clock_driven.neuron import"
SHIMMED = "from _clock_driven_neuron import"

#: The one line of QKFormer fixed here: its last-stage attention fires ``proj_lif`` on
#: ``[T*B, C, N]``, which a multi-step neuron reads as T*B time steps (each image then starts
#: from the membrane the previous image left). Fired on ``[T, B, C, N]`` instead.
QKFORMER_BUG = ("x = self.proj_lif(self.proj_bn(self.proj_conv(x))).reshape(T,B,C,W,H)")
#: STEP's node.py imports SpikingJelly's removed ``clock_driven`` for two debugging neurons that
#: Spikformer+SEMM never builds; the same names from ``activation_based``.
SJ_DEBUG_NEURON = "from spikingjelly.clock_driven.neuron import LIFNode as sj_LIFNode"
SJ_DEBUG_NEURON_2 = "from spikingjelly.activation_based.neuron import LIFNode as sj_LIFNode"
SJ_DEBUG_SURROGATE = "from spikingjelly.clock_driven import surrogate"
SJ_DEBUG_SURROGATE_2 = "from spikingjelly.activation_based import surrogate"
#: STEP's Spiking Wavelet Transformer casts its Haar matrix to float32 (sw_layers.py, twice);
#: float64 here, as every other tensor of the golden run.
HAAR_FLOAT32 = ".to(torch.float32)"
HAAR_FLOAT64 = ".to(torch.float64)"
QKFORMER_FIX = ("x = self.proj_lif(self.proj_bn(self.proj_conv(x)).reshape(T,B,C,N))"
                ".reshape(T,B,C,W,H)")


@dataclass
class Official:
    """One official model: where it lives, the edits, how to build and read it."""

    repo: str
    folder: str  # checkout folder name under --src
    files: list[str]  # copied, relative to the checkout; the first one is imported
    builder: str  # class or function in the imported file
    kwargs: dict[str, Any]
    grads: list[str]  # parameters whose gradients are stored
    edits: list[tuple[str, str, str, int]] = field(default_factory=list)  # file, old, new, count
    extra_kwargs: Callable[[ModuleType], dict[str, Any]] | None = None
    logits: Callable[[Any], Any] = staticmethod(lambda out: out)  # type: ignore[assignment]
    img_size: int = 32
    bn_bias: tuple[float, float] = (-0.5, 1.5)  # BatchNorm biases drawn from U(low, high)
    #: the neurons and the name of their threshold attribute (SpikingJelly's by default)
    neurons: Callable[[Any], list[tuple[Any, str]]] = staticmethod(  # type: ignore[assignment]
        lambda model: _spikingjelly_neurons(model))
    #: drop the neurons' own tensors (BrainCog keeps threshold and surrogate alpha in the
    #: state_dict; they are fixed constants of the neuron, not weights)
    drop_neuron_state: bool = False
    #: one sample's shape; None: a ``3 x img_size x img_size`` image
    input_shape: tuple[int, ...] | None = None
    #: called once before the model is built (library patches the code needs, see README)
    setup: Callable[[], None] | None = None
    #: the official neurons' fire rule: ``ge`` (SpikingJelly, BrainCog's SigmoidGrad) or
    #: ``gt`` (BrainCog's QGateGrad); the fire-rule effect measures the other one
    fire: str = "ge"
    #: weights changed after the official init (drawn from the calibration generator), where
    #: the init would leave a part of the model untested (see README)
    adjust: Callable[[Any, Any], None] | None = None
    #: extra modules written beside the copied files (name -> source), e.g. a CPU stand-in
    #: for a CUDA extension
    extra_files: dict[str, str] = field(default_factory=dict)
    #: called with the imported module before the model is built (patches of its names)
    prepare: Callable[[ModuleType], None] | None = None

    def sample_shape(self) -> tuple[int, ...]:
        return self.input_shape or (3, self.img_size, self.img_size)


def _spikingjelly_neurons(model) -> list[tuple[Any, str]]:
    from spikingjelly.activation_based.neuron import BaseNode

    return [(m, "v_threshold") for m in model.modules() if isinstance(m, BaseNode)]


def _braincog_neurons(model) -> list[tuple[Any, str]]:
    from braincog.base.node.node import BaseNode

    return [(m, "threshold") for m in model.modules() if isinstance(m, BaseNode)]


def _braincog_for_tim() -> None:
    """What STEP's TIM needs from BrainCog that the released braincog 0.2.7.19 lacks.

    1. Token layouts: TIM's code fires ``layer_by_layer`` neurons on ``[T*B, C, N]``; the
       released ``BaseNode.rearrange2node`` / ``rearrange2op`` take 2-D and 4-D only (3-D raises
       ``NotImplementedError``). BrainCog's repository and STEP's own ``node.py`` add the
       branch ``(t b) n c -> t b n c`` and back; the same branch is added here.
    2. dtype: ``quadratic_gate`` (``QGateGrad``, the default surrogate of BrainCog's
       ``LIFNode``, which TIM's code uses) returns ``x.gt(0).float()``, float32 whatever the
       input; its spikes are 0/1, so returning them in the input's dtype changes no value and
       lets the model run in float64.
    """
    from braincog.base.node import node
    from braincog.base.strategy import surrogate
    from einops import rearrange

    to_node, to_op = node.BaseNode.rearrange2node, node.BaseNode.rearrange2op

    def rearrange2node(self, inputs):
        if self.groups == 1 and self.layer_by_layer and inputs.dim() == 3:
            return rearrange(inputs, "(t b) n c -> t b n c", t=self.step)
        return to_node(self, inputs)

    def rearrange2op(self, inputs):
        if self.groups == 1 and self.layer_by_layer and inputs.dim() == 4:
            return rearrange(inputs, "t b n c -> (t b) n c")
        return to_op(self, inputs)

    node.BaseNode.rearrange2node, node.BaseNode.rearrange2op = rearrange2node, rearrange2op
    gate = surrogate.quadratic_gate.forward

    def forward(ctx, x, alpha):
        return gate(ctx, x, alpha).to(x.dtype)

    surrogate.quadratic_gate.forward = staticmethod(forward)


def _tim_interactor(model, g) -> None:
    """TIM's Conv1d at PyTorch's default init (weights within +-0.11) never brings its LIF
    near threshold, so the golden gradient of the interactor would be 0: weights x 3 and
    biases from U(1, 2) put the LIF's membrane across its surrogate's window."""
    import torch

    with torch.no_grad():
        for m in model.modules():
            if type(m).__name__ == "TIM":
                m.interactor.weight.mul_(3.0)
                bias = m.interactor.bias
                bias.copy_(torch.rand(bias.shape, generator=g, dtype=bias.dtype) + 1.0)


FPS_CPU = '''"""CPU stand-in for STEP's farthest_point_sampling_cuda (ops/fps/*.cu), same rule.

The kernel keeps the nearest-centre squared distance of every point (1e10 at first, -1e10 once
chosen) and takes the first strict maximum as the next centre. It draws the first centre with
torch.randint; here the first centre is point 0 (step's FPS does the same).
"""
import torch


def farthest_point_sample_cuda(xyz, npoint):
    B, N, _ = xyz.shape
    rows = torch.arange(B)
    centroids = torch.zeros(B, npoint, dtype=torch.int64)
    distance = torch.full((B, N), 1e10, dtype=xyz.dtype)
    selected = torch.zeros(B, N, dtype=torch.bool)
    farthest = torch.zeros(B, dtype=torch.int64)
    for i in range(npoint):
        centroids[:, i] = farthest
        selected[rows, farthest] = True
        dist = ((xyz - xyz[rows, farthest][:, None]) ** 2).sum(-1)
        distance = torch.where(selected, torch.full_like(distance, -1e10),
                               torch.minimum(distance, dist))
        farthest = distance.argmax(-1)
    return [centroids]
'''

#: SPT's Q-SDE builds its output as float32 zeros whatever the input's dtype
SPT_ONION = "onion = torch.zeros(self.T, B, npoint, C).to(x.device)"
SPT_ONION_DTYPE = "onion = torch.zeros(self.T, B, npoint, C, dtype=x.dtype).to(x.device)"


def _spt_time_first(mod: ModuleType) -> None:
    """STEP's SPT fires SpikingJelly's multi-step neurons (``build_spike_node``) on
    ``[T*B, ...]``, which they read as T*B time steps (each sample starts from the membrane of
    the previous one). As QKFormer's bug (README), fixed: every such neuron fires on
    ``[T, B, ...]``."""
    import torch.nn as nn

    util = sys.modules[mod.__name__.rsplit(".", 1)[0] + ".utils.pointnet_util"]
    build = util.build_spike_node

    class TimeFirst(nn.Module):
        def __init__(self, node, T):
            super().__init__()
            self.node, self.T = node, T

        def forward(self, x):
            return self.node(x.reshape(self.T, -1, *x.shape[1:])).reshape(x.shape)

    def build_spike_node(timestep, spike_mode, *args, **kwargs):
        return TimeFirst(build(timestep, spike_mode, *args, **kwargs), timestep)

    util.build_spike_node = mod.build_spike_node = build_spike_node


def _spt_neurons(model) -> list[tuple[Any, str]]:
    return _spikingjelly_neurons(model) + _braincog_neurons(model)


def _shim_edits(path: str, count: int) -> list[tuple[str, str, str, int]]:
    return [(path, CLOCK_DRIVEN, SHIMMED, count)]


def _resformer_prologue(mod: ModuleType) -> dict[str, Any]:
    import torch.nn as nn
    from spikingjelly.activation_based import layer

    layers = sys.modules[mod.__name__.rsplit(".", 1)[0] + ".submodules.layers"]
    return {"prologue": nn.Sequential(layer.Conv2d(3, 8, 3, 1, 1, bias=False, step_mode="m"),
                                      layers.BN(8))}


MODELS: dict[str, Official] = {
    "spikformer": Official(
        repo="ZK-Zhou/spikformer", folder="spikformer", files=["cifar10/model.py"],
        builder="Spikformer",
        kwargs=dict(img_size_h=32, img_size_w=32, patch_size=4, in_channels=3, num_classes=10,
                    embed_dims=32, num_heads=2, mlp_ratios=4, qkv_bias=False, depths=1,
                    sr_ratios=1, T=2),
        grads=["patch_embed.proj_conv.weight", "block.0.attn.q_linear.weight",
               "block.0.attn.v_bn.weight", "block.0.mlp.fc2_linear.weight", "head.weight"],
        edits=_shim_edits("cifar10/model.py", 1),
    ),
    "sdt": Official(
        repo="BICLab/Spike-Driven-Transformer", folder="Spike-Driven-Transformer",
        files=["model/spikeformer.py", "model/__init__.py", "module/__init__.py",
               "module/ms_conv.py", "module/sps.py"],
        builder="SpikeDrivenTransformer",
        kwargs=dict(img_size_h=32, img_size_w=32, patch_size=4, in_channels=3, num_classes=10,
                    embed_dims=32, num_heads=2, mlp_ratios=4, qkv_bias=False, depths=1,
                    sr_ratios=1, T=2, pooling_stat="0011", attn_mode="direct_xor",
                    spike_mode="lif"),
        grads=["patch_embed.proj_conv.weight", "block.0.attn.q_conv.weight",
               "block.0.attn.k_bn.weight", "block.0.mlp.fc1_conv.weight", "head.weight"],
        edits=[*_shim_edits("model/spikeformer.py", 1), *_shim_edits("module/ms_conv.py", 1),
               *_shim_edits("module/sps.py", 1)],
        logits=staticmethod(lambda out: out[0]),
    ),
    "qkformer": Official(
        repo="zhouchenlin2096/QKFormer", folder="QKFormer", files=["cifar10/model.py"],
        builder="spiking_transformer",
        kwargs=dict(img_size_h=32, img_size_w=32, patch_size=4, in_channels=3, num_classes=10,
                    embed_dims=32, num_heads=8, mlp_ratios=4, qkv_bias=False, depths=3,
                    sr_ratios=1, T=2),
        grads=["patch_embed1.proj_conv.weight", "stage1.0.tssa.q_conv.weight",
               "stage3.0.ssa.k_conv.weight", "stage3.0.ssa.proj_bn.weight", "head.weight"],
        edits=[*_shim_edits("cifar10/model.py", 1),
               ("cifar10/model.py", QKFORMER_BUG, QKFORMER_FIX, 1)],
        bn_bias=(0.5, 2.5),
    ),
    "spikingformer": Official(
        repo="zhouchenlin2096/Spikingformer", folder="Spikingformer", files=["cifar10/model.py"],
        builder="vit_snn",
        kwargs=dict(img_size_h=32, img_size_w=32, patch_size=4, in_channels=3, num_classes=10,
                    embed_dims=32, num_heads=2, mlp_ratios=4, qkv_bias=False, depths=1,
                    sr_ratios=1, T=2),
        grads=["patch_embed.block0_conv.weight", "block.0.attn.q_conv.weight",
               "block.0.attn.v_bn.bias", "block.0.mlp.mlp2_conv.weight", "head.weight"],
        edits=_shim_edits("cifar10/model.py", 1),
    ),
    "spikingresformer": Official(
        repo="xyshi2000/SpikingResformer", folder="SpikingResformer",
        files=["models/spikingresformer.py", "models/__init__.py",
               "models/submodules/__init__.py", "models/submodules/layers.py"],
        builder="SpikingResformer",
        kwargs=dict(layers=[["DSSA", "GWFFN"]] * 3, planes=[8, 16, 32], num_heads=[1, 2, 4],
                    patch_sizes=[4, 2, 1], img_size=16, T=2, in_channels=3, num_classes=10,
                    group_size=8),
        grads=["prologue.0.weight", "layers.0.0.W.weight", "layers.1.2.conv.0.1.weight",
               "layers.2.1.norm_proj.bn.weight", "classifier.weight"],
        edits=[("models/submodules/layers.py", "backend='cupy', ", "", 3)],
        extra_kwargs=_resformer_prologue,
        logits=staticmethod(lambda out: out.mean(0)),
        img_size=16,
    ),
    "spikformer_semm": Official(
        repo="Fancyssc/STEP", folder="STEP",
        files=["cls/models/static/spikf_semm_cifar.py", "cls/models/static/spikformer_cifar.py",
               "cls/models/utils/node.py", "cls/models/utils/surrogate.py"],
        builder="Spikformer",
        kwargs=dict(step=4, img_size=32, patch_size=4, in_channels=3, num_classes=10,
                    embed_dim=32, num_heads=2, mlp_ratio=4, depths=1, expert_dim=8,
                    num_expert=2),
        grads=["patch_embed.proj_conv.weight", "block.0.attn.router1.weight",
               "block.0.attn.ff_list.1.unit_linear.weight", "block.0.attn.k_bn.weight",
               "block.0.mlp.dw_conv.weight", "head.weight"],
        edits=[("cls/models/utils/node.py", SJ_DEBUG_NEURON, SJ_DEBUG_NEURON_2, 1),
               ("cls/models/utils/node.py", SJ_DEBUG_SURROGATE, SJ_DEBUG_SURROGATE_2, 1)],
        neurons=staticmethod(lambda model: _braincog_neurons(model)),
        drop_neuron_state=True,
    ),
    "sglformer": Official(
        repo="ZhangHanN1/SGLFormer", folder="SGLFormer", files=["cifar10/sglformer.py"],
        builder="vit_snn",
        kwargs=dict(img_size_h=32, img_size_w=32, patch_size=4, in_channels=3, num_classes=10,
                    embed_dims=24, num_heads=2, mlp_ratios=4, qkv_bias=False, depths=1,
                    sr_ratios=1, T=2),
        grads=["stem.conv.conv3x3.weight", "blocks.0.loc.dwconv3x3.bn.weight",
               "blocks.0.ssa1.q_conv.conv1x1.weight", "blocks.0.ssa3.proj_conv.bn.bias",
               "blocks.0.mlp2.mlp1.conv1x1.weight", "full_size_conv.weight", "head.weight"],
        edits=_shim_edits("cifar10/sglformer.py", 1),
    ),
    # STEP's port (the authors' code needs a ternary neuron step does not have): FATM's Haar
    # matrix is cast to float32 in the code, which a float64 input cannot be multiplied with
    "swformer": Official(
        repo="Fancyssc/STEP", folder="STEP",
        files=["cls/models/static/swformer_cifar.py", "cls/models/utils/sw_layers.py",
               "cls/models/utils/node.py", "cls/models/utils/surrogate.py"],
        builder="SWFormer",
        kwargs=dict(step=4, img_size=32, patch_size=4, in_channels=3, num_classes=10,
                    embed_dim=32, mlp_ratio=4, depths=1, FL_blocks=4),
        grads=["patch_embed.proj_conv.weight", "block.0.attn.haar_weight",
               "block.0.attn.haar_forward_bn.weight", "block.0.attn.conv2.weight",
               "block.0.mlp.fc1_conv.weight", "head.weight"],
        edits=[("cls/models/utils/node.py", SJ_DEBUG_NEURON, SJ_DEBUG_NEURON_2, 1),
               ("cls/models/utils/node.py", SJ_DEBUG_SURROGATE, SJ_DEBUG_SURROGATE_2, 1),
               ("cls/models/utils/sw_layers.py", HAAR_FLOAT32, HAAR_FLOAT64, 2)],
        neurons=staticmethod(lambda model: _braincog_neurons(model)),
        drop_neuron_state=True,
    ),
    # the same code on a sequential task (its smnist config): a [1, 784] sequence as one input
    "spikformer_semm_seq": Official(
        repo="Fancyssc/STEP", folder="STEP",
        files=["cls/models/static/spikf_semm_cifar.py", "cls/models/static/spikformer_cifar.py",
               "cls/models/utils/node.py", "cls/models/utils/surrogate.py"],
        builder="Spikformer",
        kwargs=dict(step=4, in_channels=1, num_classes=10, embed_dim=32, num_heads=2,
                    mlp_ratio=4, depths=1, expert_dim=8, num_expert=2,
                    embed_layer="sequential_embed", sequence_length=784),
        grads=["patch_embed.layers.0.0.weight", "patch_embed.pe_conv.weight",
               "block.0.attn.router1.weight", "block.0.mlp.dw_conv.weight", "head.weight"],
        edits=[("cls/models/utils/node.py", SJ_DEBUG_NEURON, SJ_DEBUG_NEURON_2, 1),
               ("cls/models/utils/node.py", SJ_DEBUG_SURROGATE, SJ_DEBUG_SURROGATE_2, 1)],
        neurons=staticmethod(lambda model: _braincog_neurons(model)),
        drop_neuron_state=True,
        input_shape=(1, 784),
    ),
    # TIM in Spikformer on event frames: the input is [B, T, C, H, W] as the code takes it;
    # its Block hard-codes event_size=64 for TIM's Conv1d (16 tokens at patch 16), so 64 x 64
    "tim": Official(
        repo="Fancyssc/STEP", folder="STEP", files=["cls/models/dvs/tim.py"],
        builder="Spikformer",
        kwargs=dict(step=4, event_size=64, patch_size=16, in_channels=2, num_classes=10,
                    attn_scale=0.25, embed_dim=32, num_heads=2, mlp_ratio=4, depths=1,
                    tim_alpha=0.5),
        grads=["patch_embed.proj_conv.weight", "block.0.attn.q_conv.weight",
               "block.0.attn.TIM.interactor.weight", "block.0.attn.TIM.interactor.bias",
               "block.0.attn.k_bn.weight", "block.0.mlp.fc2_conv.weight", "head.weight"],
        neurons=staticmethod(lambda model: _braincog_neurons(model)),
        drop_neuron_state=True,
        input_shape=(4, 2, 64, 64),
        setup=_braincog_for_tim,
        fire="gt",
        adjust=staticmethod(_tim_interactor),
    ),
    # SPT on point clouds [B, N, 3]; Q-SDE, two stages, STEP's base width 32
    "spt": Official(
        repo="Fancyssc/STEP", folder="STEP",
        files=["cls/models/pc/spt.py", "cls/models/pc/__init__.py",
               "cls/models/pc/utils/__init__.py", "cls/models/pc/utils/pointnet_util.py",
               "cls/models/pc/utils/surrogate.py", "cls/models/utils/node.py",
               "cls/models/utils/surrogate.py"],
        builder="spt",
        kwargs=dict(step=4, num_point=64, num_samples=32, nneighbor=4, nblocks=2,
                    blocks=[1, 1, 1], transformer_dim=16, input_dim=3, num_class=10,
                    spike_mode="lif", use_encoder=True),
        grads=["backbone.fc1.0.weight", "backbone.transformer1.0.fc_delta.1.weight",
               "backbone.transformer1.0.fc_gamma.4.weight", "backbone.transformer1.0.w_qs.0.weight",
               "backbone.transition_downs.1.sa.mlp_convs.0.weight",
               "backbone.transformers.1.fc2.1.weight", "fc2.7.weight"],
        edits=[("cls/models/utils/node.py", SJ_DEBUG_NEURON, SJ_DEBUG_NEURON_2, 1),
               ("cls/models/utils/node.py", SJ_DEBUG_SURROGATE, SJ_DEBUG_SURROGATE_2, 1),
               *_shim_edits("cls/models/pc/utils/pointnet_util.py", 1),
               ("cls/models/pc/utils/pointnet_util.py", "import farthest_point_sampling_cuda",
                "import _fps_cpu as farthest_point_sampling_cuda", 1),
               ("cls/models/pc/spt.py", "import globals\n", "", 1),
               ("cls/models/pc/spt.py", "globals.MID_TIME = end - st", "pass", 1),
               ("cls/models/pc/spt.py", SPT_ONION, SPT_ONION_DTYPE, 1)],
        neurons=staticmethod(lambda model: _spt_neurons(model)),
        drop_neuron_state=True,
        input_shape=(64, 3),
        extra_files={"_fps_cpu.py": FPS_CPU},
        prepare=staticmethod(_spt_time_first),
    ),
}


def load_official(name: str, src: Path, work: Path, fixed: bool = True) -> ModuleType:
    """Copy, edit and import the official file(s) of ``name``; return the builder's module."""
    spec = MODELS[name]
    root = work / f"{name}{'' if fixed else '_unfixed'}"
    for rel in spec.files:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / spec.folder / rel, root / rel)
    (root / "_clock_driven_neuron.py").write_text(SHIM)
    for file, text in spec.extra_files.items():
        (root / file).write_text(text)
    for rel, old, new, count in spec.edits:
        if not fixed and old == QKFORMER_BUG:
            continue
        text = (root / rel).read_text()
        if text.count(old) != count:
            raise SystemExit(f"{name}: {rel} holds {text.count(old)} x {old!r}, expected {count}"
                             " (has the official file changed?)")
        (root / rel).write_text(text.replace(old, new))
    # a unique package per model: three repositories call their file model.py
    package = f"official_{name}{'' if fixed else '_unfixed'}"
    shims = ("module", "_clock_driven_neuron", *(Path(f).stem for f in spec.extra_files))
    for key in [k for k in sys.modules if k in shims or k.startswith(("module.",))]:
        del sys.modules[key]
    sys.path.insert(0, str(root))
    try:
        first = Path(spec.files[0])
        parts = [package, *first.with_suffix("").parts]
        _package(package, root)
        for i in range(2, len(parts)):  # sub-packages on the way (models/, model/)
            _package(".".join(parts[:i]), root.joinpath(*parts[1:i]))
        return _module(".".join(parts), root / first)
    finally:
        sys.path.remove(str(root))


def _package(name: str, path: Path) -> None:
    if name in sys.modules:
        return
    init = path / "__init__.py"
    if init.exists():
        s = importlib.util.spec_from_file_location(name, init,
                                                   submodule_search_locations=[str(path)])
    else:
        s = importlib.util.spec_from_loader(name, loader=None, is_package=True)
        s.submodule_search_locations = [str(path)]
    mod = importlib.util.module_from_spec(s)
    sys.modules[name] = mod
    if init.exists():
        s.loader.exec_module(mod)


def _module(name: str, path: Path) -> ModuleType:
    if name in sys.modules:  # already imported by its package's __init__
        return sys.modules[name]
    s = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(s)
    sys.modules[name] = mod
    s.loader.exec_module(mod)
    return mod


def build(name: str, mod: ModuleType):
    import torch

    spec = MODELS[name]
    if spec.setup is not None:
        spec.setup()
    if spec.prepare is not None:
        spec.prepare(mod)
    torch.manual_seed(0)
    kwargs = dict(spec.kwargs)
    if spec.extra_kwargs is not None:
        kwargs.update(spec.extra_kwargs(mod))
    return getattr(mod, spec.builder)(**kwargs).double()


def run(model, x, logits: Callable[[Any], Any]):
    from spikingjelly.activation_based import functional

    functional.reset_net(model)
    out = logits(model(x))
    functional.reset_net(model)
    return out


def calibrate(model, name: str) -> None:
    """Random BatchNorm affines, then running statistics averaged over four random batches."""
    import torch

    spec = MODELS[name]
    g = torch.Generator().manual_seed(1)
    if spec.adjust is not None:
        spec.adjust(model, g)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for bn in bns:
            bn.weight.copy_(torch.rand(bn.weight.shape, generator=g, dtype=bn.weight.dtype) + 0.5)
            low, high = spec.bn_bias
            bias = torch.rand(bn.bias.shape, generator=g, dtype=bn.bias.dtype)
            bn.bias.copy_(bias * (high - low) + low)
            bn.reset_running_stats()
        momenta = [bn.momentum for bn in bns]
        for bn in bns:
            bn.momentum = None
        model.train()
        for _ in range(4):
            x = torch.randn(8, *spec.sample_shape(), generator=g, dtype=torch.float64)
            run(model, x, spec.logits)
        for bn, m in zip(bns, momenta, strict=True):
            bn.momentum = m


def unused_modules(model, x, logits) -> list[str]:
    """Modules holding parameters or buffers that the forward never calls."""
    called: set[str] = set()
    handles = [m.register_forward_hook(lambda mod, i, o, n=n: called.add(n))
               for n, m in model.named_modules()]
    try:
        import torch

        with torch.no_grad():
            run(model, x, logits)
    finally:
        for h in handles:
            h.remove()
    return [n for n, m in model.named_modules()
            if n not in called and (any(True for _ in m.parameters(recurse=False))
                                    or any(True for _ in m.buffers(recurse=False)))]


def fire_rule_effect(model, x, logits, neurons, fire: str = "ge") -> float:
    """Largest eval-logit change when every neuron fires by the other rule: at ``>``
    (threshold one ulp up) for ``ge`` code, at ``>=`` (one ulp down) for ``gt`` code."""
    import torch

    def set_threshold(node, attr: str, value) -> None:
        if isinstance(getattr(node, attr), torch.Tensor):  # BrainCog: a tensor parameter
            getattr(node, attr).data = value
        else:
            setattr(node, attr, value)

    model.eval()
    with torch.no_grad():
        ge = run(model, x, logits)
        nodes = neurons(model)
        old = [getattr(n, attr) for n, attr in nodes]
        old = [th.data.clone() if isinstance(th, torch.Tensor) else th for th in old]
        to = math.inf if fire == "ge" else -math.inf
        for (n, attr), th in zip(nodes, old, strict=True):
            moved = (torch.nextafter(th, torch.full_like(th, to))
                     if isinstance(th, torch.Tensor) else math.nextafter(th, to))
            set_threshold(n, attr, moved)
        gt = run(model, x, logits)
        for (n, attr), th in zip(nodes, old, strict=True):
            set_threshold(n, attr, th)
    return (ge - gt).abs().max().item()


def batch_dependence(model, x, logits) -> float:
    """Largest eval-logit change of sample 0 run alone instead of inside the batch."""
    import torch

    model.eval()
    with torch.no_grad():
        return (run(model, x, logits)[:1] - run(model, x[:1], logits)).abs().max().item()


def generate(name: str, src: Path, work: Path) -> dict[str, Any]:
    import torch
    import torch.nn.functional as F

    spec = MODELS[name]
    model = build(name, load_official(name, src, work))
    calibrate(model, name)
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, *spec.sample_shape(), generator=g, dtype=torch.float64)
    target = torch.tensor([3, 7])
    model.eval()
    unused = unused_modules(model, x, spec.logits)
    neuron_names = tuple(n + "." for n, m in model.named_modules()
                         if any(m is node for node, _ in spec.neurons(model)))
    state = {k: v.detach().clone() for k, v in model.state_dict().items()
             if not (spec.drop_neuron_state and k.startswith(neuron_names))}
    with torch.no_grad():
        eval_logits = run(model, x, spec.logits)
    effect = fire_rule_effect(model, x, spec.logits, spec.neurons, spec.fire)
    dependence = batch_dependence(model, x, spec.logits)

    model.train()
    model.zero_grad()
    train_logits = run(model, x, spec.logits)
    loss = F.cross_entropy(train_logits, target)
    loss.backward()
    params = dict(model.named_parameters())
    grads = {n: params[n].grad.detach().clone() for n in spec.grads}
    commit = (src / spec.folder / ".commit").read_text().strip() \
        if (src / spec.folder / ".commit").exists() else "unknown"
    golden = {
        "format": FORMAT, "model": name, "repo": spec.repo, "commit": commit,
        "file": spec.files[0], "builder": spec.builder, "kwargs": repr(spec.kwargs),
        "state_dict": state, "unused_modules": unused,
        "input": x, "target": target, "eval_logits": eval_logits,
        "train_logits": train_logits.detach(), "train_loss": loss.detach(), "grads": grads,
        "fire_rule_effect": effect, "batch_dependence": dependence,
    }
    if name == "qkformer":  # the released code, bug included, for the record
        unfixed = build(name, load_official(name, src, work, fixed=False))
        unfixed.load_state_dict(state)
        golden["batch_dependence_unfixed"] = batch_dependence(unfixed, x, spec.logits)
    return golden


def main(argv: list[str] | None = None) -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, required=True, help="folder of official checkouts")
    parser.add_argument("--out", type=Path, default=HERE, help="where official_*.pt go")
    parser.add_argument("--only", nargs="*", choices=sorted(MODELS), default=sorted(MODELS))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    # STEP's SWformer decorates FATM with torch.compile: run it eagerly (same operations)
    torch._dynamo.config.disable = True
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only:
            golden = generate(name, args.src.resolve(), Path(tmp))
            path = args.out / f"official_{name}.pt"
            torch.save(golden, path.with_suffix(".tmp"))
            path.with_suffix(".tmp").replace(path)
            n = sum(v.numel() for v in golden["state_dict"].values())
            extra = golden.get("batch_dependence_unfixed")
            print(f"{name}: {path.stat().st_size / 1024:.0f} KiB, {n} state values, "
                  f"unused {golden['unused_modules']}, fire-rule effect "
                  f"{golden['fire_rule_effect']:.3g}, batch dependence "
                  f"{golden['batch_dependence']:.3g}"
                  + ("" if extra is None else f" (unfixed official: {extra:.3g})"))


if __name__ == "__main__":
    main()
