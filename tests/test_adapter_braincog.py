"""What is particular to the BrainCog adapter (the shared checks are in test_adapters.py): its
quiet first import, its float32 spikes, PLIF's surrogate alpha left untrained, its always
detached reset, the resets it lacks, and the support level of each surrogate path."""

from __future__ import annotations

import importlib.util
import sys
import warnings

import pytest
import torch

from step import registry
from step.errors import UnsupportedSpecError
from step.plugins.braincog import BrainCogBackend
from step.specs import parse_neuron
from step.support import Level

if importlib.util.find_spec("braincog") is None:
    pytest.skip("braincog is not installed", allow_module_level=True)

BACKEND = "braincog"


def test_first_import_is_quiet() -> None:
    """BrainCog's import noise (timm deprecations, registry overwrites) is silenced, nothing else.

    Runs first in this file (and this file before test_adapters.py), so that it pays BrainCog's
    one import of the session.
    """
    if "braincog" in sys.modules:
        pytest.skip("braincog was already imported by an earlier test")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nodes, surrogates = BrainCogBackend().import_modules()
    assert nodes.LIFNode and surrogates.AtanGrad
    assert [str(w.message) for w in caught] == []


# Specs whose gradient BrainCog computes (all need detach_reset=True), with the expected level;
# their gradients are compared with the reference in test_adapters.py (RAND_SPECS, detached).
GRADIENT_LEVELS = [
    ({"kind": "lif", "surrogate": "atan"}, "native"),
    ({"kind": "lif", "surrogate": {"kind": "triangle", "alpha": 3.0}, "tau": 3.0,
      "v_reset": -0.2, "v_threshold": 0.7}, "native"),
    ({"kind": "lif", "surrogate": {"kind": "sigmoid", "alpha": 1.5}, "decay_input": False},
     "native"),
    ({"kind": "lif", "surrogate": "rectangle"}, "native"),
    ({"kind": "lif", "surrogate": "straight_through", "v_reset": 0.25}, "native"),
    ({"kind": "if", "surrogate": "atan", "v_threshold": 0.8}, "native"),
    ({"kind": "plif", "surrogate": "atan", "tau": 3.0}, "native"),
    ({"kind": "lif", "surrogate": "atan", "learn_threshold": True, "v_reset": -0.3}, "native"),
    ({"kind": "lif", "surrogate": {"kind": "rectangle", "alpha": 0.7}}, "emulated"),
    ({"kind": "lif", "surrogate": "fast_sigmoid", "tau": 1.5}, "emulated"),
    ({"kind": "if", "surrogate": "gaussian"}, "emulated"),
    ({"kind": "plif", "surrogate": "sigmoid", "tau": 3.0, "decay_input": False}, "emulated"),
    ({"kind": "lif", "surrogate": "sigmoid", "learn_threshold": True, "v_reset": 0.2},
     "emulated"),
]


@pytest.mark.parametrize(("data", "level"), GRADIENT_LEVELS)
def test_gradient_support_levels(data: dict, level: str) -> None:
    spec = parse_neuron(data | {"detach_reset": True})
    assert registry.get_backend(BACKEND).neuron_support(spec).gradient.value == level


def test_plif_trains_w_and_never_the_surrogate_alpha() -> None:
    """BrainCog's PLIFNode builds AtanGrad with requires_grad=True; the adapter must not."""
    neuron = registry.get_backend(BACKEND).build_neuron(
        {"kind": "plif", "tau": 3.0, "detach_reset": True})
    assert [n for n, p in neuron.named_parameters() if p.requires_grad] == ["node.w"]
    neuron(torch.full((5, 2, 3), 1.5)).sum().backward()
    assert neuron.node.w.grad is not None and neuron.node.w.grad != 0
    assert neuron.node.act_fun.alpha.grad is None


def test_float64_spikes_although_braincog_returns_float32() -> None:
    nodes, _ = BrainCogBackend().import_modules()
    raw = nodes.LIFNode(threshold=1.0, tau=2.0, act_fun="AtanGrad")
    assert raw(torch.ones(2, dtype=torch.float64)).dtype == torch.float32  # the library's quirk
    neuron = registry.get_backend(BACKEND).build_neuron("lif").double()
    assert neuron(torch.ones(3, 2, dtype=torch.float64)).dtype == torch.float64


@pytest.mark.parametrize(("data", "match"), [
    ({"kind": "lif", "reset": "soft"}, "soft reset does not exist"),
    ({"kind": "if", "reset": "none"}, "none reset does not exist"),
])
def test_unsupported_forward_is_refused(data: dict, match: str) -> None:
    with pytest.raises(UnsupportedSpecError, match=match):
        registry.get_backend(BACKEND).build_neuron(data)


@pytest.mark.parametrize("kind", ["if", "lif", "plif"])
def test_undetached_reset_gradient_is_refused_but_runs_without_grad(kind: str) -> None:
    neuron = registry.get_backend(BACKEND).build_neuron({"kind": kind, "detach_reset": False})
    assert neuron.support.forward is Level.NATIVE
    assert neuron.support.gradient is Level.UNSUPPORTED
    x = torch.full((3, 1, 1), 2.0, requires_grad=True)
    with pytest.raises(UnsupportedSpecError, match="always detaches the reset"):
        neuron(x)
    with torch.no_grad():  # IF: h = 2 fires every step; LIF/PLIF: 1 (equal), 1.5, 1
        assert neuron(x).flatten().tolist() == ([1, 1, 1] if kind == "if" else [0, 1, 0])
