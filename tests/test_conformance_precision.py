"""A declared coarse gradient precision is reported, not hidden and not failed; undeclared fails."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch import Tensor

from step import hookimpl
from step.conformance.cases import catalogue
from step.conformance.policy import Status
from step.conformance.runner import run_suite
from step.reference.backend import ReferenceBackend
from step.reference.neurons import ReferenceNeuron
from step.registry import get_backend, register_plugin, unregister_plugin


class _RoundGrad(torch.autograd.Function):
    """Identity forward; the backward rounds the gradient to float32, as a library might."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:  # type: ignore[override]
        return x.clone()

    @staticmethod
    def backward(ctx, g: Tensor) -> Tensor:  # type: ignore[override]
        return g.float().to(g.dtype)


class Float32Gradient(ReferenceNeuron):
    def run(self, x: Tensor, state: dict | None, record_v: bool):  # noqa: ANN201
        return super().run(_RoundGrad.apply(x), state, record_v)


def _plugin(name: str, declare: bool) -> object:
    class Backend(ReferenceBackend):
        def neuron_support(self, spec):  # noqa: ANN001, ANN201
            support = super().neuron_support(spec)
            if declare:
                return replace(support, gradient_precision="float32",
                               precision_how="this test library rounds gradients to float32")
            return support

        def _build_neuron(self, spec, support):  # noqa: ANN001, ANN201
            return Float32Gradient(spec)

    Backend.name = name

    class Plugin:
        @hookimpl
        def step_backends(self) -> list[ReferenceBackend]:
            return [Backend()]

    return Plugin()


@pytest.mark.parametrize("declare", [True, False])
def test_declared_precision(declare: bool) -> None:
    name = f"f32grad-{declare}"
    register_plugin(_plugin(name, declare), name)
    try:
        lif = [c for c in catalogue(["float64"]) if c.spec.kind == "lif"]
        cases = [c for c in lif if c.aspect != "forward"][:6]
        cases += [c for c in lif if c.aspect == "forward"][:2]
        report = run_suite([get_backend(name)], cases)
    finally:
        unregister_plugin(name)
    grads = [r for r in report.results if r.case.aspect != "forward"]
    assert grads
    if declare:
        assert all(r.status in (Status.PASS, Status.PASS_NOTED) for r in report.results)
        noted = [r for r in grads if r.status is Status.PASS_NOTED]
        assert noted and "rounds gradients to float32 (declared by the adapter)" in noted[0].detail
    else:
        assert any(r.status is Status.FAIL for r in grads)
