"""BrainCog's own nodes run over time-first sequences (imported lazily by the BrainCog backend).

The equations are BrainCog's (``LIFNode``, ``IFNode``, ``PLIFNode``: ``integral`` then
``calc_spike``, one call per step); this module maps parameters and units (see
:mod:`step.plugins.braincog.mapping`), loops the node over T and converts the membrane to and
from canonical units. It imports no BrainCog module itself: the backend imports them through
``Backend.import_library`` (one clear error if broken) and passes them in, so collecting this
file (doctests) never pays BrainCog's import.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import ModuleType
from typing import Any

import torch
from torch import Tensor, nn

from step.backend import State
from step.plugins._adapter import LibraryNeuron, fire_threshold
from step.specs import NeuronSpec
from step.surrogates import surrogate_grad

from .mapping import BrainCogPlan


@functools.cache
def _extension_classes(surrogates: ModuleType) -> tuple[type, type]:
    """SurrogateFunctionBase subclasses: step's surrogate, and BrainCog's straight-through.

    BrainCog ships its straight-through estimator only as an autograd Function taking no
    alpha; every node expects a SurrogateFunctionBase, so it is wrapped (the maths stays
    BrainCog's). Step's surrogate is the emulated path: the spike is still BrainCog's own
    ``heaviside`` (made strict as ``1 - heaviside(-x)``, which is ``x > 0``), only the backward
    is step's formula.
    """
    base = surrogates.SurrogateFunctionBase
    straight_through_estimator = surrogates.straight_through_estimator
    heaviside = surrogates.heaviside

    class _Fire(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x: Tensor, kind: str, alpha: float,  # type: ignore[override]
                    rule: str) -> Tensor:
            ctx.save_for_backward(x)
            ctx.kind, ctx.alpha = kind, alpha
            # BrainCog's step: heaviside is x >= 0 (ge); 1 - heaviside(-x) is x > 0 (gt)
            return heaviside(x) if rule == "ge" else 1 - heaviside(-x)

        @staticmethod
        def backward(ctx, grad: Tensor):  # type: ignore[override]  # noqa: ANN205
            (x,) = ctx.saved_tensors
            return grad * surrogate_grad(ctx.kind, x, ctx.alpha), None, None, None

    class StepSurrogate(base):  # type: ignore[misc, valid-type]
        """step's surrogate formula plugged into BrainCog's act_fun extension point."""

        def __init__(self, kind: str, alpha: float, rule: str = "gt") -> None:
            super().__init__(alpha, requires_grad=False)
            self.kind, self.alpha_value, self.rule = kind, alpha, rule

        def forward(self, x: Tensor) -> Tensor:
            return _Fire.apply(x, self.kind, self.alpha_value, self.rule)

    class StraightThrough(base):  # type: ignore[misc, valid-type]
        """BrainCog's straight_through_estimator (fires at x >= 0, gradient 1)."""

        @staticmethod
        def act_fun(x: Tensor, alpha: Tensor) -> Tensor:
            return straight_through_estimator.apply(x)

    return StepSurrogate, StraightThrough


def library_rule(plan: BrainCogPlan) -> str:
    """The comparison of the plan's spike function (BrainCog's rule depends on the surrogate)."""
    return "ge" if plan.fires_at_equality else "gt"


def braincog_threshold(value: float, spec: NeuronSpec, plan: BrainCogPlan, like: Tensor) -> Tensor:
    """``value`` as a tensor like ``like``, nudged so that the plan's spike function fires by
    the spec's rule."""
    th = fire_threshold(value, spec.fire, like.dtype, library_rule(plan))
    return torch.tensor(th, dtype=like.dtype, device=like.device)


def act_fun_factory(plan: BrainCogPlan, spec: NeuronSpec, surrogates: ModuleType) -> Callable:
    """The ``act_fun`` argument of a BrainCog node.

    BrainCog's constructors call ``act_fun(alpha=2., requires_grad=...)`` with a hard-coded
    alpha (PLIFNode even with requires_grad=True, which trains AtanGrad's alpha): the factory
    ignores both and builds the planned surrogate with the spec's alpha, never trainable.
    """
    step_cls, ste_cls = _extension_classes(surrogates)

    def make(alpha: float = 2.0, requires_grad: bool = False) -> nn.Module:
        if plan.surrogate == "step":
            return step_cls(spec.surrogate.kind, plan.alpha, spec.fire)
        if plan.surrogate == "straight_through_estimator":
            return ste_cls(1.0, requires_grad=False)
        return getattr(surrogates, plan.surrogate)(alpha=plan.alpha, requires_grad=False)

    return make


class BrainCogNeuron(LibraryNeuron):
    """IF, LIF and PLIF as BrainCog nodes called once per time step (BrainCog's default mode).

    BrainCog keeps ``mem`` on the node; it is cleared with ``n_reset()`` before every call (the
    reset contract). The last ``mem`` stays on the node until the next call, as the module's
    ``last_state`` keeps it anyway (clearing it again after each call cost ~4 % of a tiny model).
    PLIF's ``w`` is the node's own (``node.w``) and a learnt threshold ``node.threshold``.
    """

    def __init__(
        self, spec: NeuronSpec, plan: BrainCogPlan, nodes: ModuleType, surrogates: ModuleType
    ) -> None:
        super().__init__(spec, "braincog", owns_w=False)
        self.plan = plan
        self.library_rule = library_rule(plan)
        kwargs: dict[str, Any] = {
            "threshold": spec.v_threshold - spec.v_reset,
            "act_fun": act_fun_factory(plan, spec, surrogates),
            "requires_thres_grad": spec.learn_threshold,
        }
        if spec.kind in ("lif", "plif"):
            kwargs["tau"] = spec.tau
        self.node = getattr(nodes, plan.node)(**kwargs)
        # (dtype, device) the threshold was last set for: it is recomputed only when they change
        self._threshold_for: tuple[torch.dtype, torch.device] | None = None

    def _set_threshold(self, like: Tensor) -> None:
        """BrainCog's threshold (th - v_reset) in the input's dtype, one ulp off where the
        spike function's rule differs from the spec's (:mod:`step.fire_rule`).

        A learnt threshold is left to training (the plan never pairs it with a differing rule).
        """
        if self.spec.learn_threshold or self._threshold_for == (like.dtype, like.device):
            return
        self._threshold_for = (like.dtype, like.device)
        th = self.fire_threshold(self.spec.v_threshold - self.spec.v_reset, like.dtype)
        self.node.threshold.data = torch.tensor(th, dtype=like.dtype, device=like.device)

    def drive(self, x: Tensor) -> Tensor:
        spec = self.spec
        if spec.kind == "if" or spec.decay_input:
            return x
        if spec.kind == "plif":
            return x / torch.sigmoid(self.node.w)
        return x * spec.tau

    # -- the LibraryNeuron loop: the carry is the node, whose mem is v - v_reset ------------
    def start(self, x: Tensor, state: State | None) -> nn.Module:
        node = self.node
        self._set_threshold(x)
        node.n_reset()
        if state is not None:
            node.mem = state["v"] - self.spec.v_reset
        return node

    def step(self, x_t: Tensor, node: nn.Module) -> tuple[Tensor, nn.Module]:
        # BrainCog's strict surrogates return float32 spikes whatever the input: the skeleton
        # casts them back (the values are 0 and 1, exact in every float dtype)
        return node(x_t), node

    def membrane(self, node: nn.Module) -> Tensor:
        return node.mem + self.spec.v_reset

    def final_state(self, node: nn.Module) -> State:
        v_reset = self.spec.v_reset
        return {"v": node.mem + v_reset if v_reset else node.mem}
