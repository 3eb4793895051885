"""Norse modules of the neuron zoo (imported lazily): CUBA LIF, LI and ALIF (LSNN).

The equations are Norse's feed-forward step functions; this module maps parameters, units
(``v' = scale * v`` where the surrogate needs it) and state variables to and from canonical
ones, as documented in :mod:`step.plugins.norse.zoo`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from step.nn.base import NeuronModule, State
from step.specs import NeuronSpec

from . import quiet_import
from .mapping import NorsePlan
from .neurons import norse_threshold

with quiet_import():
    from norse.torch.functional.leaky_integrator import (
        LIParameters,
        LIState,
        li_feed_forward_step,
    )
    from norse.torch.functional.lif import (
        LIFFeedForwardState,
        LIFParameters,
        lif_feed_forward_step,
    )
    from norse.torch.functional.lsnn import (
        LSNNFeedForwardState,
        LSNNParameters,
        lsnn_feed_forward_step,
    )


class _NorseZoo(NeuronModule):
    def __init__(self, spec: NeuronSpec, plan: NorsePlan) -> None:
        super().__init__(spec, "norse")
        self.plan = plan
        self.v_threshold: float | nn.Parameter = (
            nn.Parameter(torch.tensor(spec.v_threshold)) if spec.learn_threshold
            else spec.v_threshold)

    def _in(self, x: Tensor) -> Tensor:
        """The input in Norse's units: times the scale, times tau without input decay."""
        k = self.plan.scale * (1.0 if self.spec.decay_input else self.spec.tau)
        return x * k if k != 1.0 else x


class CUBA(_NorseZoo):
    def run(self, x: Tensor, state: State | None, record_v: bool):
        spec, c = self.spec, self.plan.scale
        keep = 1.0 - 1.0 / spec.tau_syn  # Norse stores i after its decay
        unit = c * (1.0 if spec.decay_input else spec.tau)  # input (and current) scale
        p = LIFParameters(tau_syn_inv=1.0 / spec.tau_syn,
                          tau_mem_inv=1.0 / spec.tau,
                          v_leak=spec.v_reset * c,
                          v_th=norse_threshold(self.v_threshold * c, spec, x.dtype),
                          v_reset=spec.v_reset * c, method=self.plan.method,
                          alpha=self.plan.alpha)
        if state is None:
            st: Any = LIFFeedForwardState(v=torch.full_like(x[0], spec.v_reset * c),
                                          i=torch.zeros_like(x[0]))
        else:
            st = LIFFeedForwardState(v=state["v"] * c, i=state["i"] * (keep * unit))
        spikes, vs = [], []
        for xt in self._in(x).unbind(0):
            z, st = lif_feed_forward_step(xt, st, p, dt=1.0)
            spikes.append(z)
            vs.append(st.v / c)
        final = {"v": st.v / c, "i": st.i / (keep * unit)}
        return torch.stack(spikes), (torch.stack(vs) if record_v else None), final


class LI(_NorseZoo):
    def run(self, x: Tensor, state: State | None, record_v: bool):
        spec = self.spec
        p = LIParameters(tau_syn_inv=1.0, tau_mem_inv=1.0 / spec.tau, v_leak=spec.v_reset)
        v = state["v"] if state is not None else torch.full_like(x[0], spec.v_reset)
        st: Any = LIState(v=v, i=torch.zeros_like(x[0]))
        vs = []
        for xt in self._in(x).unbind(0):
            out, st = li_feed_forward_step(xt, st, p, dt=1.0)
            vs.append(out)
        seq = torch.stack(vs)
        return seq, (seq if record_v else None), {"v": st.v}


class ALIF(_NorseZoo):
    def run(self, x: Tensor, state: State | None, record_v: bool):
        spec, c = self.spec, self.plan.scale
        beta_norse = spec.beta / (1.0 - 1.0 / spec.tau_adapt)
        th = self.v_threshold * c
        p = LSNNParameters(tau_syn_inv=1.0,
                           tau_mem_inv=1.0 / spec.tau,
                           tau_adapt_inv=1.0 / spec.tau_adapt,
                           v_leak=spec.v_reset * c, v_th=th,
                           v_reset=spec.v_reset * c,
                           beta=beta_norse * c, method=self.plan.method,
                           alpha=self.plan.alpha)
        zero = torch.zeros_like(x[0])
        if state is None:
            v, b = torch.full_like(x[0], spec.v_reset * c), zero + th
        else:
            v, b = state["v"] * c, th + state["a"] * (beta_norse * c)
        spikes, vs = [], []
        for xt in self._in(x).unbind(0):
            # x[t] goes into the (flushed) synaptic current, which this step's voltage reads
            z, st = lsnn_feed_forward_step(zero, LSNNFeedForwardState(v=v, i=xt, b=b), p, dt=1.0)
            v, b = st.v, st.b
            spikes.append(z)
            vs.append(v / c)
        final = {"v": v / c, "a": (b - th) / (beta_norse * c)}
        return torch.stack(spikes), (torch.stack(vs) if record_v else None), final


MODULES: dict[str, Any] = {"cuba_lif": CUBA, "li": LI, "alif": ALIF}
