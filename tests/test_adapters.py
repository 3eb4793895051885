"""The library adapters against hand traces and the reference backend, one module for all.

Everything the adapters share is tested here, parametrised over the backends: hand traces
(worked out by hand as in :mod:`step.specs.neuron`), the fire rule at an exact tie, property
tests against the reference (spikes exactly, membrane within tolerance, near-threshold flips
masked from that step on), gradients against the reference, the reset contract, PLIF's ``w``,
availability, import isolation and ``step trace --json``. A spec a backend does not compute is
never skipped: the test then checks that it is refused with a reason. What is particular to one
library (its quirks, its support matrix, its surrogate classes) stays in
``test_adapter_<library>.py``.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import subprocess
import sys
from typing import Literal

import pytest
import torch
from adapter_helpers import grads, reference_run, trusted
from hypothesis import given
from hypothesis import strategies as st

from step import registry
from step.cli import main as step_main
from step.errors import BackendUnavailableError, UnsupportedSpecError
from step.specs import NeuronSpec, parse_neuron
from step.support import Level
from step.trace import trace

LIBRARIES = ["spikingjelly", "snntorch", "norse", "braincog"]
BACKENDS = [
    pytest.param(name, marks=pytest.mark.skipif(
        importlib.util.find_spec(name) is None, reason=f"{name} is not installed"))
    for name in LIBRARIES
]
#: the adapters added through the plugin door after the first four (Sinabs, Rockpool, BrainPy):
#: the door's checks below run on them too; their numerics are checked by the conformance
#: suite in test_adapter_<library>.py (the property tests here would take minutes on BrainPy,
#: which compiles a JAX function per neuron)
LATER_LIBRARIES = ["sinabs", "rockpool", "brainpy"]
DOOR_BACKENDS = BACKENDS + [
    pytest.param(name, marks=pytest.mark.skipif(
        importlib.util.find_spec(name) is None, reason=f"{name} is not installed"))
    for name in LATER_LIBRARIES
]
#: the module each adapter imports first (where a broken install shows)
FIRST_IMPORT = {"spikingjelly": "spikingjelly.activation_based.functional",
                "snntorch": "snntorch", "norse": "norse.torch",
                "braincog": "braincog.base.node.node", "sinabs": "sinabs.layers.functional",
                "rockpool": "rockpool.nn.modules", "brainpy": "brainpy"}


def supported(backend: str, spec: dict | NeuronSpec) -> bool:
    """Whether ``backend`` runs ``spec``'s forward; if not, check that it is refused."""
    spec = parse_neuron(spec)
    support = registry.get_backend(backend).neuron_support(spec)
    if support.forward is not Level.UNSUPPORTED:
        return True
    assert support.forward_how  # the reason
    with pytest.raises(UnsupportedSpecError, match="cannot run this"):
        registry.get_backend(backend).build_neuron(spec)
    return False


# -- hand traces ---------------------------------------------------------------------------
# (spec, input, spikes, v after reset)
HAND_TRACES = [
    # LIF tau 2: h = 0 + (2 - 0)/2 = 1 (equal to th: no spike); 1 + (2-1)/2 = 1.5 fires -> 0; 1
    ({"kind": "lif", "tau": 2.0}, [2.0] * 3, [0, 1, 0], [1.0, 0.0, 1.0]),
    # soft: 1.5 - 1 = 0.5; then 0.5 + (2 - 0.5)/2 = 1.25 fires again -> 0.25
    ({"kind": "lif", "tau": 2.0, "reset": "soft"}, [2.0] * 3, [0, 1, 1], [1.0, 0.5, 0.25]),
    # no reset: 1, 1.5, 1.5 + (2 - 1.5)/2 = 1.75
    ({"kind": "lif", "tau": 2.0, "reset": "none"}, [2.0] * 3, [0, 1, 1], [1.0, 1.5, 1.75]),
    # no input decay: h = v - v/2 + 0.5: 0.5, 0.75, 0.875
    ({"kind": "lif", "tau": 2.0, "decay_input": False}, [0.5] * 3, [0, 0, 0], [0.5, 0.75, 0.875]),
    # v_reset -0.5 is the start and the leak target: 0.5, 1.0 (equal: no spike), 1.25 fires
    ({"kind": "lif", "v_reset": -0.5}, [2.0] * 3, [0, 0, 1], [0.5, 1.0, -0.5]),
    # threshold 0.5, tau 4: 0.25, 0.25 + (1 - 0.25)/4 = 0.4375, 0.578125 fires
    ({"kind": "lif", "tau": 4.0, "v_threshold": 0.5}, [1.0] * 3, [0, 0, 1], [0.25, 0.4375, 0.0]),
    # IF: 0.75, 1.5 fires -> 0, 0.75
    ({"kind": "if"}, [0.75] * 3, [0, 1, 0], [0.75, 0.0, 0.75]),
    # IF soft: 0.75, 1.5 fires -> 0.5, 1.25 fires -> 0.25
    ({"kind": "if", "reset": "soft"}, [0.75] * 3, [0, 1, 1], [0.75, 0.5, 0.25]),
    # PLIF starts as the LIF with the same tau
    ({"kind": "plif", "tau": 2.0}, [2.0] * 3, [0, 1, 0], [1.0, 0.0, 1.0]),
    # soft reset leaking towards v_reset = -1 (SpikingJelly's own leaks towards 0, snnTorch's
    # is fed an input offset): h = -1 + 3/2 = 0.5 -> v = 0.25; h = 0.25 + (3 - 1.25)/2 = 1.125
    # -> v = 0.875; h = 1.4375
    ({"kind": "lif", "tau": 2.0, "reset": "soft", "v_reset": -1.0, "v_threshold": 0.25},
     [3.0] * 3, [1, 1, 1], [0.25, 0.875, 1.1875]),
    # soft reset leaving the membrane above threshold: h = 2.5 -> v = 1.5; h = 1.5 fires again
    ({"kind": "if", "reset": "soft"}, [2.5, 0.0, 0.0], [1, 1, 0], [1.5, 0.5, 0.5]),
    # hard reset to v_reset = 0.5 above v_threshold = 0.2: h = 0.6 -> v = 0.5; h = 0; h = 0
    ({"kind": "if", "v_reset": 0.5, "v_threshold": 0.2}, [0.1, -0.5, 0.0], [1, 0, 0],
     [0.5, 0.0, 0.0]),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("spec", "inputs", "spikes", "v"), HAND_TRACES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_hand_trace(backend: str, spec: dict, inputs: list, spikes: list, v: list,
                    dtype: str) -> None:
    if not supported(backend, spec):
        return
    got = trace(spec, inputs, backend, dtype)
    assert got.spikes == spikes
    # A soft reset done by a library subtracts the nudged threshold: one ulp per spike.
    assert got.v == pytest.approx(v, abs=1e-6)


# Every surrogate path of every adapter (native, rescaled units, plugged-in formula, forward
# only): the charge lands exactly on the threshold at step 1, where the canonical strict >
# does not fire.
AT_THRESHOLD_SURROGATES = [
    "atan", "fast_sigmoid", {"kind": "fast_sigmoid", "alpha": 1.0}, "triangle",
    {"kind": "triangle", "alpha": 3.0}, "sigmoid", {"kind": "sigmoid", "alpha": 1.0},
    "gaussian", {"kind": "gaussian", "alpha": 3.0}, "rectangle", "straight_through",
]


@pytest.mark.parametrize("surrogate", AT_THRESHOLD_SURROGATES)
@pytest.mark.parametrize("kind", ["lif", "plif"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_exactly_at_threshold_does_not_fire(backend: str, kind: str, surrogate: str | dict
                                            ) -> None:
    for dtype in ("float32", "float64"):
        got = trace({"kind": kind, "tau": 2.0, "surrogate": surrogate}, [2.0] * 3, backend,
                    dtype)
        assert got == ([0, 1, 0], [1.0, 0.0, 1.0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_at_threshold_does_not_fire_if_and_without_reset(backend: str, dtype: str) -> None:
    # IF: 0.5, 1.0 (equal: no spike), 1.5 fires
    assert trace({"kind": "if"}, [0.5, 0.5, 0.5], backend, dtype).spikes == [0, 0, 1]
    # no reset, tau 2: h = 1.0 exactly at step 1
    if supported(backend, {"kind": "lif", "reset": "none"}):
        assert trace({"kind": "lif", "reset": "none"}, [2.0] * 3, backend, dtype).spikes[0] == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_step_trace_command_json(backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = step_main(["trace", "--neuron", "lif", "--set", "tau=2", "--set", "v_threshold=1",
                      "--set", "v_reset=0", "--input", "2,2,2", "--backend", backend, "--json"])
    out = json.loads(capsys.readouterr().out)[backend]
    assert code == 0
    assert (out["spikes"], out["v"]) == ([0, 1, 0], [1.0, 0.0, 1.0])
    # the spec's defaults: atan surrogate (Norse 1.1.0 has none) and detach_reset=False
    # (BrainCog always detaches its reset)
    gradient = {"norse": "unsupported", "braincog": "unsupported"}.get(backend, "native")
    assert (out["support"], out["gradient_support"]) == ("native", gradient)


# -- against the reference -----------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("backend", BACKENDS)
@given(
    kind=st.sampled_from(["if", "lif", "plif"]),
    reset=st.sampled_from(["hard", "soft", "none"]),
    detach=st.booleans(),
    decay_input=st.booleans(),
    tau=st.floats(1.1, 10.0),
    v_reset=st.floats(-1.0, 0.5),
    v_threshold=st.floats(-0.5, 2.0),
    surrogate=st.sampled_from(["atan", "sigmoid", "triangle", "gaussian",
                               {"kind": "triangle", "alpha": 3.0},
                               {"kind": "sigmoid", "alpha": 1.0}]),
    T=st.integers(1, 24),
    seed=st.integers(0, 2**16),
    scale=st.floats(0.1, 3.0),
    around_threshold=st.booleans(),
)
def test_matches_reference(backend: str, dtype: torch.dtype, kind: str, reset: str,
                           detach: bool, decay_input: bool, tau: float, v_reset: float,
                           v_threshold: float, surrogate: str | dict, T: int, seed: int,
                           scale: float, around_threshold: bool) -> None:
    data = {"kind": kind, "reset": reset, "detach_reset": detach, "v_reset": v_reset,
            "v_threshold": v_threshold, "surrogate": surrogate}
    if kind != "if":
        data |= {"tau": tau, "decay_input": decay_input}
    spec = parse_neuron(data)
    if not supported(backend, spec):
        return
    gen = torch.Generator().manual_seed(seed)
    if around_threshold:  # from below rest to well above threshold, in units of the gap
        gap = max(abs(v_threshold - v_reset), 0.2)
        x = v_reset + gap * scale * (torch.rand(T, 3, 4, generator=gen, dtype=torch.float64)
                                     * 2.5 - 0.5)
    else:
        x = torch.randn(T, 3, 4, generator=gen, dtype=torch.float64) * scale + 0.5
    x = x.to(dtype)
    neuron = registry.get_backend(backend).build_neuron(spec).to(dtype)
    neuron.record_v = True
    with torch.no_grad():
        spikes = neuron(x)
    ref_spikes, ref_v, h = reference_run(spec, x)
    tol = 1e-5 if dtype == torch.float32 else 1e-9
    # from the first step where the reference is within rounding of the threshold, a flip is
    # legitimate, and it changes everything after it
    ok = trusted(h, spec.v_threshold, 100 * tol)
    assert spikes.dtype == neuron.v_seq.dtype == dtype and spikes.shape == x.shape
    assert torch.equal(spikes[ok], ref_spikes[ok])
    torch.testing.assert_close(neuron.v_seq[ok], ref_v[ok], atol=tol, rtol=tol)


def _randn(shape: tuple[int, ...]) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(3),
                       dtype=torch.float64) + 0.4


def _rand(shape: tuple[int, ...]) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(1),
                      dtype=torch.float64) * 2.0


def _sweep() -> list[tuple[dict, str]]:
    """Every surrogate family on six (kind, reset, detach, learn_threshold) combinations."""
    out = []
    for surrogate in ("atan", "sigmoid", "fast_sigmoid", "triangle", "rectangle", "gaussian",
                      "straight_through"):
        for kind, reset, detach, learn in (
            ("lif", "hard", False, True), ("lif", "soft", True, False),
            ("if", "hard", True, False), ("lif", "none", False, True),
            ("plif", "hard", False, False), ("plif", "soft", False, True),
        ):
            data = {"kind": kind, "reset": reset, "detach_reset": detach, "v_reset": -0.2,
                    "v_threshold": 0.7, "surrogate": surrogate, "learn_threshold": learn}
            if kind != "if":
                data["tau"] = 3.0
            out.append((data, "randn"))
    return out


#: Specs worked out for Norse and BrainCog (each library's surrogate paths); BrainCog computes
#: gradients only with detach_reset=True, so each also runs detached.
RAND_SPECS = [
    {"kind": "lif", "surrogate": {"kind": "triangle", "alpha": 1.0}},
    {"kind": "lif", "surrogate": {"kind": "fast_sigmoid", "alpha": 1.0}, "reset": "soft"},
    {"kind": "lif", "surrogate": "sigmoid", "v_reset": -0.3, "v_threshold": 0.6},
    {"kind": "lif", "surrogate": "gaussian", "decay_input": False},
    {"kind": "if", "surrogate": "triangle", "v_reset": 0.2},
    {"kind": "lif", "surrogate": {"kind": "triangle", "alpha": 3.0}, "tau": 3.0,
     "v_reset": -0.2, "v_threshold": 0.7},
    {"kind": "lif", "surrogate": {"kind": "sigmoid", "alpha": 1.3}, "detach_reset": True},
    {"kind": "lif", "surrogate": {"kind": "gaussian", "alpha": 3.0}, "reset": "soft",
     "detach_reset": True},
    {"kind": "lif", "surrogate": "triangle", "reset": "none"},
    {"kind": "lif", "surrogate": "triangle", "learn_threshold": True, "reset": "soft"},
    {"kind": "plif", "surrogate": "triangle", "tau": 3.0},
    {"kind": "plif", "surrogate": {"kind": "sigmoid", "alpha": 2.0}, "tau": 1.5,
     "decay_input": False},
    {"kind": "lif", "surrogate": "atan"},
    {"kind": "lif", "surrogate": {"kind": "sigmoid", "alpha": 1.5}, "decay_input": False},
    {"kind": "lif", "surrogate": "rectangle"},
    {"kind": "lif", "surrogate": "straight_through", "v_reset": 0.25},
    {"kind": "if", "surrogate": "atan", "v_threshold": 0.8},
    {"kind": "plif", "surrogate": "atan", "tau": 3.0},
    {"kind": "lif", "surrogate": "atan", "learn_threshold": True, "v_reset": -0.3},
    {"kind": "lif", "surrogate": {"kind": "rectangle", "alpha": 0.7}},
    {"kind": "lif", "surrogate": "fast_sigmoid", "tau": 1.5},
    {"kind": "if", "surrogate": "gaussian"},
    {"kind": "plif", "surrogate": "sigmoid", "tau": 3.0, "decay_input": False},
    {"kind": "lif", "surrogate": "sigmoid", "learn_threshold": True, "v_reset": 0.2},
]
GRADIENT_SPECS = _sweep() + [(data, "rand") for data in RAND_SPECS] + [
    (data | {"detach_reset": True}, "rand") for data in RAND_SPECS
    if not data.get("detach_reset")]


@pytest.mark.parametrize(("data", "inputs"), GRADIENT_SPECS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_gradients_match_reference(backend: str, data: dict, inputs: str) -> None:
    """Input and every learnable parameter's gradient, rtol 1e-5 in float64; a spec whose
    gradient the backend cannot compute must refuse to run with gradients."""
    spec = parse_neuron(data)
    if not supported(backend, spec):
        return
    x = (_randn((16, 2, 5)) if inputs == "randn" else _rand((20, 3, 6))).requires_grad_()
    support = registry.get_backend(backend).neuron_support(spec)
    if support.gradient is Level.UNSUPPORTED:
        neuron = registry.get_backend(backend).build_neuron(spec).double()
        with pytest.raises(UnsupportedSpecError, match="cannot compute the gradient"):
            neuron(x)
        return
    s_ref, v_ref, g_ref = grads("reference", spec, x)
    s, v, g = grads(backend, spec, x)
    assert s.sum() > 0 and torch.equal(s, s_ref)
    torch.testing.assert_close(v, v_ref, atol=1e-9, rtol=1e-9)
    # one gradient for x and one per learnable parameter: nothing else is trained
    assert set(g) == set(g_ref) == {"x", *spec.learnable_parameters()}
    for name, want in g_ref.items():
        got = g[name]
        assert want.abs().sum() > 0
        # A library whose backward runs in float32 (declared: Support.gradient_precision)
        # rounds each term reaching its spikes to float32; where terms cancel, the sum keeps
        # that absolute error (seen: 5e-8 on gradients of size ~1), so its absolute tolerance
        # scales with the gradient's size, ten times tighter than the conformance suite's.
        atol = 1e-6 * float(want.abs().max()) if support.gradient_precision else 1e-9
        torch.testing.assert_close(got, want, rtol=1e-5, atol=atol)


# -- the reset contract --------------------------------------------------------------------
CONTRACT_SPECS = [
    {"kind": "lif", "reset": "soft", "v_reset": -0.3},
    {"kind": "lif", "v_reset": -0.3},
    {"kind": "lif", "tau": 3.0, "v_reset": -0.2, "v_threshold": 0.8, "reset": "soft",
     "surrogate": {"kind": "triangle", "alpha": 3.0}},
    {"kind": "lif", "tau": 3.0, "v_reset": -0.2, "v_threshold": 0.8, "detach_reset": True},
    {"kind": "plif"},
    {"kind": "plif", "tau": 3.0, "v_reset": -0.2, "v_threshold": 0.8},
    {"kind": "if", "v_reset": -0.2, "v_threshold": 0.8},
    {"kind": "if", "reset": "none"},
]


@pytest.mark.parametrize(("dtype", "tol"), [(torch.float32, 1e-6), (torch.float64, 1e-12)])
@pytest.mark.parametrize("spec", CONTRACT_SPECS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_no_leak_batch_change_and_continuation(backend: str, spec: dict, dtype: torch.dtype,
                                               tol: float) -> None:
    if not supported(backend, spec):
        return
    x = (torch.randn(12, 5, 3, generator=torch.Generator().manual_seed(0)) + 0.6).to(dtype)
    neuron = registry.get_backend(backend).build_neuron(spec).to(dtype)
    neuron.record_v = True
    with torch.no_grad():
        first, v_first = neuron(x), neuron.v_seq
        assert first.sum() > 0
        torch.testing.assert_close(neuron(x), first)  # starts from rest again
        torch.testing.assert_close(neuron(x[:, :2]), first[:, :2])  # batch-size change
        torch.testing.assert_close(neuron.v_seq, v_first[:, :2])
        neuron(x[:, :4] * 3)  # a different batch and drive leaves nothing behind either
        torch.testing.assert_close(neuron(x), first)
        head = neuron(x[:5])
        v_head, state = neuron.v_seq, neuron.last_state
        tail = neuron(x[5:], state=state)
        torch.testing.assert_close(torch.cat([head, tail]), first, rtol=0, atol=0)
        torch.testing.assert_close(torch.cat([v_head, neuron.v_seq]), v_first, rtol=tol,
                                   atol=tol)


#: where each adapter keeps PLIF's w (BrainCog's PLIFNode owns it, beside its threshold and
#: surrogate alpha, which the adapter keeps frozen)
PLIF_W = {"spikingjelly": "w", "snntorch": "w", "norse": "w", "braincog": "node.w"}
PLIF_PARAMETERS = {"braincog": ["node.threshold", "node.w", "node.act_fun.alpha"]}


@pytest.mark.parametrize("backend", BACKENDS)
def test_plif_w_is_a_parameter_that_learns(backend: str) -> None:
    neuron = registry.get_backend(backend).build_neuron(
        {"kind": "plif", "tau": 3.0, "surrogate": "triangle", "detach_reset": True})
    params = dict(neuron.named_parameters())
    assert list(params) == PLIF_PARAMETERS.get(backend, ["w"])
    assert [n for n, p in params.items() if p.requires_grad] == [PLIF_W[backend]]
    w = params[PLIF_W[backend]]
    assert isinstance(w, torch.nn.Parameter)
    assert torch.sigmoid(w).item() == pytest.approx(1 / 3)  # 1/tau = sigmoid(w)
    neuron(torch.full((5, 2, 3), 1.5)).sum().backward()
    assert w.grad is not None and w.grad != 0


# -- refusals, availability, import isolation ----------------------------------------------
class _UnknownSpec(NeuronSpec):
    """A neuron kind no adapter knows (not registered, so no other test sees it)."""

    kind: Literal["resonator"] = "resonator"


@pytest.mark.parametrize("backend", DOOR_BACKENDS)
def test_unknown_kind_is_refused(backend: str) -> None:
    with pytest.raises(UnsupportedSpecError, match="no 'resonator' neuron"):
        registry.get_backend(backend).build_neuron(_UnknownSpec())


@pytest.mark.parametrize("backend", DOOR_BACKENDS)
def test_missing_library_is_unavailable_with_hint(
    backend: str, monkeypatch: pytest.MonkeyPatch, fresh_registry: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cls = type(registry.get_backend(backend))
    hint = f"pip install 'step-snn[{backend}]'"
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a, **k: None if name == backend else real(name, *a, **k))
    assert cls().availability() == (False, f"library {backend!r} is not installed")
    with pytest.raises(BackendUnavailableError, match="not installed.*" + hint.replace(
            "[", r"\[").replace("]", r"\]")):
        cls().build_neuron("lif")
    registry.load_plugins(reload=True)
    status = registry.backend_statuses()[backend]
    assert not status.available and status.install_hint == hint
    with pytest.raises(BackendUnavailableError, match=rf"step-snn\[{backend}\]"):
        registry.get_backend(backend)
    # the table prints the hint as text: rich would read "[snntorch]" as a style and drop it
    monkeypatch.setenv("COLUMNS", "300")
    assert step_main(["backends"]) == 0
    assert hint in capsys.readouterr().out
    monkeypatch.undo()
    registry.load_plugins(reload=True)
    assert registry.backend_statuses()[backend].available


@pytest.mark.parametrize("backend", DOOR_BACKENDS)
def test_broken_library_gives_one_clear_error(backend: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    cls = type(registry.get_backend(backend))
    real = importlib.import_module

    def broken(name: str, *a: object) -> object:
        if name.split(".")[0] == backend:
            raise ImportError("simulated breakage")
        return real(name, *a)

    monkeypatch.setattr(importlib, "import_module", broken)
    first = FIRST_IMPORT[backend].replace(".", r"\.")
    with pytest.raises(BackendUnavailableError,
                       match=rf"cannot import {first}: ImportError: simulated breakage.*step-snn"):
        # a LIF each library computes (Rockpool's only reset is the soft one)
        cls().build_neuron({"kind": "lif", "reset": "soft" if backend == "rockpool" else "hard"})


ISOLATION = """
import sys
import step.plugins.{name} as plugin
from step.specs import NEURON_KINDS, parse_neuron
for backend in plugin.step_backends():  # SpikingJelly's plugin also gives its kernel backends
    for kind in NEURON_KINDS:
        backend.neuron_support(parse_neuron(kind))
    backend.support_summary()
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("{name}", "timm", "torch"))
assert not heavy, heavy
print("ok")
"""


@pytest.mark.parametrize("backend", DOOR_BACKENDS)
def test_plugin_import_and_support_are_light(backend: str) -> None:
    """Importing the plugin and answering support (every kind) imports neither torch nor the
    library (BrainCog alone takes seconds and pulls in timm)."""
    done = subprocess.run([sys.executable, "-c", ISOLATION.format(name=backend)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"
