"""The SpikingJelly adapter against hand traces and the reference backend.

Hand traces are the doctests of :mod:`step.specs.neuron`; everything else compares with the
reference backend (spikes exactly, membrane within tolerance, gradients rtol 1e-5 in float64).
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import subprocess
import sys

import pytest
import torch
from adapter_helpers import _grads, reference_charge, run
from hypothesis import given
from hypothesis import strategies as st

from step.errors import BackendUnavailableError, UnsupportedSpecError
from step.reference.surrogates import surrogate_grad
from step.registry import get_backend, load_plugins
from step.specs import SurrogateSpec, parse_neuron
from step.support import Level
from step.trace import trace

pytest.importorskip("spikingjelly")

BACKEND = "spikingjelly"


# -- hand traces ---------------------------------------------------------------------------
HAND_TRACES = [
    ({"kind": "lif", "tau": 2.0}, [2.0] * 3, [0, 1, 0], [1.0, 0.0, 1.0]),
    ({"kind": "lif", "tau": 2.0, "reset": "soft"}, [2.0] * 3, [0, 1, 1], [1.0, 0.5, 0.25]),
    ({"kind": "lif", "tau": 2.0, "reset": "none"}, [2.0] * 3, [0, 1, 1], [1.0, 1.5, 1.75]),
    ({"kind": "lif", "tau": 2.0, "decay_input": False}, [0.5] * 3, [0, 0, 0], [0.5, 0.75, 0.875]),
    ({"kind": "if"}, [0.75] * 3, [0, 1, 0], [0.75, 0.0, 0.75]),
    ({"kind": "if", "reset": "soft"}, [0.75] * 3, [0, 1, 1], [0.75, 0.5, 0.25]),
    ({"kind": "plif", "tau": 2.0}, [2.0] * 3, [0, 1, 0], [1.0, 0.0, 1.0]),
    # soft reset leaking towards v_reset = -1 (SpikingJelly's own leaks towards 0):
    # h = -1 + 3/2 = 0.5 -> v = 0.25; h = 0.25 + (3 - 1.25)/2 = 1.125 -> v = 0.875; h = 1.4375
    ({"kind": "lif", "tau": 2.0, "reset": "soft", "v_reset": -1.0, "v_threshold": 0.25},
     [3.0] * 3, [1, 1, 1], [0.25, 0.875, 1.1875]),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("spec", "inputs", "spikes", "v"), HAND_TRACES)
def test_hand_trace(spec: dict, inputs: list, spikes: list, v: list, dtype: str) -> None:
    got = trace(spec, inputs, BACKEND, dtype)
    assert got.spikes == spikes
    # A soft reset subtracts the nudged threshold: one ulp per spike, hence the tolerance.
    assert got.v == pytest.approx(v, abs=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_at_threshold_does_not_fire(dtype: str) -> None:
    # tau 2, threshold 1, input 2: h = 1.0 exactly at step 1 and 3.
    assert trace({"kind": "lif", "tau": 2.0}, [2.0] * 3, BACKEND, dtype).spikes == [0, 1, 0]
    assert trace({"kind": "if"}, [0.5, 0.5, 0.5], BACKEND, dtype).spikes == [0, 0, 1]
    assert trace({"kind": "lif", "reset": "none"}, [2.0] * 3, BACKEND, dtype).spikes[0] == 0


def test_library_itself_fires_at_threshold() -> None:
    """Why the adapter normalises: SpikingJelly on its own emits [1, 1, 1] here."""
    from spikingjelly.activation_based import functional, surrogate

    x = torch.full((3, 1), 2.0)
    s, _, _ = functional.lif_multi_step(x, torch.zeros(1), 2.0, True, 1.0, 0.0, surrogate.ATan())
    assert s.flatten().tolist() == [1.0, 1.0, 1.0]


# -- against the reference -----------------------------------------------------------------
specs = st.fixed_dictionaries({
    "kind": st.sampled_from(["if", "lif", "plif"]),
    "tau": st.floats(1.1, 10.0),
    "v_threshold": st.floats(-0.5, 2.0),
    "v_reset": st.floats(-1.0, 0.5),
    "reset": st.sampled_from(["hard", "soft", "none"]),
    "decay_input": st.booleans(),
})


def _spec(d: dict) -> dict:
    return {k: v for k, v in d.items() if d["kind"] != "if" or k not in ("tau", "decay_input")}


@pytest.mark.parametrize(("dtype", "tol"), [(torch.float64, 1e-9), (torch.float32, 1e-5)])
@given(spec=specs, T=st.integers(1, 24), seed=st.integers(0, 2**16), scale=st.floats(0.1, 3.0))
def test_matches_reference(dtype, tol, spec: dict, T: int, seed: int, scale: float) -> None:
    spec = _spec(spec)
    gen = torch.Generator().manual_seed(seed)
    x = (torch.randn(T, 3, 4, generator=gen, dtype=torch.float64) * scale + 0.5).to(dtype)
    s_ref, v_ref, _ = run("reference", spec, x)
    s, v, _ = run(BACKEND, spec, x)
    assert s.dtype == v.dtype == dtype and s.shape == x.shape
    # Compare up to the first step where the reference is within rounding of the threshold:
    # there a flip is legitimate, and it changes everything after it.
    h = reference_charge(spec, x.double(), v_ref.double())
    near = (h - parse_neuron(spec).v_threshold).abs() < 100 * tol
    stop = int(near.flatten(1).any(1).float().argmax()) if near.any() else T
    torch.testing.assert_close(s[:stop], s_ref[:stop], rtol=0, atol=0)
    torch.testing.assert_close(v[:stop], v_ref[:stop], rtol=tol, atol=tol)


@pytest.mark.parametrize("surrogate", ["atan", "sigmoid", "fast_sigmoid", "triangle",
                                       "rectangle", "gaussian", "straight_through"])
@pytest.mark.parametrize(("kind", "reset", "detach"), [
    ("lif", "hard", False), ("lif", "soft", True), ("if", "hard", True), ("lif", "none", False),
    ("plif", "hard", False), ("plif", "soft", False),
])
def test_gradients_match_reference(surrogate: str, kind: str, reset: str, detach: bool) -> None:
    spec = {"kind": kind, "reset": reset, "detach_reset": detach, "v_reset": -0.2,
            "v_threshold": 0.7, "surrogate": surrogate}
    if kind != "if":
        spec["tau"] = 3.0
    x = torch.randn(16, 2, 5, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    g_ref, p_ref, _ = _grads("reference", spec, x + 0.4)
    g, p, _ = _grads(BACKEND, spec, x + 0.4)
    assert g_ref.abs().sum() > 0
    torch.testing.assert_close(g, g_ref, rtol=1e-5, atol=1e-9)
    if kind == "plif":
        assert p_ref["w"] != 0
        torch.testing.assert_close(p["w"], p_ref["w"], rtol=1e-5, atol=1e-9)


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
    x = torch.linspace(-2, 2, 401, dtype=torch.float64).requires_grad_(True)
    module(x).sum().backward()
    torch.testing.assert_close(x.grad, surrogate_grad(kind, x.detach(), alpha), rtol=1e-12,
                               atol=1e-12)


def test_support_matrix() -> None:
    b = get_backend(BACKEND)

    def level(**kw):
        sup = b.neuron_support(parse_neuron({"kind": "lif", **kw}))
        return sup.forward, sup.gradient

    assert level() == (Level.NATIVE, Level.NATIVE)
    assert level(reset="soft", detach_reset=True) == (Level.NATIVE, Level.NATIVE)
    assert level(reset="none") == (Level.EMULATED, Level.EMULATED)
    assert level(surrogate={"kind": "fast_sigmoid", "alpha": 2.0}) == (Level.NATIVE, Level.NATIVE)
    assert level(surrogate="fast_sigmoid") == (Level.NATIVE, Level.EMULATED)  # alpha 25
    assert level(learn_threshold=True) == (Level.UNSUPPORTED, Level.UNSUPPORTED)
    assert b.neuron_support(parse_neuron("plif")).forward is Level.NATIVE


# -- the reset contract --------------------------------------------------------------------
@pytest.mark.parametrize("spec", [{"kind": "lif", "reset": "soft", "v_reset": -0.3},
                                  {"kind": "plif"}, {"kind": "if", "reset": "none"}])
def test_no_leak_batch_change_and_continuation(spec: dict) -> None:
    x = torch.randn(12, 5, 3, generator=torch.Generator().manual_seed(0)) + 0.6
    neuron = get_backend(BACKEND).build_neuron(spec)
    neuron.record_v = True
    with torch.no_grad():
        first, v_first = neuron(x), neuron.v_seq
        torch.testing.assert_close(neuron(x), first)  # starts from rest again
        torch.testing.assert_close(neuron(x[:, :2]), first[:, :2])  # batch-size change
        torch.testing.assert_close(neuron.v_seq, v_first[:, :2])
        head = neuron(x[:5])
        tail = neuron(x[5:], state=neuron.last_state)
        torch.testing.assert_close(torch.cat([head, tail]), first)
        torch.testing.assert_close(neuron.v_seq, v_first[5:], rtol=1e-6, atol=1e-6)


def test_neuron_can_be_copied_after_a_call() -> None:
    neuron = get_backend(BACKEND).build_neuron({"kind": "lif", "surrogate": "triangle"})
    x = torch.full((3, 1, 1), 2.0)
    neuron(x)
    assert copy.deepcopy(neuron)(x).flatten().tolist() == [0.0, 1.0, 0.0]


def test_plif_w_is_a_parameter_that_learns() -> None:
    neuron = get_backend(BACKEND).build_neuron({"kind": "plif", "tau": 3.0})
    assert [n for n, _ in neuron.named_parameters()] == ["w"]
    assert torch.sigmoid(neuron.w).item() == pytest.approx(1 / 3)


# -- refusals and availability -------------------------------------------------------------
def test_unsupported_spec_is_refused() -> None:
    with pytest.raises(UnsupportedSpecError, match="no learnable threshold"):
        get_backend(BACKEND).build_neuron({"kind": "lif", "learn_threshold": True})


def test_missing_library_is_unavailable_with_hint(monkeypatch, fresh_registry) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "spikingjelly" else real(name, *a))
    load_plugins(reload=True)
    with pytest.raises(BackendUnavailableError, match=r"step-snn\[spikingjelly\]"):
        get_backend(BACKEND)
    from step.plugins.spikingjelly import SpikingJellyBackend

    with pytest.raises(BackendUnavailableError, match="not installed"):
        SpikingJellyBackend().build_neuron("lif")


def test_broken_library_gives_one_clear_error(monkeypatch) -> None:
    from step.plugins.spikingjelly import SpikingJellyBackend

    real = importlib.import_module

    def broken(name, *a):
        if name.startswith("spikingjelly"):
            raise ImportError("simulated breakage")
        return real(name, *a)

    monkeypatch.setattr(importlib, "import_module", broken)
    with pytest.raises(BackendUnavailableError, match="simulated breakage.*step-snn"):
        SpikingJellyBackend().build_neuron("lif")


def test_plugin_import_is_light() -> None:
    code = ("import sys, step.plugins.spikingjelly as p; p.step_backends(); "
            "print(any(m.split('.')[0] in ('torch', 'spikingjelly') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
