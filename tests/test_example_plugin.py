"""The third-party example under examples/ is discovered through its entry point and used."""

from __future__ import annotations

import importlib.metadata
import os

import pytest
import torch

from step.errors import UnsupportedSpecError
from step.registry import backend_statuses, get_backend
from step.trace import trace

try:
    importlib.metadata.version("step-numpy-backend")
    INSTALLED = True
except importlib.metadata.PackageNotFoundError:
    INSTALLED = False
    if os.environ.get("CI"):
        raise RuntimeError("CI must install examples/step-numpy-backend (see the Makefile)")  # noqa: B904

pytestmark = pytest.mark.skipif(
    not INSTALLED, reason="pip install -e examples/step-numpy-backend (make setup does)"
)


def test_discovered_like_any_plugin() -> None:
    status = backend_statuses()["numpy"]
    assert status.available and status.plugin == "numpy"
    assert status.library == "numpy" and status.version == importlib.metadata.version("numpy")


@pytest.mark.parametrize("reset", ["hard", "soft", "none"])
def test_used_for_a_trace(reset: str) -> None:
    spec = {"kind": "lif", "tau": 2.0, "reset": reset}
    assert trace(spec, [2.0, 2.0, 2.0], backend="numpy") == trace(spec, [2.0, 2.0, 2.0])


def test_declares_what_it_cannot_do() -> None:
    backend = get_backend("numpy")
    with pytest.raises(UnsupportedSpecError, match="only if and lif, not plif"):
        backend.build_neuron("plif")
    neuron = backend.build_neuron("if")
    with pytest.raises(UnsupportedSpecError, match="NumPy has no automatic differentiation"):
        neuron(torch.ones(3, 1, requires_grad=True))
