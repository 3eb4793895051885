"""Spiking Point Transformer (Wu et al., "Spiking Point Transformer for Point Cloud
Classification", AAAI 2025, arXiv 2502.15811): Point Transformer's vector attention over k
nearest neighbours, with spiking neurons, on point clouds encoded into T steps by Q-SDE.

The presets follow the code STEP benchmarked, which is the published code this project names
(github.com/Fancyssc/STEP, cls/models/pc/spt.py and cls/models/pc/utils/pointnet_util.py,
config cls/configs/spt/modelnet40.yml); the authors' code (PeppaWu/Spiking_Point_Transformer)
differs in its neurons (a gated mixture of LIF, EIF, PLIF and IF experts in ``fc1``, cupy
kernels) and is not what STEP ran. Shapes are ``[T, B, N, C]`` (points last but one).

- Q-SDE (queue-driven sampling direct encoding, :class:`QueueEncoder`): step 0 takes
  ``S = max(N // T, num_samples)`` points by farthest-point sampling (FPS); each later step
  drops the ``r = (N - S) // (T - 1)`` oldest points of the queue and appends ``r`` new ones
  chosen by FPS among the points not used yet. The released code picks them by indices into
  the *remaining* points but reads them from the *full* cloud (``index_points(x, fps_idx)``
  after ``queue_mask``), so a step can repeat points already used and skip others:
  ``queue_indexing: as_released`` (the presets) reproduces it, ``remaining`` reads the points
  FPS chose. ``point_encoder: repeat`` gives every step the whole cloud instead (the code's
  ``use_encoder: false``).
- Backbone: a point-wise stem ``Conv1d(C, D0) BN LIF Conv1d(D0, D0) BN`` (``D0 = base_dim``,
  32), one transformer block, then ``nblocks`` stages of a transition down (FPS to
  ``num_points // 4^(i+1)`` centres per step, their k nearest neighbours grouped with relative
  xyz, two ``LIF Conv2d BN`` layers, max over the neighbours; channels double each stage) and a
  transformer block.
- Transformer block on features of width ``d`` with inner width ``transformer_dim``:
  ``x = BN(W1 LIF(f))`` then LIF; ``q, k, v = LIF(BN(W x))``; k and v gathered at each point's
  k nearest neighbours (per step: the neighbourhoods follow the points of that step);
  ``delta = LIF(BN(W LIF(BN(W LIF(p_i - p_j)))))``; ``a = softmax_j(gamma(q_i - k_j + delta) /
  sqrt(transformer_dim))`` with ``gamma = BN(W LIF(BN(W LIF(.))))``; ``y_i = sum_j a_ij *
  (v_j + delta_ij)``; output ``BN(W2 LIF(y)) + f`` (real-valued features, a softmax: SPT is a
  hybrid, as published).
- Head: mean over the points, ``LIF Conv1d(16 D0, 256) BN LIF Conv1d(256, 64) BN LIF
  Conv1d(64, classes)``, averaged over T.

Every neuron is a LIF with tau 2, threshold 0.5, hard reset to 0, reset detached, Sigmoid(4)
firing at ``>=``: STEP's own ``LIFNode`` (cls/models/utils/node.py) in the blocks and the head,
SpikingJelly's ``MultiStepLIFNode`` in the transition downs and at the start of ``delta``.

What the code does that is not reproduced:

- SpikingJelly's multi-step neurons are fired on ``[T*B, ...]``, which they read as ``T*B``
  time steps: each sample starts from the membrane the previous sample of the batch left (as
  QKFormer's last stage; see tests/data/README.md). Here they fire on ``[T, B, ...]``.
- its FPS (a CUDA kernel, ``farthest_point_sampling.cu``) starts at a random point drawn with
  ``torch.randint`` at every call, so the official model is not deterministic in eval mode;
  here FPS starts at each cloud's first point.
- ``input_dim`` 6 (xyz and normals of ``modelnet40_normal_resampled``) in the modelnet40
  preset; step's ModelNet40 loaders give xyz only, and training on them sets ``in_channels``
  to 3.

Init as the code: PyTorch's defaults everywhere (it has no ``_init_weights``).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field, model_validator
from torch import Tensor, nn

import step.nn as snn
from step.data.point_transforms import farthest_point_sample
from step.errors import InputError
from step.models._registry import register_model
from step.models.blocks import Neurons, Pointwise
from step.models.config import ModelConfig, lif

#: The code this model's presets reproduce; its golden file is tests/data/official_spt.pt
#: (tests/test_official_equivalence.py).
OFFICIAL_CODE = "Fancyssc/STEP@c0b31937b8ebd544084dbe59bef9a46846edbf95"


class SPTConfig(ModelConfig):
    """Spiking Point Transformer (module docstring); ``in_channels`` are the point channels."""

    num_points: int = Field(1024, ge=1, description="points of an input cloud N")
    num_samples: int = Field(512, ge=1, description="Q-SDE: points per step (at least N // T)")
    point_encoder: Literal["queue", "repeat"] = Field(
        "queue", description="queue: Q-SDE; repeat: the whole cloud at every step")
    queue_indexing: Literal["as_released", "remaining"] = Field(
        "as_released", description="as_released: Q-SDE reads new points from the full cloud "
        "by indices into the remaining ones (the code); remaining: the points FPS chose")
    base_dim: int = Field(32, ge=1, description="stem width D0 (stage i has D0 * 2^i)")
    nblocks: int = Field(4, ge=0, description="transition-down stages")
    nneighbor: int = Field(16, ge=1, description="k nearest neighbours")
    transformer_dim: int = Field(512, ge=1, description="inner width of the attention")

    @property
    def points_per_step(self) -> int:
        """Points of each step after the encoder."""
        if self.point_encoder == "repeat":
            return self.num_points
        return max(self.num_points // self.T, self.num_samples)

    @model_validator(mode="after")
    def _check_points(self) -> SPTConfig:
        if self.in_channels < 3:
            raise ValueError(f"in_channels must be >= 3 (x, y, z first), got {self.in_channels}")
        n = self.points_per_step
        if n > self.num_points:
            raise ValueError(f"num_samples {self.num_samples} exceeds num_points "
                             f"{self.num_points}")
        for i in range(self.nblocks):
            centres = self.num_points // 4 ** (i + 1)
            if not 1 <= centres <= n:
                raise ValueError(
                    f"transition down {i} samples num_points // 4^{i + 1} = {centres} centres "
                    f"from {n} points per step: choose num_points, num_samples and nblocks so "
                    "that every stage keeps between 1 and the points it is given")
            n = centres
        return self


def index_points(points: Tensor, idx: Tensor) -> Tensor:
    """``points [*, N, C]`` at ``idx [*, S(, K)]`` -> ``[*, S(, K), C]`` (leading dims equal)."""
    lead = points.dim() - 2
    flat = idx.reshape(*idx.shape[:lead], -1)
    out = torch.gather(points, lead, flat[..., None].expand(*flat.shape, points.shape[-1]))
    return out.reshape(*idx.shape, points.shape[-1])


def knn(centres: Tensor, points: Tensor, k: int) -> Tensor:
    """Indices ``[*, S, min(k, N)]`` of each centre's k nearest points by squared distance (the
    code's ``dists.argsort()[..., :k]``, which keeps all N points when N < k: the last stage of
    the modelnet40 preset has 4 points for 16 neighbours)."""
    dists = ((centres[..., :, None, :] - points[..., None, :, :]) ** 2).sum(-1)
    return dists.argsort(dim=-1)[..., :k]


class QueueEncoder(nn.Module):
    """Q-SDE: ``[B, N, C]`` -> ``[T, B, S, C]`` (module docstring); ``mode="repeat"`` gives
    every step the whole cloud."""

    #: a static input becomes time steps here (the temporal probe permutes this output)
    encodes_time = True

    def __init__(self, T: int, samples: int, indexing: str, mode: str = "queue") -> None:
        super().__init__()
        self.T, self.samples, self.indexing, self.mode = T, samples, indexing, mode

    def forward(self, x: Tensor) -> Tensor:
        if self.mode == "repeat":
            return x.expand(self.T, *x.shape)
        B, N, C = x.shape
        S, T = self.samples, self.T
        r = (N - S) // (T - 1) if T > 1 else 0
        rows = torch.arange(B, device=x.device)[:, None]
        first = farthest_point_sample(x, S)
        steps = [index_points(x, first)]
        every = torch.arange(N, device=x.device).expand(B, N)
        remaining = self._drop(every, first)  # original indices
        for _ in range(1, T):
            if remaining.shape[1] == 0 or r == 0:
                steps.append(steps[-1])
                continue
            loc = index_points(x, remaining)
            chosen = farthest_point_sample(loc, r)  # indices into the remaining points
            picked = chosen if self.indexing == "as_released" else remaining[rows, chosen]
            steps.append(torch.cat([steps[-1][:, r:], index_points(x, picked)], dim=1))
            remaining = self._drop(remaining, chosen)
        return torch.stack(steps)

    @staticmethod
    def _drop(remaining: Tensor, positions: Tensor) -> Tensor:
        keep = torch.ones_like(remaining, dtype=torch.bool)
        keep[torch.arange(len(remaining), device=keep.device)[:, None], positions] = False
        return remaining[keep].reshape(len(remaining), -1)


def _conv1(c_in: int, c_out: int) -> nn.Sequential:
    """Point-wise ``Conv1d`` (bias) + BN over ``[T, B, C, N]``."""
    return Pointwise(c_in, c_out, True)


def _conv2(c_in: int, c_out: int) -> nn.Sequential:
    """1x1 ``Conv2d`` (bias) + BN over ``[T, B, C, N, K]``."""
    return nn.Sequential(snn.Conv2d(c_in, c_out, 1), snn.BatchNorm2d(c_out))


class PointTransformerBlock(nn.Module):
    """Spiking vector attention over the k nearest neighbours (module docstring); features
    ``[T, B, d, N]`` at positions ``[T, B, N, 3]``."""

    def __init__(self, d_points: int, d_model: int, k: int, make: Neurons) -> None:
        super().__init__()
        self.k, self.scale = k, math.sqrt(d_model)
        # registration order = the code's (fc1, fc2, fc_delta, fc_gamma, w_qs, w_ks, w_vs)
        self.fc1_in_lif, self.fc1, self.fc1_lif = make(), _conv1(d_points, d_model), make()
        self.fc2_lif, self.fc2 = make(), _conv1(d_model, d_points)
        self.delta_in_lif, self.delta1, self.delta1_lif = make(), _conv2(3, d_model), make()
        self.delta2, self.delta2_lif = _conv2(d_model, d_model), make()
        self.gamma1_lif, self.gamma1 = make(), _conv2(d_model, d_model)
        self.gamma2_lif, self.gamma2 = make(), _conv2(d_model, d_model)
        self.q, self.q_lif = _conv1(d_model, d_model), make()
        self.k_proj, self.k_lif = _conv1(d_model, d_model), make()
        self.v, self.v_lif = _conv1(d_model, d_model), make()

    def forward(self, xyz: Tensor, f: Tensor) -> Tensor:
        idx = knn(xyz, xyz, self.k)  # [T, B, N, k]
        rel = (xyz[..., :, None, :] - index_points(xyz, idx)).permute(0, 1, 4, 2, 3)
        x = self.fc1_lif(self.fc1(self.fc1_in_lif(f)))  # [T, B, D, N]
        q = self.q_lif(self.q(x))

        def neighbours(t: Tensor) -> Tensor:  # [T, B, D, N] -> [T, B, D, N, k]
            return index_points(t.transpose(-1, -2), idx).permute(0, 1, 4, 2, 3)

        k = neighbours(self.k_lif(self.k_proj(x)))
        v = neighbours(self.v_lif(self.v(x)))
        delta = self.delta1_lif(self.delta1(self.delta_in_lif(rel)))
        delta = self.delta2_lif(self.delta2(delta))
        a = self.gamma2(self.gamma2_lif(self.gamma1(self.gamma1_lif(q[..., None] - k + delta))))
        a = F.softmax(a / self.scale, dim=-1)
        y = (a * (v + delta)).sum(-1)  # [T, B, D, N]
        return self.fc2(self.fc2_lif(y)) + f


class TransitionDown(nn.Module):
    """FPS to ``centres`` points per step, k-NN grouping with relative xyz, two ``LIF Conv2d
    BN`` layers, max over the neighbours: ``[T, B, d, N] -> [T, B, 2d, centres]``."""

    def __init__(self, centres: int, k: int, c_in: int, c_out: int, make: Neurons) -> None:
        super().__init__()
        self.centres, self.k = centres, k
        # the code's order: both convolutions, then both BatchNorms
        self.convs = nn.ModuleList([snn.Conv2d(c_in, c_out, 1), snn.Conv2d(c_out, c_out, 1)])
        self.bns = nn.ModuleList([snn.BatchNorm2d(c_out), snn.BatchNorm2d(c_out)])
        self.lifs = nn.ModuleList([make(), make()])

    def forward(self, xyz: Tensor, f: Tensor) -> tuple[Tensor, Tensor]:
        T, B, N, _ = xyz.shape
        fps = farthest_point_sample(xyz.flatten(0, 1), self.centres)
        centres = index_points(xyz.flatten(0, 1), fps).reshape(T, B, self.centres, 3)
        idx = knn(centres, xyz, self.k)  # [T, B, S, k]
        rel = index_points(xyz, idx) - centres[..., None, :]
        grouped = torch.cat([rel, index_points(f.transpose(-1, -2), idx)], dim=-1)
        x = grouped.permute(0, 1, 4, 3, 2)  # [T, B, 3 + d, k, S], the code's layout
        for neuron, conv, bn in zip(self.lifs, self.convs, self.bns, strict=True):
            x = bn(conv(neuron(x)))
        return centres, x.amax(dim=3)


class SpikingPointTransformer(nn.Module):
    """SPT on clouds ``[B, N, C]`` (encoded by the config's point encoder) or already encoded
    steps ``[T, B, S, C]``; logits ``[B, classes]``."""

    def __init__(self, config: SPTConfig, backend: str) -> None:
        super().__init__()
        self.config = c = config
        make = Neurons(config, backend)
        d0 = c.base_dim
        self.stem = _conv1(c.in_channels, d0)
        self.stem_lif = make()
        self.stem2 = _conv1(d0, d0)
        self.block0 = PointTransformerBlock(d0, c.transformer_dim, c.nneighbor, make)
        self.downs = nn.ModuleList(
            TransitionDown(c.num_points // 4 ** (i + 1), c.nneighbor, d0 * 2 ** i + 3,
                           d0 * 2 ** (i + 1), make) for i in range(c.nblocks))
        self.blocks = nn.ModuleList(
            PointTransformerBlock(d0 * 2 ** (i + 1), c.transformer_dim, c.nneighbor, make)
            for i in range(c.nblocks))
        width = d0 * 2 ** c.nblocks
        self.lifs = nn.ModuleList([make(), make(), make()])  # the head's
        self.head = nn.ModuleList([_conv1(width, 256), _conv1(256, 64),
                                   snn.Conv1d(64, c.num_classes, 1)])
        self.encoder = QueueEncoder(c.T, c.points_per_step, c.queue_indexing, c.point_encoder)

    def time_first(self, x: Tensor) -> Tensor:
        c = self.config
        if x.dim() == 3:
            if tuple(x.shape[1:]) != (c.num_points, c.in_channels):
                raise InputError(f"SPT was configured for clouds of {c.num_points} points of "
                                 f"{c.in_channels} channels, got {tuple(x.shape[1:])} (set "
                                 "num_points / in_channels)")
            return self.encoder(x)
        if x.dim() == 4 and x.shape[-1] == c.in_channels:
            return x
        raise InputError(f"SPT takes clouds [B, N, C] or encoded steps [T, B, N, C], got "
                         f"shape {tuple(x.shape)}")

    def features(self, x: Tensor) -> Tensor:
        """``[T, B, N, C]`` -> pooled features ``[T, B, 16 D0]``."""
        xyz = x[..., :3]
        f = self.stem2(self.stem_lif(self.stem(x.transpose(-1, -2))))  # [T, B, D0, N]
        f = self.block0(xyz, f)
        for down, block in zip(self.downs, self.blocks, strict=True):
            xyz, f = down(xyz, f)
            f = block(xyz, f)
        return f.mean(-1)

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(self.time_first(x))[..., None]  # [T, B, F, 1]
        for neuron, layer in zip(self.lifs, self.head, strict=True):
            x = layer(neuron(x))
        return x[..., 0].mean(0)


_ARCH = dict(neuron=lif(v_threshold=0.5), T=4, num_points=1024, num_samples=512,
             point_encoder="queue", queue_indexing="as_released", base_dim=32, nblocks=4,
             nneighbor=16, transformer_dim=512)
SPT_PRESETS: dict[str, dict] = {
    # STEP's cls/configs/spt/modelnet40.yml (input_dim 6: xyz and normals)
    "modelnet40": {**_ARCH, "in_channels": 6, "num_classes": 40},
    "tiny": {**_ARCH, "in_channels": 3, "num_classes": 5, "num_points": 64, "num_samples": 32,
             "base_dim": 8, "nblocks": 1, "nneighbor": 4, "transformer_dim": 16},
}


@register_model(SPTConfig, SPT_PRESETS, default="modelnet40",
                paper="Wu et al., Spiking Point Transformer for Point Cloud Classification, "
                      "AAAI 2025 (arXiv 2502.15811)")
def spt(config: SPTConfig, backend: str) -> SpikingPointTransformer:
    """SPT on ModelNet40 (1,024 points, Q-SDE to 512 per step, T = 4)."""
    return SpikingPointTransformer(config, backend)


__all__ = ["SPTConfig", "SPT_PRESETS", "SpikingPointTransformer", "spt"]
