"""``step.nn.Neuron``: a neuron module from a spec, on the backend in force."""

from __future__ import annotations

from typing import Any

from step.backend import NeuronModule
from step.context import current_backend
from step.registry import get_backend
from step.specs import NeuronSpec, parse_neuron


def Neuron(  # noqa: N802
    spec: NeuronSpec | dict[str, Any] | str, backend: str | None = None, **fields: Any
) -> NeuronModule:
    """Build a multi-step spiking neuron from a spec, on a backend library or the reference.

    ``spec`` is a kind name (``"lif"``), a dict (``{"kind": "lif", "tau": 2.0}``) or a
    :class:`~step.specs.NeuronSpec`; keyword ``fields`` set or override spec fields, so
    ``Neuron("lif", tau=3.0, reset="soft")`` works. Kinds: ``if``, ``lif``, ``plif`` and the
    zoo (``alif``, ``izhikevich``, ``hh``, ...); ``step specs neurons`` lists every kind with
    its fields and defaults, docs/neurons.md which backend runs which. The backend is the
    explicit argument, else the innermost ``step.use_backend(...)`` block, else ``reference``.

    The module is multi-step and time-first: ``neuron(x)`` takes a floating-point input
    current ``[T, B, ...]`` and returns ``[T, B, ...]`` (spikes 0/1 for spiking kinds, see
    the spec's ``output``). State: every call starts from rest (``v = v_reset``), so
    sequences never leak into each other; ``neuron.last_state`` holds the final state, and
    ``neuron(x2, state=neuron.last_state)`` continues a sequence. With
    ``neuron.record_v = True`` the membrane after reset of every step is kept in
    ``neuron.v_seq``. Invalid fields raise :class:`~step.errors.SpecError` naming the field.

    >>> import torch, step.nn
    >>> lif = step.nn.Neuron({"kind": "lif", "tau": 2.0})
    >>> lif(torch.full((3, 1), 2.0)).flatten().tolist()
    [0.0, 1.0, 0.0]
    >>> step.nn.Neuron("lif", tau=4.0).spec.tau
    4.0
    """
    if fields:
        if isinstance(spec, NeuronSpec):
            base: dict[str, Any] = spec.model_dump()
        elif isinstance(spec, str):
            base = {"kind": spec}
        else:
            base = dict(spec)
        spec = {**base, **fields}
    return get_backend(backend or current_backend()).build_neuron(parse_neuron(spec))
