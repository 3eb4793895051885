"""The tolerance policy and the outcome vocabulary of the conformance suite, in one place.

Every backend is compared with the canonical equations as the conformance oracle
(:mod:`.oracle`, independent of :mod:`step.reference`) computes them in the case's dtype. The
policy, per dtype:

- **Spikes** must match exactly. A spike that differs where the reference's charged membrane
  ``h`` lies within ``threshold_band`` of the threshold (``|h - v_th| <= band``) is a
  *near-threshold difference*: two correct implementations that round one operation
  differently legitimately disagree there. It is reported (the case becomes ``pass-noted``,
  with the first such step, index and ``h - v_th``), never hidden, and that neuron is left out
  of the comparison from that step on (the flip cascades through the reset). Cases that put
  ``h`` exactly on the threshold on purpose (exactly representable inputs) get no band: they
  test the strict ``>`` fire rule itself.
- **Membrane** (after reset, every step, and the final state): ``|v - v_ref| <= atol + rtol
  * |v_ref|``.
- **Gradients** (input, PLIF ``w``, learnt threshold): ``|g - g_ref| <= atol * max(1, max|g_ref|)
  + rtol * |g_ref|``; the absolute part scales with the gradient's size because gradients
  summed over many steps grow with T.

The numbers: float32 membrane atol = rtol = 1e-5 (the four libraries agree to 1.6e-7 over 80
steps), band 1e-5, gradient atol 1e-5 and rtol 1e-4; float64 membrane 1e-10, band 1e-10,
gradient atol 1e-10 and rtol 1e-8. The band equals the membrane tolerance on purpose: a
membrane allowed to differ by ``atol`` may legitimately land on either side of a threshold
that close.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum

import torch


@dataclass(frozen=True)
class Tolerance:
    """How close a backend must come to the reference in one dtype (see the module docstring)."""

    membrane_atol: float
    membrane_rtol: float
    threshold_band: float
    gradient_atol: float
    gradient_rtol: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


#: The tolerance policy, by dtype name. Documented in docs/conformance.md.
TOLERANCES: dict[str, Tolerance] = {
    "float32": Tolerance(
        membrane_atol=1e-5, membrane_rtol=1e-5, threshold_band=1e-5,
        gradient_atol=1e-5, gradient_rtol=1e-4,
    ),
    "float64": Tolerance(
        membrane_atol=1e-10, membrane_rtol=1e-10, threshold_band=1e-10,
        gradient_atol=1e-10, gradient_rtol=1e-8,
    ),
    # the autocast case set (conformance/placement.py): the module runs on a bfloat16 input
    # under torch.autocast(bfloat16) and is compared with the float32 oracle on the same
    # (bfloat16-representable) input. bfloat16 keeps 8 significant bits (spacing 2^-7 = 0.0078
    # at 1.0); TOLERANCE_NOTES["bf16-autocast"] says how these numbers were chosen.
    "bf16-autocast": Tolerance(
        membrane_atol=2e-2, membrane_rtol=6e-2, threshold_band=1.5e-2,
        gradient_atol=2e-2, gradient_rtol=2e-2,
    ),
}

#: Why a tolerance is what it is, where the module docstring does not say.
TOLERANCE_NOTES: dict[str, str] = {
    "bf16-autocast": "bfloat16 rounds every operation to 8 significant bits (relative error "
    "up to 2^-9 each); the membrane is a running sum, so its error grows with the steps until "
    "the leak bounds it",
}

#: dtype names of the main catalogue, in report order (the autocast set is run on request).
DTYPES: tuple[str, ...] = ("float32", "float64")

#: The autocast case set's dtype name: float32 reference, bfloat16 module under autocast.
AUTOCAST = "bf16-autocast"


def torch_dtype(name: str) -> torch.dtype:
    """The torch dtype of the reference and the comparison for dtype name ``name``."""
    return {"float32": torch.float32, "float64": torch.float64,
            AUTOCAST: torch.float32}[name]


class Status(StrEnum):
    """The outcome of one (backend, case), as written in the report's ``status`` field."""

    #: Matched the reference within the policy; the backend computes the spec natively.
    PASS = "pass"
    #: Matched, except spikes that flipped within the threshold band (listed in the detail).
    PASS_NOTED = "pass-noted"
    #: Matched, but the backend's support for the spec is emulated (the detail says how).
    EMULATED_PASS = "emulated-pass"
    #: Differed from the reference; the detail names the first divergence.
    FAIL = "fail"
    #: The backend says it cannot compute this (its reason); the case was never run.
    UNSUPPORTED = "unsupported"
    #: The backend raised while building or running the case; the run went on.
    ERROR = "error"

    @property
    def failed(self) -> bool:
        """Whether this outcome makes ``step conformance`` exit with code 1."""
        return self in (Status.FAIL, Status.ERROR)


#: Worst first: how a group of outcomes (a cell of the capability matrix) is summarised.
SEVERITY: tuple[Status, ...] = (
    Status.ERROR, Status.FAIL, Status.UNSUPPORTED, Status.PASS_NOTED, Status.EMULATED_PASS,
    Status.PASS,
)


def worst(statuses: list[Status]) -> Status | None:
    """The most severe outcome of a group (None for an empty group)."""
    present = set(statuses)
    return next((s for s in SEVERITY if s in present), None)
