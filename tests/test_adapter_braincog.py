"""The BrainCog adapter against hand traces and the reference backend (spikes, membrane, gradients).

Every comparison is with ``step.registry.get_backend("reference")``; near-threshold flips
(|h - th| below a tolerance, where the two orders of floating-point operations may legitimately
disagree) are masked from that step on. BrainCog is imported once for the whole file (~6 s).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import subprocess
import sys
import warnings

import pytest
import torch
from adapter_helpers import grads, reference_run, trusted
from hypothesis import given
from hypothesis import strategies as st

from step import registry
from step.cli import main as step_main
from step.errors import BackendUnavailableError, UnsupportedSpecError
from step.plugins.braincog import BrainCogBackend
from step.specs import parse_neuron
from step.support import Level
from step.trace import trace

if importlib.util.find_spec("braincog") is None:
    pytest.skip("braincog is not installed", allow_module_level=True)

BACKEND = "braincog"

def test_first_import_is_quiet() -> None:
    """BrainCog's import noise (timm deprecations, registry overwrites) is silenced, nothing else.

    Runs first in this file, so that it pays BrainCog's one import of the session.
    """
    if "braincog" in sys.modules:
        pytest.skip("braincog was already imported by an earlier test")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nodes, surrogates = BrainCogBackend().import_modules()
    assert nodes.LIFNode and surrogates.AtanGrad
    assert [str(w.message) for w in caught] == []


# (spec, input, spikes, v after reset), worked out by hand as in step/specs/neuron.py
HAND_TRACES = [
    # LIF tau 2: h = 0 + (2 - 0)/2 = 1 (equal to th: no spike); 1 + (2-1)/2 = 1.5 fires -> 0; 1
    ({"kind": "lif", "tau": 2.0}, [2.0] * 3, [0, 1, 0], [1.0, 0.0, 1.0]),
    # no input decay: h = v - v/2 + 0.5: 0.5, 0.75, 0.875
    ({"kind": "lif", "decay_input": False}, [0.5] * 3, [0, 0, 0], [0.5, 0.75, 0.875]),
    # v_reset -0.5 is the start and the leak target: 0.5, 1.0 (equal: no spike), 1.25 fires
    ({"kind": "lif", "v_reset": -0.5}, [2.0] * 3, [0, 0, 1], [0.5, 1.0, -0.5]),
    # IF: 0.75, 1.5 fires -> 0, 0.75
    ({"kind": "if"}, [0.75] * 3, [0, 1, 0], [0.75, 0.0, 0.75]),
    # PLIF starts as the LIF with the same tau
    ({"kind": "plif"}, [2.0] * 3, [0, 1, 0], [1.0, 0.0, 1.0]),
    # threshold 0.5, tau 4: 0.25, 0.25 + (1 - 0.25)/4 = 0.4375, 0.578125 fires
    ({"kind": "lif", "tau": 4.0, "v_threshold": 0.5}, [1.0] * 3, [0, 0, 1], [0.25, 0.4375, 0.0]),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("spec", "x", "spikes", "v"), HAND_TRACES)
def test_hand_traces(spec: dict, x: list[float], spikes: list[int], v: list[float],
                     dtype: str) -> None:
    got = trace(spec, x, backend=BACKEND, dtype=dtype)
    assert got.spikes == spikes
    assert got.v == pytest.approx(v, abs=1e-6)


# AtanGrad/QGateGrad/GateGrad compare > like the canonical rule; SigmoidGrad and the
# straight-through estimator compare >= and need the one-ulp threshold shift; the rest go
# through step's surrogate. h lands exactly on the threshold at step 1: canonical [0, 1, 0].
@pytest.mark.parametrize("surrogate", [
    "atan", "triangle", "rectangle", "sigmoid", "straight_through", "fast_sigmoid", "gaussian",
])
@pytest.mark.parametrize("kind", ["lif", "plif"])
def test_exactly_at_threshold_does_not_fire(surrogate: str, kind: str) -> None:
    for dtype in ("float32", "float64"):
        got = trace({"kind": kind, "tau": 2.0, "surrogate": surrogate}, [2.0] * 3, BACKEND, dtype)
        assert got == ([0, 1, 0], [1.0, 0.0, 1.0])


def test_step_trace_command_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = step_main(["trace", "--neuron", "lif", "--set", "tau=2", "--set", "v_threshold=1",
                      "--set", "v_reset=0", "--input", "2,2,2", "--backend", BACKEND, "--json"])
    out = json.loads(capsys.readouterr().out)[BACKEND]
    assert code == 0
    assert (out["spikes"], out["v"]) == ([0, 1, 0], [1.0, 0.0, 1.0])
    # the spec's default detach_reset=False: BrainCog always detaches its reset
    assert (out["support"], out["gradient_support"]) == ("native", "unsupported")


# -- against the reference ---------------------------------------------------------------------

@given(
    kind=st.sampled_from(["if", "lif", "plif"]),
    reset=st.sampled_from(["hard", "hard", "soft", "none"]),
    decay_input=st.booleans(),
    tau=st.floats(1.1, 8.0),
    v_reset=st.floats(-1.0, 0.5),
    gap=st.floats(0.2, 2.0),
    surrogate=st.sampled_from(["atan", "sigmoid", "triangle", "gaussian"]),
    T=st.integers(1, 12),
    drive=st.floats(0.5, 3.0),
    seed=st.integers(0, 2**16),
    dtype=st.sampled_from([torch.float32, torch.float64]),
)
def test_matches_reference(kind: str, reset: str, decay_input: bool, tau: float,
                           v_reset: float, gap: float, surrogate: str, T: int,
                           drive: float, seed: int, dtype: torch.dtype) -> None:
    data = {"kind": kind, "reset": reset, "v_reset": v_reset, "v_threshold": v_reset + gap,
            "surrogate": surrogate, "detach_reset": True}
    if kind != "if":
        data |= {"tau": tau, "decay_input": decay_input}
    spec = parse_neuron(data)
    backend = registry.get_backend(BACKEND)
    if reset != "hard":
        with pytest.raises(UnsupportedSpecError, match=f"{reset} reset does not exist"):
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
    tol = 1e-5 if dtype == torch.float32 else 1e-9
    ok = trusted(h, spec.v_threshold, tol)
    assert spikes.dtype == dtype and neuron.v_seq.dtype == dtype
    assert torch.equal(spikes[ok], ref_spikes[ok])
    torch.testing.assert_close(neuron.v_seq[ok], ref_v[ok], atol=tol, rtol=tol)


# Specs whose gradient BrainCog computes (all need detach_reset=True), with the expected level.
GRADIENT_SPECS = [
    ({"kind": "lif", "surrogate": "atan"}, "native"),
    ({"kind": "lif", "surrogate": {"kind": "triangle", "alpha": 3.0}, "tau": 3.0,
      "v_reset": -0.2, "v_threshold": 0.7}, "native"),
    ({"kind": "lif", "surrogate": {"kind": "sigmoid", "alpha": 1.5}, "decay_input": False},
     "native"),
    ({"kind": "lif", "surrogate": "rectangle"}, "native"),
    ({"kind": "lif", "surrogate": "straight_through", "v_reset": 0.25}, "native"),
    ({"kind": "if", "surrogate": "atan", "v_threshold": 0.8}, "native"),
    ({"kind": "plif", "surrogate": "atan", "tau": 3.0}, "native"),
    ({"kind": "lif", "surrogate": "atan", "learn_threshold": True, "v_reset": -0.3}, "native"),
    ({"kind": "lif", "surrogate": {"kind": "rectangle", "alpha": 0.7}}, "emulated"),
    ({"kind": "lif", "surrogate": "fast_sigmoid", "tau": 1.5}, "emulated"),
    ({"kind": "if", "surrogate": "gaussian"}, "emulated"),
    ({"kind": "plif", "surrogate": "sigmoid", "tau": 3.0, "decay_input": False}, "emulated"),
    ({"kind": "lif", "surrogate": "sigmoid", "learn_threshold": True, "v_reset": 0.2},
     "emulated"),
]


@pytest.mark.parametrize(("data", "level"), GRADIENT_SPECS)
def test_gradients_match_reference(data: dict, level: str) -> None:
    spec = parse_neuron(data | {"detach_reset": True})
    assert registry.get_backend(BACKEND).neuron_support(spec).gradient.value == level
    x = (torch.rand(20, 3, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
         * 2.0).requires_grad_()
    s_ref, v_ref, g_ref = grads("reference", spec, x)
    s, v, g = grads(BACKEND, spec, x)
    assert s.sum() > 0 and torch.equal(s, s_ref)
    torch.testing.assert_close(v, v_ref, atol=1e-9, rtol=1e-9)
    # one gradient for x and one per learnable parameter: nothing else is trained
    assert len(g) == len(g_ref) == 1 + len(spec.learnable_parameters())
    for got, want in zip(g, g_ref, strict=True):
        assert want.abs().sum() > 0
        # BrainCog's strict surrogates return float32 spikes: the gradient reaching them is
        # rounded to float32 (relative ~1e-8), well inside rtol 1e-5
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-9)


def test_plif_trains_w_and_never_the_surrogate_alpha() -> None:
    """BrainCog's PLIFNode builds AtanGrad with requires_grad=True; the adapter must not."""
    neuron = registry.get_backend(BACKEND).build_neuron(
        {"kind": "plif", "tau": 3.0, "detach_reset": True})
    assert [n for n, p in neuron.named_parameters() if p.requires_grad] == ["node.w"]
    assert isinstance(neuron.node.w, torch.nn.Parameter)
    neuron(torch.full((5, 2, 3), 1.5)).sum().backward()
    assert neuron.node.w.grad is not None and neuron.node.w.grad != 0
    assert neuron.node.act_fun.alpha.grad is None


def test_float64_spikes_although_braincog_returns_float32() -> None:
    nodes, _ = BrainCogBackend().import_modules()
    raw = nodes.LIFNode(threshold=1.0, tau=2.0, act_fun="AtanGrad")
    assert raw(torch.ones(2, dtype=torch.float64)).dtype == torch.float32  # the library's quirk
    neuron = registry.get_backend(BACKEND).build_neuron("lif").double()
    assert neuron(torch.ones(3, 2, dtype=torch.float64)).dtype == torch.float64


# -- the reset contract ------------------------------------------------------------------------

SPEC = {"kind": "lif", "tau": 3.0, "v_reset": -0.2, "v_threshold": 0.8, "detach_reset": True}


def test_no_state_leaks_between_calls_and_batch_size_can_change() -> None:
    neuron = registry.get_backend(BACKEND).build_neuron(SPEC)
    gen = torch.Generator().manual_seed(3)
    x3, x5 = torch.rand(8, 3, 4, generator=gen) * 2, torch.rand(8, 5, 4, generator=gen) * 2
    first = neuron(x3)
    neuron(x5)
    assert torch.equal(neuron(x3), first)
    fresh = registry.get_backend(BACKEND).build_neuron(SPEC)
    assert torch.equal(neuron(x5), fresh(x5))


@pytest.mark.parametrize("kind", ["lif", "plif", "if"])
def test_passing_state_continues_the_sequence(kind: str) -> None:
    spec = parse_neuron(SPEC | {"kind": kind} if kind != "if" else
                        {"kind": "if", "v_reset": -0.2, "v_threshold": 0.8})
    neuron = registry.get_backend(BACKEND).build_neuron(spec).double()
    neuron.record_v = True
    x = torch.rand(12, 2, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(4)) * 2
    whole, v_whole = neuron(x), neuron.v_seq
    head = neuron(x[:5])
    v_head, state = neuron.v_seq, neuron.last_state
    tail = neuron(x[5:], state=state)
    assert whole.sum() > 0 and torch.equal(torch.cat([head, tail]), whole)
    torch.testing.assert_close(torch.cat([v_head, neuron.v_seq]), v_whole, atol=1e-12, rtol=0)


# -- refusals, availability, import isolation --------------------------------------------------

@pytest.mark.parametrize(("data", "match"), [
    ({"kind": "lif", "reset": "soft"}, "soft reset does not exist"),
    ({"kind": "if", "reset": "none"}, "none reset does not exist"),
])
def test_unsupported_forward_is_refused(data: dict, match: str) -> None:
    with pytest.raises(UnsupportedSpecError, match=match):
        registry.get_backend(BACKEND).build_neuron(data)


@pytest.mark.parametrize("kind", ["if", "lif", "plif"])
def test_undetached_reset_gradient_is_refused_but_runs_without_grad(kind: str) -> None:
    neuron = registry.get_backend(BACKEND).build_neuron({"kind": kind, "detach_reset": False})
    assert neuron.support.forward is Level.NATIVE
    assert neuron.support.gradient is Level.UNSUPPORTED
    x = torch.full((3, 1, 1), 2.0, requires_grad=True)
    with pytest.raises(UnsupportedSpecError, match="always detaches the reset"):
        neuron(x)
    with torch.no_grad():  # IF: h = 2 fires every step; LIF/PLIF: 1 (equal), 1.5, 1
        assert neuron(x).flatten().tolist() == ([1, 1, 1] if kind == "if" else [0, 1, 0])


def test_missing_library_is_reported_with_the_install_hint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: object, **kwargs: object) -> object:
        return None if name == "braincog" else real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    backend = BrainCogBackend()
    assert backend.availability() == (False, "library 'braincog' is not installed")
    with pytest.raises(BackendUnavailableError, match=r"pip install 'step-snn\[braincog\]'"):
        backend.build_neuron("lif")
    try:
        registry.load_plugins(reload=True)
        status = registry.backend_statuses()[BACKEND]
        assert not status.available
        assert status.install_hint == "pip install 'step-snn[braincog]'"
    finally:
        monkeypatch.undo()
        registry.load_plugins(reload=True)
    assert registry.backend_statuses()[BACKEND].available


def test_broken_library_gives_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = importlib.import_module

    def import_module(name: str, *args: object) -> object:
        if name.startswith("braincog"):
            raise ImportError("simulated broken install")
        return real_import(name, *args)

    monkeypatch.setattr(importlib, "import_module", import_module)
    with pytest.raises(BackendUnavailableError,
                       match=r"cannot import braincog\.base\.node\.node: ImportError: simulated"):
        BrainCogBackend().build_neuron("lif")


ISOLATION = """
import sys
from step.plugins.braincog import BrainCogBackend
from step.specs import parse_neuron
backend = BrainCogBackend()
for kind in ("if", "lif", "plif"):
    backend.neuron_support(parse_neuron(kind))
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("braincog", "timm", "torch"))
assert not heavy, heavy
print("ok")
"""


def test_support_needs_no_import() -> None:
    done = subprocess.run([sys.executable, "-c", ISOLATION], capture_output=True, text=True,
                          timeout=120, env={"OMP_NUM_THREADS": "1", "PATH": ""})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"
