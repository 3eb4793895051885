"""The fire rule (``NeuronSpec.fire``) on libraries whose own rule differs.

A spec fires on ``h > v_th`` (``gt``) or ``h >= v_th`` (``ge``). A library compares with one
fixed rule: SpikingJelly ``>=``; snnTorch, Norse and BrainCog's strict surrogates ``>``. IEEE-754
makes the conversion exact without touching the library: for finite floats of one dtype,
``h >= nextafter(th, +inf)`` iff ``h > th``, and ``h > nextafter(th, -inf)`` iff ``h >= th``.
So an adapter hands its library the threshold one ulp away, in the input's dtype, and the
library's own comparison then fires exactly as the spec says (still ``native``).

Side effects, stated in each adapter's ``how``: a soft reset done by the library subtracts the
nudged threshold (one ulp of ``v_th`` more or less per spike), and the surrogate is evaluated at
``h - th`` one ulp off, far below any gradient tolerance.

Nothing here imports torch at module level: support decisions (no torch) use :func:`nudge_how`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import torch
    from torch import Tensor

Rule = Literal["gt", "ge"]


def _direction(rule: str, library_rule: str) -> float:
    """+inf (nudge up), -inf (nudge down) or 0 (the rules agree)."""
    if rule not in ("gt", "ge") or library_rule not in ("gt", "ge"):
        raise ValueError(f"fire rules are gt or ge, got {rule!r} and {library_rule!r}")
    if rule == library_rule:
        return 0.0
    return math.inf if rule == "gt" else -math.inf


def nudge_how(rule: str, library_rule: str) -> str:
    """How the adapter makes a library with ``library_rule`` fire as ``rule`` ("" if it agrees)."""
    direction = _direction(rule, library_rule)
    if direction == 0.0:
        return ""
    symbol = ">=" if library_rule == "ge" else ">"
    sign = "+inf" if direction > 0 else "-inf"
    return (f"threshold nudged to nextafter(v_threshold, {sign}) in the input's dtype, so the "
            f"library's {symbol} fires as fire={rule}")


def library_threshold(v_threshold: float, dtype: torch.dtype, rule: str,
                      library_rule: str) -> float:
    """The threshold (a Python float exactly representable in ``dtype``) to hand a library
    comparing with ``library_rule`` so that it fires as ``rule``.

    The threshold is rounded to ``dtype`` first, as torch does when it subtracts a Python float
    from a tensor of that dtype.
    """
    import torch

    th = torch.tensor(v_threshold, dtype=dtype)
    direction = _direction(rule, library_rule)
    if direction != 0.0:
        th = torch.nextafter(th, torch.tensor(direction, dtype=dtype))
    return float(th)


def library_threshold_tensor(th: Tensor, rule: str, library_rule: str) -> Tensor:
    """The same for a tensor threshold (a learnt one): nudged in value, while the gradient
    flows to ``th`` unchanged (the nudge is a detached constant)."""
    import torch

    direction = _direction(rule, library_rule)
    if direction == 0.0:
        return th
    target = torch.full_like(th.detach(), direction)
    return th + (torch.nextafter(th.detach(), target) - th.detach())
