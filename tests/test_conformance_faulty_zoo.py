"""One perturbed equation in the reference of each zoo kind is caught by the suite.

The expectations come from the independent oracle (:mod:`step.conformance.oracle`), so the
reference backend itself is judged: each test breaks one equation of the reference's own
dynamics table (the audit's example: HH's input current halved) and runs that kind's cases
on the reference backend. Before the oracle, the expectation ran the same broken equation and
every case passed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
import torch
from faulty_backends import cached_expected

import step.reference.neurons  # noqa: F401  (importing it registers every kind's equations)
from step.conformance.cases import catalogue
from step.conformance.runner import run_case
from step.reference._dynamics import DYNAMICS, Run, threshold
from step.reference.functional import BASE_KINDS, charge_lif, fire, reset
from step.registry import get_backend
from step.specs import NEURON_KINDS

CASES = catalogue(["float32", "float64"])


def _with_spec(kind: str, **change: Callable) -> Callable:
    """The original step run on a spec whose fields are changed by ``change``."""
    orig = DYNAMICS[kind].step

    def step(spec, x, state, p):
        update = {k: f(spec) for k, f in change.items()}
        return orig(spec.model_copy(update=update), x, state, p)

    return step


def _with_params(kind: str, change: Callable) -> Callable:
    orig = DYNAMICS[kind].step

    def step(spec, x, state, p):
        return orig(spec, x, state, change(dict(p)))

    return step


def _cuba_current_one_step_late(spec, x, state, p):
    th = threshold(spec, p)
    h = charge_lif(state["i"], state["v"], 1.0 / spec.tau, spec.v_reset, spec.decay_input)
    s = fire(h, th, spec.surrogate)
    i = state["i"] * (1.0 - 1.0 / spec.tau_syn) + x
    return s, {"v": reset(h, s, th, spec.v_reset, spec.reset, spec.detach_reset), "i": i}


def _izhikevich_u_from_old_v(spec, x, state, p):
    orig = _ORIGINAL["izhikevich"]
    s, new = orig(spec, x, state, p)
    # u moved towards b v[t-1] instead of b h[t]
    sr = s.detach() if spec.detach_reset else s
    u_h = state["u"] + spec.dt * spec.a * (spec.b * state["v"] - state["u"])
    return s, {"v": new["v"], "u": u_h + spec.d * sr}


def _ilif_rounds_half_to_even(kind: str) -> Callable:
    orig = _ORIGINAL[kind]

    def step(spec, x, state, p):
        th = threshold(spec, p)
        h = charge_lif(x, state["v"], 1.0 / spec.tau, spec.v_reset, spec.decay_input)
        c = torch.clamp(torch.round(h / th), 0, spec.max_spikes)
        good, new = orig(spec, x, state, p)
        scale = spec.max_spikes if kind == "nilif" else 1
        c = good + (c.detach() / scale - good.detach())  # the rounded count, good backward
        return c, {"v": h - c * scale * th}

    return step


def _nilif_outputs_the_count(spec, x, state, p):
    out, new = _ORIGINAL["nilif"](spec, x, state, p)
    return out * spec.max_spikes, new


def _psn_transposed(spec, x, p) -> Run:
    return _ORIGINAL_SEQ["psn"](spec, x, {"weight": p["weight"].t(), "bias": p["bias"]})


_ORIGINAL = {k: d.step for k, d in DYNAMICS.items() if d.step is not None}
_ORIGINAL_SEQ = {k: d.sequence for k, d in DYNAMICS.items() if d.sequence is not None}


def _clif_step(spec, x, state, p):
    th = threshold(spec, p)
    v, m = state["v"], state["m"]
    h = v - (v - spec.v_reset) / spec.tau + x
    s = fire(h, th, spec.surrogate)
    sr = s.detach() if spec.detach_reset else s
    m = m * torch.sigmoid(h) + sr  # sigma(h) where the paper has sigma(h / tau)
    return s, {"v": h - sr * (th + torch.sigmoid(m)), "m": m}


#: kind -> (what is wrong, the perturbed step; or a sequence for PSN)
FAULTS: dict[str, tuple[str, Callable]] = {
    "eif": ("rheobase theta_rh off by 0.05", _with_spec("eif", theta_rh=lambda s: s.theta_rh
                                                         + 0.05)),
    "klif": ("k applied twice (k^2): the forward is right at k = 1, dk is doubled",
             _with_params("klif", lambda p: {**p, "k": p["k"] * p["k"]})),
    "alif": ("adaptation decays with the membrane's tau",
             _with_spec("alif", tau_adapt=lambda s: s.tau)),
    "cuba_lif": ("the current charges the membrane one step late", _cuba_current_one_step_late),
    "li": ("leaks towards 0 instead of v_reset", _with_spec("li", v_reset=lambda s: 0.0)),
    "ilif": ("count rounded half to even", _ilif_rounds_half_to_even("ilif")),
    "nilif": ("outputs the count C instead of C / D", _nilif_outputs_the_count),
    "clif": ("complementary memory decays by sigma(h), not sigma(h / tau)", _clif_step),
    "glif": ("linear leak read as 1 - l (sign of its logit flipped)",
             _with_params("glif", lambda p: {**p, "linear_decay": -p["linear_decay"]})),
    "hdlif": ("gate ignores the input (c x dropped): same forward at c = 0, no dc",
              _with_params("hdlif", lambda p: {**p, "gate_weight": p["gate_weight"] * 0})),
    "psn": ("W applied transposed: same forward at W = I, dW transposed", _psn_transposed),
    "izhikevich": ("u follows the old v, not the new one", _izhikevich_u_from_old_v),
    "hh": ("input current halved", lambda spec, x, st, p: _ORIGINAL["hh"](spec, x / 2, st, p)),
}


def test_every_zoo_kind_has_a_fault() -> None:
    assert set(FAULTS) == {k for k in NEURON_KINDS if k in DYNAMICS and k not in BASE_KINDS}


@pytest.mark.parametrize("kind", sorted(FAULTS))
def test_a_perturbed_zoo_equation_is_caught(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    what, fn = FAULTS[kind]
    field = "sequence" if kind == "psn" else "step"
    monkeypatch.setitem(DYNAMICS, kind, dataclasses.replace(DYNAMICS[kind], **{field: fn}))
    reference = get_backend("reference")
    cases = [c for c in CASES if c.spec.kind == kind]
    for case in cases:
        result = run_case(reference, case, cached_expected(case))
        if result.status.failed:
            assert result.divergence is not None, result.detail
            monkeypatch.undo()  # the same case passes on the unperturbed reference
            assert not run_case(reference, case, cached_expected(case)).status.failed, case.id
            return
    pytest.fail(f"{kind} with '{what}' passed all {len(cases)} cases")
