"""The neuron zoo's reference: hand traces, invariants (hypothesis), gradients, validation.

Every expected value below is written as the arithmetic that produces it, step by step, from
the equations in the spec docstrings (step/specs/lif_variants.py, integer.py, gated.py,
biophysical.py).
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from step.backend import representative_specs
from step.errors import InputError, SpecError
from step.nn import Neuron
from step.reference import gated as gated_ref
from step.reference._dynamics import DYNAMICS, initial_parameters, simulate
from step.specs import NEURON_KINDS, parse_neuron
from step.trace import trace

ZOO = ["eif", "klif", "alif", "cuba_lif", "li", "ilif", "nilif", "clif", "glif", "hdlif", "psn",
       "izhikevich", "hh"]
e = math.exp


def sig(z: float) -> float:
    return 1 / (1 + math.exp(-z))


# (spec, input, output per step, v per step), each worked out in the comment above it.
HAND_TRACES = [
    # EIF soft, theta_rh .5, dT .25, reset 0 (rest 0), input 1.5: h1 = (1.5 + .25 e^-2)/2
    # = .7669; h2 = h1 + (1.5 - h1 + .25 e^((h1 - .5)/.25))/2 = .7669 + (.7331 + .7272)/2
    # = 1.497 fires, the soft reset leaves h2 - 1
    ({"kind": "eif", "theta_rh": 0.5, "delta_t": 0.25, "v_reset": 0.0, "reset": "soft"},
     [1.5, 1.5], [0, 1],
     [(1.5 + 0.25 * e(-2)) / 2,
      (lambda h1: h1 + (1.5 - h1 + 0.25 * e((h1 - 0.5) / 0.25)) / 2 - 1)(
          (1.5 + 0.25 * e(-2)) / 2)]),
    # EIF without input decay, starting at v_rest .5 (theta_rh .8, dT .2): h1 = .5 + (0 +
    # .2 e^(-.3/.2))/2 + .2 (x undivided) = .7223; h2 = h1 + (-(h1 - .5) + .2 e^((h1-.8)/.2))/2
    # + .7 fires (1.3 > 1) -> v_reset -.1
    ({"kind": "eif", "v_rest": 0.5, "decay_input": False}, [0.2, 0.7], [0, 1],
     [0.5 + 0.2 * e(-1.5) / 2 + 0.2, -0.1]),
    # KLIF, k = 1: relu((-1)/2) = 0; 1 (equal: no spike); 1.5 fires -> hard reset 0
    ({"kind": "klif"}, [-1.0, 2.0, 2.0], [0, 0, 1], [0.0, 1.0, 0.0]),
    # KLIF soft: 2/2 = 1 (no); 1 + (3 - 1)/2 = 2 fires -> 1; 1 + (0 - 1)/2 = .5
    ({"kind": "klif", "reset": "soft"}, [2.0, 3.0, 0.0], [0, 1, 0], [1.0, 1.0, 0.5]),
    # ALIF beta 1, tau_a 2: th 1, h 2 fires, a 1; th 2, h 2 no, a .5; th 1.5, h 3 fires
    ({"kind": "alif", "tau_adapt": 2.0, "beta": 1.0}, [4.0] * 3, [1, 0, 1], [0.0, 2.0, 0.0]),
    # ALIF soft: subtracts the raised threshold: h = 4/2 = 2 > 1 -> v 1, a 1; theta 2,
    # h = 1 + (4 - 1)/2 = 2.5 fires -> v .5, a = .5 + 1 = 1.5; theta 2.5, h = .5 + 3.5/2 = 2.25
    ({"kind": "alif", "tau_adapt": 2.0, "beta": 1.0, "reset": "soft"}, [4.0] * 3, [1, 1, 0],
     [1.0, 0.5, 2.25]),
    # CUBA: i 3, h 1.5 fires; i 1.5, h .75; i .75, h .75 + (.75 - .75)/2
    ({"kind": "cuba_lif"}, [3.0, 0.0, 0.0], [1, 0, 0], [0.0, 0.75, 0.75]),
    # CUBA tau_syn 4, no input decay: i 1, h 1 (no); i .75, h 1 - .5 + .75 = 1.25 fires -> 0;
    # i .5625, h .5625
    ({"kind": "cuba_lif", "tau_syn": 4.0, "decay_input": False}, [1.0, 0.0, 0.0], [0, 1, 0],
     [1.0, 0.0, 0.5625]),
    # LI, v_reset -1 (also the start): v = -1 + (1 - 0)/2 = -.5; -.5 + (1 - .5)/2 = -.25;
    # -.25 + (-1 - .75)/2 = -1.125. The output is the membrane.
    ({"kind": "li", "v_reset": -1.0}, [1.0, 1.0, -1.0], [-0.5, -0.25, -1.125],
     [-0.5, -0.25, -1.125]),
    # ILIF tau 2 (beta .5), D 4: 2.75 -> C 3; -.125 + 1 = .875 -> 1; -.0625 + .25 -> 0
    ({"kind": "ilif", "tau": 2.0}, [2.75, 1.0, 0.25], [3, 1, 0], [-0.25, -0.125, 0.1875]),
    # ILIF D 2, threshold .5: h 3 is 6 thresholds, capped at C 2, v = 3 - 2 * .5 = 2;
    # h = 2 - 2/2 + 0 = 1, u = 2 > 1.5 -> C 2, v 0; h 0 -> C 0
    ({"kind": "ilif", "tau": 2.0, "max_spikes": 2, "v_threshold": 0.5}, [3.0, 0.0, 0.0],
     [2, 2, 0], [2.0, 0.0, 0.0]),
    # NILIF: the same counts over D = 4
    ({"kind": "nilif", "tau": 2.0}, [2.75, 1.0, 0.25], [0.75, 0.25, 0], [-0.25, -0.125, 0.1875]),
    # CLIF tau 2: h 1.5 fires, m 1, v 1.5 - 1 - sig(1); h = v/2 + 1.5 fires, m = sig(h/2) + 1
    ({"kind": "clif"}, [1.5, 1.5], [1, 1],
     [0.5 - sig(1), (lambda h: h - 1 - sig(sig(h / 2) + 1))((0.5 - sig(1)) / 2 + 1.5)]),
    # GLIF T 2 (gates .5, decay .25, th .5, l = .5/4 = .125, r .5, g .5): lambda .625,
    # gain .75, (1 - a) l = .0625: U = -.0625 + .75 = .6875 fires;
    # U = .625 * .6875 * .5 - .0625 + .75 - .5 * .5
    ({"kind": "glif", "T": 2}, [1.0, 1.0], [1, 1],
     [0.6875, 0.625 * 0.6875 * 0.5 - 0.0625 + 0.75 - 0.25]),
    # HD-LIF soft, input 2, tau 2: charges 2, 1, 1, (2 + .2 e^-4)/2; mean fires, v = mean - 1
    ({"kind": "hdlif", "reset": "soft"}, [2.0], [1],
     [(2 + 1 + 1 + (2 + 0.2 * e(-4)) / 2) / 4 - 1]),
    # PSN T 3, threshold .5: H = x - .5
    ({"kind": "psn", "T": 3, "v_threshold": 0.5}, [0.25, 0.5, 1.5], [0, 0, 1], [-0.25, 0.0, 1.0]),
    # Izhikevich, input 10: v -65 -> -65 + (169 - 325 + 140 + 13 + 10) = -58;
    # u = -13 + .02 (.2 * -58 + 13) = -12.972; v = -58 + (.04 * 58^2 - 290 + 140 + 12.972 + 10)
    ({"kind": "izhikevich"}, [10.0, 10.0], [0, 0],
     [-58.0, -58 + (0.04 * 58 * 58 - 290 + 140 + 12.972 + 10)]),
    # Izhikevich dt .5, input 300: h = -65 + .5 (169 - 325 + 140 + 13 + 300) = 33.5 fires -> c
    ({"kind": "izhikevich", "dt": 0.5}, [300.0], [1], [-65.0]),
]


@pytest.mark.parametrize(("spec", "x", "out", "v"), HAND_TRACES)
def test_hand_traces(spec: dict, x: list[float], out: list[float], v: list[float]) -> None:
    got = trace(spec, x)
    assert got.spikes == pytest.approx(out, abs=1e-12)
    assert got.v == pytest.approx(v, abs=1e-12)


def test_izhikevich_reset_jumps_u_by_d() -> None:
    # input 100: h = 32 fires; u = -13 + .02 (.2 * 32 + 13) + 8 = -4.612
    neuron = Neuron("izhikevich")
    neuron(torch.full((1, 1), 100.0, dtype=torch.float32))
    assert float(neuron.last_state["v"]) == -65.0
    assert float(neuron.last_state["u"]) == pytest.approx(-4.612, abs=1e-5)


def test_every_zoo_kind_is_registered_with_dynamics() -> None:
    assert set(ZOO) <= set(NEURON_KINDS) and set(ZOO) <= set(DYNAMICS)


def test_representative_specs_cover_every_kind() -> None:
    kinds = {s.kind for s in representative_specs()}
    assert kinds == set(NEURON_KINDS)


# -- invariants --------------------------------------------------------------------------------
floats = st.floats(-3.0, 6.0, allow_nan=False, width=64)
sequences = st.lists(floats, min_size=1, max_size=12)


@given(sequences, st.integers(1, 5), st.floats(0.25, 2.0))
def test_ilif_counts_are_integers_within_d_and_the_reset_removes_their_charge(
    x: list[float], d: int, th: float
) -> None:
    spec = parse_neuron({"kind": "ilif", "tau": 2.0, "max_spikes": d, "v_threshold": th})
    xs = torch.tensor(x, dtype=torch.float64).view(-1, 1)
    run = simulate(spec, xs, {})
    c = run.output.flatten()
    assert bool(((c >= 0) & (c <= d) & (c == c.round())).all())
    v_prev = 0.0
    for t in range(len(x)):  # soft reset: v[t] = h[t] - C[t] th with h = v/2 + x (beta = .5)
        h = v_prev / 2 + x[t]
        assert float(run.v_seq[t]) == pytest.approx(h - float(c[t]) * th, abs=1e-9)
        v_prev = float(run.v_seq[t])


@given(st.floats(0.0, 10.0), st.integers(1, 4))
def test_ilif_backward_is_straight_through_on_the_window(h: float, d: int) -> None:
    spec = parse_neuron({"kind": "ilif", "max_spikes": d, "v_threshold": 0.5})
    x = torch.tensor([[h]], dtype=torch.float64, requires_grad=True)
    simulate(spec, x, {}).output.sum().backward()
    inside = 0 <= h <= d * 0.5
    assert float(x.grad) == (1 / 0.5 if inside else 0.0)


@given(sequences, sequences, st.floats(-2, 2), st.floats(-2, 2))
def test_li_is_linear_in_its_input(x1: list[float], x2: list[float], a: float, b: float) -> None:
    n = min(len(x1), len(x2))
    u = torch.tensor(x1[:n], dtype=torch.float64).view(-1, 1)
    w = torch.tensor(x2[:n], dtype=torch.float64).view(-1, 1)
    spec = parse_neuron({"kind": "li", "tau": 3.0})
    out = simulate(spec, a * u + b * w, {}).output
    assert torch.allclose(out, a * simulate(spec, u, {}).output + b * simulate(spec, w, {}).output,
                          atol=1e-9)


@given(st.lists(st.floats(0.0, 5.0), min_size=1, max_size=15), st.floats(0.0, 2.0))
def test_alif_threshold_rises_with_each_spike_and_decays_to_its_base(
    x: list[float], beta: float
) -> None:
    spec = parse_neuron({"kind": "alif", "tau_adapt": 3.0, "beta": beta, "v_threshold": 1.0})
    state = None
    theta_prev = 1.0
    for xt in x + [0.0] * 40:  # then silence: the raise must decay away
        run = simulate(spec, torch.tensor([[xt]], dtype=torch.float64), {}, state)
        s, state = float(run.output), run.state
        theta = 1.0 + beta * float(state["a"])  # the threshold the next step will use
        # theta - 1 = (1 - 1/3)(theta_prev - 1) + beta s
        assert theta - 1.0 == pytest.approx((theta_prev - 1.0) * (2 / 3) + beta * s, abs=1e-9)
        if s:
            assert theta >= theta_prev * (2 / 3) + beta - 1e-9
        theta_prev = theta
    assert theta_prev == pytest.approx(1.0, abs=1e-6 + beta * 1e-6)


@given(sequences)
def test_cuba_is_a_lif_driven_by_the_filtered_current(x: list[float]) -> None:
    xs = torch.tensor(x, dtype=torch.float64).view(-1, 1)
    cuba = simulate(parse_neuron({"kind": "cuba_lif", "tau_syn": 4.0}), xs, {})
    i, current = 0.0, []
    for xt in x:
        i = i * 0.75 + xt
        current.append(i)
    lif = Neuron({"kind": "lif"}).double()
    spikes = lif(torch.tensor(current, dtype=torch.float64).view(-1, 1))
    assert torch.equal(cuba.output, spikes)


@given(sequences)
def test_klif_membrane_is_never_negative_and_clif_memory_counts_spikes(x: list[float]) -> None:
    xs = torch.tensor(x, dtype=torch.float64).view(-1, 1)
    klif = parse_neuron("klif")
    assert bool((simulate(klif, xs, initial_parameters(klif, torch.float64)).v_seq >= 0).all())
    spec = parse_neuron("clif")
    state = None
    for xt in x:
        m_before = 0.0 if state is None else float(state["m"])
        run = simulate(spec, torch.tensor([[xt]], dtype=torch.float64), {}, state)
        state = run.state
        m = float(state["m"])
        # m decays by a sigmoid (a factor in (0, 1)) and gains exactly the spike
        assert float(run.output) <= m <= m_before + float(run.output) + 1e-12


def _random_gate(spec_data: dict) -> torch.nn.Module:
    neuron = Neuron(spec_data).double()
    with torch.no_grad():
        neuron.gate_bias.copy_(torch.tensor([0.3, -0.2, 0.1, 0.5]))
        neuron.gate_weight.copy_(torch.tensor([1.0, -0.5, 0.25, 0.75]))
    return neuron


@given(st.lists(floats, min_size=12, max_size=12))
def test_hdlif_each_sample_is_independent_of_the_rest_of_its_batch(values: list[float]) -> None:
    x = torch.tensor(values, dtype=torch.float64).view(3, 2, 2)  # T 3, batch 2, 2 neurons
    neuron = _random_gate({"kind": "hdlif", "reset": "soft"})
    neuron.record_v = True
    together = neuron(x)
    v_together = neuron.v_seq
    for b in range(2):
        assert torch.equal(neuron(x[:, b:b + 1]), together[:, b:b + 1])
        assert torch.equal(neuron.v_seq, v_together[:, b:b + 1])


def test_the_independence_check_catches_a_gate_that_mixes_the_batch(monkeypatch) -> None:
    """The published STEP's bug, put back on purpose: the test above must then fail."""

    def batch_gate(x: torch.Tensor, p: dict) -> torch.Tensor:
        mean = x.mean(dim=0, keepdim=True).expand_as(x)
        return torch.softmax(p["gate_bias"] + p["gate_weight"] * mean.unsqueeze(-1), dim=-1)

    monkeypatch.setattr(gated_ref, "hdlif_gate", batch_gate)
    x = torch.tensor([[[0.2], [3.0]]] * 3, dtype=torch.float64)
    neuron = _random_gate({"kind": "hdlif"})
    neuron.record_v = True
    neuron(x)
    v_together = neuron.v_seq
    neuron(x[:, :1])
    assert not torch.equal(neuron.v_seq, v_together[:, :1])


@given(st.lists(floats, min_size=4, max_size=4), st.floats(0.1, 2.0))
def test_psn_with_identity_weights_thresholds_each_step_alone(x: list[float], th: float) -> None:
    xs = torch.tensor(x, dtype=torch.float64).view(4, 1)
    spec = parse_neuron({"kind": "psn", "T": 4, "v_threshold": th})
    run = simulate(spec, xs, initial_parameters(spec, torch.float64))
    assert torch.equal(run.output, (xs > th).double())
    assert torch.allclose(run.v_seq, xs - th)


def test_psn_with_lower_triangular_weights_integrates() -> None:
    # W = lower-triangular ones: H[t] = x[0] + .. + x[t] - 1 (an IF without reset)
    neuron = Neuron({"kind": "psn", "T": 4}).double()
    with torch.no_grad():
        neuron.weight.copy_(torch.tril(torch.ones(4, 4)))
    out = neuron(torch.tensor([0.4, 0.4, 0.4, -1.0], dtype=torch.float64).view(4, 1))
    assert out.flatten().tolist() == [0.0, 0.0, 1.0, 0.0]  # H = -.6, -.2, .2, -.8


def test_psn_refuses_a_state_and_a_wrong_length() -> None:
    neuron = Neuron({"kind": "psn", "T": 3})
    with pytest.raises(InputError, match=r"^a psn neuron has no state across calls \(it sees all "
                       r"T steps at once\): call it on the whole sequence without a state$"):
        neuron(torch.ones(3, 1), state={"v": torch.zeros(1)})
    with pytest.raises(InputError, match=r"^psn: the input has 2 steps but T=3 \(PSN's weights "
                       r"are T x T\); set T to the sequence length$"):
        neuron(torch.ones(2, 1))


@pytest.mark.parametrize("steps", [3, 4])
def test_glif_runs_its_t_steps_and_refuses_one_more(steps: int) -> None:
    # GLIF learns one conductance per step: T=3 runs 3 steps; a fourth has no conductance.
    neuron = Neuron({"kind": "glif", "T": 3})
    if steps == 3:
        assert neuron(torch.ones(3, 2)).shape == (3, 2)
        return
    with pytest.raises(InputError, match=r"^glif: step 3 is past T=3 \(GLIF learns one "
                       r"conductance per step\); set T to the sequence length$"):
        neuron(torch.ones(4, 2))


def test_hh_rests_without_input_and_fires_more_with_more_current() -> None:
    x = torch.zeros(60, 1, 3, dtype=torch.float64)  # 30 ms
    x[:, 0, 1], x[:, 0, 2] = 10.0, 40.0
    neuron = Neuron("hh").double()
    neuron.record_v = True
    counts = neuron(x).sum(0).flatten().tolist()
    assert counts[0] == 0 and 0 < counts[1] < counts[2]
    assert float((neuron.v_seq[:, 0, 0] + 65).abs().max()) < 0.05  # rest stays at -65 mV
    assert bool((neuron(x) <= 1).all())  # one spike per crossing, never more per step


# -- state, continuation, gradients ------------------------------------------------------------
STEPPED = [k for k in ZOO if k != "psn"]


def _drive(kind: str, T: int = 8, B: int = 2, N: int = 3) -> torch.Tensor:
    scale = {"izhikevich": 20.0, "hh": 15.0}.get(kind, 1.0)
    gen = torch.Generator().manual_seed(3)
    return (0.8 + torch.randn(T, B, N, generator=gen, dtype=torch.float64)) * scale


@pytest.mark.parametrize("kind", STEPPED)
def test_two_calls_passing_the_state_equal_one_call(kind: str) -> None:
    neuron = Neuron({"kind": kind, "T": 8} if kind == "glif" else kind).double()
    neuron.record_v = True
    x = _drive(kind)
    whole = neuron(x)
    v_whole = neuron.v_seq
    first = neuron(x[:5])
    v_first = neuron.v_seq
    second = neuron(x[5:], state=neuron.last_state)
    assert torch.equal(torch.cat([first, second]), whole)
    assert torch.allclose(torch.cat([v_first, neuron.v_seq]), v_whole, atol=1e-12)
    assert torch.equal(neuron(x), whole)  # and a fresh call starts from rest again


def test_a_state_missing_a_variable_is_refused_with_the_keys_needed() -> None:
    with pytest.raises(InputError, match=r"^an? alif neuron's state needs the keys \['a', 'v'\]; "
                       r"missing \['a'\] \(pass the state a previous call left: "
                       r"neuron.last_state\)$"):
        Neuron("alif")(torch.ones(2, 1), state={"v": torch.zeros(1)})


@pytest.mark.parametrize("kind", ZOO)
def test_gradients_reach_the_input_and_every_learnable_parameter(kind: str) -> None:
    data = {"kind": kind, "T": 8} if kind in ("glif", "psn") else {"kind": kind}
    neuron = Neuron(data).double()
    neuron.record_v = True
    declared = set(neuron.spec.learnable_parameters())
    assert {n for n, _ in neuron.named_parameters()} == declared
    x = _drive(kind).requires_grad_(True)
    out = neuron(x)
    weights = torch.linspace(0.5, 1.5, out.numel(), dtype=torch.float64).view_as(out)
    (out * weights).sum().add(neuron.v_seq.sum() * 1e-3).backward()
    assert x.grad is not None and bool(torch.isfinite(x.grad).all()) and bool(x.grad.abs().sum())
    for name, p in neuron.named_parameters():
        assert p.grad is not None, name
        assert bool(torch.isfinite(p.grad).all()) and float(p.grad.abs().sum()) > 0, name


@pytest.mark.parametrize("kind", ["eif", "klif", "alif", "cuba_lif", "ilif", "clif", "hdlif",
                                  "izhikevich"])
def test_a_learnt_threshold_is_a_parameter_with_a_gradient(kind: str) -> None:
    neuron = Neuron({"kind": kind, "learn_threshold": True}).double()
    out = neuron(_drive(kind))
    out.sum().backward()
    assert neuron.v_threshold.grad is not None and float(neuron.v_threshold.grad) != 0.0


# -- validation --------------------------------------------------------------------------------
BAD_SPECS = [
    ({"kind": "eif", "delta_t": 0}, "delta_t must be > 0"),
    ({"kind": "eif", "theta_rh": 1.5, "v_threshold": 1.2}, "must be above theta_rh"),
    ({"kind": "eif", "delta_t": 1.0}, "fires without input"),
    ({"kind": "hdlif", "theta_rh": 0.1}, "fires without input"),
    ({"kind": "eif", "reset": "none"}, "reset"),
    ({"kind": "alif", "tau_adapt": 1.0}, "tau_adapt must be > 1"),
    ({"kind": "alif", "beta": -1}, "beta must be >= 0"),
    ({"kind": "cuba_lif", "tau_syn": 0.5}, "tau_syn must be > 1"),
    ({"kind": "li", "detach_reset": True}, "neither fires nor resets"),
    ({"kind": "li", "reset": "hard"}, "reset"),
    ({"kind": "ilif", "surrogate": "atan"}, "surrogate must be straight_through"),
    ({"kind": "ilif", "max_spikes": 0}, "max_spikes must be >= 1"),
    ({"kind": "nilif", "v_reset": -0.5}, "v_reset must be 0"),
    ({"kind": "clif", "tau": 1.0}, "tau must be > 1"),
    ({"kind": "glif", "v_threshold": 1.5}, "v_threshold must lie in (0, 1)"),
    ({"kind": "glif", "learn_threshold": True}, "always learns its threshold"),
    ({"kind": "hdlif", "delta_t": -1}, "delta_t must be > 0"),
    ({"kind": "psn", "T": 0}, "T must be >= 1"),
    ({"kind": "psn", "learn_threshold": True}, "bias b is its learnt threshold"),
    ({"kind": "izhikevich", "dt": 0}, "dt must be > 0"),
    ({"kind": "izhikevich", "v_threshold": -70}, "must be above v_reset"),
    ({"kind": "hh", "dt": 0.5}, "Euler on the membrane is unstable"),
    ({"kind": "hh", "substeps": 0}, "substeps must be >= 1"),
]


@pytest.mark.parametrize(("data", "message"), BAD_SPECS)
def test_validation_says_what_to_change(data: dict, message: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_neuron(data)
    text = str(err.value)
    assert message in text and f"invalid {data['kind']} neuron spec" in text
    assert "\n" not in text
