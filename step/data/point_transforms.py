"""The standard point-cloud transforms, each a pure function of its input and a seeded generator.

Point clouds are ``[..., N, C]`` tensors whose first three channels are x, y, z (more channels,
such as normals, ride along). What PointNet++, Point Transformer and SPT apply, and where:

- to N points: :func:`farthest_point_sample` (each next point is the one farthest from those
  already chosen; deterministic from the chosen start) or :func:`random_sample` (without
  replacement, seeded);
- :func:`normalize_unit_sphere`: centre on the centroid, scale so the farthest point lies at
  distance 1 (PointNet's ``pc_normalize``), done once when a set is loaded;
- training augmentation (:func:`augment`): anisotropic scale from U(0.8, 1.25) per axis and a
  shift from U(-0.1, 0.1) per axis (PointNet++'s ``random_scale_point_cloud`` /
  ``shift_point_cloud`` ranges as their data utils use them), then Gaussian jitter sigma 0.01
  clipped to +-0.05 (PointNet's ``jitter_point_cloud``). Only xyz moves.

Area-weighted surface sampling of a mesh (:func:`sample_surface`) turns an ``.off`` mesh into
points: a face is drawn with probability proportional to its area, a point uniformly inside it
(``sqrt`` trick for barycentric coordinates).
"""

from __future__ import annotations

import torch
from torch import Tensor

from step.errors import InputError

SCALE_RANGE = (0.8, 1.25)
SHIFT_RANGE = 0.1
JITTER_SIGMA, JITTER_CLIP = 0.01, 0.05


def _check(points: Tensor) -> None:
    if points.dim() < 2 or points.shape[-1] < 3:
        raise InputError(f"a point cloud is [..., N, C>=3], got shape {tuple(points.shape)}")


def normalize_unit_sphere(points: Tensor) -> Tensor:
    """Centre each cloud's xyz on its centroid and scale its farthest point to distance 1."""
    _check(points)
    xyz = points[..., :3]
    xyz = xyz - xyz.mean(dim=-2, keepdim=True)
    radius = xyz.norm(dim=-1).amax(dim=-1, keepdim=True)[..., None]
    xyz = xyz / radius.clamp_min(torch.finfo(xyz.dtype).tiny)
    return torch.cat([xyz, points[..., 3:]], dim=-1)


def farthest_point_sample(points: Tensor, n: int, start: int = 0) -> Tensor:
    """Indices ``[..., n]`` of ``n`` points chosen by farthest-point sampling from ``start``."""
    _check(points)
    N = points.shape[-2]
    if not 1 <= n <= N:
        raise InputError(f"cannot choose {n} of {N} points")
    xyz = points[..., :3]
    batch = xyz.shape[:-2]
    chosen = torch.empty(*batch, n, dtype=torch.long, device=xyz.device)
    nearest = torch.full((*batch, N), torch.inf, dtype=xyz.dtype, device=xyz.device)
    current = torch.full((*batch, 1), start, dtype=torch.long, device=xyz.device)
    for i in range(n):
        chosen[..., i] = current[..., 0]
        centre = torch.gather(xyz, -2, current[..., None].expand(*batch, 1, 3))
        nearest = torch.minimum(nearest, ((xyz - centre) ** 2).sum(-1))
        current = nearest.argmax(dim=-1, keepdim=True)
    return chosen


def random_sample(points: Tensor, n: int, generator: torch.Generator) -> Tensor:
    """Indices ``[n]`` of ``n`` of one cloud's points, drawn without replacement."""
    _check(points)
    N = points.shape[-2]
    if not 1 <= n <= N:
        raise InputError(f"cannot choose {n} of {N} points")
    return torch.randperm(N, generator=generator)[:n]


def augment(points: Tensor, generator: torch.Generator) -> Tensor:
    """Training augmentation of ``[B, N, C]`` clouds: per-cloud scale and shift, per-point
    jitter (module docstring); channels past xyz are left as they are."""
    _check(points)
    B = points.shape[0]
    low, high = SCALE_RANGE
    scale = torch.rand(B, 1, 3, generator=generator) * (high - low) + low
    shift = (torch.rand(B, 1, 3, generator=generator) * 2 - 1) * SHIFT_RANGE
    noise = torch.randn(points[..., :3].shape, generator=generator) * JITTER_SIGMA
    xyz = points[..., :3] * scale + shift + noise.clamp(-JITTER_CLIP, JITTER_CLIP)
    return torch.cat([xyz.to(points.dtype), points[..., 3:]], dim=-1)


def sample_surface(vertices: Tensor, faces: Tensor, n: int, generator: torch.Generator) -> Tensor:
    """``n`` points ``[n, 3]`` on a triangle mesh, faces drawn by area (module docstring)."""
    if faces.numel() == 0:
        raise InputError("a mesh without faces has no surface to sample")
    a, b, c = (vertices[faces[:, k]].double() for k in range(3))
    area = torch.linalg.cross(b - a, c - a).norm(dim=-1) / 2
    if not area.sum() > 0:
        raise InputError("a mesh whose faces all have zero area has no surface to sample")
    face = torch.multinomial(area, n, replacement=True, generator=generator)
    r1 = torch.rand(n, 1, generator=generator, dtype=torch.float64).sqrt()
    r2 = torch.rand(n, 1, generator=generator, dtype=torch.float64)
    p = (1 - r1) * a[face] + r1 * (1 - r2) * b[face] + r1 * r2 * c[face]
    return p.float()
