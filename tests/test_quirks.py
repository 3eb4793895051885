"""Library quirks as named switches (``NAME+QUIRK``): each reproduces its library as shipped.

Expected values are the libraries' documented behaviour worked by hand (see
shared/reference/backends.md), never the adapter's own output.
"""

from __future__ import annotations

import math

import pytest
import torch

from step.errors import SpecError
from step.registry import get_backend
from step.specs import parse_neuron


def _spikes(backend: str, spec: dict, x: list[float]) -> list[float]:
    neuron = get_backend(backend).build_neuron(spec)
    with torch.no_grad():
        return neuron(torch.tensor(x).reshape(-1, 1, 1)).flatten().tolist()


def test_names_carry_their_quirks_and_as_shipped_expands() -> None:
    plain = get_backend("braincog")
    assert plain.active_quirks == () and plain.name == "braincog"
    shipped = get_backend("braincog+as-shipped")
    assert shipped.active_quirks == tuple(plain.quirks)
    assert shipped.name == "braincog+" + "+".join(plain.quirks)
    assert get_backend("braincog").active_quirks == ()  # the registry's instance is untouched


def test_unknown_quirk_is_one_clear_error() -> None:
    with pytest.raises(SpecError, match="has no quirk 'bogus': its quirks are"):
        get_backend("snntorch+bogus")


def test_snntorch_subtract_resubtracts() -> None:
    """IF, threshold 1, soft reset, input 2.5, 0, 0. Canonical: h = 2.5 fires (v = 1.5), h =
    1.5 fires (v = 0.5), h = 0.5 does not: [1, 1, 0]. snnTorch as shipped re-subtracts the
    threshold before firing while the membrane stays above it: [1, 0, 0] (backends.md)."""
    spec = {"kind": "if", "reset": "soft"}
    assert _spikes("snntorch", spec, [2.5, 0.0, 0.0]) == [1.0, 1.0, 0.0]
    assert _spikes("snntorch+subtract_resubtracts", spec, [2.5, 0.0, 0.0]) == [1.0, 0.0, 0.0]


@pytest.mark.parametrize("backend", ["snntorch", "norse"])
def test_strict_libraries_fire_at_gt_as_shipped(backend: str) -> None:
    """LIF tau 2 at input 2 sits on the threshold every step from rest: ge fires [1, 1, 1];
    the library's own strict rule gives [0, 1, 0]."""
    spec = {"kind": "lif", "tau": 2.0, "fire": "ge",
            "surrogate": {"kind": "sigmoid", "alpha": 4.0}}
    assert _spikes(backend, spec, [2.0, 2.0, 2.0]) == [1.0, 1.0, 1.0]
    assert _spikes(f"{backend}+library_fire_rule", spec, [2.0, 2.0, 2.0]) == [0.0, 1.0, 0.0]


def test_spikingjelly_fires_at_ge_as_shipped() -> None:
    spec = {"kind": "lif", "tau": 2.0, "fire": "gt"}
    assert _spikes("spikingjelly", spec, [2.0, 2.0, 2.0]) == [0.0, 1.0, 0.0]
    assert _spikes("spikingjelly+library_fire_rule", spec, [2.0, 2.0, 2.0]) == [1.0, 1.0, 1.0]


def test_braincog_ignores_the_surrogate_alpha_as_shipped() -> None:
    """One IF step at h - v_th = 0.25 with sigmoid(alpha=4): ds/dx is the sigmoid surrogate
    alpha sig(alpha x)(1 - sig(alpha x)); BrainCog as shipped uses alpha = 2."""
    def expected(alpha: float) -> float:
        sig = 1.0 / (1.0 + math.exp(-alpha * 0.25))
        return alpha * sig * (1.0 - sig)

    spec = {"kind": "if", "detach_reset": True, "surrogate": {"kind": "sigmoid", "alpha": 4.0}}
    for backend, alpha in (("braincog", 4.0), ("braincog+surrogate_alpha_2", 2.0)):
        neuron = get_backend(backend).build_neuron(spec).double()
        x = torch.tensor([[[1.25]]], dtype=torch.float64, requires_grad=True)
        neuron(x).sum().backward()
        assert x.grad.item() == pytest.approx(expected(alpha), rel=1e-6), backend


def test_braincog_always_detaches_as_shipped() -> None:
    """detach_reset=False has no BrainCog gradient; as shipped, BrainCog runs it detached."""
    spec = parse_neuron({"kind": "lif", "detach_reset": False})
    assert get_backend("braincog").neuron_support(spec).gradient.value == "unsupported"
    shipped = get_backend("braincog+always_detached_reset")
    support = shipped.neuron_support(spec)
    assert support.gradient.value != "unsupported"
    assert support.forward_how.startswith("as shipped: BrainCog's nodes reset")
    assert shipped.build_neuron(spec).spec.detach_reset is True


def test_a_quirk_that_changes_nothing_is_not_announced() -> None:
    """SpikingJelly already fires at ge for a ge spec: no 'as shipped' note."""
    spec = parse_neuron({"kind": "lif", "fire": "ge"})
    how = get_backend("spikingjelly+library_fire_rule").neuron_support(spec).forward_how
    assert "as shipped" not in how
