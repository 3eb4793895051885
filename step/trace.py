"""The response of one neuron to one input sequence: what ``step trace`` shows.

A person checks dynamics by hand with this: one neuron, a handful of steps, the spikes and the
membrane after reset at each step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from step.specs import NeuronSpec


class Trace(NamedTuple):
    spikes: list[float | int]
    v: list[float]


def trace(
    spec: NeuronSpec | dict[str, Any] | str,
    inputs: Sequence[float],
    backend: str = "reference",
    dtype: str = "float64",
) -> Trace:
    """Run ``spec`` on ``backend`` over ``inputs`` (one neuron, batch 1)."""
    import torch

    from step.registry import get_backend

    torch_dtype = getattr(torch, dtype)
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch_dtype)  # parameters start from exact values in float64 too
    try:
        neuron = get_backend(backend).build_neuron(spec)
    finally:
        torch.set_default_dtype(before)
    neuron.record_v = True
    neuron.to(torch_dtype)
    x = torch.tensor(list(inputs), dtype=torch_dtype).view(-1, 1, 1)
    with torch.no_grad():
        s = neuron(x)
    assert neuron.v_seq is not None
    spikes = [int(v) if float(v).is_integer() else float(v) for v in s.flatten().tolist()]
    return Trace(spikes, [float(v) for v in neuron.v_seq.flatten().tolist()])
