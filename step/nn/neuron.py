"""``step.nn.Neuron``: a neuron module from a spec, on the backend in force."""

from __future__ import annotations

from typing import Any

from step.backend import NeuronModule
from step.context import current_backend
from step.registry import get_backend
from step.specs import NeuronSpec, parse_neuron


def Neuron(spec: NeuronSpec | dict[str, Any] | str, backend: str | None = None) -> NeuronModule:  # noqa: N802
    """Build a multi-step neuron from ``spec`` on ``backend``.

    The backend is the explicit argument, else the innermost ``step.use_backend(...)`` block,
    else ``reference``.

    >>> import torch, step.nn
    >>> lif = step.nn.Neuron({"kind": "lif", "tau": 2.0})
    >>> lif(torch.full((3, 1), 2.0)).flatten().tolist()
    [0.0, 1.0, 0.0]
    """
    return get_backend(backend or current_backend()).build_neuron(parse_neuron(spec))
