"""Input drives: the currents a conformance case feeds a neuron, ``[T, B, N]``.

A drive is drawn in float64 from a seeded generator and only then cast to the case's dtype, so
the float32 and float64 runs of a case see the same numbers (rounded once). Amplitudes are in
units of the spec's *unit drive* (:func:`unit_drive`): the constant input whose steady state just
reaches the threshold, so one drive exercises an IF, an LIF with ``decay_input=False`` and an LIF
with ``tau=5`` alike (some neurons silent, some firing every step).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from step.specs import NeuronSpec

#: (T, B, N, unit drive, generator, spec) -> float64 tensor [T, B, N]
DriveFn = Callable[[int, int, int, float, torch.Generator, NeuronSpec], Tensor]

#: name -> drive. A new drive registers here and becomes usable by every case factory.
DRIVES: dict[str, DriveFn] = {}


def register_drive(name: str) -> Callable[[DriveFn], DriveFn]:
    """Decorator: make a drive usable by name in the case catalogue."""

    def add(fn: DriveFn) -> DriveFn:
        if name in DRIVES:
            raise ValueError(f"drive {name!r} is registered twice")
        DRIVES[name] = fn
        return fn

    return add


def unit_drive(spec: NeuronSpec) -> float:
    """The constant input whose steady state reaches the threshold (one step for IF)."""
    gap = spec.v_threshold - spec.v_reset
    tau = getattr(spec, "tau", None)
    if tau is not None and not getattr(spec, "decay_input", True):
        return gap / tau
    return gap


def make_drive(
    name: str, T: int, B: int, N: int, spec: NeuronSpec, seed: int, dtype: torch.dtype
) -> Tensor:
    """Draw drive ``name`` for ``spec`` (float64, then cast to ``dtype``)."""
    gen = torch.Generator().manual_seed(seed)
    return DRIVES[name](T, B, N, unit_drive(spec), gen, spec).to(dtype)


def shape_drive(x: Tensor, shape: tuple[int, ...], contiguous: bool) -> Tensor:
    """``x`` [T, B, N] laid out as [T, B, *shape], as a transposed view when not contiguous.

    Neuron n keeps its drive whatever the layout (row-major order over ``shape``); a strided
    input holds the same values in the transposed memory order, so a backend that reads the
    storage as if it were contiguous (``view`` on the raw buffer, ``as_strided``, a C kernel)
    sees other neurons' inputs.
    """
    T, B = x.shape[:2]
    if contiguous:
        return x.reshape(T, B, *shape)
    flipped = (*shape[:-2], shape[-1], shape[-2]) if len(shape) > 1 else shape
    if len(shape) == 1:  # [T, B, N] -> stored as [T, N, B], seen through a transpose
        return x.transpose(1, 2).contiguous().transpose(1, 2)
    return x.reshape(T, B, *shape).transpose(-1, -2).contiguous().reshape(
        T, B, *flipped).transpose(-1, -2)


@register_drive("constant")
def constant(
    T: int, B: int, N: int, unit: float, gen: torch.Generator, spec: NeuronSpec
) -> Tensor:
    """Constant in time, one level per neuron from -0.5 to 3 units (silent to every step)."""
    levels = torch.linspace(-0.5, 3.0, B * N, dtype=torch.float64).view(B, N)
    return (levels * unit).expand(T, B, N).clone()


@register_drive("ramp")
def ramp(
    T: int, B: int, N: int, unit: float, gen: torch.Generator, spec: NeuronSpec
) -> Tensor:
    """Rising from 0 to 3 units over the sequence, with a per-neuron slope factor."""
    t = torch.linspace(0.0, 1.0, T, dtype=torch.float64).view(T, 1, 1)
    slope = torch.linspace(0.5, 3.0, B * N, dtype=torch.float64).view(1, B, N)
    return t * slope * unit


@register_drive("random")
def random(
    T: int, B: int, N: int, unit: float, gen: torch.Generator, spec: NeuronSpec
) -> Tensor:
    """Gaussian, mean 0.8 unit, standard deviation 1 unit: irregular firing."""
    return (0.8 + torch.randn(T, B, N, generator=gen, dtype=torch.float64)) * unit


@register_drive("sparse")
def sparse(
    T: int, B: int, N: int, unit: float, gen: torch.Generator, spec: NeuronSpec
) -> Tensor:
    """Spike-like input: 2.5 units with probability 0.1, else 0."""
    hits = torch.rand(T, B, N, generator=gen, dtype=torch.float64) < 0.1
    return hits.to(torch.float64) * 2.5 * unit


@register_drive("silence")
def silence(
    T: int, B: int, N: int, unit: float, gen: torch.Generator, spec: NeuronSpec
) -> Tensor:
    """No input at all: the membrane must stay at rest and nothing may fire."""
    return torch.zeros(T, B, N, dtype=torch.float64)


@register_drive("large")
def large(
    T: int, B: int, N: int, unit: float, gen: torch.Generator, spec: NeuronSpec
) -> Tensor:
    """50 to 150 units: every step fires; a soft reset leaves a large residue."""
    return (50.0 + 100.0 * torch.rand(T, B, N, generator=gen, dtype=torch.float64)) * unit


@register_drive("negative")
def negative(
    T: int, B: int, N: int, unit: float, gen: torch.Generator, spec: NeuronSpec
) -> Tensor:
    """-0.5 to -5 units: the membrane sinks below rest and must never fire."""
    return -(0.5 + 4.5 * torch.rand(T, B, N, generator=gen, dtype=torch.float64)) * unit


@register_drive("at-threshold")
def at_threshold(
    T: int, B: int, N: int, unit: float, gen: torch.Generator, spec: NeuronSpec
) -> Tensor:
    """The constant input that charges a resting neuron exactly to the threshold in one step.

    From rest the first charge is ``x`` (IF, or LIF without input decay) or ``x / tau``; the
    input is chosen so that it lands on ``v_th``. Exact only when the numbers are (tau = 2,
    threshold and reset powers of two): the catalogue uses it with such specs only, and its
    test checks that the reference really sees ``h == v_th``.
    """
    tau = getattr(spec, "tau", None)
    gap = spec.v_threshold - spec.v_reset
    level = gap * tau if tau is not None and getattr(spec, "decay_input", True) else gap
    return torch.full((T, B, N), level, dtype=torch.float64)
