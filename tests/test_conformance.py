"""The conformance suite's judgement: comparisons on hand-made tensors, outcomes, catalogue."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
import torch

from step import hookimpl
from step.conformance.cases import CASE_FACTORIES, cases_for_kind, catalogue
from step.conformance.compare import (
    compare_close,
    compare_gradient,
    compare_identical,
    compare_spikes,
)
from step.conformance.expect import GRADIENT_CLEARANCE, expected
from step.conformance.policy import TOLERANCES, Status, worst
from step.conformance.report_json import SCHEMA, SCHEMA_DOC, to_json, validate
from step.conformance.runner import run_case, run_suite
from step.reference.backend import ReferenceBackend
from step.reference.neurons import ReferenceNeuron
from step.registry import get_backend, register_plugin, unregister_plugin
from step.specs import NEURON_KINDS, LIFSpec
from step.support import Level, Support

F32 = TOLERANCES["float32"]


def _spikes(rows: list[list[int]]) -> torch.Tensor:
    """[T, B=1, N] from rows of 0/1 per step."""
    return torch.tensor(rows, dtype=torch.float32).unsqueeze(1)


# -- spikes ------------------------------------------------------------------------------------
def test_identical_spikes_pass() -> None:
    s = _spikes([[0, 1], [1, 0], [0, 0]])
    verdict, valid = compare_spikes(s.clone(), s, torch.full_like(s, 0.3), F32, strict=False)
    assert verdict.ok and not verdict.notes and bool(valid.all())


def test_a_flip_far_from_threshold_fails_and_names_step_index_and_values() -> None:
    exp = _spikes([[0, 1], [1, 0], [0, 0]])
    got = exp.clone()
    got[2, 0, 1] = 1.0  # t=2, neuron (0, 1) fires where the reference does not
    margin = torch.full_like(exp, -0.25)
    verdict, _ = compare_spikes(got, exp, margin, F32, strict=False, where="whole sequence")
    d = verdict.divergence
    assert d is not None
    assert (d.t, d.index, d.got, d.expected, d.margin) == (2, (0, 1), 1.0, 0.0, -0.25)
    text = d.describe()
    assert "t=2" in text and "[0, 1]" in text and "got 1" in text and "expected 0" in text
    assert "whole sequence" in text


def test_the_earliest_divergence_is_named() -> None:
    exp = _spikes([[0, 0, 0], [0, 0, 0], [0, 0, 0]])
    got = exp.clone()
    got[2, 0, 0] = 1.0
    got[1, 0, 2] = 1.0
    verdict, _ = compare_spikes(got, exp, torch.full_like(exp, -1.0), F32, strict=False)
    assert verdict.divergence is not None
    assert (verdict.divergence.t, verdict.divergence.index) == (1, (0, 2))


def test_a_flip_near_threshold_is_noted_and_masks_the_neuron_afterwards() -> None:
    exp = _spikes([[0, 0], [1, 0], [0, 1], [1, 0]])
    got = exp.clone()
    got[1, 0, 0] = 0.0  # flips where the reference's h sits 3e-7 above threshold ...
    got[3, 0, 0] = 0.0  # ... and the cascade differs later: not judged
    margin = torch.full_like(exp, 0.5)
    margin[1, 0, 0] = 3e-7
    verdict, valid = compare_spikes(got, exp, margin, F32, strict=False)
    assert verdict.ok and verdict.flips == 1
    assert len(verdict.notes) == 1 and "t=1" in verdict.notes[0] and "3e-07" in verdict.notes[0]
    assert valid[:, 0, 0].tolist() == [True, False, False, False]
    assert bool(valid[:, 0, 1].all())


def test_the_same_flip_fails_when_the_case_tests_the_fire_rule() -> None:
    exp = _spikes([[0], [1]])
    got = _spikes([[1], [1]])  # fires at h == v_th, as `>=` would
    margin = torch.tensor([[0.0], [0.5]]).unsqueeze(1)
    assert compare_spikes(got, exp, margin, F32, strict=False)[0].ok
    strict, _ = compare_spikes(got, exp, margin, F32, strict=True)
    assert strict.divergence is not None and strict.divergence.t == 0


def test_a_flip_just_outside_the_band_fails() -> None:
    exp, got = _spikes([[1]]), _spikes([[0]])
    margin = torch.full_like(exp, 2 * F32.threshold_band)
    assert not compare_spikes(got, exp, margin, F32, strict=False)[0].ok


def test_wrong_shape_or_dtype_is_a_failure_with_a_message() -> None:
    exp = _spikes([[0, 1]])
    verdict, _ = compare_spikes(torch.zeros(1, 2), exp, torch.zeros_like(exp), F32, strict=False)
    assert verdict.divergence is not None and "shape" in verdict.divergence.message
    verdict, _ = compare_spikes(exp.double(), exp, torch.zeros_like(exp), F32, strict=False)
    assert verdict.divergence is not None and "dtype torch.float64" in verdict.divergence.message


# -- membrane, gradients, repeat runs ------------------------------------------------------------
def test_membrane_within_tolerance_passes_and_beyond_fails_with_values() -> None:
    exp = torch.tensor([[[0.5, 1.0]], [[0.25, -2.0]]])
    ok = exp + 5e-6
    assert compare_close("membrane", ok, exp, F32.membrane_atol, F32.membrane_rtol).ok
    bad = exp.clone()
    bad[1, 0, 1] = -2.001
    verdict = compare_close("membrane", bad, exp, F32.membrane_atol, F32.membrane_rtol)
    d = verdict.divergence
    assert d is not None and (d.t, d.index) == (1, (0, 1))
    assert d.got == pytest.approx(-2.001) and d.expected == -2.0


def test_nan_never_passes_and_masked_positions_are_skipped() -> None:
    exp = torch.zeros(2, 1, 2)
    got = exp.clone()
    got[1, 0, 0] = float("nan")
    assert not compare_close("membrane", got, exp, 1.0, 1.0).ok
    valid = torch.ones_like(exp, dtype=torch.bool)
    valid[1, 0, 0] = False
    assert compare_close("membrane", got, exp, 1.0, 1.0, valid=valid).ok


def test_a_missing_membrane_trace_fails() -> None:
    verdict = compare_close("membrane", None, torch.zeros(2, 1, 1), 1e-5, 1e-5)
    assert verdict.divergence is not None
    assert "did not provide" in verdict.divergence.describe()


def test_gradient_tolerance_scales_with_the_gradient_size() -> None:
    exp = torch.tensor([[[1000.0, 0.0]]])
    near = exp.clone()
    near[0, 0, 1] = 5e-3  # within 1e-5 * 1000 absolute
    assert compare_gradient("x", near, exp, F32, timed=True).ok
    far = exp.clone()
    far[0, 0, 1] = 2e-2
    assert not compare_gradient("x", far, exp, F32, timed=True).ok
    scalar = compare_gradient("w", torch.tensor([0.5]), torch.tensor(0.5), F32, timed=False)
    assert scalar.ok


def test_two_runs_must_agree_bit_for_bit() -> None:
    a = torch.zeros(3, 1, 2)
    b = a.clone()
    assert compare_identical("spikes", a, b, "second run").ok
    b[2, 0, 1] = 1e-12
    d = compare_identical("membrane", a, b, "second run").divergence
    assert d is not None and (d.t, d.index) == (2, (0, 1))


def test_worst_status_and_which_statuses_fail() -> None:
    assert worst([Status.PASS, Status.UNSUPPORTED, Status.PASS_NOTED]) is Status.UNSUPPORTED
    assert worst([Status.PASS, Status.ERROR, Status.FAIL]) is Status.ERROR
    assert worst([]) is None
    assert {s for s in Status if s.failed} == {Status.FAIL, Status.ERROR}


def _tampered(margin: float):
    """A reference expectation with one spike removed, its h - v_th set to ``margin``."""
    case = next(c for c in catalogue(["float32"]) if c.id.startswith("lif-tau5/random/multi"))
    exp = expected(case)
    t, b, n = (int(i) for i in exp.spikes.nonzero()[0])
    exp.spikes[t, b, n] = 0.0
    exp.margin[t, b, n] = margin
    return case, exp, (t, b, n)


def test_run_case_reports_a_near_threshold_flip_as_pass_noted() -> None:
    case, exp, (t, b, n) = _tampered(4e-7)
    result = run_case(get_backend("reference"), case, exp)
    assert result.status is Status.PASS_NOTED
    assert f"first at t={t}, index [{b}, {n}]" in result.detail and "4e-07" in result.detail


def test_run_case_fails_the_same_flip_far_from_threshold() -> None:
    case, exp, (t, b, n) = _tampered(0.3)
    result = run_case(get_backend("reference"), case, exp)
    assert result.status is Status.FAIL
    assert result.divergence is not None
    assert (result.divergence.t, result.divergence.index) == (t, (b, n))


# -- outcomes: unsupported, error, emulated -----------------------------------------------------
class _Picky(ReferenceBackend):
    """No PLIF; LIF forward native but gradient unsupported; IF emulated; raises on soft LIF."""

    name = "picky"
    built: list[str] = []

    def neuron_support(self, spec):
        if spec.kind == "plif":
            return Support.unsupported("picky has no PLIF, sorry")
        if spec.kind == "lif":
            return Support(Level.NATIVE, Level.UNSUPPORTED, "own LIF", "no autograd for LIF")
        return Support(Level.EMULATED, Level.EMULATED, "IF composed from parts", "same")

    def _build_neuron(self, spec, support):
        _Picky.built.append(spec.kind)
        if spec.kind == "lif" and spec.reset == "soft":
            raise RuntimeError("boom: soft reset broke")
        return ReferenceNeuron(spec)


class _PickyPlugin:
    @hookimpl
    def step_backends(self):
        return [_Picky()]


@pytest.fixture
def picky() -> Iterator[str]:
    register_plugin(_PickyPlugin(), "picky-plugin")
    _Picky.built.clear()
    try:
        yield "picky"
    finally:
        unregister_plugin("picky-plugin")


def _small_catalogue() -> list:
    wanted = ("plif-tau2/random/", "lif-tau5/random/", "lif-tau5-soft/constant/multi-step",
              "if/random/multi-step/T32")
    return [c for c in catalogue(["float32"]) if any(c.id.startswith(w) for w in wanted)]


def test_unsupported_is_reported_with_the_reason_and_never_run(picky: str) -> None:
    report = run_suite([get_backend(picky)], _small_catalogue())
    plif = [r for r in report.results if r.case.spec.kind == "plif"]
    assert plif and all(r.status is Status.UNSUPPORTED for r in plif)
    assert all("picky has no PLIF, sorry" in r.detail for r in plif)
    assert "plif" not in _Picky.built
    lif_grad = [r for r in report.results if r.case.name == "lif-tau5" and
                r.case.aspect == "gradient"]
    assert lif_grad and all(r.status is Status.UNSUPPORTED for r in lif_grad)
    assert all("no autograd for LIF" in r.detail for r in lif_grad)
    lif_fwd = [r for r in report.results if r.case.name == "lif-tau5" and
               r.case.aspect == "forward"]
    assert lif_fwd and all(r.status is Status.PASS for r in lif_fwd)


def test_an_exception_becomes_error_and_the_run_goes_on(picky: str) -> None:
    cases = _small_catalogue()
    report = run_suite([get_backend(picky)], cases)
    assert len(report.results) == len(cases)
    soft = [r for r in report.results if r.case.name == "lif-tau5-soft"]
    assert soft and all(r.status is Status.ERROR for r in soft)
    assert "RuntimeError: boom: soft reset broke" in soft[0].detail
    assert report.results.index(soft[-1]) < len(report.results) - 1  # cases came after it
    assert report.failed


def test_emulated_support_passes_as_emulated_and_says_how(picky: str) -> None:
    report = run_suite([get_backend(picky)], _small_catalogue())
    emulated = [r for r in report.results if r.case.spec.kind == "if"]
    assert emulated and all(r.status is Status.EMULATED_PASS for r in emulated)
    assert "IF composed from parts" in emulated[0].detail
    data = to_json(report)
    assert validate(data) == []
    assert data["summary"]["picky"]["emulated-pass"] == len(emulated)


# -- the catalogue ------------------------------------------------------------------------------
def test_catalogue_covers_every_neuron_kind_drive_mode_and_dtype() -> None:
    cases = catalogue()
    assert {c.spec.kind for c in cases} == set(NEURON_KINDS)
    assert {c.dtype for c in cases} == {"float32", "float64"}
    assert {c.mode for c in cases} >= {"multi-step", "single-step", "state-reset",
                                       "batch-change", "input-grad", "param-grad"}
    assert {c.drive for c in cases} >= {"constant", "ramp", "random", "sparse", "silence",
                                        "large", "negative", "at-threshold"}
    assert any(c.T == 1 for c in cases)
    # the long LIF case in two dtypes, and Izhikevich's chaotic fast spiker (float64 only)
    assert sorted(c.id for c in cases if c.T > 64) == [
        "izhikevich-fs-dt1/bio-random/multi-step/T150/float64",
        "lif-tau5/random/multi-step/T512/float32", "lif-tau5/random/multi-step/T512/float64"]
    assert all(c.B == 4 and c.N == 16 for c in cases)


def test_at_threshold_cases_really_put_h_on_the_threshold() -> None:
    for case in catalogue(["float32", "float64"], "at-threshold"):
        exp = expected(case)
        assert bool((exp.margin == 0).any()), case.id
        assert case.strict_threshold


def test_gradient_cases_keep_clear_of_the_threshold_band() -> None:
    """A flip excused near threshold would stop the gradient from being compared."""
    for case in catalogue(["float32", "float64"]):
        if case.aspect == "gradient":
            margin = expected(case).margin.abs().min()
            assert margin > GRADIENT_CLEARANCE >= 10 * F32.threshold_band, case.id


def test_pattern_selects_by_glob_or_substring() -> None:
    by_glob = catalogue(["float32"], "lif-tau5/random/*")
    assert by_glob and all(c.id.startswith("lif-tau5/random/") for c in by_glob)
    by_text = catalogue(["float64"], "single-step")
    assert by_text and all(c.mode == "single-step" and c.dtype == "float64" for c in by_text)
    assert catalogue(["float32"], "no-such-case") == []


class _ToySpec(LIFSpec):
    kind: Literal["toy-lif"] = "toy-lif"  # type: ignore[assignment]


def test_a_new_neuron_kind_is_covered_without_touching_the_runner(monkeypatch) -> None:
    monkeypatch.setitem(NEURON_KINDS, "toy-lif", _ToySpec)
    default = cases_for_kind("toy-lif")
    assert {c.mode for c in default} >= {"multi-step", "single-step", "input-grad"}
    monkeypatch.setitem(CASE_FACTORIES, "toy-lif", lambda: default[:2])
    toy = [c for c in catalogue(["float32"]) if c.spec.kind == "toy-lif"]
    assert [c.id for c in toy][:2] == [c.id for c in default[:2]]  # the factory's own first
    derived = toy[2:]  # then the spec space's: combinations, layouts, ties
    assert {len(c.neuron_shape) for c in derived} == {1, 2, 3}
    assert not any(c.drive == "dyadic" for c in derived)  # no exact-tie spec declared
    assert any(c.spec.reset == "soft" and c.spec.v_reset != 0 for c in derived)


def test_the_json_schema_is_documented() -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "conformance.md").read_text()
    assert SCHEMA in doc and SCHEMA in SCHEMA_DOC
    for status in Status:
        assert status.value in doc and status.value in SCHEMA_DOC
    for key in ("environment", "backends", "results", "feature", "detail", "divergence"):
        assert f'"{key}"' in doc and f'"{key}"' in SCHEMA_DOC
    for dtype, tol in TOLERANCES.items():
        assert dtype in doc and f"{tol.membrane_atol:g}" in doc
