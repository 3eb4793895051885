"""BrainCog's IzhNode run over time-first sequences (imported lazily, like neurons.py)."""

from __future__ import annotations

from types import ModuleType

import torch
from torch import Tensor

from step.nn.base import NeuronModule, State
from step.specs import NeuronSpec

from .mapping import BrainCogPlan
from .neurons import act_fun_factory, braincog_threshold


class BrainCogIzhikevich(NeuronModule):
    """IzhNode called once per step; its ``mem`` and ``u`` are set from the state and cleared
    after the call (the reset contract: nothing survives in the library's module)."""

    def __init__(
        self, spec: NeuronSpec, plan: BrainCogPlan, nodes: ModuleType, surrogates: ModuleType
    ) -> None:
        super().__init__(spec, "braincog")
        self.plan = plan
        self.node = nodes.IzhNode(
            threshold=spec.v_threshold, act_fun=act_fun_factory(plan, spec, surrogates),
            requires_thres_grad=spec.learn_threshold, a=spec.a, b=spec.b, c=spec.v_reset,
            d=spec.d, dt=spec.dt)

    def _set_threshold(self, like: Tensor) -> None:
        """The peak in the input's dtype, one ulp off where the spike function's rule differs
        from the spec's."""
        if self.spec.learn_threshold:
            return
        self.node.threshold.data = braincog_threshold(self.spec.v_threshold, self.spec,
                                                      self.plan, like)

    def run(self, x: Tensor, state: State | None, record_v: bool):
        spec, node = self.spec, self.node
        self._set_threshold(x)
        node.n_reset()
        if state is None:
            node.mem = torch.full_like(x[0], spec.initial_v)
            node.u = torch.full_like(x[0], spec.b * spec.initial_v)
        else:
            node.mem, node.u = state["v"], state["u"]
        spikes, vs = [], []
        for xt in x.unbind(0):
            spikes.append(node(xt).to(x.dtype))
            if record_v:
                vs.append(node.mem)
        final = {"v": node.mem, "u": node.u}
        node.n_reset()
        return torch.stack(spikes), (torch.stack(vs) if record_v else None), final
