"""Norse's own cells run over time-first sequences (imported lazily by the Norse backend).

The equations are Norse's (``lif_box_feed_forward_step``, ``iaf_feed_forward_step``); this
module only maps parameters and units (see :mod:`step.plugins.norse.mapping`), loops the cell
over T, and converts the membrane to and from canonical units. The backend imports norse
through ``Backend.import_library`` before importing this module, so a broken install fails
there with one clear line.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from step.backend import State
from step.plugins._adapter import LibraryNeuron, fire_threshold
from step.specs import NeuronSpec

from . import quiet_import
from .mapping import NorsePlan

with quiet_import():
    from norse.torch import IAFCell, IAFParameters, LIFBoxCell, LIFBoxParameters
    from norse.torch.functional.iaf import IAFFeedForwardState
    from norse.torch.functional.lif_box import LIFBoxFeedForwardState
    from norse.torch.functional.reset import reset_subtract, reset_value


def _detached(reset_method: Any) -> Any:
    """A Norse reset method with the spike detached inside the reset (detach_reset=True)."""

    def reset(z: Tensor, v: Tensor, v_reset: Any, v_th: Any) -> Tensor:
        return reset_method(z.detach(), v, v_reset, v_th)

    return reset


def _no_reset(z: Tensor, v: Tensor, v_reset: Any, v_th: Any) -> Tensor:
    """reset='none': the membrane keeps its charged value."""
    return v


#: Norse's heaviside is strict (``x > 0``).
LIBRARY_RULE = "gt"


def norse_threshold(v_th: Any, spec: NeuronSpec, dtype: torch.dtype) -> Any:
    """``v_th`` (Norse units) as Norse must see it to fire by the spec's rule: Norse compares
    strictly (``gt``), so ``fire="ge"`` moves it one ulp down (:mod:`step.fire_rule`)."""
    if spec.fire == "gt" and not isinstance(v_th, Tensor):
        return v_th
    return fire_threshold(v_th, spec.fire, dtype, LIBRARY_RULE)


class NorseNeuron(LibraryNeuron):
    """IF (IAFCell), LIF and PLIF (LIFBoxCell) stepped over the leading time axis.

    A fresh cell is made per call: its parameters hold PLIF's ``sigmoid(w)`` and a learnt
    threshold, which must enter each call's graph (and no graph is kept between calls).
    """

    library_rule = LIBRARY_RULE

    def __init__(self, spec: NeuronSpec, plan: NorsePlan) -> None:
        super().__init__(spec, "norse", owns_threshold=True)
        self.plan = plan
        if not spec.learn_threshold:
            self.v_threshold: float | nn.Parameter = spec.v_threshold

    def _scaled(self, value: Any) -> Any:
        c = self.plan.scale
        return value * c if c != 1.0 else value

    def _reset_method(self) -> Any:
        if self.spec.reset == "none":
            return _no_reset
        method = reset_value if self.spec.reset == "hard" else reset_subtract
        return _detached(method) if self.spec.detach_reset else method

    def make_cell(self, dtype: torch.dtype) -> nn.Module:
        """Norse's cell with the spec's parameters in the units v' = scale * v, the threshold
        nudged one ulp down in ``dtype`` for ``fire="ge"`` (Norse's heaviside is strict)."""
        spec, plan = self.spec, self.plan
        v_th, v_r = norse_threshold(self._scaled(self.v_threshold), spec, dtype), \
            self._scaled(spec.v_reset)
        if spec.kind == "if":
            p = IAFParameters(v_th=v_th, v_reset=v_r, method=plan.method, alpha=plan.alpha)
            return IAFCell(p, dt=1.0)
        inv_tau = torch.sigmoid(self.w) if spec.kind == "plif" else 1.0 / spec.tau
        p = LIFBoxParameters(
            tau_mem_inv=inv_tau, v_leak=v_r, v_th=v_th, v_reset=v_r,
            method=plan.method, alpha=plan.alpha, reset_method=self._reset_method(),
        )
        return LIFBoxCell(p, dt=1.0)

    def drive(self, x: Tensor) -> Tensor:
        """x in Norse's units: times the scale, and times tau when the input is not decayed."""
        spec = self.spec
        if spec.kind == "if" or spec.decay_input:
            return self._scaled(x)
        if spec.kind == "plif":
            return x * (self.plan.scale / torch.sigmoid(self.w))
        return x * (spec.tau * self.plan.scale)

    # -- the LibraryNeuron loop: the carry is (cell, Norse state) ---------------------------
    def start(self, x: Tensor, state: State | None) -> tuple[nn.Module, Any]:
        cell = self.make_cell(x.dtype)
        v = self._scaled(state["v"]) if state is not None else torch.full_like(
            x[0], self._scaled(self.spec.v_reset))
        norse_state: Any = (IAFFeedForwardState(v=v) if self.spec.kind == "if"
                            else LIFBoxFeedForwardState(v=v))
        return cell, norse_state

    def step(self, x_t: Tensor, carry: tuple[nn.Module, Any]) -> tuple[Tensor, Any]:
        cell, norse_state = carry
        z, norse_state = cell(x_t, norse_state)
        return z, (cell, norse_state)

    def membrane(self, carry: tuple[nn.Module, Any]) -> Tensor:
        v, c = carry[1].v, self.plan.scale
        return v / c if c != 1.0 else v
