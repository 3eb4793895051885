"""The Norse adapter against hand traces and the reference backend (spikes, membrane, gradients).

Every comparison is with ``step.registry.get_backend("reference")``; near-threshold flips
(|h - th| below a tolerance, where the two orders of floating-point operations may legitimately
disagree) are masked from that step on, as the conformance notes advise.
"""

from __future__ import annotations

import importlib
import importlib.util
import json

import pytest
import torch
from adapter_helpers import grads, reference_run, trusted
from hypothesis import given
from hypothesis import strategies as st

from step import registry
from step.cli import main as step_main
from step.errors import BackendUnavailableError, UnsupportedSpecError
from step.plugins.norse import NorseBackend
from step.specs import parse_neuron
from step.support import Level
from step.trace import trace

norse_torch = pytest.importorskip("norse.torch")

# (spec, input, spikes, v after reset), worked out by hand as in step/specs/neuron.py
HAND_TRACES = [
    # LIF tau 2: h = 0 + (2 - 0)/2 = 1 (equal to th: no spike); 1 + (2-1)/2 = 1.5 fires -> 0; 1
    ({"kind": "lif", "tau": 2.0}, [2.0] * 3, [0, 1, 0], [1.0, 0.0, 1.0]),
    # soft: 1.5 - 1 = 0.5; then 0.5 + (2 - 0.5)/2 = 1.25 fires again -> 0.25
    ({"kind": "lif", "reset": "soft"}, [2.0] * 3, [0, 1, 1], [1.0, 0.5, 0.25]),
    # no reset: 1, 1.5, 1.5 + (2 - 1.5)/2 = 1.75
    ({"kind": "lif", "reset": "none"}, [2.0] * 3, [0, 1, 1], [1.0, 1.5, 1.75]),
    # no input decay: h = v - v/2 + 0.5: 0.5, 0.75, 0.875
    ({"kind": "lif", "decay_input": False}, [0.5] * 3, [0, 0, 0], [0.5, 0.75, 0.875]),
    # v_reset -0.5 is the start and the leak target: 0.5, 1.0 (equal: no spike), 1.25 fires
    ({"kind": "lif", "v_reset": -0.5}, [2.0] * 3, [0, 0, 1], [0.5, 1.0, -0.5]),
    # IF: 0.75, 1.5 fires -> 0, 0.75
    ({"kind": "if"}, [0.75] * 3, [0, 1, 0], [0.75, 0.0, 0.75]),
    # PLIF starts as the LIF with the same tau
    ({"kind": "plif"}, [2.0] * 3, [0, 1, 0], [1.0, 0.0, 1.0]),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("spec", "x", "spikes", "v"), HAND_TRACES)
def test_hand_traces(spec: dict, x: list[float], spikes: list[int], v: list[float],
                     dtype: str) -> None:
    got = trace(spec, x, backend="norse", dtype=dtype)
    assert got.spikes == spikes
    assert got.v == pytest.approx(v, abs=1e-6)


# Every surrogate path: native methods, rescaled units (triangle 3, sigmoid 1, gaussian 3), and
# forward-only specs. The charge lands exactly on the threshold: the canonical strict > holds.
@pytest.mark.parametrize("surrogate", [
    "atan", "fast_sigmoid", {"kind": "fast_sigmoid", "alpha": 1.0}, "triangle",
    {"kind": "triangle", "alpha": 3.0}, "sigmoid", {"kind": "sigmoid", "alpha": 1.0},
    "gaussian", {"kind": "gaussian", "alpha": 3.0}, "rectangle", "straight_through",
])
def test_exactly_at_threshold_does_not_fire(surrogate: str | dict) -> None:
    for dtype in ("float32", "float64"):
        got = trace({"kind": "lif", "tau": 2.0, "surrogate": surrogate}, [2.0] * 3, "norse", dtype)
        assert got == ([0, 1, 0], [1.0, 0.0, 1.0])


def test_step_trace_command_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = step_main(["trace", "--neuron", "lif", "--set", "tau=2", "--set", "v_threshold=1",
                      "--set", "v_reset=0", "--input", "2,2,2", "--backend", "norse", "--json"])
    out = json.loads(capsys.readouterr().out)["norse"]
    assert code == 0
    assert (out["spikes"], out["v"]) == ([0, 1, 0], [1.0, 0.0, 1.0])
    # the default surrogate is atan, which Norse 1.1.0 does not have
    assert (out["support"], out["gradient_support"]) == ("native", "unsupported")


# -- against the reference ---------------------------------------------------------------------

@given(
    kind=st.sampled_from(["if", "lif", "plif"]),
    reset=st.sampled_from(["hard", "soft", "none"]),
    detach=st.booleans(),
    decay_input=st.booleans(),
    tau=st.floats(1.1, 8.0),
    v_reset=st.floats(-1.0, 0.5),
    gap=st.floats(0.2, 2.0),
    surrogate=st.sampled_from(["atan", "triangle", {"kind": "triangle", "alpha": 3.0},
                               {"kind": "sigmoid", "alpha": 1.0}]),
    T=st.integers(1, 12),
    drive=st.floats(0.5, 3.0),
    seed=st.integers(0, 2**16),
    dtype=st.sampled_from([torch.float32, torch.float64]),
)
def test_matches_reference(kind: str, reset: str, detach: bool, decay_input: bool, tau: float,
                           v_reset: float, gap: float, surrogate: str | dict, T: int,
                           drive: float, seed: int, dtype: torch.dtype) -> None:
    data = {"kind": kind, "reset": reset, "detach_reset": detach, "v_reset": v_reset,
            "v_threshold": v_reset + gap, "surrogate": surrogate}
    if kind != "if":
        data |= {"tau": tau, "decay_input": decay_input}
    spec = parse_neuron(data)
    backend = registry.get_backend("norse")
    if kind == "if" and reset != "hard":
        with pytest.raises(UnsupportedSpecError, match="IAFCell"):
            backend.build_neuron(spec)
        return
    gen = torch.Generator().manual_seed(seed)
    # inputs from below rest to well above threshold, in units of the threshold gap
    x = (v_reset + gap * drive * (torch.rand(T, 3, 5, generator=gen) * 2.5 - 0.5)).to(dtype)
    neuron = backend.build_neuron(spec).to(dtype)
    neuron.record_v = True
    with torch.no_grad():
        spikes = neuron(x)
    ref_spikes, ref_v, h = reference_run(spec, x)
    ok = trusted(h, spec.v_threshold, 1e-5 if dtype == torch.float32 else 1e-9)
    assert spikes.dtype == dtype and neuron.v_seq.dtype == dtype
    assert torch.equal(spikes[ok], ref_spikes[ok])
    tol = 1e-5 if dtype == torch.float32 else 1e-9
    torch.testing.assert_close(neuron.v_seq[ok], ref_v[ok], atol=tol, rtol=tol)


# Specs whose gradient Norse computes (natively or emulated), with their expected level.
GRADIENT_SPECS = [
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


@pytest.mark.parametrize(("data", "level"), GRADIENT_SPECS)
def test_gradients_match_reference(data: dict, level: str) -> None:
    spec = parse_neuron(data)
    assert registry.get_backend("norse").neuron_support(spec).gradient.value == level
    x = (torch.rand(20, 3, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
         * 2.0).requires_grad_()
    s_ref, v_ref, g_ref = grads("reference", spec, x)
    s, v, g = grads("norse", spec, x)
    assert s.sum() > 0 and torch.equal(s, s_ref)
    torch.testing.assert_close(v, v_ref, atol=1e-9, rtol=1e-9)
    assert len(g) == len(g_ref) == 1 + len(spec.learnable_parameters())
    for got, want in zip(g, g_ref, strict=True):
        assert want.abs().sum() > 0
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-9)


def test_detach_reset_changes_the_gradient() -> None:
    """The detached reset is really detached (else the two specs would give one gradient)."""
    x = torch.full((6, 1, 1), 1.3, dtype=torch.float64, requires_grad=True)
    out = []
    for detach in (False, True):
        spec = parse_neuron({"kind": "lif", "surrogate": "triangle", "detach_reset": detach})
        _, _, (g,) = grads("norse", spec, x)
        _, _, (g_ref,) = grads("reference", spec, x)
        torch.testing.assert_close(g, g_ref)
        out.append(g)
    assert not torch.allclose(out[0], out[1])


def test_plif_w_is_a_trained_parameter() -> None:
    neuron = registry.get_backend("norse").build_neuron({"kind": "plif", "tau": 3.0,
                                                          "surrogate": "triangle"})
    assert [n for n, p in neuron.named_parameters() if p.requires_grad] == ["w"]
    neuron(torch.full((5, 2, 3), 1.5)).sum().backward()
    assert neuron.w.grad is not None and neuron.w.grad != 0


# -- the reset contract ------------------------------------------------------------------------

SPEC = {"kind": "lif", "tau": 3.0, "v_reset": -0.2, "v_threshold": 0.8, "reset": "soft"}


def test_no_state_leaks_between_calls_and_batch_size_can_change() -> None:
    neuron = registry.get_backend("norse").build_neuron(SPEC)
    gen = torch.Generator().manual_seed(3)
    x3, x5 = torch.rand(8, 3, 4, generator=gen) * 2, torch.rand(8, 5, 4, generator=gen) * 2
    first = neuron(x3)
    neuron(x5)
    assert torch.equal(neuron(x3), first)
    fresh = registry.get_backend("norse").build_neuron(SPEC)
    assert torch.equal(neuron(x5), fresh(x5))


@pytest.mark.parametrize("surrogate", ["triangle", {"kind": "triangle", "alpha": 3.0}])
def test_passing_state_continues_the_sequence(surrogate: str | dict) -> None:
    spec = parse_neuron(SPEC | {"surrogate": surrogate})
    neuron = registry.get_backend("norse").build_neuron(spec).double()
    neuron.record_v = True
    x = torch.rand(12, 2, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(4)) * 2
    whole, v_whole = neuron(x), neuron.v_seq
    head = neuron(x[:5])
    v_head, state = neuron.v_seq, neuron.last_state
    tail = neuron(x[5:], state=state)
    assert torch.equal(torch.cat([head, tail]), whole)
    torch.testing.assert_close(torch.cat([v_head, neuron.v_seq]), v_whole, atol=1e-12, rtol=0)


# -- refusals and availability -----------------------------------------------------------------

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


def test_missing_library_is_reported_with_the_install_hint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: object, **kwargs: object) -> object:
        return None if name == "norse" else real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    backend = NorseBackend()
    assert backend.availability() == (False, "library 'norse' is not installed")
    with pytest.raises(BackendUnavailableError, match=r"pip install 'step-snn\[norse\]'"):
        backend.build_neuron("lif")
    try:
        registry.load_plugins(reload=True)
        status = registry.backend_statuses()["norse"]
        assert not status.available
        assert status.install_hint == "pip install 'step-snn[norse]'"
    finally:
        monkeypatch.undo()
        registry.load_plugins(reload=True)
    assert registry.backend_statuses()["norse"].available


def test_broken_library_gives_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = importlib.import_module

    def import_module(name: str, *args: object) -> object:
        if name.startswith("norse"):
            raise ImportError("simulated broken install")
        return real_import(name, *args)

    monkeypatch.setattr(importlib, "import_module", import_module)
    with pytest.raises(BackendUnavailableError,
                       match=r"cannot import norse\.torch: ImportError: simulated.*step-snn"):
        NorseBackend().build_neuron("lif")
