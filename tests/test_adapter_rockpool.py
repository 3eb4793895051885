"""What is particular to the Rockpool adapter (the plugin-door checks are in test_adapters.py):
conformance slices, hand traces through the adapter, and the library behaviours its mapping
works around (multi-spike counts, the vmem state of batch element 0, the global RNG draw)."""

from __future__ import annotations

import pytest
import torch
from conformance_subset import conformance_counts

from step.errors import UnsupportedSpecError
from step.registry import get_backend

pytest.importorskip("rockpool")

BACKEND = "rockpool"


def test_conformance_slices_pass() -> None:
    counts, bad = conformance_counts(BACKEND)
    assert not bad, [(r.case, r.detail) for r in bad]
    assert counts["pass"] >= 15, counts  # the ties and the soft-reset LIF cases really ran


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("spec", "inputs", "spikes", "v"), [
    # soft, tau 2: h = 1 (tie: no spike), 1.5 fires -> 0.5, 0.5 + (2 - 0.5)/2 = 1.25 -> 0.25
    ({"kind": "lif", "tau": 2.0, "reset": "soft"}, [2.0] * 3, [0, 1, 1], [1.0, 0.5, 0.25]),
    # ge fires at the tie: h = 1 -> 0, then the same
    ({"kind": "lif", "tau": 2.0, "reset": "soft", "fire": "ge"}, [2.0] * 3, [1, 1, 1],
     [0.0, 0.0, 0.0]),
    # IF soft leaving the membrane above threshold: 2.5 -> 1.5, 1.5 fires again -> 0.5
    ({"kind": "if", "reset": "soft"}, [2.5, 0.0, 0.0], [1, 1, 0], [1.5, 0.5, 0.5]),
    # leak towards v_reset = -1 (bias v_reset/tau): h = -1 + 3/2 = 0.5 > 0.25 -> 0.25;
    # 0.25 + (3 - 1.25)/2 = 1.125 -> 0.875; 0.875 + (3 - 1.875)/2 = 1.4375 -> 1.1875
    ({"kind": "lif", "tau": 2.0, "reset": "soft", "v_reset": -1.0, "v_threshold": 0.25},
     [3.0] * 3, [1, 1, 1], [0.25, 0.875, 1.1875]),
])
def test_hand_trace(spec: dict, inputs: list, spikes: list, v: list, dtype: torch.dtype) -> None:
    neuron = get_backend(BACKEND).build_neuron(spec)
    neuron.record_v = True
    out = neuron(torch.tensor(inputs, dtype=dtype).view(3, 1, 1))
    assert out.dtype == dtype
    assert out.flatten().tolist() == spikes
    # for fire="gt" the reset subtracts the threshold nudged one ulp up (Rockpool fires and
    # resets with the same tensor): one ulp of 1.0 per spike
    ulp = torch.finfo(dtype).eps
    assert neuron.v_seq.flatten().tolist() == pytest.approx(v, abs=2 * ulp, rel=0)


def test_hard_reset_is_refused_with_the_reason() -> None:
    with pytest.raises(UnsupportedSpecError, match="only subtract the threshold"):
        get_backend(BACKEND).build_neuron("lif")


def test_each_batch_element_keeps_its_own_state_and_nothing_leaks() -> None:
    """Rockpool keeps batch element 0's membrane only; the adapter's state is per element and
    each call starts from rest. IF soft, threshold 1 (gt), inputs 0.25 and 0.5 twice: 0.5 and
    1.0 (a tie: no spike)."""
    neuron = get_backend(BACKEND).build_neuron({"kind": "if", "reset": "soft"})
    x = torch.tensor([[0.25], [0.5]]).expand(2, 2, 1)  # T = 2, B = 2
    neuron(x)
    assert neuron.last_state["v"].flatten().tolist() == [0.5, 1.0]
    neuron(x)  # from rest again: the same membrane
    assert neuron.last_state["v"].flatten().tolist() == [0.5, 1.0]
    # continued: 0.5 + 0.25 + 0.25 = 1.0 (tie); 1.0 + 0.5 = 1.5 fires -> 0.5, + 0.5 = 1.0
    neuron(x, state=neuron.last_state)
    assert neuron.last_state["v"].flatten().tolist() == pytest.approx([1.0, 1.0], abs=1e-6)


def test_the_callers_random_stream_is_untouched() -> None:
    """Rockpool draws its (zero-scaled) membrane noise from torch's global generator."""
    neuron = get_backend(BACKEND).build_neuron({"kind": "lif", "reset": "soft"})
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    neuron(torch.ones(4, 2, 3))
    assert torch.equal(torch.rand(3), expected)


# -- library behaviour the adapter works around --------------------------------------------
def test_library_counts_several_spikes_per_step() -> None:
    """Why the adapter sets max_spikes_per_dt=1: StepPWL gives floor(v/th) spikes."""
    from rockpool.nn.modules.torch.lif_neuron_torch import StepPWL

    v, th = torch.tensor([2.5]), torch.tensor([1.0])
    assert StepPWL.apply(v, th, torch.tensor(0.5), torch.tensor(2.0**16)).item() == 2.0
    assert StepPWL.apply(v, th, torch.tensor(0.5), torch.tensor(1.0)).item() == 1.0
