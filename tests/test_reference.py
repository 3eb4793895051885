"""The reference backend against traces worked out by hand, and its invariants (hypothesis)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from step.reference.surrogates import SpikeFunction, surrogate_grad
from step.registry import get_backend
from step.specs import DEFAULT_ALPHA
from step.trace import trace

# (spec, input, spikes, v after reset) -- each line is worked out in the comment beside it.
HAND_TRACES = [
    # IF, th 1: h = .75; 1.5 fires; then hard -> 0 + .75 / soft -> .5 + .75 = 1.25 fires -> .25
    ({"kind": "if"}, [0.75] * 3, [0, 1, 0], [0.75, 0.0, 0.75]),
    ({"kind": "if", "reset": "soft"}, [0.75] * 3, [0, 1, 1], [0.75, 0.5, 0.25]),
    ({"kind": "if", "reset": "none"}, [0.75] * 3, [0, 1, 1], [0.75, 1.5, 2.25]),
    # LIF tau 2, decay_input: h = v + (x - v)/2 with x = 2: 1 (not > 1), 1.5 fires, ...
    ({"kind": "lif"}, [2.0] * 3, [0, 1, 0], [1.0, 0.0, 1.0]),
    ({"kind": "lif", "reset": "soft"}, [2.0] * 3, [0, 1, 1], [1.0, 0.5, 0.25]),
    ({"kind": "lif", "reset": "none"}, [2.0] * 3, [0, 1, 1], [1.0, 1.5, 1.75]),
    # LIF tau 2, no input decay: h = v - v/2 + x with x = .75: .75; 1.125 fires; ...
    ({"kind": "lif", "decay_input": False}, [0.75] * 3, [0, 1, 0], [0.75, 0.0, 0.75]),
    ({"kind": "lif", "decay_input": False, "reset": "soft"}, [0.75] * 3, [0, 1, 0],
     [0.75, 0.125, 0.8125]),
    ({"kind": "lif", "decay_input": False, "reset": "none"}, [0.75] * 3, [0, 1, 1],
     [0.75, 1.125, 1.3125]),
    # v_reset = -0.5 is also the start and the leak target: h = -.5 + (2 - 0)/2 = .5;
    # h = .5 + (2 - 1)/2 = 1.0 (equal: no spike); h = 1 + (2 - 1.5)/2 = 1.25 fires -> -.5
    ({"kind": "lif", "v_reset": -0.5}, [2.0] * 3, [0, 0, 1], [0.5, 1.0, -0.5]),
    # PLIF starts as the LIF with the same tau
    ({"kind": "plif"}, [2.0] * 3, [0, 1, 0], [1.0, 0.0, 1.0]),
    ({"kind": "plif", "reset": "soft"}, [2.0] * 3, [0, 1, 1], [1.0, 0.5, 0.25]),
    ({"kind": "plif", "decay_input": False, "reset": "none"}, [0.75] * 3, [0, 1, 1],
     [0.75, 1.125, 1.3125]),
    # threshold 0.5, tau 4: h = 1/4 = .25, .25 + (1 - .25)/4 = .4375, .578125 fires
    ({"kind": "lif", "tau": 4.0, "v_threshold": 0.5}, [1.0] * 3, [0, 0, 1],
     [0.25, 0.4375, 0.0]),
]


@pytest.mark.parametrize(("spec", "x", "spikes", "v"), HAND_TRACES)
def test_hand_traces(spec: dict, x: list[float], spikes: list[int], v: list[float]) -> None:
    got = trace(spec, x)
    assert got.spikes == spikes
    assert got.v == pytest.approx(v, abs=1e-12)


def test_trace_from_issue_float32() -> None:
    got = trace({"kind": "lif", "tau": 2.0, "v_threshold": 1.0, "v_reset": 0.0}, [2, 2, 2],
                dtype="float32")
    assert got == ([0, 1, 0], [1.0, 0.0, 1.0])


# -- surrogates --------------------------------------------------------------------------------

FORMULAS = {
    "atan": lambda x, a: (a / 2) / (1 + (math.pi * a * x / 2) ** 2),
    "sigmoid": lambda x, a: a * (1 / (1 + math.exp(-a * x))) * (1 - 1 / (1 + math.exp(-a * x))),
    "fast_sigmoid": lambda x, a: 1 / (1 + a * abs(x)) ** 2,
    "triangle": lambda x, a: a * max(0.0, 1 - a * abs(x)),
    "rectangle": lambda x, a: a * (1.0 if abs(x) < 0.5 / a else 0.0),
    "gaussian": lambda x, a: a / math.sqrt(math.pi) * math.exp(-((a * x) ** 2)),
    "straight_through": lambda x, a: 1.0,
}


@pytest.mark.parametrize("kind", list(DEFAULT_ALPHA))
@pytest.mark.parametrize("alpha", [0.5, 2.0, 5.0])
def test_surrogate_backward_matches_formula(kind: str, alpha: float) -> None:
    xs = torch.tensor([-1.3, -0.4, -0.05, 0.02, 0.1, 0.3, 0.9], dtype=torch.float64,
                      requires_grad=True)
    out = SpikeFunction.apply(xs, kind, alpha)
    assert out.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]
    out.sum().backward()
    expected = [FORMULAS[kind](float(x), alpha) for x in xs.detach()]
    assert xs.grad.tolist() == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("kind", ["atan", "sigmoid", "gaussian"])
def test_surrogate_is_the_derivative_of_a_smooth_function(kind: str) -> None:
    # gradcheck the formula against finite differences of its own integral on a fine grid:
    # d/dx of the cumulative trapezoid integral must give g back.
    x = torch.linspace(-1.0, 1.0, 2001, dtype=torch.float64)
    g = surrogate_grad(kind, x, 2.0)
    integral = torch.cumulative_trapezoid(g, x)
    fd = (integral[2:] - integral[:-2]) / (x[3:] - x[1:-2])
    assert torch.allclose(fd, g[2:-1], rtol=1e-3, atol=1e-5)


def test_densities_integrate_to_one() -> None:
    L, a = 40.0, 3.0
    x = torch.linspace(-L, L, 400001, dtype=torch.float64)
    # atan and fast_sigmoid have heavy tails: their mass inside [-L, L] is written out
    expected = {"atan": 2 / math.pi * math.atan(math.pi * a * L / 2), "sigmoid": 1.0,
                "triangle": 1.0, "rectangle": 1.0, "gaussian": 1.0,
                "fast_sigmoid": 2 / a * (1 - 1 / (1 + a * L))}
    for kind, mass in expected.items():
        area = torch.trapezoid(surrogate_grad(kind, x, a), x).item()
        assert area == pytest.approx(mass, abs=2e-4), kind


def test_gradcheck_through_a_lif_sequence() -> None:
    neuron = get_backend("reference").build_neuron(
        {"kind": "lif", "tau": 3.0, "surrogate": {"kind": "sigmoid", "alpha": 4.0}}
    ).double()
    x = torch.rand(5, 2, 3, dtype=torch.float64, requires_grad=True)

    # The spike is a step (no derivative); gradcheck the membrane path of a no-reset neuron.
    none = get_backend("reference").build_neuron({"kind": "lif", "tau": 3.0, "reset": "none"})
    none.record_v = True

    def membrane(inp: torch.Tensor) -> torch.Tensor:
        none(inp)
        return none.v_seq

    assert torch.autograd.gradcheck(membrane, (x,))
    out = neuron(x * 3)
    out.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_detach_reset_changes_only_the_gradient() -> None:
    x = torch.full((4, 1), 1.5, dtype=torch.float64, requires_grad=True)
    grads, spikes = [], []
    for detach in (False, True):
        n = get_backend("reference").build_neuron({"kind": "if", "detach_reset": detach})
        n.record_v = True
        s = n(x)
        n.v_seq.sum().backward()
        grads.append(x.grad.clone())
        spikes.append(s.detach())
        x.grad = None
    assert torch.equal(spikes[0], spikes[1])
    assert not torch.allclose(grads[0], grads[1])


def test_plif_w_and_threshold_learn() -> None:
    n = get_backend("reference").build_neuron(
        {"kind": "plif", "tau": 3.0, "learn_threshold": True}
    )
    names = {k for k, _ in n.named_parameters()}
    assert names == {"w", "v_threshold"}
    assert torch.sigmoid(n.w).item() == pytest.approx(1 / 3)
    n(torch.rand(6, 4, 5) * 2).sum().backward()
    assert n.w.grad is not None and n.w.grad != 0
    assert n.v_threshold.grad is not None and n.v_threshold.grad != 0


# -- state contract ----------------------------------------------------------------------------

def test_each_call_starts_from_rest_and_state_continues() -> None:
    n = get_backend("reference").build_neuron({"kind": "lif", "tau": 2.0})
    x = torch.rand(8, 3, 4) * 2
    whole = n(x)
    again = n(x)
    assert torch.equal(whole, again)
    first = n(x[:5])
    rest = n(x[5:], state=n.last_state)
    assert torch.equal(torch.cat([first, rest]), whole)
    n(torch.rand(8, 7, 4))  # another batch size is fine
    assert torch.equal(n(x), whole)


# -- invariants (hypothesis) -------------------------------------------------------------------

floats = st.floats(-3.0, 3.0, allow_nan=False, width=64)


@given(st.lists(floats, min_size=1, max_size=30))
def test_if_without_reset_sums_its_input(xs: list[float]) -> None:
    t = trace({"kind": "if", "reset": "none"}, xs)
    running = 0.0
    for x, v in zip(xs, t.v, strict=True):
        running += x
        assert v == pytest.approx(running, abs=1e-9)


@given(st.lists(floats, min_size=1, max_size=30), st.floats(0.1, 2.0))
def test_soft_reset_if_conserves_charge(xs: list[float], th: float) -> None:
    t = trace({"kind": "if", "reset": "soft", "v_threshold": th}, xs)
    assert t.v[-1] == pytest.approx(sum(xs) - th * sum(t.spikes), abs=1e-9)


@given(
    st.floats(1.01, 20.0), st.floats(-1.0, 1.0), st.floats(0.05, 2.0),
    st.lists(floats, min_size=1, max_size=20),
)
def test_lif_decay_input_forms_agree(
    tau: float, v_reset: float, gap: float, xs: list[float]
) -> None:
    # decay_input=True with input x equals decay_input=False with input x / tau
    th = v_reset + gap
    a = trace({"kind": "lif", "tau": tau, "v_reset": v_reset, "v_threshold": th}, xs)
    b = trace({"kind": "lif", "tau": tau, "v_reset": v_reset, "v_threshold": th,
               "decay_input": False}, [x / tau for x in xs])
    assert a.v == pytest.approx(b.v, abs=1e-9)


@given(st.floats(1.01, 50.0), st.floats(-1.0, 1.0), st.integers(1, 40))
def test_silence_stays_at_rest(tau: float, v_reset: float, T: int) -> None:
    spec = {"kind": "lif", "tau": tau, "v_reset": v_reset, "v_threshold": v_reset + 1}
    t = trace(spec, [0.0] * T)
    assert t.spikes == [0] * T
    # from rest, zero input gives h = v_r + (0 - 0)/tau = v_r: the membrane never moves
    assert t.v == pytest.approx([v_reset] * T, abs=1e-12)


@given(st.floats(1.01, 50.0), st.floats(0.0, 5.0))
def test_lif_converges_to_its_input_without_reset(tau: float, x: float) -> None:
    t = trace({"kind": "lif", "tau": tau, "reset": "none"}, [x] * 2000)
    assert t.v[-1] == pytest.approx(x, rel=1e-6, abs=1e-6)


def test_trained_neuron_can_be_deep_copied() -> None:
    import copy

    n = get_backend("reference").build_neuron({"kind": "plif", "learn_threshold": True})
    n.record_v = True
    n(torch.rand(4, 2, 3) * 2).sum().backward()
    clone = copy.deepcopy(n)
    assert clone.last_state is None and clone.v_seq is None
    assert torch.equal(clone.w, n.w) and clone.w is not n.w
