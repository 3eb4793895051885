"""Backends broken on purpose, for the tests that prove the conformance suite can fail.

Each faulty backend is the reference backend with one thing wrong, registered through the
plugin system like a third-party backend (:func:`registered`) and judged by the real runner.
:func:`first_failure` runs a list of cases and stops at the first one that fails, so a test
that expects a fault to be caught pays only until it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import torch
from torch import Tensor

from step import hookimpl
from step.backend import Backend, NeuronModule, State
from step.conformance.cases import Case
from step.conformance.expect import Expected, expected
from step.conformance.policy import Status
from step.conformance.runner import CaseResult, run_case
from step.reference.backend import ReferenceBackend
from step.registry import get_backend, register_plugin, unregister_plugin
from step.specs import NeuronSpec

_EXPECTED: dict[str, Expected] = {}


def cached_expected(case: Case) -> Expected:
    """The oracle's answer, computed once per case for every faulty backend of the session."""
    if case.id not in _EXPECTED:
        _EXPECTED[case.id] = expected(case)
    return _EXPECTED[case.id]


@contextmanager
def registered(backend: Backend) -> Iterator[Backend]:
    """Register ``backend`` through a plugin for the duration of the block."""

    class Plugin:
        @hookimpl
        def step_backends(self) -> list[Backend]:
            return [backend]

    name = f"faulty-plugin-{backend.name}"
    register_plugin(Plugin(), name)
    try:
        yield get_backend(backend.name)
    finally:
        unregister_plugin(name)


def first_failure(backend: Backend, cases: Iterable[Case]) -> CaseResult | None:
    """The first case that ``backend`` fails (an error counts), or None if it passes all."""
    with registered(backend) as b:
        for case in cases:
            result = run_case(b, case, cached_expected(case))
            if result.status.failed:
                return result
    return None


class SpecFault(ReferenceBackend):
    """Builds the reference neuron of ``transform(spec)``: a backend that misreads a field."""

    def __init__(self, name: str, transform: Callable[[NeuronSpec], NeuronSpec]) -> None:
        self.name = name
        self.transform = transform

    def _build_neuron(self, spec, support):
        return super()._build_neuron(self.transform(spec), support)


class Wrapper(NeuronModule):
    """A reference neuron behind ``around(inner, x, state, record_v)``: layout faults."""

    def __init__(self, inner: NeuronModule, around: Callable) -> None:
        super().__init__(inner.spec, "faulty")
        self.inner = inner
        self.around = around

    def run(self, x: Tensor, state: State | None, record_v: bool):
        return self.around(self.inner, x, state, record_v)


class WrapFault(ReferenceBackend):
    """The reference neuron, wrapped (``wrap(neuron) -> module``) after it is built."""

    def __init__(self, name: str, wrap: Callable[[NeuronModule], NeuronModule]) -> None:
        self.name = name
        self.wrap = wrap

    def _build_neuron(self, spec, support):
        return self.wrap(super()._build_neuron(spec, support))


def scale_gradient(parameter: str, factor: float) -> Callable[[NeuronModule], NeuronModule]:
    """A wrap that multiplies the gradient reaching one named parameter by ``factor``."""

    def wrap(neuron: NeuronModule) -> NeuronModule:
        p = dict(neuron.named_parameters())[parameter]
        p.register_hook(lambda g: g * factor)
        return neuron

    return wrap


def call_inner(inner: NeuronModule, x: Tensor, state: State | None, record_v: bool):
    inner.record_v = record_v
    s = inner(x, state=state)
    return s, inner.v_seq, inner.last_state


def flattens_transposed(inner, x, state, record_v):
    """[T, B, C, ...] flattened channel-last but unflattened channel-first."""
    if x.dim() <= 3:
        return call_inner(inner, x, state, record_v)
    T, B = x.shape[:2]
    s, v, last = call_inner(inner, x.movedim(2, -1).reshape(T, B, -1), None, record_v)
    return (s.reshape(x.shape), None if v is None else v.reshape(x.shape),
            {k: t.reshape(x.shape[1:]) if t.dim() else t for k, t in last.items()})


def reads_storage(inner, x, state, record_v):
    """Reads the input's memory as if it were contiguous (a C kernel given a view)."""
    raw = torch.as_strided(x, x.shape, torch.empty(x.shape).stride(), x.storage_offset())
    return call_inner(inner, raw, state, record_v)


def failing_status(result: CaseResult | None) -> bool:
    return result is not None and result.status in (Status.FAIL, Status.ERROR)


def run_sequence(
    step: Callable[[Tensor, Tensor], tuple[Tensor, Tensor]], x: Tensor, v0: Tensor,
    record_v: bool = False,
) -> tuple[Tensor, Tensor | None, Tensor]:
    """Loop a faulty neuron's own ``step(x[t], v) -> (s, v)`` over time: (spikes [T,...],
    v_seq or None, v_last)."""
    spikes, vs = [], []
    v = v0
    # unbind, not x[t]: each x[t] would give the backward a full-size zero tensor (O(T^2))
    for xt in x.unbind(0):
        s, v = step(xt, v)
        spikes.append(s)
        if record_v:
            vs.append(v)
    return torch.stack(spikes), (torch.stack(vs) if record_v else None), v
