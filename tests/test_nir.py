"""NIR export and import (step.nir): hand values, round trips on every backend, graphs written by
snnTorch and Norse, the layers NIR has no primitive for, and ``step export-nir``.

Expected values never come from step.nir itself: hand traces of one neuron (written out below),
the original step model's outputs (round trips), and the forward pass of the library that wrote
the graph (interop).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

import step.models
import step.nir
import step.nn as snn
from step.errors import InputError, SpecError, UnsupportedSpecError
from step.registry import available_backends, get_backend
from step.specs import parse_neuron
from step.support import Level

nir = pytest.importorskip("nir")

BACKENDS = available_backends()


def _graph(*nodes: object) -> object:
    """A chain graph input -> nodes -> output of one-neuron nodes."""
    named = {"input": nir.Input(input_type=np.array([1]))}
    named.update({f"n{i}": n for i, n in enumerate(nodes)})
    named["output"] = nir.Output(output_type=np.array([1]))
    order = list(named)
    return nir.NIRGraph(nodes=named, edges=list(zip(order[:-1], order[1:], strict=True)))


def _needs(backend: str, spec: str | dict) -> None:
    """Skip, with the backend's own reason, where it cannot run ``spec`` at all (Rockpool has
    no hard reset, BrainPy no IF); every other backend runs the test in full."""
    support = get_backend(backend).neuron_support(parse_neuron(spec))
    if support.forward is Level.UNSUPPORTED:
        pytest.skip(f"{backend}: {support.forward_how}")


def _run(net: nn.Module, values: list[float]) -> list[float]:
    with torch.no_grad():
        return net(torch.tensor(values, dtype=torch.float32).reshape(-1, 1, 1)).flatten().tolist()


def _one(a: float) -> np.ndarray:
    return np.array([a])


# --- one neuron, by hand ----------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_hand_traces_of_nir_neurons(backend: str) -> None:
    """tau 2 ms at dt 1 ms is step's tau 2: h = 1, 1.5 (spike, reset), 1 for input 2 (r = 1).
    r = 4 = 2 tau: h = v - v/2 + 2x, for x = 0.3: 0.6, 0.9, 1.05 (spike).
    r = tau (decay_input=False): h = 0.5, 0.75, 0.875 for input 0.5 stays below 1.
    v_leak 0.5 above v_reset 0, tau 2, r 1, input 0.5, threshold 0.8:
    h = (0.5 + 0.5)/2 = 0.5, 0.5 + (0.5 - 0.5 + 0.5)/2 = 0.75, 0.75 + (0.5 - 0.75 + 0.5)/2
    = 0.875 (spike). IF with r = 500 at dt 1 ms (gain 0.5), input 1.2: h = 0.6, 1.2 (spike),
    0.6."""
    _needs(backend, "lif")
    _needs(backend, "if")
    dt = 1e-3
    lif = nir.LIF(tau=_one(2e-3), r=_one(1.0), v_leak=_one(0.0), v_threshold=_one(1.0),
                  v_reset=_one(0.0))
    assert _run(step.nir.from_nir(_graph(lif), backend, dt), [2, 2, 2]) == [0, 1, 0]
    lif_r = nir.LIF(tau=_one(2e-3), r=_one(2.0), v_leak=_one(0.0), v_threshold=_one(1.0),
                    v_reset=_one(0.0))
    assert _run(step.nir.from_nir(_graph(lif_r), backend, dt), [0.5] * 3) == [0, 0, 0]
    assert _run(step.nir.from_nir(_graph(lif_r), backend, dt), [1.0] * 3) == [0, 1, 0]
    leak = nir.LIF(tau=_one(2e-3), r=_one(1.0), v_leak=_one(0.5), v_threshold=_one(0.8),
                   v_reset=_one(0.0))
    assert _run(step.nir.from_nir(_graph(leak), backend, dt), [0.5] * 3) == [0, 0, 1]
    if_ = nir.IF(r=_one(500.0), v_threshold=_one(1.0), v_reset=_one(0.0))
    assert _run(step.nir.from_nir(_graph(if_), backend, dt), [1.2] * 3) == [0, 1, 0]
    gain = nir.LIF(tau=_one(2e-3), r=_one(4.0), v_leak=_one(0.0), v_threshold=_one(1.0),
                   v_reset=_one(0.0))
    assert _run(step.nir.from_nir(_graph(gain), backend, dt), [0.3] * 3) == [0, 0, 1]


def _euler(x: np.ndarray, tau: float, r: np.ndarray, v_leak: np.ndarray, th: float,
           v_reset: float, dt: float) -> np.ndarray:
    """NIR's LIF ODE stepped by forward Euler, written here from NIR's docstring."""
    v, out = np.full(x.shape[1:], v_reset), []
    for xt in x:
        v = v + dt / tau * (v_leak - v + r * xt)
        s = v > th
        v = np.where(s, v_reset, v)
        out.append(s.astype(float))
    return np.stack(out)


@given(tau_steps=st.floats(1.2, 20.0), dt=st.sampled_from([1.0, 1e-3, 1e-4]),
       r=st.lists(st.floats(0.2, 5.0), min_size=3, max_size=3),
       leak=st.lists(st.floats(-0.5, 0.5), min_size=3, max_size=3),
       th=st.floats(0.2, 2.0), v_reset=st.floats(-0.5, 0.1), seed=st.integers(0, 2**16))
def test_any_nir_lif_runs_as_its_euler_step(tau_steps: float, dt: float, r: list[float],
                                             leak: list[float], th: float, v_reset: float,
                                             seed: int) -> None:
    """Per-neuron r and v_leak, any dt: the loaded network's spikes are the Euler step's
    (float64, so a flip within rounding of the threshold is out of reach)."""
    x = np.random.default_rng(seed).uniform(0, 3, size=(30, 2, 3))
    r_, leak_ = np.array(r), np.array(leak)
    lif = nir.LIF(tau=np.full(3, tau_steps * dt), r=r_, v_leak=leak_,
                  v_threshold=np.full(3, th), v_reset=np.full(3, v_reset))
    g = nir.NIRGraph(nodes={"input": nir.Input(np.array([3])), "n": lif,
                            "output": nir.Output(np.array([3]))},
                     edges=[("input", "n"), ("n", "output")])
    with torch.no_grad():
        got = step.nir.from_nir(g, dt=dt)(torch.from_numpy(x)).numpy()
    want = _euler(x, tau_steps * dt, r_, leak_, th, v_reset, dt)
    assert np.array_equal(got, want)


def test_a_node_sums_its_inputs() -> None:
    """Two edges into one IF (weights 1 and 2, r = 1 at dt 1): input 0.2 charges 0.6 per step,
    h = 0.6, 1.2 (spike), 0.6."""
    nodes = {"input": nir.Input(np.array([1])),
             "a": nir.Linear(weight=np.array([[1.0]])), "b": nir.Linear(weight=np.array([[2.0]])),
             "if": nir.IF(r=_one(1.0), v_threshold=_one(1.0), v_reset=_one(0.0)),
             "output": nir.Output(np.array([1]))}
    edges = [("input", "a"), ("input", "b"), ("a", "if"), ("b", "if"), ("if", "output")]
    net = step.nir.from_nir(nir.NIRGraph(nodes=nodes, edges=edges), dt=1.0)
    assert _run(net, [0.2] * 3) == [0, 1, 0]


def test_export_writes_the_euler_parameters() -> None:
    """LIF tau 3 steps at dt 1 ms: tau 3 ms; decay_input=False: r = 3; v_leak = v_reset."""
    spec = {"kind": "lif", "tau": 3.0, "decay_input": False, "v_reset": -0.25,
            "v_threshold": 0.5}
    net = nn.Sequential(snn.Neuron(spec))
    g = step.nir.to_nir(net, torch.zeros(2, 1, 4), dt=1e-3)
    lif = g.nodes["0"]
    assert type(lif).__name__ == "LIF"
    assert np.allclose(lif.tau, 3e-3, rtol=1e-15, atol=0) and lif.tau.shape == (4,)
    assert lif.r.tolist() == [3.0] * 4
    assert lif.v_leak.tolist() == lif.v_reset.tolist() == [-0.25] * 4
    assert lif.v_threshold.tolist() == [0.5] * 4
    ifn = step.nir.to_nir(nn.Sequential(snn.Neuron("if")), torch.zeros(1, 1, 1), dt=0.5)
    assert ifn.nodes["0"].r.tolist() == [2.0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_ge_rule_is_written_one_ulp_lower_and_read_back(backend: str) -> None:
    """fire=ge, tau 2, threshold 1, input 2: h = 1 ties the threshold and fires every step
    (spec docstring: [1, 1, 1]); NIR gets the largest float32 below 1, 0.99999994."""
    net = nn.Sequential(snn.Neuron({"kind": "lif", "tau": 2.0, "fire": "ge"}))
    g = step.nir.to_nir(net, torch.zeros(3, 1, 1))
    assert g.nodes["0"].v_threshold.tolist() == [float(np.float32(0.99999994))]
    try:
        back = step.nir.from_nir(g, backend)
    except UnsupportedSpecError as err:  # a plugin without the ge rule says so
        pytest.skip(str(err))
    assert _run(back, [2, 2, 2]) == [1, 1, 1]
    assert back.layers["0"].spec.fire == "ge" and back.layers["0"].spec.v_threshold == 1.0
    g.nodes["0"].metadata = {}  # what another library reads: the strict rule, same spikes
    assert _run(step.nir.from_nir(g, backend), [2, 2, 2]) == [1, 1, 1]


# --- round trips: step -> NIR -> step ----------------------------------------------------------


def _readout_steps(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The head's output at every step: what the NIR graph computes."""
    seen: list[torch.Tensor] = []
    handle = model.head.register_forward_hook(lambda m, a, out: seen.append(out))
    with torch.no_grad():
        model(x)
    handle.remove()
    return seen[0]


def _firing_rates(model: nn.Module, x: torch.Tensor) -> dict[str, float]:
    rates: dict[str, float] = {}
    handles = [m.register_forward_hook(
        lambda m, a, out, n=n: rates.__setitem__(n, out.float().mean().item()))
        for n, m in model.named_modules() if isinstance(m, snn.NeuronModule)]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return rates


def _round_trip(model: nn.Module, backend: str, tmp_path: Path, batch: int = 6) -> None:
    from step.nir.exporter import sample_input

    model.eval()
    step.nir.export(model, tmp_path / "net.nir")
    x = sample_input(model, batch=batch, seed=1) * 3  # drive hard enough to spike
    rates = _firing_rates(model, x)
    assert all(0 < r < 1 for r in rates.values()), rates  # every layer decides something
    want = _readout_steps(model, x)
    got = step.nir.load(tmp_path / "net.nir", backend=backend)
    with torch.no_grad():
        out, logits = got(x), model(x)
    assert torch.equal(out, want)
    assert torch.equal(out.mean(0), logits)  # the readout the metadata names


@pytest.mark.parametrize("backend", BACKENDS)
def test_round_trip_spiking_mlp_is_exact(backend: str, tmp_path: Path) -> None:
    _needs(backend, {"kind": "lif", "detach_reset": True})
    torch.manual_seed(0)
    model = step.models.create("spiking_mlp", "tiny", backend=backend, batch_norm=False)
    _round_trip(model, backend, tmp_path)


@pytest.mark.parametrize("backend", BACKENDS)
def test_round_trip_spiking_cnn_with_folded_batchnorm(backend: str, tmp_path: Path) -> None:
    _needs(backend, {"kind": "lif", "detach_reset": True})
    torch.manual_seed(0)
    model = step.models.create("spiking_cnn", "tiny", backend=backend, pool=False,
                               fc_hidden=[12])
    for m in model.modules():  # statistics away from the identity, so folding matters
        if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
            m.running_mean.uniform_(-0.3, 0.3)
            m.running_var.uniform_(0.5, 2.0)
            nn.init.uniform_(m.weight, 2.0, 4.0)
            nn.init.uniform_(m.bias, -0.2, 0.2)
    with torch.no_grad():  # the sparse spikes of stage 2 must reach the hidden layer's threshold
        model.fc.fc0.module.weight.mul_(8)
    _round_trip(model, backend, tmp_path)


def _field_net(backend: str, readout: bool) -> nn.Module:
    torch.manual_seed(1)
    layers = [
        snn.Conv2d(1, 3, 3, padding=1),
        snn.Neuron({"kind": "lif", "tau": 3.0, "decay_input": False, "v_reset": -0.2,
                    "v_threshold": 0.5, "fire": "ge"}, backend=backend),
        snn.SeqWrap(nn.AvgPool2d(2)),
        snn.SeqWrap(nn.Flatten()),
        snn.Linear(12, 5),
        snn.Neuron("if", backend=backend),
    ]
    if readout:
        layers += [snn.Linear(5, 2), snn.Neuron({"kind": "li", "tau": 4.0}, backend=backend)]
    return nn.Sequential(*layers)


@pytest.mark.parametrize("readout", [False, True], ids=["lif-if", "lif-if-li"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_round_trip_of_every_neuron_kind_and_field(backend: str, readout: bool,
                                                   tmp_path: Path) -> None:
    """LIF (ge rule, decay_input=False, v_reset < 0), AvgPool, IF, and an LI readout, through
    a file: the outputs (spikes, or the LI membrane) identical to the step network's."""
    try:
        net = _field_net(backend, readout)
    except UnsupportedSpecError as err:
        pytest.skip(str(err))
    x = torch.rand(6, 3, 1, 4, 4) * 2
    g = step.nir.export(net, tmp_path / "net.nir", sample=x, dt=0.5)
    kinds = ["Input", "Conv2d", "LIF", "AvgPool2d", "Flatten", "Affine", "IF"]
    kinds += ["Affine", "LI"] if readout else []
    assert [type(n).__name__ for n in g.nodes.values()] == [*kinds, "Output"]
    back = step.nir.load(tmp_path / "net.nir", backend)
    assert back.dt == 0.5 and back.layers["1"].spec == net[1].spec
    with torch.no_grad():
        want, got = net(x), back(x)
    assert want.abs().sum() > 0
    assert torch.equal(got, want)


# --- graphs written by other libraries --------------------------------------------------------


def _drive(seed: int = 0) -> torch.Tensor:
    return torch.rand(20, 8, 4, generator=torch.Generator().manual_seed(seed)) * 6


@pytest.mark.parametrize("backend", BACKENDS)
def test_snntorch_export_runs_as_snntorch_does(backend: str, tmp_path: Path) -> None:
    """snnTorch's own export_to_nir (dt = 1e-4; tau = dt/(1-beta), r = tau/dt), compared with
    snnTorch's forward; parameters per neuron and a zero reset (the exporter writes any
    Leaky as a hard reset: docs/nir.md)."""
    _needs(backend, "lif")  # both exporters write a hard reset
    snntorch = pytest.importorskip("snntorch")
    from snntorch.export_nir import export_to_nir

    def leaky(n: int, **kw: object) -> nn.Module:
        return snntorch.Leaky(beta=torch.full((n,), 0.75), threshold=torch.ones(n),
                              init_hidden=True, reset_mechanism="zero", reset_delay=False, **kw)

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 16), leaky(16), nn.Linear(16, 3), leaky(3, output=True))
    with torch.no_grad():
        net[2].weight.mul_(4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nir.write(tmp_path / "snntorch.nir", export_to_nir(net, torch.rand(4)))
    x = _drive()
    for m in net.modules():
        if isinstance(m, snntorch.Leaky):
            m.reset_mem()
    with torch.no_grad():
        want = torch.stack([net(x[t])[0] for t in range(len(x))])
    with pytest.raises(InputError, match="pass dt"):
        step.nir.load(tmp_path / "snntorch.nir", backend=backend)
    with torch.no_grad():
        got = step.nir.load(tmp_path / "snntorch.nir", backend=backend, dt=1e-4)(x)
    assert want.sum() > 50
    assert torch.equal(got, want)


@pytest.mark.parametrize("backend", BACKENDS)
def test_norse_export_runs_as_norse_does(backend: str, tmp_path: Path) -> None:
    """Norse's to_nir at dt = 1 (where its tau = dt/tau_mem_inv is right; docs/nir.md)."""
    _needs(backend, "lif")  # both exporters write a hard reset
    norse = pytest.importorskip("norse.torch")
    from norse.torch.utils.export_nir import to_nir

    def cell(n: int) -> nn.Module:
        p = norse.LIFBoxParameters(tau_mem_inv=torch.full((n,), 0.5), v_th=torch.ones(n),
                                   v_leak=torch.zeros(n), v_reset=torch.zeros(n))
        return norse.LIFBoxCell(p, dt=1.0)

    torch.manual_seed(0)
    net = norse.SequentialState(nn.Linear(4, 16), cell(16), nn.Linear(16, 8), cell(8))
    with torch.no_grad():
        net[2].weight.mul_(8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nir.write(tmp_path / "norse.nir", to_nir(net, torch.rand(4), dt=1.0))
    x = _drive()
    state, outs = None, []
    with torch.no_grad():
        for t in range(len(x)):
            z, state = net(x[t], state)
            outs.append(z)
        got = step.nir.load(tmp_path / "norse.nir", backend=backend, dt=1.0)(x)
    want = torch.stack(outs)
    assert want.sum() > 50
    assert torch.equal(got, want)


def test_exporter_bugs_reported_in_docs_still_hold() -> None:
    """docs/nir.md reports these; when a pinned library fixes one, this fails: update the doc.

    snnTorch: Leaky(beta 0.5, threshold 1, subtract), input 0.9: v = 0.9, 1.35 (spike, 0.35),
    1.075 (spike, 0.075), 0.9375, 1.36875 (spike, 0.36875), 1.084 (spike): [0, 1, 1, 0, 1, 1];
    the graph says reset to 0: 0.9, 1.35 (spike, 0), 0.9, ...: [0, 1, 0, 1, 0, 1].
    Norse: tau_mem_inv 100 (10 ms) at dt 1e-3 is written as tau 1e-5."""
    snntorch = pytest.importorskip("snntorch")
    norse = pytest.importorskip("norse.torch")
    from norse.torch.utils.export_nir import to_nir
    from snntorch.export_nir import export_to_nir

    lk = snntorch.Leaky(beta=torch.tensor([0.5]), threshold=torch.tensor([1.0]),
                        init_hidden=True, reset_mechanism="subtract", reset_delay=False)
    net = nn.Sequential(nn.Linear(1, 1, bias=False), lk)
    nn.init.ones_(net[0].weight)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = export_to_nir(net, torch.rand(1))
    lk.reset_mem()
    x = torch.full((6, 1, 1), 0.9)
    with torch.no_grad():
        assert [net(x[t]).item() for t in range(6)] == [0, 1, 1, 0, 1, 1]
        assert step.nir.from_nir(g, dt=1e-4)(x).flatten().tolist() == [0, 1, 0, 1, 0, 1]
    p = norse.LIFBoxParameters(tau_mem_inv=torch.full((2,), 100.0), v_leak=torch.zeros(2),
                               v_th=torch.ones(2), v_reset=torch.full((2,), -0.5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = to_nir(norse.SequentialState(nn.Linear(4, 2), norse.LIFBoxCell(p, dt=1e-3)),
                   torch.rand(4), dt=1e-3)
    assert np.allclose(np.asarray(g.nodes["1"].tau), 1e-5)  # right would be 1e-2
    assert np.asarray(g.nodes["1"].v_reset).tolist() == [0.0, 0.0]  # -0.5 dropped


# --- what NIR cannot hold ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["spikformer", "sdt", "qkformer", "spikingresformer"])
def test_transformers_name_the_layers_without_a_primitive(name: str, tmp_path: Path) -> None:
    model = step.models.create(name, "tiny")
    with pytest.raises(SpecError, match="multiplies two activations") as err:
        step.nir.export(model, tmp_path / "t.nir")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "t.nir").exists()


def test_unexportable_neurons_and_pools_are_named() -> None:
    with pytest.raises(SpecError, match="MaxPool2d: NIR has no max-pooling"):
        step.nir.to_nir(step.models.create("spiking_cnn", "tiny"))
    soft = nn.Sequential(snn.Neuron("lif", reset="soft"))
    with pytest.raises(SpecError, match="hard reset"):
        step.nir.to_nir(soft, torch.zeros(2, 1, 3))
    with pytest.raises(SpecError, match="'alif' has no NIR primitive"):
        step.nir.to_nir(nn.Sequential(snn.Neuron("alif")), torch.zeros(2, 1, 3))


def test_graphs_step_cannot_run_are_refused() -> None:
    lif = nir.LIF(tau=_one(2.0), r=_one(1.0), v_leak=_one(0.0), v_threshold=_one(1.0))
    cyclic = _graph(lif, nir.Affine(weight=np.eye(1), bias=_one(0.0)))
    cyclic.edges.append(("n1", "n0"))
    with pytest.raises(InputError, match="recurrent"):
        step.nir.from_nir(cyclic, dt=1.0)
    cuba = nir.CubaLIF(tau_syn=_one(2.0), tau_mem=_one(2.0), r=_one(1.0), v_leak=_one(0.0),
                       v_threshold=_one(1.0))
    with pytest.raises(InputError, match="CubaLIF"):
        step.nir.from_nir(_graph(cuba), dt=1.0)
    with pytest.raises(InputError, match="not > 1"):
        step.nir.from_nir(_graph(lif), dt=4.0)
    mixed = nir.LIF(tau=np.array([2.0, 3.0]), r=np.ones(2), v_leak=np.zeros(2),
                    v_threshold=np.ones(2))
    g = nir.NIRGraph(nodes={"input": nir.Input(np.array([2])), "n": mixed,
                            "output": nir.Output(np.array([2]))},
                     edges=[("input", "n"), ("n", "output")])
    with pytest.raises(InputError, match="tau differs between neurons"):
        step.nir.from_nir(g, dt=1.0)


# --- the command line and a trained run ---------------------------------------------------------


def _step(*args: str, cwd: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    from step.cli import main

    monkeypatch.chdir(cwd)
    return main(list(args))


def test_cli_bad_input_is_one_line_and_writes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for args in (["spikformer", "t.nir"], ["nosuch", "t.nir"],
                 ["spiking_mlp", "t.nir", "--dt", "0"], ["spiking_cnn", "t.nir"]):
        assert _step("export-nir", *args, cwd=tmp_path, monkeypatch=monkeypatch) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("step export-nir: error: "), err
        assert not (tmp_path / "t.nir").exists()


@pytest.mark.slow
def test_trained_spiking_cnn_reloads_on_every_backend(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Done when: a spiking CNN trained with step train exports to NIR and reloads on every
    backend with the trained model's outputs."""
    from step.cli.probe import read_result
    from step.data import batches
    from step.train import RunConfig
    from step.train.setup import load_data

    assert _step("train", "--model", "spiking_cnn", "--preset", "tiny", "--set", "pool=false",
                 "--dataset", "digits", "--epochs", "1", "--train-subset", "128",
                 "--eval-subset", "64", "--batch-size", "32", "--out", "run", "--quiet",
                 cwd=tmp_path, monkeypatch=monkeypatch) == 0
    capsys.readouterr()
    assert _step("export-nir", "run", "cnn.nir", "--json", cwd=tmp_path,
                 monkeypatch=monkeypatch) == 0
    assert json.loads(capsys.readouterr().out)["nodes"]["stages_0_lif"] == "LIF"
    trained = step.nir.model_of(tmp_path / "run")
    cfg = RunConfig.parse(read_result(tmp_path / "run")["config"])
    data = load_data(cfg)
    x, _ = next(iter(batches(data.test, 64, time_first=data.time_first)))
    x = trained.time_first(x)
    want = _readout_steps(trained, x)
    assert want.abs().sum() > 0
    for backend in BACKENDS:
        support = get_backend(backend).neuron_support(
            parse_neuron({"kind": "lif", "detach_reset": True}))
        if support.forward is Level.UNSUPPORTED:  # refused with its reason, never run wrong
            with pytest.raises(UnsupportedSpecError, match="cannot run"):
                step.nir.load(tmp_path / "cnn.nir", backend=backend)
            continue
        got = step.nir.load(tmp_path / "cnn.nir", backend=backend)
        with torch.no_grad():
            assert torch.equal(got(x), want), backend
