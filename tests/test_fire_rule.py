"""The fire rule (``NeuronSpec.fire``): ``gt`` fires on h > v_th, ``ge`` on h >= v_th.

Expected values are worked by hand on inputs where h lands exactly on the threshold (dyadic
values, exact in binary floating point), where the two rules differ.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from step import models
from step.backend import Backend
from step.fire_rule import library_threshold, library_threshold_tensor, nudge_how
from step.registry import available_backends, get_backend
from step.specs import parse_neuron
from step.support import Level, Support

BACKENDS = [b for b in available_backends() if "ge" in type(get_backend(b)).fire_rules]

# (spec, input, expected spikes gt, expected spikes ge): each worked by hand below.
HAND_TRACES = [
    # IF, threshold 1: h = 0.5, 1.0 (a tie: ge fires, reset to 0; gt keeps 1.0), then
    # gt: h = 1.5 fires; ge: h = 0.5 does not.
    ({"kind": "if"}, [0.5, 0.5, 0.5], [0, 0, 1], [0, 1, 0]),
    # LIF tau 2, threshold 1, input 2: h = 1 (tie) at step 1. gt: no spike, then h = 1.5 fires,
    # then h = 1 again (no spike). ge: every step is h = 1 from v = 0, so it fires each time.
    ({"kind": "lif", "tau": 2.0}, [2.0, 2.0, 2.0], [0, 1, 0], [1, 1, 1]),
    # LIF tau 2, threshold 0.5 (the attention neuron), input 0.5, 0.25, 0.75:
    # h = 0.25; h = 0.25 + (0.25 - 0.25)/2 = 0.25; h = 0.25 + (0.75 - 0.25)/2 = 0.5 (tie).
    ({"kind": "lif", "tau": 2.0, "v_threshold": 0.5}, [0.5, 0.25, 0.75], [0, 0, 0], [0, 0, 1]),
    # soft reset IF, threshold 1, input 1, 1, 0.5: ge: h = 1 fires, v = 0; again; h = 0.5.
    # gt: h = 1, then 2 fires (v = 1), then h = 1.5 fires.
    ({"kind": "if", "reset": "soft"}, [1.0, 1.0, 0.5], [0, 1, 1], [1, 1, 0]),
]


def _run(backend: str, spec: dict, x: list[float], dtype: torch.dtype) -> list[float]:
    neuron = get_backend(backend).build_neuron(spec).to(dtype)
    with torch.no_grad():
        out = neuron(torch.tensor(x, dtype=dtype).reshape(-1, 1, 1))
    return out.flatten().tolist()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", range(len(HAND_TRACES)))
def test_hand_traces_at_exact_ties(backend: str, case: int, dtype: torch.dtype) -> None:
    spec, x, want_gt, want_ge = HAND_TRACES[case]
    for rule, want in (("gt", want_gt), ("ge", want_ge)):
        full = parse_neuron({**spec, "fire": rule})
        support = get_backend(backend).neuron_support(full)
        if support.forward is Level.UNSUPPORTED:
            continue  # e.g. a reset the library lacks; the rule itself is covered elsewhere
        assert _run(backend, full, x, dtype) == want, (backend, rule)


#: libraries without the transformers' hard reset at all (whatever the rule)
WITHOUT_HARD_RESET = {"rockpool"}


def test_every_library_backend_runs_both_rules_for_lif() -> None:
    """The transformers' LIF (hard reset, detached, sigmoid) runs at both rules on every
    library (but those that have no hard reset) at the same support level: converting the rule
    costs no level."""
    for backend in BACKENDS:
        levels = set()
        for rule in ("gt", "ge"):
            spec = parse_neuron({"kind": "lif", "detach_reset": True, "fire": rule,
                                 "surrogate": {"kind": "sigmoid", "alpha": 4.0}})
            support = get_backend(backend).neuron_support(spec)
            levels.add((support.forward, support.gradient))
        assert len(levels) == 1, backend
        if backend in WITHOUT_HARD_RESET:
            assert "reset" in support.forward_how, backend
        else:
            assert Level.UNSUPPORTED not in next(iter(levels)), backend


def test_integer_count_ties() -> None:
    """ILIF, threshold 1, tau 4/3 without input decay: h = x at step 1. A count level k fires
    when h is above (gt) or at (ge) its boundary k - 1/2: h = 1.5 counts 1 (gt) or 2 (ge)."""
    for rule, want in (("gt", 1.0), ("ge", 2.0)):
        neuron = get_backend("reference").build_neuron({"kind": "ilif", "fire": rule})
        assert neuron(torch.tensor([[[1.5]]], dtype=torch.float64)).item() == want


def test_surrogate_gradient_is_the_same_under_both_rules() -> None:
    """Away from ties the rules fire identically, and the backward is the same surrogate."""
    x = torch.tensor([0.3, 0.9, 0.4, 1.3], dtype=torch.float64).reshape(-1, 1, 1)
    grads = []
    for rule in ("gt", "ge"):
        xx = x.clone().requires_grad_()
        neuron = get_backend("reference").build_neuron({"kind": "lif", "fire": rule})
        neuron(xx).sum().backward()
        grads.append(xx.grad)
    assert torch.equal(grads[0], grads[1])


@given(st.floats(-1e3, 1e3, allow_nan=False), st.floats(-1e3, 1e3, allow_nan=False),
       st.sampled_from([torch.float32, torch.float64]), st.sampled_from(["gt", "ge"]),
       st.sampled_from(["gt", "ge"]))
def test_nudged_threshold_turns_one_rule_into_the_other(
    h: float, th: float, dtype: torch.dtype, rule: str, library_rule: str
) -> None:
    """A library comparing with ``library_rule`` against the nudged threshold fires exactly
    as ``rule`` against the real one, for every h (ties included: h = th is tried too)."""
    th_d = torch.tensor(th, dtype=dtype)
    for hv in (torch.tensor(h, dtype=dtype), th_d):
        lib = torch.tensor(library_threshold(th, dtype, rule, library_rule), dtype=dtype)
        lib_fires = hv >= lib if library_rule == "ge" else hv > lib
        want = hv >= th_d if rule == "ge" else hv > th_d
        assert bool(lib_fires) == bool(want)


def test_learnt_threshold_nudge_keeps_the_gradient() -> None:
    th = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    nudged = library_threshold_tensor(th, "ge", "gt")
    assert nudged.item() == math.nextafter(0.5, -math.inf)
    (3 * nudged).backward()
    assert th.grad.item() == 3.0
    assert library_threshold_tensor(th, "gt", "gt") is th


def test_adapters_say_how_they_convert_the_rule() -> None:
    assert nudge_how("gt", "gt") == ""
    assert "+inf" in nudge_how("gt", "ge") and "-inf" in nudge_how("ge", "gt")
    ge = parse_neuron({"kind": "lif", "fire": "ge"})
    gt = parse_neuron({"kind": "lif", "fire": "gt"})
    assert "nextafter" in get_backend("spikingjelly").neuron_support(gt).forward_how
    assert "nextafter" not in get_backend("spikingjelly").neuron_support(ge).forward_how
    for strict in ("snntorch", "norse"):
        assert "nextafter" in get_backend(strict).neuron_support(ge).forward_how
        assert "nextafter" not in get_backend(strict).neuron_support(gt).forward_how


def test_a_plugin_that_predates_the_field_is_refused_ge_not_run_with_gt() -> None:
    class OldPlugin(Backend):
        name = "old-plugin"

        def neuron_support(self, spec):  # noqa: ANN001, ANN202
            return Support(Level.NATIVE, Level.NATIVE, "always h > v_th", "")

        def _build_neuron(self, spec, support):  # noqa: ANN001, ANN202
            raise AssertionError("never built for a ge spec")

    old = OldPlugin()
    assert old.neuron_support(parse_neuron("lif")).forward is Level.NATIVE
    refused = old.neuron_support(parse_neuron({"kind": "lif", "fire": "ge"}))
    assert refused.forward is Level.UNSUPPORTED and "fire rule 'ge'" in refused.forward_how


OFFICIAL = ["spikformer", "sdt", "qkformer", "spikingformer", "spikingresformer"]


@pytest.mark.parametrize("name", OFFICIAL)
def test_published_presets_fire_like_their_official_code(name: str) -> None:
    """Every official code base uses SpikingJelly (h >= v_th): every role, every preset."""
    for preset in models.list_presets(name):
        config = models.get_config(name, preset)
        assert {config.spec(r).fire for r in config.neuron_roles} == {"ge"}, preset


def test_baselines_keep_the_canonical_rule() -> None:
    for name in ("spiking_mlp", "spiking_cnn"):
        assert models.get_config(name, "tiny").neuron.fire == "gt"


def test_li_has_no_fire_rule() -> None:
    from step.errors import SpecError

    with pytest.raises(SpecError, match="fire must be gt"):
        parse_neuron({"kind": "li", "fire": "ge"})
