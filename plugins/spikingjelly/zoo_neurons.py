"""SpikingJelly modules of the neuron zoo (imported lazily when a zoo neuron is built).

Each class maps a zoo spec onto SpikingJelly's own functions (see
:mod:`step.plugins.spikingjelly.zoo` for which and why), keeps the state explicit (no module
memory survives a call) and reports the membrane in canonical units.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from step.fire_rule import library_threshold, library_threshold_tensor
from step.nn.base import NeuronModule, State
from step.plugins.spikingjelly.neurons import LIBRARY_RULE, build_surrogate, spec_threshold
from step.reference.gated import glif_parameters, psn_parameters
from step.specs import NeuronSpec

if TYPE_CHECKING:
    from step.backend import Backend


class _Zoo(NeuronModule):
    """Shared set-up: the library's functional module and the mapped surrogate."""

    def __init__(self, spec: NeuronSpec, backend: Backend) -> None:
        super().__init__(spec, backend.name)
        self._functional = backend.import_library("spikingjelly.activation_based.functional")
        surrogate_module = backend.import_library("spikingjelly.activation_based.surrogate")
        self.surrogate_function = build_surrogate(spec.surrogate, surrogate_module)

    def _v0(self, x: Tensor, state: State | None, key: str = "v", rest: float = 0.0) -> Tensor:
        return state[key].to(x.dtype) if state is not None else torch.full_like(x[0], rest)


class EIF(_Zoo):
    """functional.eif_multi_step; decay_input=False is fed x*tau."""

    def run(self, x: Tensor, state: State | None, record_v: bool):
        spec = self.spec
        xs = x if spec.decay_input else x * spec.tau
        v_reset = float(spec.v_reset) if spec.reset == "hard" else None
        s, v_last, v_seq = self._functional.eif_multi_step(
            xs, self._v0(x, state, rest=spec.v_rest), float(spec.tau),
            spec_threshold(spec, x.dtype), v_reset, float(spec.v_rest),
            float(spec.theta_rh), float(spec.delta_t), spec.detach_reset,
            self.surrogate_function, record_v)
        return s, v_seq, {"v": v_last}


class KLIF(_Zoo):
    """functional.klif_step per step with the module's learnable k."""

    def __init__(self, spec: NeuronSpec, backend: Backend) -> None:
        super().__init__(spec, backend)
        self.k = nn.Parameter(torch.tensor(1.0))

    def run(self, x: Tensor, state: State | None, record_v: bool):
        spec = self.spec
        v = self._v0(x, state, rest=spec.v_reset)
        th = spec_threshold(spec, x.dtype)
        v_reset = float(spec.v_reset) if spec.reset == "hard" else None
        xs = x
        if spec.reset == "soft" and spec.v_reset != 0.0:  # the library's soft KLIF leaks to 0
            xs = x + (spec.v_reset if spec.decay_input else spec.v_reset / spec.tau)
        spikes, vs = [], []
        for xt in xs.unbind(0):
            s, v = self._functional.klif_step(xt, v, self.k, float(spec.tau), spec.decay_input,
                                              False, th, v_reset, self.surrogate_function,
                                              spec.detach_reset)
            spikes.append(s)
            vs.append(v)
        return torch.stack(spikes), (torch.stack(vs) if record_v else None), {"v": v}


class ILIF(_Zoo):
    """functional.ilif_multi_step with MultiLevelSpikeCount(D); NILIF divides the count by D."""

    def __init__(self, spec: NeuronSpec, backend: Backend) -> None:
        super().__init__(spec, backend)
        self.surrogate_function = backend.import_library(
            "spikingjelly.activation_based.surrogate").MultiLevelSpikeCount(spec.max_spikes)

    def run(self, x: Tensor, state: State | None, record_v: bool):
        spec = self.spec
        xs = x / spec.tau if spec.decay_input else x
        if spec.round_ties == "even":  # torch.round's own ties, as the spec asks
            unit = float(spec.v_threshold)
        else:
            # torch.round rounds half levels to even, which is neither rule: nudge the unit one
            # ulp up (gt: a tie rounds down) or down (ge: a tie rounds up) so no tie remains.
            unit = library_threshold(spec.v_threshold, x.dtype, spec.fire,
                                     "ge" if spec.fire == "gt" else "gt")
        c, v_last, v_seq = self._functional.ilif_multi_step(
            xs, self._v0(x, state), float(spec.tau), unit,
            self.surrogate_function, spec.detach_reset, record_v)
        out = c / spec.max_spikes if spec.kind == "nilif" else c
        return out.to(x.dtype), v_seq, {"v": v_last}


class CLIF(_Zoo):
    """functional.clif_step per step; the complementary potential m is part of the state."""

    def run(self, x: Tensor, state: State | None, record_v: bool):
        spec = self.spec
        v, m = self._v0(x, state), self._v0(x, state, "m")
        th = spec_threshold(spec, x.dtype)
        spikes, vs = [], []
        for xt in x.unbind(0):
            s, v, m = self._functional.clif_step(xt, v, m, float(spec.tau), th,
                                                 self.surrogate_function)
            spikes.append(s)
            vs.append(v)
        return torch.stack(spikes), (torch.stack(vs) if record_v else None), {"v": v, "m": m}


class GLIF(_Zoo):
    """functional.gated_lif_step per step, with this module's raw (pre-sigmoid) parameters.

    The parameters are named as in SpikingJelly's GatedLIFNode and start at the canonical
    values (gates at init_gate instead of the library's random draw).
    """

    def __init__(self, spec: NeuronSpec, backend: Backend) -> None:
        super().__init__(spec, backend)
        for name, value in glif_parameters(spec, torch.get_default_dtype()).items():
            self.register_parameter(name, nn.Parameter(value))

    def run(self, x: Tensor, state: State | None, record_v: bool):
        spec = self.spec
        v, s = self._v0(x, state), self._v0(x, state, "s")
        t0 = int(state["t"]) if state is not None else 0
        if t0 + x.shape[0] > spec.T:
            from step.errors import InputError

            raise InputError(f"glif: steps {t0}..{t0 + x.shape[0] - 1} go past T={spec.T}; set "
                             "T to the sequence length")
        g = {k: torch.sigmoid(getattr(self, k)) for k in
             ("alpha", "beta", "gamma", "tau", "linear_decay", "v_subreset")}
        th = torch.sigmoid(self.v_threshold)
        # the fire rule: one ulp off where it differs, the gradient still reaching the raw value
        th = library_threshold_tensor(th, spec.fire, LIBRARY_RULE)
        spikes, vs = [], []
        for i, xt in enumerate(x.unbind(0)):
            s_prev = s.detach() if spec.detach_reset else s
            s, v = self._functional.gated_lif_step(
                xt, v, s_prev, g["alpha"], g["beta"], g["gamma"], g["tau"], th,
                g["linear_decay"], g["v_subreset"], torch.sigmoid(self.conduct[t0 + i]),
                self.surrogate_function)
            spikes.append(s)
            vs.append(v)
        t = torch.tensor(t0 + x.shape[0], device=x.device)
        return torch.stack(spikes), (torch.stack(vs) if record_v else None), \
            {"v": v, "s": s, "t": t}


class PSN(_Zoo):
    """SpikingJelly's neuron.PSN; W identity unless init_weight keeps the library's draw."""

    def __init__(self, spec: NeuronSpec, backend: Backend) -> None:
        super().__init__(spec, backend)
        neuron = backend.import_library("spikingjelly.activation_based.neuron")
        self.psn = neuron.PSN(spec.T, self.surrogate_function)
        with torch.no_grad():
            # init_weight="kaiming_uniform" keeps the library's own draw (nn.Linear's)
            if spec.init_weight == "identity":
                self.psn.weight.copy_(psn_parameters(spec, torch.get_default_dtype())["weight"])
            self.psn.bias.fill_(-spec.v_threshold)

    def run(self, x: Tensor, state: State | None, record_v: bool):
        from step.errors import InputError

        if state is not None:
            raise InputError("psn has no state across calls: call it on the whole sequence")
        if x.shape[0] != self.spec.T:
            raise InputError(f"psn: the input has {x.shape[0]} steps but T={self.spec.T}")
        spikes = self.psn(x)
        h = torch.addmm(self.psn.bias, self.psn.weight, x.flatten(1)).view(x.shape)
        if self.spec.fire == "gt":  # SpikingJelly fires at h >= 0: drop the ties at exactly 0
            spikes = spikes - (h == 0).to(spikes.dtype)
        return spikes, (h if record_v else None), {"v": h[-1]}


class CUBA(_Zoo):
    """functional.cuba_lif_step per step: c = c*c_decay + x, h = v*v_decay + c."""

    def run(self, x: Tensor, state: State | None, record_v: bool):
        spec = self.spec
        k = 1.0 / spec.tau if spec.decay_input else 1.0  # SpikingJelly adds c undivided
        v, c = self._v0(x, state), self._v0(x, state, "i") * k
        th = spec_threshold(spec, x.dtype)
        v_reset = 0.0 if spec.reset == "hard" else None
        spikes, vs = [], []
        for xt in (x * k).unbind(0):
            s, c, v = self._functional.cuba_lif_step(
                xt, c, v, 1.0 - 1.0 / spec.tau_syn, 1.0 - 1.0 / spec.tau, th, v_reset,
                self.surrogate_function, spec.detach_reset)
            spikes.append(s)
            vs.append(v)
        return torch.stack(spikes), (torch.stack(vs) if record_v else None), \
            {"v": v, "i": c / k}


class LI(_Zoo):
    """NonSpikingLIFNode's own charge, v = v + (x - v)/tau, stepped with an explicit v."""

    def __init__(self, spec: NeuronSpec, backend: Backend) -> None:
        super().__init__(spec, backend)
        neuron = backend.import_library("spikingjelly.activation_based.neuron")
        self.node = neuron.NonSpikingLIFNode(tau=float(spec.tau))

    def run(self, x: Tensor, state: State | None, record_v: bool):
        xs = x if self.spec.decay_input else x * self.spec.tau
        node, vs = self.node, []
        node.v = self._v0(x, state)
        for xt in xs.unbind(0):
            node.neuronal_charge(xt)
            vs.append(node.v)
        v = node.v
        node.v = None  # no graph kept in the library's module between calls
        out = torch.stack(vs)
        return out, (out if record_v else None), {"v": v}


#: zoo kind -> module class.
MODULES: dict[str, Any] = {"eif": EIF, "klif": KLIF, "ilif": ILIF, "nilif": ILIF, "clif": CLIF,
                           "glif": GLIF, "psn": PSN, "cuba_lif": CUBA, "li": LI}
