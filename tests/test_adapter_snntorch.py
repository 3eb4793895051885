"""What is particular to the snnTorch adapter (the shared checks are in test_adapters.py):
snnTorch's global instance list, its zero reset of a passed state above threshold, its
re-subtracting 'subtract' reset, its float32 sigmoid surrogate overflowing to NaN, its surrogate
factories and its support matrix."""

from __future__ import annotations

import pytest
import torch
from adapter_helpers import assert_gradient_is_formula, lif_levels

from step.errors import InputError
from step.registry import get_backend
from step.specs import SurrogateSpec, parse_neuron
from step.support import Level
from step.surrogates import surrogate_grad

pytest.importorskip("snntorch")

BACKEND = "snntorch"


def test_neurons_are_not_in_snntorchs_global_instance_list() -> None:
    from snntorch._neurons.neurons import SpikingNeuron

    neuron = get_backend(BACKEND).build_neuron("lif")
    assert all(n is not neuron.leaky for n in SpikingNeuron.instances)


def test_state_above_threshold_is_refused_for_the_library_zero_reset() -> None:
    neuron = get_backend(BACKEND).build_neuron({"kind": "lif"})
    x = torch.zeros(2, 1, 1)
    with pytest.raises(InputError, match="above v_threshold"):
        neuron(x, state={"v": torch.full((1, 1), 1.5)})
    # the emulated soft reset takes it: h = 1.5 + (0 - 1.5)/2 = 0.75, no spike
    soft = get_backend(BACKEND).build_neuron({"kind": "lif", "reset": "soft"})
    soft.record_v = True
    soft(x, state={"v": torch.full((1, 1), 1.5)})
    assert soft.v_seq.flatten().tolist() == [0.75, 0.375]


# -- library behaviour the adapter works around --------------------------------------------
def test_library_subtract_reset_sticks_above_threshold() -> None:
    """Why soft reset is emulated: Leaky's own 'subtract' gives 1, 0, 0 (canonical 1, 1, 0)."""
    import snntorch

    leaky = snntorch.Leaky(beta=1.0, threshold=1.0, reset_mechanism="subtract", reset_delay=False)
    mem, spikes, vs = torch.zeros(1), [], []
    for x in (2.5, 0.0, 0.0):
        spk, mem = leaky(torch.tensor([x]), mem)
        spikes.append(int(spk))
        vs.append(float(mem))
    assert spikes == [1, 0, 0] and vs == [1.5, 1.5, 1.5]


def test_library_sigmoid_surrogate_gives_nan_in_float32() -> None:
    """Why sigmoid is emulated: snnTorch's formula overflows to inf/inf; ours stays finite."""
    from snntorch import surrogate as snn_surrogate

    from step.plugins.snntorch.neurons import build_spike_grad

    x = torch.tensor([-4.0, -1.0, 0.5], requires_grad=True)
    snn_surrogate.sigmoid(slope=25)(x).sum().backward()
    assert torch.isnan(x.grad[0]) and not torch.isnan(x.grad[1:]).any()
    x.grad = None
    build_spike_grad(SurrogateSpec(kind="sigmoid", alpha=25.0), snn_surrogate)(x).sum().backward()
    torch.testing.assert_close(x.grad, surrogate_grad("sigmoid", x.detach(), 25.0))


@pytest.mark.parametrize(("kind", "alpha"), [
    ("atan", 2.0), ("atan", 0.7), ("fast_sigmoid", 25.0), ("fast_sigmoid", 1.5),
    ("straight_through", 1.0),
])
def test_native_surrogates_equal_canonical_formula(kind: str, alpha: float) -> None:
    from snntorch import surrogate as snn_surrogate

    from step.plugins.snntorch.neurons import build_spike_grad

    fn = build_spike_grad(SurrogateSpec(kind=kind, alpha=alpha), snn_surrogate)
    factory = {"straight_through": "straight_through_estimator"}.get(kind, kind)
    assert fn.__module__ == snn_surrogate.__name__  # the library's own surrogate factory
    assert fn.__qualname__ == f"{factory}.<locals>.inner"
    assert_gradient_is_formula(fn, kind, alpha)


def test_support_matrix() -> None:
    b = get_backend(BACKEND)

    def level(**kw):
        return lif_levels(BACKEND, **kw)

    assert level() == (Level.NATIVE, Level.NATIVE)
    assert level(reset="none", learn_threshold=True) == (Level.NATIVE, Level.NATIVE)
    assert level(reset="soft") == (Level.EMULATED, Level.EMULATED)
    assert level(detach_reset=True) == (Level.EMULATED, Level.EMULATED)
    assert level(v_threshold=0.1, v_reset=0.5) == (Level.EMULATED, Level.EMULATED)
    assert level(surrogate="sigmoid") == (Level.NATIVE, Level.EMULATED)
    assert level(surrogate="triangle") == (Level.NATIVE, Level.EMULATED)
    assert b.neuron_support(parse_neuron("plif")).forward is Level.EMULATED
    assert b.neuron_support(parse_neuron("if")).overall is Level.NATIVE
