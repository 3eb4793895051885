"""The fused fast path gives what the step-by-step definition gives: spikes, membrane, gradients."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from step.registry import get_backend
from step.specs import DEFAULT_ALPHA

specs = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["if", "lif", "plif"]),
        "reset": st.sampled_from(["hard", "soft", "none"]),
        "detach_reset": st.booleans(),
        "learn_threshold": st.booleans(),
        "v_reset": st.sampled_from([0.0, -0.3, 0.2]),
        "v_threshold": st.sampled_from([1.0, 0.5, 0.75]),
        "surrogate": st.sampled_from(list(DEFAULT_ALPHA)),
        "fire": st.sampled_from(["gt", "ge"]),
    }
)


def _pair(spec: dict, tau: float = 2.5) -> tuple:
    data = dict(spec)
    if data["kind"] != "if":
        data["tau"] = tau
        data["decay_input"] = data["v_reset"] != 0.2  # exercise both forms
    a = get_backend("reference").build_neuron(data).double()
    b = get_backend("reference").build_neuron(data).double()
    b.fused = False
    return a, b


@given(specs, st.integers(1, 12), st.integers(0, 10_000), st.booleans(), st.booleans(),
       st.booleans())
def test_fused_equals_definition(
    spec: dict, T: int, seed: int, with_state: bool, record: bool, dyadic: bool
) -> None:
    # dyadic: inputs on a grid of 1/8 with tau 2, so that h == v_th ties happen and both fire
    # rules are exercised where they differ
    fused, plain = _pair(spec, tau=2.0 if dyadic else 2.5)
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(T, 3, 4, generator=gen, dtype=torch.float64) * 3 - 0.5
    if dyadic:
        x = torch.round(x * 8) / 8
    x = x.requires_grad_()
    v0 = (torch.rand(3, 4, generator=gen, dtype=torch.float64) * 0.5).requires_grad_()
    weights = torch.rand(T, 3, 4, generator=gen, dtype=torch.float64)
    results = []
    for n in (fused, plain):
        n.record_v = record  # without the trace the fused path keeps only the last membrane
        state = {"v": v0} if with_state else None
        s = n(x, state=state)
        # a loss that reaches the spikes, the membrane trace (when kept) and the final state
        loss = (s * weights).sum() + n.last_state["v"].sum()
        if record:
            loss = loss + (n.v_seq * weights.flip(0)).sum()
        inputs = [x, *n.parameters()] + ([v0] if with_state else [])
        grads = torch.autograd.grad(loss, inputs)
        results.append((s.detach(), n.last_state["v"].detach(), grads))
    (s1, v1, g1), (s2, v2, g2) = results
    assert torch.equal(s1, s2)
    assert torch.allclose(v1, v2, rtol=1e-12, atol=1e-12)
    for a, b in zip(g1, g2, strict=True):
        assert torch.allclose(a, b, rtol=1e-9, atol=1e-12), (a, b)


def test_fused_is_the_default_and_handles_float32() -> None:
    n = get_backend("reference").build_neuron({"kind": "lif", "tau": 2.0})
    assert n.fused
    x = torch.full((3, 1), 2.0)
    assert n(x).flatten().tolist() == [0.0, 1.0, 0.0]


def _neuron(spec: dict, fused: bool):
    n = get_backend("reference").build_neuron(spec).double()
    n.fused = fused
    return n


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize(("rule", "spike", "slope"), [("ge", 1.0, -1.0), ("gt", 0.0, 0.0)])
def test_a_tie_with_a_hard_reset_by_hand(fused: bool, rule: str, spike: float,
                                         slope: float) -> None:
    # IF, v_th = 1, x = 1 from v = 0: h = 1 sits on the threshold. ge fires, gt does not.
    # v' = (1 - s) h + s v_reset with s attached: dv'/dx = (1 - s) + (v_reset - h) s'(h - v_th),
    # and the sigmoid surrogate's s'(0) = alpha / 4 = 1 at alpha 4: ge 0 - 1 = -1, gt 1 - 1 = 0.
    n = _neuron({"kind": "if", "fire": rule, "reset": "hard",
                 "surrogate": {"kind": "sigmoid", "alpha": 4.0}}, fused)
    x = torch.ones(1, 1, dtype=torch.float64, requires_grad=True)
    s = n(x)
    assert s.item() == spike
    (g,) = torch.autograd.grad(n.last_state["v"].sum(), x)
    assert g.item() == slope


@pytest.mark.parametrize("fused", [True, False])
def test_lif_divides_by_tau_as_its_spec_writes(fused: bool) -> None:
    # h = v + (x - (v - v_reset)) / tau = 5 / 3 = 1.6666666666666667 in float64, while
    # 5 * (1 / 3) = 1.6666666666666665: with v_th = 5 / 3 and fire at >=, only the division
    # (the spec's order, SpikingJelly's) fires. Both numbers written out above by hand.
    n = _neuron({"kind": "lif", "tau": 3.0, "fire": "ge", "v_threshold": 5.0 / 3.0}, fused)
    assert 5.0 / 3.0 == 1.6666666666666667 and 5.0 * (1.0 / 3.0) == 1.6666666666666665
    assert n(torch.full((1, 1), 5.0, dtype=torch.float64)).item() == 1.0


@pytest.mark.parametrize("fused", [True, False])
def test_a_learnt_threshold_under_a_hard_reset_by_hand(fused: bool) -> None:
    # IF, learnt v_th = 1, x = 1.5 from v = 0: h = 1.5 fires, v' = (1 - s) h + s v_reset.
    # dv'/dv_th = (v_reset - h) ds/dv_th = (0 - 1.5)(-s'(0.5)), with the sigmoid surrogate at
    # alpha 4: s'(0.5) = 4 sig(2)(1 - sig(2)) = 0.41997434161402614, so dv'/dv_th = 0.62996151242104
    n = _neuron({"kind": "if", "reset": "hard", "learn_threshold": True,
                 "surrogate": {"kind": "sigmoid", "alpha": 4.0}}, fused)
    x = torch.full((1, 1), 1.5, dtype=torch.float64)
    assert n(x).item() == 1.0
    (g,) = torch.autograd.grad(n.last_state["v"].sum(), [n.v_threshold])
    sig2 = 1.0 / (1.0 + math.exp(-2.0))
    assert g.item() == pytest.approx(1.5 * 4.0 * sig2 * (1.0 - sig2), rel=1e-12)
    assert g.item() == pytest.approx(0.6299615124210397, rel=1e-12)
