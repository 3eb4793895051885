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

from step.fire_rule import library_threshold, library_threshold_tensor
from step.nn.base import NeuronModule, State
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


def norse_threshold(v_th: Any, spec: NeuronSpec, dtype: torch.dtype) -> Any:
    """``v_th`` (Norse units) as Norse must see it to fire by the spec's rule: Norse compares
    strictly (``gt``), so ``fire="ge"`` moves it one ulp down (:mod:`step.fire_rule`)."""
    if isinstance(v_th, Tensor):
        return library_threshold_tensor(v_th, spec.fire, "gt")
    if spec.fire == "gt":
        return v_th
    return library_threshold(v_th, dtype, spec.fire, "gt")


class NorseNeuron(NeuronModule):
    """IF (IAFCell), LIF and PLIF (LIFBoxCell) stepped over the leading time axis.

    A fresh cell is made per call: its parameters hold PLIF's ``sigmoid(w)`` and a learnt
    threshold, which must enter each call's graph (and no graph is kept between calls).
    """

    def __init__(self, spec: NeuronSpec, plan: NorsePlan) -> None:
        super().__init__(spec, "norse")
        self.plan = plan
        self.v_threshold: float | nn.Parameter
        if spec.learn_threshold:
            self.v_threshold = nn.Parameter(torch.tensor(spec.v_threshold))
        else:
            self.v_threshold = spec.v_threshold
        if spec.kind == "plif":
            # 1/tau = sigmoid(w), w0 = -ln(tau - 1): the reference's parameterisation
            self.w = nn.Parameter(torch.tensor(spec.initial_w))

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

    def _input(self, x: Tensor) -> Tensor:
        """x in Norse's units: times the scale, and times tau when the input is not decayed."""
        spec = self.spec
        if spec.kind == "if" or spec.decay_input:
            return self._scaled(x)
        if spec.kind == "plif":
            return x * (self.plan.scale / torch.sigmoid(self.w))
        return x * (spec.tau * self.plan.scale)

    def run(self, x: Tensor, state: State | None, record_v: bool):
        cell = self.make_cell(x.dtype)
        c = self.plan.scale
        v = self._scaled(state["v"]) if state is not None else torch.full_like(
            x[0], self._scaled(self.spec.v_reset))
        norse_state: Any = (IAFFeedForwardState(v=v) if self.spec.kind == "if"
                            else LIFBoxFeedForwardState(v=v))
        xs = self._input(x)
        spikes, vs = [], []
        # unbind, not xs[t]: indexing would give the backward a full-size zero tensor per step
        for xt in xs.unbind(0):
            z, norse_state = cell(xt, norse_state)
            spikes.append(z)
            if record_v:
                vs.append(norse_state.v / c if c != 1.0 else norse_state.v)
        v_last = norse_state.v / c if c != 1.0 else norse_state.v
        return torch.stack(spikes), (torch.stack(vs) if record_v else None), {"v": v_last}
