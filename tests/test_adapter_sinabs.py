"""What is particular to the Sinabs adapter (the plugin-door checks are in test_adapters.py):
conformance slices, hand traces through the adapter, and the library behaviours its mapping
works around (MultiSpike, MembraneReset's cut gradient, the exp(-1/tau) decay quirk)."""

from __future__ import annotations

import math

import pytest
import torch
from conformance_subset import conformance_counts

from step.registry import get_backend

pytest.importorskip("sinabs")

BACKEND = "sinabs"


def test_conformance_slices_pass() -> None:
    counts, bad = conformance_counts(BACKEND)
    assert not bad, [(r.case, r.detail) for r in bad]
    # the ties and the native LIF cases really ran (not everything unsupported)
    assert counts["pass"] >= 20 and counts["emulated-pass"] >= 20, counts


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("spec", "spikes", "v"), [
    # tau 2: h = 0 + (2 - 0)/2 = 1, equal to th: no spike (gt); 1 + (2 - 1)/2 = 1.5 fires -> 0
    ({"kind": "lif", "tau": 2.0}, [0, 1, 0], [1.0, 0.0, 1.0]),
    # ge fires at the tie: 1 -> 0 at every step
    ({"kind": "lif", "tau": 2.0, "fire": "ge"}, [1, 1, 1], [0.0, 0.0, 0.0]),
    # soft: 1.5 - 1 = 0.5; 0.5 + (2 - 0.5)/2 = 1.25 fires -> 0.25
    ({"kind": "lif", "tau": 2.0, "reset": "soft"}, [0, 1, 1], [1.0, 0.5, 0.25]),
    # no reset: 1, 1.5, 1.75
    ({"kind": "lif", "tau": 2.0, "reset": "none"}, [0, 1, 1], [1.0, 1.5, 1.75]),
    # v_reset -0.5 (start and leak target): 0.5, 1.0 (tie: no spike), 1.25 fires -> -0.5
    ({"kind": "lif", "v_reset": -0.5}, [0, 0, 1], [0.5, 1.0, -0.5]),
])
def test_hand_trace(spec: dict, spikes: list, v: list, dtype: torch.dtype) -> None:
    neuron = get_backend(BACKEND).build_neuron(spec)
    neuron.record_v = True
    out = neuron(torch.full((3, 1, 1), 2.0, dtype=dtype))
    assert out.dtype == dtype
    assert out.flatten().tolist() == spikes
    assert neuron.v_seq.flatten().tolist() == v


def test_exp_decay_quirk_is_sinabs_tau_mem() -> None:
    """sinabs+exp_decay decays by exp(-1/tau): from rest, h = (1 - e^(-1/2)) * 2."""
    neuron = get_backend("sinabs+exp_decay").build_neuron({"kind": "lif", "tau": 2.0})
    neuron.record_v = True
    neuron(torch.full((1, 1, 1), 2.0, dtype=torch.float64))
    assert neuron.v_seq.item() == pytest.approx(2 * (1 - math.exp(-0.5)), rel=1e-12)


# -- library behaviour the adapter works around --------------------------------------------
def test_library_multispike_emits_several_spikes_per_step() -> None:
    """Why the adapter passes SingleSpike: Sinabs' default spike_fn gives trunc(v/th) spikes."""
    from sinabs.activation import MultiSpike, SingleExponential

    assert MultiSpike.apply(torch.tensor([2.5]), 1.0, SingleExponential()).item() == 2.0


def test_library_membrane_reset_cuts_the_spike_gradient() -> None:
    """Why a hard reset with detach_reset=False is emulated: MembraneReset multiplies by
    (spikes == 0).float(), which has no gradient."""
    from sinabs.activation import MembraneReset

    spikes = torch.tensor([1.0, 0.0], requires_grad=True)
    v = MembraneReset()(spikes, {"v_mem": torch.tensor([1.5, 0.5])}, 1.0)["v_mem"]
    assert v.tolist() == [0.0, 0.5] and not v.requires_grad


def test_hard_reset_gradient_flows_through_the_spike_unless_detached() -> None:
    """The emulated attached reset: dv/ds = v_reset - h reaches the input, unlike Sinabs'."""
    grads = {}
    for detach in (False, True):
        neuron = get_backend(BACKEND).build_neuron(
            {"kind": "if", "detach_reset": detach, "surrogate": "straight_through"})
        neuron.record_v = True
        x = torch.tensor([[[1.5]], [[0.0]]], requires_grad=True)
        neuron(x)
        neuron.v_seq[-1].sum().backward()
        grads[detach] = x.grad.flatten().tolist()
    # v1 = (1 - s0) * h0 (s0 = 1, h0 = 1.5), v2 = v1 + 0: dv2/dx0 = (1 - s0) - h0 * ds0/dh0
    assert grads[True] == [0.0, 1.0]
    assert grads[False] == [-1.5, 1.0]
