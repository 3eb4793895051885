r"""Encoder specs: how a static input (or a sequence) becomes a time-first spike tensor.

All encoders output ``[T, B, ...]``. Inputs of the stochastic and temporal codes are clamped
to :math:`[0, 1]` (normalise to that range first: a mean/std-normalised pixel below 0 would
never spike).

- ``direct``: :math:`S_t = x` for every t (the first layer sees real values).
- ``rate``: :math:`S_t \sim \mathrm{Bernoulli}(x)`, drawn from a generator seeded with
  ``seed``, so every backend sees the same spikes.
- ``latency`` (time to first spike): one spike at step :math:`t^* = \lfloor (1 - x) T \rfloor`
  (0-based), none when :math:`t^* \ge T` (x = 0); larger values fire earlier. With
  ``amplitude="inverse"`` the spike has height :math:`1 / (t^* + 1)`.
- ``phase``: :math:`x` quantised to ``bits`` bits, :math:`q = \min(\lfloor x 2^{K} \rfloor,
  2^K - 1)`; step t carries bit plane :math:`b = t \bmod K` (most significant first) whose
  weight is :math:`2^{-(b+1)}`; ``weighted=True`` outputs the weight instead of 1.
- ``delta``: for sequences ``[T, B, ...]``: :math:`S_t = 1` where
  :math:`x_t - x_{t-1} > \theta` (with :math:`x_{-1} = 0`), and :math:`-1` where
  :math:`x_t - x_{t-1} < -\theta` if ``off_spike``.

The code is :mod:`step.reference.encoders`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from step.errors import SpecError
from step.specs._base import Spec


class EncoderSpec(Spec):
    """Fields every encoder shares."""

    kind: str


class _StaticEncoderSpec(EncoderSpec):
    T: int = Field(4, ge=1, description="number of time steps to produce")


class DirectEncoderSpec(_StaticEncoderSpec):
    """Repeat the input T times."""

    kind: Literal["direct"] = "direct"


class RateEncoderSpec(_StaticEncoderSpec):
    """Bernoulli spikes with probability equal to the clamped input."""

    kind: Literal["rate"] = "rate"
    seed: int = Field(0, description="seed of the encoder's own random generator")


class LatencyEncoderSpec(_StaticEncoderSpec):
    """One spike per input, earlier for larger values (TTFS)."""

    kind: Literal["latency"] = "latency"
    amplitude: Literal["one", "inverse"] = Field("one", description="spike height: 1, or 1/(t*+1)")


class PhaseEncoderSpec(_StaticEncoderSpec):
    """Bit planes of the quantised input, most significant first, cycling with period bits."""

    kind: Literal["phase"] = "phase"
    bits: int = Field(8, ge=1, le=24, description="quantisation bits K")
    weighted: bool = Field(False, description="output the plane weight 2^-(b+1) instead of 1")


class DeltaEncoderSpec(EncoderSpec):
    """Change detection on a sequence: spikes where the input rises (or falls) by > threshold."""

    kind: Literal["delta"] = "delta"
    threshold: float = Field(0.1, ge=0.0, description="change that makes a spike")
    off_spike: bool = Field(False, description="emit -1 where the input falls by > threshold")


ENCODER_KINDS: dict[str, type[EncoderSpec]] = {
    cls.model_fields["kind"].default: cls
    for cls in (
        DirectEncoderSpec, RateEncoderSpec, LatencyEncoderSpec, PhaseEncoderSpec, DeltaEncoderSpec
    )
}


def parse_encoder(data: Any) -> EncoderSpec:
    """Build the encoder spec of the right kind from a dict, a kind name or a spec."""
    if isinstance(data, EncoderSpec):
        return data
    if isinstance(data, str):
        data = {"kind": data}
    if not isinstance(data, dict):
        got = type(data).__name__
        raise SpecError(f"an encoder spec is a mapping with a 'kind' key, got {got}")
    kind = data.get("kind")
    if kind not in ENCODER_KINDS:
        known = ", ".join(ENCODER_KINDS)
        raise SpecError(f"unknown encoder kind {kind!r}: choose one of {known}")
    return ENCODER_KINDS[kind].parse(data, what=f"{kind} encoder spec")


#: Use as a field type in configs that hold an encoder.
AnyEncoderSpec = Annotated[EncoderSpec, BeforeValidator(parse_encoder)]
