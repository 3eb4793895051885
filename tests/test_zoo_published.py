"""The "as published" presets against golden traces of their authors' code (tests/data/zoo/).

The expected values are the authors' own outputs (see tests/data/zoo/README.md for how they
were made); each preset must reproduce spikes exactly, and membrane, input gradient and every
parameter gradient within 1e-12 in float64, on the reference and on every adapter that
supports the preset. The canonical spec must not reproduce them: the traces are built to tell
the two apart (ties on the fire boundary, detached resets, initial values).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from step.conformance.modes import find_parameter
from step.errors import SpecError
from step.registry import backend_statuses, get_backend
from step.specs import NEURON_KINDS, PUBLISHED, published
from step.specs.as_published import differences
from step.support import Level

GOLDEN = Path(__file__).parent / "data" / "zoo"
KINDS = sorted(p.stem for p in GOLDEN.glob("*.json"))
BACKENDS = ("reference", "spikingjelly", "snntorch", "norse", "braincog")
TOL = 1e-12
#: Where a library's backward is float32 however the input is (BrainCog's surrogates keep
#: alpha as a float32 parameter), its gradients are compared at float32 accuracy.
FLOAT32_GRAD_TOL = 1e-5
#: Kinds whose authors' code creates its parameters in float32 (``dtype=torch.float``) before
#: the golden script made the module float64: initial values are compared in float32.
FLOAT32_INIT = {"glif"}


def golden(kind: str) -> dict:
    data = json.loads((GOLDEN / f"{kind}.json").read_text())
    shape = data["shape"]
    for key in ("x", "spikes", "v", "readout_spikes", "readout_v", "grad_x"):
        data[key] = torch.tensor(data[key], dtype=torch.float64).view(shape)
    return data


def spec_for(kind: str, data: dict, canonical: bool = False):
    """The preset (or canonical spec) at the golden trace's T where the kind has a T."""
    cls = NEURON_KINDS[kind]
    extra = {"T": data["shape"][0]} if "T" in cls.model_fields else {}
    return cls(**extra) if canonical else published(kind, **extra)


def run(backend: str, spec, data: dict, load_parameters: bool = True, gradients: bool = True):
    """Spikes, membrane, and the gradients of the golden loss (x, then each parameter; empty
    without ``gradients``)."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        torch.manual_seed(data.get("init_seed", 0))
        neuron = get_backend(backend).build_neuron(spec).double()
    finally:
        torch.set_default_dtype(before)
    neuron.record_v = True
    params = {}
    for name, value in data["parameters"].items():
        found = find_parameter(neuron, name)
        assert found is not None, f"{backend} exposes no parameter {name!r}"
        params[name] = found[1]
        if load_parameters:
            with torch.no_grad():
                found[1].copy_(torch.tensor(value, dtype=torch.float64).view_as(found[1]))
    if not gradients:
        with torch.no_grad():
            spikes = neuron(data["x"])
        return spikes, neuron.v_seq, {}
    x = data["x"].clone().requires_grad_(True)
    spikes = neuron(x)
    loss = (data["readout_spikes"] * spikes).sum() + (data["readout_v"] * neuron.v_seq).sum()
    grads = torch.autograd.grad(loss, [x, *params.values()])
    return spikes.detach(), neuron.v_seq.detach(), dict(zip(["x", *params], grads, strict=True))


def _available(name: str) -> bool:
    status = backend_statuses().get(name)
    return status is not None and status.available


@pytest.mark.parametrize("backend", [
    pytest.param(b, marks=pytest.mark.skipif(not _available(b), reason=f"{b} missing"))
    for b in BACKENDS])
@pytest.mark.parametrize("kind", KINDS)
def test_the_preset_reproduces_the_authors_code(kind: str, backend: str) -> None:
    data = golden(kind)
    spec = spec_for(kind, data)
    support = get_backend(backend).neuron_support(spec)
    if support.forward is Level.UNSUPPORTED:
        pytest.skip(f"{backend} does not run the {kind} preset: {support.forward_how}")
    with_gradients = support.gradient is not Level.UNSUPPORTED
    spikes, v, grads = run(backend, spec, data, gradients=with_gradients)
    assert torch.equal(spikes, data["spikes"])
    torch.testing.assert_close(v, data["v"], rtol=0, atol=TOL)
    if not with_gradients:
        return
    tol = FLOAT32_GRAD_TOL if support.gradient_precision == "float32" else TOL
    torch.testing.assert_close(grads["x"], data["grad_x"], rtol=0, atol=tol)
    for name, expected in data["grad_parameters"].items():
        torch.testing.assert_close(grads[name].flatten(),
                                   torch.tensor(expected, dtype=torch.float64),
                                   rtol=0, atol=tol, msg=f"gradient of {name}")


@pytest.mark.parametrize("kind", KINDS)
def test_the_preset_starts_from_the_authors_initial_values(kind: str) -> None:
    # PSN's W is drawn (nn.Linear's init) right after torch.manual_seed(0), as in the script
    data = golden(kind)
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        torch.manual_seed(data.get("init_seed", 0))
        neuron = get_backend("reference").build_neuron(spec_for(kind, data))
    finally:
        torch.set_default_dtype(before)
    for name, value in data["parameters"].items():
        found = find_parameter(neuron, name)
        assert found is not None
        ours, theirs = found[1].detach().flatten(), torch.tensor(value, dtype=torch.float64)
        if kind in FLOAT32_INIT:
            ours, theirs = ours.float(), theirs.float()
        torch.testing.assert_close(ours, theirs, rtol=0, atol=TOL, msg=name)


@pytest.mark.parametrize("kind", KINDS)
def test_the_canonical_spec_does_not_reproduce_the_authors_code(kind: str) -> None:
    data = golden(kind)
    spikes, v, grads = run("reference", spec_for(kind, data, canonical=True), data,
                           load_parameters=False)
    same = (torch.equal(spikes, data["spikes"]) and torch.allclose(v, data["v"], atol=TOL)
            and torch.allclose(grads["x"], data["grad_x"], atol=TOL)
            and all(torch.allclose(grads[n].flatten(), torch.tensor(g, dtype=torch.float64),
                                   atol=TOL)
                    for n, g in data["grad_parameters"].items()))
    assert not same


@pytest.mark.parametrize("kind", sorted(set(NEURON_KINDS) - {"if", "lif"}))
def test_every_named_kind_has_a_preset_with_its_source(kind: str) -> None:
    entry = PUBLISHED[kind]
    assert entry.source
    assert published(kind).kind == kind
    changed = {name for name, _, _ in differences(kind)}
    assert changed == set(entry.settings)  # every setting is a real difference


def test_the_ilif_preset_counts_a_tie_as_the_even_count_and_detaches_the_reset() -> None:
    # I-LIF as published, constant drive 1.2 over T = 4 (decay 0.25, D = 4):
    # h = 1.2 -> C 1, v .2; h = .05 + 1.2 = 1.25 -> 1, v .25; 1.2625 -> 1; 1.265625 -> 1.
    # d(sum C)/dx[t] with the reset detached: dC[t]/dh[t] = 1, dh[t+1]/dh[t] = 0.25 (the count
    # no longer pulls it back), so dx[3] = 1, dx[2] = 1.25, dx[1] = 1 + .25 + .0625 = 1.3125,
    # dx[0] = 1.328125; attached (canonical), the reset cancels the carry: all 1.
    x = torch.full((4, 1), 1.2, dtype=torch.float64, requires_grad=True)
    neuron = get_backend("reference").build_neuron(published("ilif")).double()
    neuron(x).sum().backward()
    assert x.grad.flatten().tolist() == pytest.approx([1.328125, 1.3125, 1.25, 1.0], abs=1e-15)
    tie = neuron(torch.tensor([[1.5], [2.5 - 0.125]], dtype=torch.float64))
    # h = 1.5 -> 2 (even); then v = -.5, h = -.125 + 2.375 = 2.25 -> 2
    assert tie.flatten().tolist() == [2.0, 2.0]
    strict = get_backend("reference").build_neuron("ilif").double()
    assert strict(torch.tensor([[1.5]], dtype=torch.float64)).item() == 1.0


def test_an_unknown_preset_names_the_known_ones() -> None:
    with pytest.raises(SpecError, match="no as-published preset for neuron kind 'nope'.*clif"):
        published("nope")


@pytest.mark.parametrize("backend", [
    pytest.param(b, marks=pytest.mark.skipif(not _available(b), reason=f"{b} missing"))
    for b in ("reference", "braincog")])
def test_the_izhikevich_preset_starts_at_minus_65_as_the_papers_listing(backend: str) -> None:
    # intrinsically bursting (c -55, d 4), no input: from the listing's v = -65, u = b v = -13,
    # h = -65 + (0.04 * 4225 - 325 + 140 + 13) = -68; from the canonical v = c = -55,
    # u = -11: h = -55 + (121 - 275 + 140 + 11) = -58
    x = torch.zeros(1, 1, dtype=torch.float64)
    for spec, expected in ((published("izhikevich", v_reset=-55.0, d=4.0), -68.0),
                           (NEURON_KINDS["izhikevich"](v_reset=-55.0, d=4.0), -58.0)):
        neuron = get_backend(backend).build_neuron(spec).double()
        neuron.record_v = True
        neuron(x)
        assert neuron.v_seq.item() == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(("data", "message"), [
    ({"kind": "glif", "init_gate": [0.5, 1.2, 0.5]}, r"init_gate \(beta\) must lie in \(0, 1\)"),
    ({"kind": "glif", "init_gate": [0.5, 0.5]}, "init_gate"),
    ({"kind": "psn", "init_weight": "xavier"}, "init_weight"),
    ({"kind": "ilif", "round_ties": "up"}, "round_ties"),
])
def test_the_new_fields_reject_bad_values(data: dict, message: str) -> None:
    from step.specs import parse_neuron

    with pytest.raises(SpecError, match=message):
        parse_neuron(data)


def test_the_psn_preset_fires_where_h_is_exactly_zero() -> None:
    # W = I, b = -1 (the preset's bias): input 1, 0.5 gives H = 0, -0.5; the authors' code
    # (SpikingJelly's heaviside) fires at H >= 0, the canonical rule only above it
    x = torch.tensor([[1.0], [0.5]], dtype=torch.float64)
    out = []
    for spec in (published("psn", T=2), NEURON_KINDS["psn"](T=2)):
        neuron = get_backend("reference").build_neuron(spec).double()
        with torch.no_grad():
            neuron.weight.copy_(torch.eye(2))
            out.append(neuron(x).flatten().tolist())
    assert out == [[1.0, 0.0], [0.0, 0.0]]
