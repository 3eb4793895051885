"""Judging one backend's output against the reference under the policy of :mod:`.policy`.

The functions here are pure: tensors in, a :class:`Verdict` out. A failing verdict names the
first divergence (time step, index, both values), so an adapter author can go straight to the
step where the equations part; near-threshold spike flips are collected as notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from step.conformance.policy import Tolerance


@dataclass(frozen=True)
class Divergence:
    """Where a backend first parts from the reference."""

    quantity: str          # "spikes", "membrane", "final membrane", "gradient of x", ...
    t: int | None          # time step (None for a quantity without time, e.g. a parameter)
    index: tuple[int, ...]  # position inside the step (batch, neuron, ...)
    got: float | None
    expected: float | None
    where: str = ""        # which run of the case ("whole sequence", "one step at a time", ...)
    margin: float | None = None  # reference h - v_th at that point (spikes only)
    message: str = ""      # set instead of values for structural problems (shape, missing v)

    def describe(self) -> str:
        """One sentence: what differs, where, and both values."""
        run = f" ({self.where})" if self.where else ""
        if self.message:
            return f"{self.quantity}{run}: {self.message}"
        at = f"t={self.t}, " if self.t is not None else ""
        text = (f"{self.quantity} differ{run} at {at}index {list(self.index)}: "
                f"got {_fmt(self.got)}, expected {_fmt(self.expected)}")
        if self.margin is not None:
            text += f" (reference h - v_th = {_fmt(self.margin)})"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "quantity": self.quantity, "where": self.where, "t": self.t,
            "index": list(self.index), "got": self.got, "expected": self.expected,
            "margin": self.margin, "message": self.message,
        }


@dataclass
class Verdict:
    """The comparison of one case: the first divergence (if any) and the notes."""

    divergence: Divergence | None = None
    notes: list[str] = field(default_factory=list)
    flips: int = 0  # spikes excused as near-threshold differences

    @property
    def ok(self) -> bool:
        return self.divergence is None

    def merge(self, other: Verdict) -> Verdict:
        """Combine two comparisons: the first divergence wins, notes add up."""
        return Verdict(self.divergence or other.divergence, self.notes + other.notes,
                       self.flips + other.flips)


def _fmt(value: float | None) -> str:
    return "None" if value is None else f"{value:.9g}"


def _first(mask: Tensor) -> tuple[int, ...] | None:
    """Index of the first True in row-major order (time first), or None.

    A 0-d mask (the comparison of a scalar parameter's gradient) has the empty index ``()``
    when True: ``nonzero()`` of a 0-d tensor has no columns, so it cannot say where.
    """
    if mask.dim() == 0:
        return () if bool(mask) else None
    hits = mask.nonzero()
    return None if hits.numel() == 0 else tuple(int(i) for i in hits[0])


def _structure(quantity: str, got: Tensor | None, expected: Tensor, where: str) -> Verdict | None:
    """A failing verdict when ``got`` is missing or shaped wrong; None when comparable."""
    if got is None:
        return Verdict(Divergence(quantity, None, (), None, None, where,
                                  message="the backend did not provide it"))
    if tuple(got.shape) != tuple(expected.shape):
        return Verdict(Divergence(quantity, None, (), None, None, where,
                                  message=f"shape {tuple(got.shape)}, expected "
                                          f"{tuple(expected.shape)}"))
    return None


def compare_spikes(
    got: Tensor | None, expected: Tensor, margin: Tensor, tol: Tolerance, *, strict: bool,
    where: str = "",
) -> tuple[Verdict, Tensor]:
    """Spikes exactly, excusing flips within the threshold band (except exact ties if ``strict``).

    ``margin`` is the reference's ``h - v_th`` per step. Returns the verdict and a mask of the
    positions still comparable: a neuron whose spike flipped near threshold is left out from
    that step on, because the flip legitimately changes everything after it. With ``strict``
    (the tie cases), a flip where the reference's ``h - v_th`` is exactly 0 is never excused:
    there the fire rule (``gt`` or ``ge``) alone decides.
    """
    bad = _structure("spikes", got, expected, where)
    valid = torch.ones_like(expected, dtype=torch.bool)
    if bad is not None:
        return bad, valid
    assert got is not None
    if got.dtype != expected.dtype:  # the module contract: spikes in the input's dtype
        return Verdict(Divergence("spikes", None, (), None, None, where,
                                  message=f"dtype {got.dtype}, expected {expected.dtype} "
                                          "(the input's)")), valid
    differ = got.detach().to(expected.dtype) != expected
    if not differ.any():
        return Verdict(), valid
    # First differing step of every neuron (T where none differs).
    T = expected.shape[0]
    steps = torch.arange(T).view(T, *([1] * (expected.dim() - 1))).expand_as(expected)
    first_t = torch.where(differ, steps, torch.full_like(steps, T)).min(dim=0).values
    at_first = differ & (steps == first_t.unsqueeze(0))
    near = margin.abs() <= tol.threshold_band
    if strict:  # an exact tie (h == v_th) must follow the fire rule; only near-ties are excused
        near = near & (margin != 0)
    excused = at_first & near
    failing = at_first & ~excused
    index = _first(failing)
    if index is not None:
        t, rest = index[0], index[1:]
        div = Divergence("spikes", t, rest, float(got[index]), float(expected[index]), where,
                         float(margin[index]))
        return Verdict(div), valid
    valid = steps < first_t.unsqueeze(0)  # only excused flips remain: mask them onwards
    flips = int(excused.sum())
    first = _first(excused)
    assert first is not None
    note = (f"{flips} spike(s) flipped within the threshold band {tol.threshold_band:g}"
            f"{f' ({where})' if where else ''}; first at t={first[0]}, index "
            f"{list(first[1:])}: got {_fmt(float(got[first]))}, expected "
            f"{_fmt(float(expected[first]))}, reference h - v_th = {float(margin[first]):.3g}; "
            "those neurons are not compared after their flip")
    return Verdict(notes=[note], flips=flips), valid


def compare_close(
    quantity: str, got: Tensor | None, expected: Tensor, atol: float, rtol: float, *,
    valid: Tensor | None = None, where: str = "", timed: bool = True,
) -> Verdict:
    """``|got - expected| <= atol + rtol |expected|`` on the ``valid`` positions.

    ``timed`` says the first axis is time (reported as ``t``); NaN never passes.
    """
    bad = _structure(quantity, got, expected, where)
    if bad is not None:
        return bad
    assert got is not None
    g = got.detach().to(expected.dtype)
    close = (g - expected).abs() <= atol + rtol * expected.abs()
    wrong = ~close if valid is None else (~close & valid)
    index = _first(wrong)
    if index is None:
        return Verdict()
    t, rest = (index[0], index[1:]) if timed and index else (None, index)
    return Verdict(Divergence(quantity, t, rest, float(g[index]), float(expected[index]), where))


def compare_gradient(
    name: str, got: Tensor | None, expected: Tensor, tol: Tolerance, *, timed: bool
) -> Verdict:
    """A gradient within ``atol * max(1, max|g_ref|) + rtol * |g_ref|`` everywhere."""
    scale = max(1.0, float(expected.abs().max())) if expected.numel() else 1.0
    if got is not None and got.numel() == expected.numel() and got.shape != expected.shape:
        got = got.reshape(expected.shape)  # a scalar parameter stored as [1] is still a scalar
    return compare_close(f"gradient of {name}", got, expected, tol.gradient_atol * scale,
                         tol.gradient_rtol, timed=timed)


def compare_identical(quantity: str, first: Tensor, second: Tensor, where: str) -> Verdict:
    """Two runs of one input on one module must agree bit for bit (no hidden state)."""
    bad = _structure(quantity, second, first, where)
    if bad is not None:
        return bad
    differ = first.detach() != second.detach()
    index = _first(differ)
    if index is None:
        return Verdict()
    return Verdict(Divergence(quantity, index[0], index[1:], float(second[index]),
                              float(first[index]), where))


def compare_rates(got: Tensor, expected: Tensor, start: int, where: str = "") -> Verdict:
    """Firing statistics from step ``start`` on, where step-for-step comparison stops making
    sense (a chaotic model past its horizon, see :mod:`.horizon`).

    The population's mean spike count per step must agree within 10 % relative plus one spike
    in the whole window: two correct implementations of a chaotic model keep its statistics,
    not its spike times.
    """
    g = got.detach()[start:].to(expected.dtype)
    e = expected[start:]
    if e.shape[0] == 0:
        return Verdict()
    window = e.shape[0]
    rate_g, rate_e = float(g.sum()) / window, float(e.sum()) / window
    neurons = e[0].numel()
    if abs(rate_g - rate_e) > 0.1 * abs(rate_e) + 1.0 / window:
        return Verdict(Divergence(
            "firing rate", None, (), rate_g / neurons, rate_e / neurons, where,
            message=f"past the horizon (steps {start}..{start + window - 1}) the mean spikes "
                    f"per neuron and step are {rate_g / neurons:.4g}, expected "
                    f"{rate_e / neurons:.4g} (10 % allowed)"))
    return Verdict()
