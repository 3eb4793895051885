"""The suite catches a backend that gets one parameter's gradient, one spec field or one input
layout wrong, on every kind (the audit's blind spots: scalar gradients, field combinations,
ranks above 3)."""

from __future__ import annotations

import pytest
import torch
from faulty_backends import (
    SpecFault,
    WrapFault,
    Wrapper,
    cached_expected,
    failing_status,
    first_failure,
    flattens_transposed,
    reads_storage,
    run_sequence,
    scale_gradient,
)

from step.conformance.cases import catalogue
from step.conformance.compare import compare_gradient
from step.conformance.policy import TOLERANCES, Status
from step.conformance.spec_space import base
from step.reference import functional as F
from step.specs import NEURON_KINDS, NeuronSpec

CASES = catalogue(["float32", "float64"])


def _cases(**where):
    return [c for c in CASES if all(getattr(c, k) == v for k, v in where.items())]


# -- every learnable parameter's gradient ------------------------------------------------------
def _parameter_cases() -> dict[tuple[str, str], list]:
    """(kind, parameter) -> the param-grad cases (float32) whose spec learns it."""
    out: dict[tuple[str, str], list] = {}
    for c in _cases(mode="param-grad", dtype="float32"):
        for p in c.spec.learnable_parameters():
            out.setdefault((c.spec.kind, p), []).append(c)
    return out


PARAMETERS = _parameter_cases()


def test_every_learnable_parameter_of_every_kind_has_gradient_cases() -> None:
    declared = {(k, p) for k, cls in NEURON_KINDS.items()
                for p in cls.learnable} | {(k, "v_threshold") for k in ("if", "lif", "plif")}
    assert declared <= set(PARAMETERS), declared - set(PARAMETERS)


@pytest.mark.parametrize("factor", [2.0, -1.0], ids=["doubled", "sign-flipped"])
@pytest.mark.parametrize("kind,parameter", sorted(PARAMETERS))
def test_a_wrong_parameter_gradient_is_caught(kind: str, parameter: str, factor: float) -> None:
    backend = WrapFault(f"faulty-grad-{kind}-{parameter}", scale_gradient(parameter, factor))
    result = first_failure(backend, PARAMETERS[kind, parameter])
    assert failing_status(result), f"{kind}.{parameter} x{factor} passed"
    assert result.divergence is not None
    assert result.divergence.quantity == f"gradient of {parameter}"


def test_a_scalar_gradient_is_compared_and_nan_fails() -> None:
    tol = TOLERANCES["float32"]
    ref = torch.tensor(0.5)
    assert compare_gradient("w", torch.tensor(0.5), ref, tol, timed=False).ok
    for wrong in (1.0, -0.5, float("nan")):
        verdict = compare_gradient("w", torch.tensor(wrong), ref, tol, timed=False)
        assert not verdict.ok and verdict.divergence.index == ()


# -- every spec field ----------------------------------------------------------------------------
def _ignores(field: str):
    """A backend that reads ``field`` at its default value, whatever the spec says."""
    def transform(spec: NeuronSpec) -> NeuronSpec:
        default = type(spec).model_fields[field].get_default(call_default_factory=True)
        return spec.model_copy(update={field: default})
    return transform


def _fields_of(kind: str) -> list[str]:
    """The fields some case of ``kind`` sets away from the kind's base spec."""
    spec = base(kind)[0]
    fields: set[str] = set()
    for c in CASES:
        if c.spec.kind == kind:
            fields |= {f for f in type(c.spec).model_fields
                       if f not in ("kind", "T") and getattr(c.spec, f) != getattr(spec, f)}
    return sorted(fields)


FIELDS = [(k, f) for k in sorted(NEURON_KINDS) for f in _fields_of(k)]


@pytest.mark.parametrize("kind,field", FIELDS)
def test_a_backend_ignoring_a_field_is_caught(kind: str, field: str) -> None:
    cls = NEURON_KINDS[kind]
    default = cls.model_fields[field].get_default(call_default_factory=True)
    cases = [c for c in CASES if c.spec.kind == kind and getattr(c.spec, field) != default
             and (c.dtype == "float32" or c.dtypes == ("float64",))]
    assert cases, f"no case sets {kind}.{field}"
    result = first_failure(SpecFault(f"faulty-{kind}-{field}", _ignores(field)), cases)
    assert failing_status(result), f"{kind} ignoring {field} passed {len(cases)} cases"


def test_a_fault_that_needs_two_fields_is_caught() -> None:
    """Soft reset written as v = h - s (v_th - v_reset): right whenever v_reset = 0."""
    from step.reference.neurons import ReferenceNeuron

    class Neuron(ReferenceNeuron):
        fused = False

        def run(self, x, state, record_v):
            spec, v_th = self.spec, self.v_threshold

            def step(xt, v):
                h = F.neuron_step(spec.model_copy(update={"reset": "none"}), xt, v, v_th,
                                  self.inv_tau())[2]
                s = F.fire(h, v_th, spec.surrogate, spec.fire)
                if spec.reset == "soft":
                    sr = s.detach() if spec.detach_reset else s
                    return s, h - sr * (v_th - spec.v_reset)
                return s, F.reset(h, s, v_th, spec.v_reset, spec.reset, spec.detach_reset)

            v0 = state["v"] if state is not None else torch.full_like(x[0], spec.v_reset)
            spikes, v_seq, last = run_sequence(step, x, v0, record_v)
            return spikes, v_seq, {"v": last}

    class Backend(SpecFault):
        def _build_neuron(self, spec, support):
            return Neuron(spec)

    soft_only = [c for c in CASES if c.spec.kind in ("if", "lif") and c.spec.reset == "soft"
                 and c.dtype == "float32"]
    at_zero = [c for c in soft_only if c.spec.v_reset == 0.0]
    assert first_failure(Backend("faulty-soft-vreset", lambda s: s), at_zero) is None
    assert failing_status(first_failure(Backend("faulty-soft-vreset", lambda s: s), soft_only))


# -- every input rank ----------------------------------------------------------------------------
@pytest.mark.parametrize("fault", [flattens_transposed, reads_storage],
                         ids=["flattens-transposed", "reads-storage"])
@pytest.mark.parametrize("kind", sorted(NEURON_KINDS))
def test_a_wrong_layout_is_caught_on_every_kind(kind: str, fault) -> None:
    cases = [c for c in _cases(spec=base(kind)[0]) if c.shape or not c.contiguous]
    rank3 = [c for c in cases if not c.shape]
    backend = WrapFault(f"faulty-{fault.__name__}", lambda n: Wrapper(n, fault))
    if fault is flattens_transposed:  # invisible on [T, B, N]: a rank-4/5 fault
        assert first_failure(backend, [c for c in rank3 if c.contiguous]) is None
    result = first_failure(backend, cases)
    assert failing_status(result), f"{fault.__name__} passed on {kind}"
    assert result.status is Status.FAIL


def test_layout_cases_cover_ranks_three_to_five_and_strided_inputs() -> None:
    for kind in NEURON_KINDS:
        seen = {(len(c.neuron_shape) + 2, c.contiguous)
                for c in CASES if c.spec.kind == kind}
        assert {(3, True), (3, False), (4, True), (5, True), (5, False)} <= seen, kind
        x = cached_expected(next(c for c in CASES if c.spec.kind == kind and not c.contiguous
                                 and len(c.neuron_shape) == 3)).x
        assert x.dim() == 5 and not x.is_contiguous()


def test_tie_cases_really_put_the_charge_on_the_threshold() -> None:
    ties = [c for c in CASES if c.drive in ("dyadic", "first-step-tie")]
    assert {c.spec.kind for c in ties} == set(NEURON_KINDS) - {"li"}  # LI never fires
    assert {(c.spec.kind, c.spec.fire) for c in ties} == {
        (k, r) for k in set(NEURON_KINDS) - {"li"} for r in ("gt", "ge")}
    for c in ties:  # the oracle really sees h == v_th, in every dtype the case runs
        assert int((cached_expected(c).margin == 0).sum()) > 0, c.id
