"""What is particular to the BrainPy adapter, the first backend outside torch (the
plugin-door checks are in test_adapters.py; a model's outputs and gradients on it against the
reference's are in test_models_backends.py): conformance slices, hand traces through the
torch <-> JAX bridge in both dtypes, its gradients (input, PLIF's w, a learnt threshold), and
the library behaviour its mapping works around (Lif's detach_spk)."""

from __future__ import annotations

import pytest
import torch
from conformance_subset import conformance_counts

from step.registry import get_backend

pytest.importorskip("brainpy")

BACKEND = "brainpy"


def test_conformance_slices_pass() -> None:
    # float32 only: each spec compiles its own JAX functions (the suite's float64 cases run in
    # `step conformance`)
    counts, bad = conformance_counts(BACKEND, ("*-tie1-*", "lif-tau5*/random/*"),
                                     dtypes=("float32",))
    assert not bad, [(r.case, r.detail) for r in bad]
    assert counts["pass"] >= 15, counts


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("spec", "spikes", "v"), [
    # tau 2: h = 1 (tie: no spike for gt), 1.5 fires -> 0, 1
    ({"kind": "lif", "tau": 2.0}, [0, 1, 0], [1.0, 0.0, 1.0]),
    ({"kind": "lif", "tau": 2.0, "detach_reset": True}, [0, 1, 0], [1.0, 0.0, 1.0]),
    # ge fires at the tie
    ({"kind": "lif", "tau": 2.0, "fire": "ge"}, [1, 1, 1], [0.0, 0.0, 0.0]),
    # no reset: 1, 1.5, 1.75
    ({"kind": "lif", "tau": 2.0, "reset": "none"}, [0, 1, 1], [1.0, 1.5, 1.75]),
    # no input decay (R = tau): h = v - v/2 + 2: 2 fires -> 0, 2 -> 0, 2 -> 0
    ({"kind": "lif", "tau": 2.0, "decay_input": False}, [1, 1, 1], [0.0, 0.0, 0.0]),
])
def test_hand_trace(spec: dict, spikes: list, v: list, dtype: torch.dtype) -> None:
    neuron = get_backend(BACKEND).build_neuron(spec)
    neuron.record_v = True
    out = neuron(torch.full((3, 1, 1), 2.0, dtype=dtype))
    assert out.dtype == dtype and neuron.v_seq.dtype == dtype
    assert out.flatten().tolist() == spikes
    assert neuron.v_seq.flatten().tolist() == v


def test_float64_is_computed_in_float64() -> None:
    """x64 JAX: a charge of 0.1 three times (tau 2, decay_input) keeps float64 precision."""
    neuron = get_backend(BACKEND).build_neuron({"kind": "lif", "tau": 2.0})
    neuron.record_v = True
    neuron(torch.full((3, 1, 1), 0.2, dtype=torch.float64))
    v = 0.0
    for _ in range(3):  # the Euler step as BrainPy writes it: v + (-v + 0 + 1 * x) / tau
        v = v + (-v + 0.0 + 0.2) / 2.0
    assert neuron.v_seq[-1].item() == v


@pytest.mark.parametrize("detach", [False, True])
def test_gradient_through_jax(detach: bool) -> None:
    """LIF tau 2, hard reset, atan (alpha 2: g(u) = 1/(1 + (pi u)^2)), x = [2, 2] from rest,
    loss = s0 + s1 + v1. h0 = 1 (tie, no spike), v0 = h0 - h0 * s0; h1 = v0 + (x1 - v0)/2 =
    1.5 fires, v1 = h1 - h1 * s1 = 0. With the reset attached (a = 1) or detached (a = 0):
    dL/dh1 = g(0.5) - a * 1.5 * g(0.5); dL/dh0 = g(0) + dL/dh1 * 1/2 * (1 - a * 1 * g(0));
    dL/dx_t = dL/dh_t / 2."""
    import math

    neuron = get_backend(BACKEND).build_neuron(
        {"kind": "lif", "tau": 2.0, "detach_reset": detach, "surrogate": "atan"})
    neuron.record_v = True
    x = torch.full((2, 1, 1), 2.0, dtype=torch.float64, requires_grad=True)
    spikes = neuron(x)
    (spikes.sum() + neuron.v_seq[-1].sum()).backward()

    def g(u: float) -> float:
        return 1.0 / (1.0 + (math.pi * u) ** 2)

    a = 0.0 if detach else 1.0
    dl_dh1 = g(0.5) - a * 1.5 * g(0.5)
    dl_dh0 = g(0.0) + dl_dh1 * 0.5 * (1.0 - a * g(0.0))
    assert x.grad.flatten().tolist() == pytest.approx([dl_dh0 / 2, dl_dh1 / 2], rel=1e-12)


def test_plif_w_and_a_learnt_threshold_get_their_gradients_from_jax() -> None:
    """PLIF, w = 0 (tau 2), no reset, x = 2: h = 2 * sigmoid(w) = 1 (tie, no spike), v = h.
    L = s + v: dL/dw = (g(0) + 1) * x * sigmoid'(0) = (1 + 1) * 2 * 1/4 = 1 (atan, alpha 2:
    g(u) = 1/(1 + (pi u)^2)). LIF tau 2, learnt threshold 1, x = 3: h = 1.5 fires;
    dL/dth = -g(0.5) for L = s."""
    import math

    plif = get_backend(BACKEND).build_neuron({"kind": "plif", "tau": 2.0, "reset": "none"})
    plif.double()  # float64 parameters: their gradients are not rounded to float32
    plif.record_v = True
    spikes = plif(torch.full((1, 1, 1), 2.0, dtype=torch.float64))
    (spikes.sum() + plif.v_seq.sum()).backward()
    assert plif.w.grad.item() == pytest.approx(1.0, rel=1e-9)

    lif = get_backend(BACKEND).build_neuron({"kind": "lif", "tau": 2.0, "learn_threshold": True})
    lif.double()
    lif(torch.full((1, 1, 1), 3.0, dtype=torch.float64)).sum().backward()
    assert lif.v_threshold.grad.item() == pytest.approx(-1 / (1 + (math.pi * 0.5) ** 2),
                                                       rel=1e-9)


# -- library behaviour the adapter works around --------------------------------------------
def test_library_lif_detach_spk_detaches_the_returned_spike() -> None:
    """Why a detached reset runs on LifRef(tau_ref=0): Lif(detach_spk=True) returns a spike
    with no gradient at all (its update applies stop_gradient before the reset and return)."""
    import brainpy as bp
    import brainpy.math as bm
    import jax
    from brainpy.context import share

    def spike(x: jax.Array, cls: type, **kw: object) -> jax.Array:
        lif = cls(1, mode=bm.TrainingMode(), V_th=1.0, tau=2.0, V_rest=0.0, V_reset=0.0,
                  spk_fun=bm.surrogate.Arctan(), detach_spk=True, method="euler",
                  init_var=False, **kw)
        lif.V = bm.Variable(jax.numpy.zeros((1, 1)), batch_axis=0)
        lif.spike = bm.Variable(jax.numpy.zeros((1, 1)), batch_axis=0)
        if cls is bp.dyn.LifRef:
            lif.t_last_spike = bm.Variable(jax.numpy.full((1, 1), -1e7), batch_axis=0)
        share.save(t=0.0, dt=1.0)
        return lif.update(x).sum()

    x = jax.numpy.full((1, 1), 3.0)
    assert float(jax.grad(lambda u: spike(u, bp.dyn.Lif))(x).sum()) == 0.0
    assert float(jax.grad(lambda u: spike(u, bp.dyn.LifRef, tau_ref=0.0))(x).sum()) > 0.0
