"""What is particular to the SpikingJelly adapter (the shared checks are in test_adapters.py):
its own ``>=`` at an exact tie, its surrogate classes, its support matrix, deepcopy of a used
neuron, and its refusal of a learnable threshold."""

from __future__ import annotations

import copy

import pytest
import torch
from adapter_helpers import assert_gradient_is_formula, lif_levels

from step.errors import UnsupportedSpecError
from step.registry import get_backend
from step.specs import SurrogateSpec, parse_neuron
from step.support import Level

pytest.importorskip("spikingjelly")

BACKEND = "spikingjelly"


def test_library_itself_fires_at_threshold() -> None:
    """Why the adapter normalises: SpikingJelly on its own emits [1, 1, 1] here."""
    from spikingjelly.activation_based import functional, surrogate

    x = torch.full((3, 1), 2.0)
    s, _, _ = functional.lif_multi_step(x, torch.zeros(1), 2.0, True, 1.0, 0.0, surrogate.ATan())
    assert s.flatten().tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize(("kind", "alpha"), [
    ("atan", 2.0), ("atan", 0.7), ("sigmoid", 4.0), ("sigmoid", 9.0), ("triangle", 1.0),
    ("triangle", 2.5), ("rectangle", 1.5), ("gaussian", 2.0), ("gaussian", 0.6),
    ("straight_through", 1.0), ("fast_sigmoid", 2.0), ("fast_sigmoid", 1.0),
])
def test_native_surrogates_equal_canonical_formula(kind: str, alpha: float) -> None:
    from spikingjelly.activation_based import surrogate as sj_surrogate

    from step.plugins.spikingjelly.neurons import build_surrogate

    spec = SurrogateSpec(kind=kind, alpha=alpha)
    module = build_surrogate(spec, sj_surrogate)
    assert type(module).__module__ == sj_surrogate.__name__  # the library's own class
    assert_gradient_is_formula(module, kind, alpha)


def test_support_matrix() -> None:
    b = get_backend(BACKEND)

    def level(**kw):
        return lif_levels(BACKEND, **kw)

    assert level() == (Level.NATIVE, Level.NATIVE)
    assert level(reset="soft", detach_reset=True) == (Level.NATIVE, Level.NATIVE)
    assert level(reset="none") == (Level.EMULATED, Level.EMULATED)
    assert level(surrogate={"kind": "fast_sigmoid", "alpha": 2.0}) == (Level.NATIVE, Level.NATIVE)
    assert level(surrogate="fast_sigmoid") == (Level.NATIVE, Level.EMULATED)  # alpha 25
    assert level(learn_threshold=True) == (Level.UNSUPPORTED, Level.UNSUPPORTED)
    assert b.neuron_support(parse_neuron("plif")).forward is Level.NATIVE


def test_neuron_can_be_copied_after_a_call() -> None:
    neuron = get_backend(BACKEND).build_neuron({"kind": "lif", "surrogate": "triangle"})
    x = torch.full((3, 1, 1), 2.0)
    neuron(x)
    assert copy.deepcopy(neuron)(x).flatten().tolist() == [0.0, 1.0, 0.0]


def test_learnable_threshold_is_refused() -> None:
    with pytest.raises(UnsupportedSpecError, match="no learnable threshold"):
        get_backend(BACKEND).build_neuron({"kind": "lif", "learn_threshold": True})
