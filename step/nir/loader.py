"""A NIR graph -> a torch module whose neurons are step neurons on any backend.

Each node becomes a step layer (weights as written, neurons built by the chosen backend through
the registry, as models build theirs). The graph must be feed-forward: it then runs layer by
layer over the whole sequence ``[T, B, ...]``, which equals running it step by step, since no
node sees a later node's output. nirtorch executes graphs one time step at a time with its own
state handling; step's neurons are multi-step modules, so this small executor runs them as such.
"""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from step.errors import InputError
from step.nir._neurons import from_nir_node
from step.nn.layers import SeqWrap

#: NIR node types this loader reads.
READS = ("Input", "Output", "Identity", "Affine", "Linear", "Scale", "Conv1d", "Conv2d",
         "Flatten", "AvgPool2d", "SumPool2d", "IF", "LIF", "LI")
#: Why the others are not read.
NOT_READ = {
    "CubaLIF": "how an input sample enters the synaptic current within one step is open in "
               "NIR, and snnTorch (w_in = tau_syn/dt) and Norse (w_in = 1) write it differently; "
               "see docs/nir.md",
    "CubaLI": "as CubaLIF",
    "I": "a non-leaky integrator has no step neuron",
    "Delay": "delays have no step layer",
    "Threshold": "a bare threshold has no step layer",
    "NIRGraph": "nested graphs (recurrent layers) are not run by step.nir",
}


def _tensor(a: Any) -> Tensor:
    return torch.as_tensor(np.asarray(a), dtype=torch.get_default_dtype())


def _pair(v: Any) -> tuple[int, ...] | int | str:
    if isinstance(v, str | bytes):
        return v.decode() if isinstance(v, bytes) else v
    arr = np.atleast_1d(np.asarray(v)).astype(int)
    return tuple(int(x) for x in arr) if arr.size > 1 else int(arr[0])


class _Flatten(nn.Module):
    """NIR ``Flatten`` (dims of one sample) over ``[T, B, ...]``."""

    def __init__(self, start: int, end: int) -> None:
        super().__init__()
        self.start, self.end = start, end

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start + 2, self.end + 2 if self.end >= 0 else self.end)


class _Scale(nn.Module):
    def __init__(self, scale: Tensor) -> None:
        super().__init__()
        self.register_buffer("scale", scale)

    def forward(self, x: Tensor) -> Tensor:
        return x * self.scale


def _sum_pool(kernel: Any, stride: Any, padding: Any) -> nn.Module:
    """Sum pooling: average pooling with divisor 1 (exact sums)."""
    return nn.AvgPool2d(_pair(kernel), _pair(stride), _pair(padding), divisor_override=1)


def _layer(name: str, node: Any, backend: str, dt: float) -> nn.Module:
    """The step layer of one NIR node."""
    import step.nn as snn

    kind = type(node).__name__
    if kind in ("Input", "Output", "Identity"):
        return nn.Identity()
    if kind in ("Affine", "Linear"):
        w = _tensor(node.weight)
        lin = nn.Linear(w.shape[1], w.shape[0], bias=kind == "Affine")
        with torch.no_grad():
            lin.weight.copy_(w)
            if kind == "Affine":
                lin.bias.copy_(_tensor(node.bias))
        return SeqWrap(lin)
    if kind == "Scale":
        return _Scale(_tensor(node.scale))
    if kind in ("Conv1d", "Conv2d"):
        w = _tensor(node.weight)
        cls = nn.Conv2d if kind == "Conv2d" else nn.Conv1d
        conv = cls(w.shape[1] * int(node.groups), w.shape[0], tuple(w.shape[2:]),
                   stride=_pair(node.stride), padding=_pair(node.padding),
                   dilation=_pair(node.dilation), groups=int(node.groups), bias=True)
        with torch.no_grad():
            conv.weight.copy_(w)
            conv.bias.copy_(_tensor(node.bias))
        return SeqWrap(conv)
    if kind == "Flatten":
        return _Flatten(int(node.start_dim), int(node.end_dim))
    if kind == "AvgPool2d":
        return SeqWrap(nn.AvgPool2d(_pair(node.kernel_size), _pair(node.stride),
                                    _pair(node.padding)))
    if kind == "SumPool2d":
        return SeqWrap(_sum_pool(node.kernel_size, node.stride, node.padding))
    if kind in ("IF", "LIF", "LI"):
        spec, imap = from_nir_node(name, node, dt)
        neuron = snn.Neuron(spec, backend=backend)
        return neuron if imap is None else nn.Sequential(imap, neuron)
    why = NOT_READ.get(kind, "unknown node type")
    raise InputError(f"NIR node {name!r} is a {kind}: step.nir does not read it ({why})")


class NIRNetwork(nn.Module):
    """A feed-forward NIR graph as step layers: ``[T, B, *input] -> [T, B, *output]``.

    Nodes run in topological order; a node with several incoming edges gets their sum (NIR's
    rule). ``layers[name]`` is the step layer of node ``name``; the graph's metadata is kept in
    ``metadata`` (step writes ``dt``, ``readout`` and ``encoder`` there).
    """

    def __init__(self, graph: Any, backend: str = "reference", dt: float = 1.0) -> None:
        super().__init__()
        inputs = [n for n, v in graph.nodes.items() if type(v).__name__ == "Input"]
        outputs = [n for n, v in graph.nodes.items() if type(v).__name__ == "Output"]
        if len(inputs) != 1 or len(outputs) != 1:
            raise InputError(f"the NIR graph has {len(inputs)} inputs and {len(outputs)} "
                             "outputs; step.nir runs graphs with one of each")
        self.input_name, self.output_name = inputs[0], outputs[0]
        self.input_shape = tuple(int(d) for d in np.asarray(graph.nodes[self.input_name]
                                                          .input_type["input"]).ravel())
        self.sources: dict[str, list[str]] = {n: [] for n in graph.nodes}
        for a, b in graph.edges:
            for end in (a, b):
                if end not in graph.nodes:
                    raise InputError(f"the NIR graph has an edge to a missing node {end!r}")
            self.sources[b].append(a)
        try:
            self.order = list(TopologicalSorter(self.sources).static_order())
        except CycleError as err:
            raise InputError(f"the NIR graph is recurrent (cycle through {err.args[1]}): "
                             "step.nir runs feed-forward graphs only") from None
        self.layers = nn.ModuleDict({_key(n): _layer(n, graph.nodes[n], backend, dt)
                                     for n in self.order})
        self.metadata = dict(getattr(graph, "metadata", None) or {})
        self.dt, self.backend = dt, backend

    def forward(self, x: Tensor) -> Tensor:
        if tuple(x.shape[2:]) != self.input_shape:
            raise InputError(f"the NIR graph takes [T, B, {', '.join(map(str, self.input_shape))}]"
                             f", got shape {tuple(x.shape)}")
        values: dict[str, Tensor] = {}
        for name in self.order:
            srcs = self.sources[name]
            if name == self.input_name:
                inp = x
            elif not srcs:
                continue  # a node no edge reaches computes nothing
            else:
                inp = values[srcs[0]]
                for s in srcs[1:]:
                    inp = inp + values[s]
            values[name] = self.layers[_key(name)](inp)
        return values[self.output_name]


def _key(name: str) -> str:
    """A ModuleDict key for a node name (dots are not allowed there)."""
    return name.replace(".", "_")


def from_nir(graph: Any, backend: str = "reference", dt: float | None = None) -> NIRNetwork:
    """The step network of a NIR graph, its neurons on ``backend``, Euler steps of ``dt``.

    ``dt`` defaults to the one step wrote into the graph's metadata; graphs from other
    libraries do not say theirs (snnTorch writes its time constants for dt = 1e-4, Norse for
    the dt given to its ``to_nir``), so it must be given.
    """
    if dt is None:
        meta = getattr(graph, "metadata", None) or {}
        if "dt" not in meta:
            raise InputError("the NIR graph does not say its time step: pass dt (snnTorch "
                             "exports for dt=1e-4, Norse for the dt given to to_nir)")
        dt = float(np.asarray(meta["dt"]))
    if not dt > 0:
        raise InputError(f"dt must be > 0, got {dt}")
    return NIRNetwork(graph, backend=backend, dt=dt)
