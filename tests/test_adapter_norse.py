"""What is particular to the Norse adapter (the shared checks are in test_adapters.py): the
support level of each surrogate path (native methods, rescaled units), the detached reset, the
IF resets and gradients IAFCell cannot give, and Norse 1.1.0's 'super' ignoring its alpha."""

from __future__ import annotations

import pytest
import torch
from adapter_helpers import grads

from step import registry
from step.errors import UnsupportedSpecError
from step.specs import parse_neuron
from step.support import Level

pytest.importorskip("norse.torch")

# Specs whose gradient Norse computes (natively or emulated), with their expected level; their
# gradients are compared with the reference in test_adapters.py (RAND_SPECS).
GRADIENT_LEVELS = [
    ({"kind": "lif", "surrogate": {"kind": "triangle", "alpha": 1.0}}, "native"),
    ({"kind": "lif", "surrogate": {"kind": "fast_sigmoid", "alpha": 1.0}, "reset": "soft"},
     "native"),
    ({"kind": "lif", "surrogate": "sigmoid", "v_reset": -0.3, "v_threshold": 0.6}, "native"),
    ({"kind": "lif", "surrogate": "gaussian", "decay_input": False}, "native"),
    ({"kind": "if", "surrogate": "triangle", "v_reset": 0.2}, "native"),
    ({"kind": "lif", "surrogate": {"kind": "triangle", "alpha": 3.0}, "tau": 3.0,
      "v_reset": -0.2, "v_threshold": 0.7}, "emulated"),
    ({"kind": "lif", "surrogate": {"kind": "sigmoid", "alpha": 1.3}, "detach_reset": True},
     "emulated"),
    ({"kind": "lif", "surrogate": {"kind": "gaussian", "alpha": 3.0}, "reset": "soft",
      "detach_reset": True}, "emulated"),
    ({"kind": "lif", "surrogate": "triangle", "reset": "none"}, "emulated"),
    ({"kind": "lif", "surrogate": "triangle", "learn_threshold": True, "reset": "soft"},
     "emulated"),
    ({"kind": "plif", "surrogate": "triangle", "tau": 3.0}, "emulated"),
    ({"kind": "plif", "surrogate": {"kind": "sigmoid", "alpha": 2.0}, "tau": 1.5,
      "decay_input": False}, "emulated"),
]


@pytest.mark.parametrize(("data", "level"), GRADIENT_LEVELS)
def test_gradient_support_levels(data: dict, level: str) -> None:
    assert registry.get_backend("norse").neuron_support(parse_neuron(data)).gradient.value == level


def test_detach_reset_changes_the_gradient() -> None:
    """The detached reset is really detached (else the two specs would give one gradient)."""
    x = torch.full((6, 1, 1), 1.3, dtype=torch.float64, requires_grad=True)
    out = []
    for detach in (False, True):
        spec = parse_neuron({"kind": "lif", "surrogate": "triangle", "detach_reset": detach})
        g = grads("norse", spec, x)[2]["x"]
        g_ref = grads("reference", spec, x)[2]["x"]
        torch.testing.assert_close(g, g_ref)
        out.append(g)
    assert not torch.allclose(out[0], out[1])


@pytest.mark.parametrize(("data", "match"), [
    ({"kind": "if", "reset": "soft"}, "soft reset is not available for IF"),
    ({"kind": "if", "reset": "none"}, "none reset is not available for IF"),
])
def test_unsupported_forward_is_refused(data: dict, match: str) -> None:
    with pytest.raises(UnsupportedSpecError, match=match):
        registry.get_backend("norse").build_neuron(data)


@pytest.mark.parametrize(("data", "match"), [
    ({"kind": "lif", "surrogate": "atan"}, "no atan surrogate"),
    ({"kind": "lif", "surrogate": "fast_sigmoid"}, r"ignores its alpha"),
    ({"kind": "if", "surrogate": "triangle", "detach_reset": True}, "cannot be detached"),
])
def test_unsupported_gradient_is_refused_but_runs_without_grad(data: dict, match: str) -> None:
    neuron = registry.get_backend("norse").build_neuron(data)
    assert neuron.support.forward is Level.NATIVE
    assert neuron.support.gradient is Level.UNSUPPORTED
    x = torch.full((3, 1, 1), 2.0, requires_grad=True)
    with pytest.raises(UnsupportedSpecError, match=match):
        neuron(x)
    with torch.no_grad():
        spikes = neuron(x).flatten().tolist()
    assert spikes == ([0.0, 1.0, 0.0] if data["kind"] == "lif" else [1.0, 1.0, 1.0])


def test_norse_super_ignores_alpha() -> None:
    """The library fact behind 'fast_sigmoid is native at alpha 1 only' (norse 1.1.0)."""
    from norse.torch.functional.threshold import threshold

    x = torch.tensor([-1.0, -0.25, 0.5, 2.0], dtype=torch.float64, requires_grad=True)
    for alpha in (1.0, 5.0, 100.0):
        (g,) = torch.autograd.grad(threshold(x, "super", alpha).sum(), x)
        torch.testing.assert_close(g, 1 / (1 + x.detach().abs()) ** 2)
