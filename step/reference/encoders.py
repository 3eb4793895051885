"""The encoders of :mod:`step.specs.encoder`, computed once for every backend.

Randomness comes from an explicit :class:`torch.Generator`, so the same seed gives the same
spikes on every backend and every run.
"""

from __future__ import annotations

import torch
from torch import Tensor

from step.errors import InputError
from step.specs import EncoderSpec


def encode(spec: EncoderSpec, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Encode ``x`` ([B, ...] static, or [T, B, ...] for delta) into [T, B, ...]."""
    kind = spec.kind
    if kind == "delta":
        return delta(x, spec.threshold, spec.off_spike)
    T = spec.T
    if kind == "direct":
        return x.unsqueeze(0).expand(T, *x.shape).clone()
    p = x.clamp(0.0, 1.0)
    if kind == "rate":
        draws = torch.rand((T, *x.shape), generator=generator, dtype=x.dtype, device="cpu")
        return (draws.to(x.device) < p.unsqueeze(0)).to(x.dtype)
    if kind == "latency":
        return latency(p, T, spec.amplitude)
    if kind == "phase":
        return phase(p, T, spec.bits, spec.weighted)
    raise InputError(f"unknown encoder kind {kind!r}")


def latency(p: Tensor, T: int, amplitude: str = "one") -> Tensor:
    """One spike at t* = floor((1 - p) T), none when t* >= T (p = 0)."""
    t_star = torch.floor((1.0 - p) * T).long()
    steps = torch.arange(T, device=p.device).view(T, *([1] * p.dim()))
    out = (steps == t_star.unsqueeze(0)).to(p.dtype)
    if amplitude == "inverse":
        out = out / (t_star.unsqueeze(0).to(p.dtype) + 1.0)
    return out


def phase(p: Tensor, T: int, bits: int, weighted: bool = False) -> Tensor:
    """Bit plane b = t mod bits of q = min(floor(p 2^bits), 2^bits - 1), MSB first."""
    q = torch.clamp(torch.floor(p * 2**bits), max=2**bits - 1).long()
    planes = []
    for t in range(T):
        b = t % bits
        bit = (q >> (bits - 1 - b)) & 1
        planes.append(bit.to(p.dtype) * (2.0 ** -(b + 1) if weighted else 1.0))
    return torch.stack(planes)


def delta(x: Tensor, threshold: float, off_spike: bool = False) -> Tensor:
    """+1 where x[t] - x[t-1] > threshold (x[-1] = 0); -1 on falls if ``off_spike``."""
    if x.dim() < 2:
        raise InputError(
            f"the delta encoder takes a sequence [T, B, ...], got shape {tuple(x.shape)}"
        )
    prev = torch.cat([torch.zeros_like(x[:1]), x[:-1]])
    d = x - prev
    out = (d > threshold).to(x.dtype)
    if off_spike:
        out = out - (d < -threshold).to(x.dtype)
    return out
