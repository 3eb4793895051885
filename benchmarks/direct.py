"""The same LIF layer written directly against each library: no step code in between.

These are what the adapters are measured against. Each builder returns a function
``run(x [T, B, N]) -> spikes`` that starts from rest, with a LIF of the given tau and threshold,
reset to 0, detached reset, and the library's ATan surrogate (alpha 2); Norse 1.1.0 has no
ATan, so its LIF uses its SuperSpike method (STEP's fast_sigmoid with alpha 1): see SURROGATE.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

Runner = Callable[[Tensor], Tensor]


def spikingjelly(tau: float = 2.0, threshold: float = 1.0) -> tuple[Runner, torch.nn.Module]:
    from spikingjelly.activation_based import functional, neuron, surrogate

    node = neuron.LIFNode(tau=tau, decay_input=True, v_threshold=threshold, v_reset=0.0,
                          detach_reset=True, surrogate_function=surrogate.ATan(), step_mode="m")

    def run(x: Tensor) -> Tensor:
        functional.reset_net(node)
        return node(x)

    return run, node


def snntorch(tau: float = 2.0, threshold: float = 1.0) -> tuple[Runner, torch.nn.Module]:
    import snntorch as snn

    leaky = snn.Leaky(beta=1 - 1 / tau, threshold=threshold, reset_mechanism="zero",
                      reset_delay=False, spike_grad=snn.surrogate.atan())

    def run(x: Tensor) -> Tensor:
        mem = torch.zeros_like(x[0])
        out = []
        for xt in (x / tau).unbind(0):
            spk, mem = leaky(xt, mem)
            out.append(spk)
        return torch.stack(out)

    return run, leaky


def norse(tau: float = 2.0, threshold: float = 1.0) -> tuple[Runner, torch.nn.Module]:
    from norse.torch import LIFBoxCell, LIFBoxParameters

    cell = LIFBoxCell(LIFBoxParameters(tau_mem_inv=torch.tensor(1 / tau), v_leak=torch.tensor(0.0),
                                       v_th=torch.tensor(threshold), v_reset=torch.tensor(0.0),
                                       method="super"),
                      dt=1.0)

    def run(x: Tensor) -> Tensor:
        state, out = None, []
        for xt in x.unbind(0):
            z, state = cell(xt, state)
            out.append(z)
        return torch.stack(out)

    return run, cell


def braincog(tau: float = 2.0, threshold: float = 1.0) -> tuple[Runner, torch.nn.Module]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from braincog.base.node.node import LIFNode
        from braincog.base.strategy.surrogate import AtanGrad

    node = LIFNode(threshold=threshold, tau=tau, act_fun=AtanGrad)

    def run(x: Tensor) -> Tensor:
        node.n_reset()
        return torch.stack([node(xt) for xt in x.unbind(0)])

    return run, node


#: The neutral surrogate each direct LIF computes (for a like-for-like comparison with step).
SURROGATE: dict[str, dict] = {
    "spikingjelly": {"kind": "atan", "alpha": 2.0}, "snntorch": {"kind": "atan", "alpha": 2.0},
    "braincog": {"kind": "atan", "alpha": 2.0}, "norse": {"kind": "fast_sigmoid", "alpha": 1.0},
}

LIBRARIES: dict[str, Callable[..., tuple[Runner, torch.nn.Module]]] = {
    "spikingjelly": spikingjelly, "snntorch": snntorch, "norse": norse, "braincog": braincog,
}
