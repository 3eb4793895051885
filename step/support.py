"""Support levels: how honestly a backend computes a spec.

For every spec an adapter answers, separately for the forward pass and the gradient:

- ``native``: the library's own neuron, surrogate or encoder computes it;
- ``emulated``: the adapter composes it from library parts, or plugs step's neutral function
  into the library's extension point (``how`` says which);
- ``unsupported``: the library cannot compute it (``how`` says why).

Nothing is ever computed by the reference code while being reported as another backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Level(StrEnum):
    """How a backend computes something; ordered from best to worst."""

    NATIVE = "native"
    EMULATED = "emulated"
    UNSUPPORTED = "unsupported"

    @property
    def rank(self) -> int:
        return list(Level).index(self)


@dataclass(frozen=True)
class Support:
    """A backend's answer for one spec: forward and gradient judged separately."""

    forward: Level
    gradient: Level
    forward_how: str = ""
    gradient_how: str = ""
    #: The precision the library's backward really computes in when it is coarser than the
    #: input's ("float32" for a library that returns float32 spikes from float64 input): a
    #: declared limitation, which the conformance suite reports instead of failing on.
    gradient_precision: str | None = None
    precision_how: str = ""

    @property
    def overall(self) -> Level:
        """The worse of forward and gradient."""
        return max(self.forward, self.gradient, key=lambda lv: lv.rank)

    @property
    def reason(self) -> str:
        """Why the spec is not fully native ('' when it is)."""
        parts = []
        if self.forward is not Level.NATIVE and self.forward_how:
            parts.append(f"forward: {self.forward_how}")
        if self.gradient is not Level.NATIVE and self.gradient_how:
            parts.append(f"gradient: {self.gradient_how}")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, str | None]:
        return {
            "forward": self.forward.value,
            "gradient": self.gradient.value,
            "forward_how": self.forward_how,
            "gradient_how": self.gradient_how,
            "gradient_precision": self.gradient_precision,
            "precision_how": self.precision_how,
        }

    @classmethod
    def native(cls, how: str = "") -> Support:
        return cls(Level.NATIVE, Level.NATIVE, how, how)

    @classmethod
    def unsupported(cls, why: str) -> Support:
        return cls(Level.UNSUPPORTED, Level.UNSUPPORTED, why, why)

    @classmethod
    def all_of(cls, first: Support, *rest: Support) -> Support:
        """The support of a computation that needs every one of the parts."""
        out = first
        for part in rest:
            out = out.combine(part)
        return out

    def combine(self, other: Support) -> Support:
        """The support of a computation that needs both ``self`` and ``other``."""

        def worse(a: Level, ha: str, b: Level, hb: str) -> tuple[Level, str]:
            if a.rank == b.rank:
                return a, "; ".join(h for h in (ha, hb) if h)
            return (a, ha) if a.rank > b.rank else (b, hb)

        fwd, fhow = worse(self.forward, self.forward_how, other.forward, other.forward_how)
        grad, ghow = worse(self.gradient, self.gradient_how, other.gradient, other.gradient_how)
        coarse = self if self.gradient_precision else other
        return Support(fwd, grad, fhow, ghow, coarse.gradient_precision, coarse.precision_how)
