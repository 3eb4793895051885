"""The comparison functions on tensors small enough to check by hand."""

from __future__ import annotations

import math

import torch

from step.conformance.compare import (
    Divergence,
    Verdict,
    compare_close,
    compare_gradient,
    compare_identical,
    compare_rates,
    compare_spikes,
)
from step.conformance.policy import TOLERANCES

TOL = TOLERANCES["float32"]  # band 1e-5, membrane 1e-5, gradient atol 1e-5 rtol 1e-4


def t(rows: list) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float32)


def test_identical_spikes_pass_and_mask_everything_valid() -> None:
    s = t([[0.0, 1.0], [1.0, 0.0]])
    verdict, valid = compare_spikes(s.clone(), s, t([[-1, 1], [1, -1]]), TOL, strict=False)
    assert verdict.ok and verdict.flips == 0 and bool(valid.all())


def test_a_spike_flip_far_from_threshold_fails_at_its_step_and_index() -> None:
    exp = t([[0, 0], [0, 1]])
    got = t([[0, 0], [1, 1]])
    margin = t([[-0.5, -0.5], [-0.25, 0.5]])
    verdict, _ = compare_spikes(got, exp, margin, TOL, strict=False, where="w")
    div = verdict.divergence
    assert div is not None and (div.t, div.index) == (1, (0,))
    assert (div.got, div.expected, div.margin, div.where) == (1.0, 0.0, -0.25, "w")
    assert "t=1, index [0]" in div.describe() and "h - v_th = -0.25" in div.describe()


def test_a_near_threshold_flip_is_excused_and_masked_from_then_on() -> None:
    exp = t([[0, 0], [0, 1], [1, 0]])
    got = t([[0, 0], [1, 1], [0, 0]])
    margin = t([[-1, -1], [-5e-6, 1], [1, -1]])
    verdict, valid = compare_spikes(got, exp, margin, TOL, strict=False)
    assert verdict.ok and verdict.flips == 1 and "1 spike(s) flipped" in verdict.notes[0]
    assert valid[:, 0].tolist() == [True, False, False] and bool(valid[:, 1].all())


def test_strict_cases_never_excuse_an_exact_tie_but_excuse_a_near_one() -> None:
    exp = t([[0.0, 0.0]])
    got = t([[1.0, 1.0]])
    tie = t([[0.0, 5e-6]])
    verdict, _ = compare_spikes(got, exp, tie, TOL, strict=True)
    assert not verdict.ok and verdict.divergence.index == (0,)
    near_only = t([[5e-6, 5e-6]])
    assert compare_spikes(got, exp, near_only, TOL, strict=True)[0].ok
    assert compare_spikes(got, exp, tie, TOL, strict=False)[0].ok


def test_spikes_of_another_dtype_or_shape_or_missing_fail() -> None:
    exp = t([[1.0]])
    assert "dtype" in compare_spikes(exp.double(), exp, exp, TOL, strict=False)[0] \
        .divergence.message
    assert "shape" in compare_spikes(t([[1.0, 0.0]]), exp, exp, TOL,
                                     strict=False)[0].divergence.message
    assert "did not provide" in compare_spikes(None, exp, exp, TOL,
                                               strict=False)[0].divergence.message


def test_compare_close_uses_atol_plus_rtol_times_expected() -> None:
    exp = t([[100.0, 0.0]])
    assert compare_close("v", t([[100.0009, 0.0]]), exp, 1e-5, 1e-5).ok  # 9e-4 < 1e-5+1e-3
    bad = compare_close("v", t([[100.0, 2e-5]]), exp, 1e-5, 1e-5)  # 2e-5 > 1e-5 at 0
    assert bad.divergence is not None and (bad.divergence.t, bad.divergence.index) == (0, (1,))
    assert not compare_close("v", t([[math.nan, 0.0]]), exp, 1e-5, 1e-5).ok
    valid = torch.tensor([[True, False]])
    assert compare_close("v", t([[100.0, 5.0]]), exp, 1e-5, 1e-5, valid=valid).ok
    untimed = compare_close("v", t([5.0]), t([1.0]), 1e-5, 1e-5, timed=False)
    assert untimed.divergence.t is None and untimed.divergence.index == (0,)


def test_gradient_tolerance_scales_with_the_largest_gradient() -> None:
    ref = t([1000.0, 0.0])
    # atol 1e-5 * 1000 = 1e-2 applies to the small entry too
    assert compare_gradient("x", t([1000.0, 0.009]), ref, TOL, timed=False).ok
    assert not compare_gradient("x", t([1000.0, 0.011]), ref, TOL, timed=False).ok
    small = t([0.5])
    assert compare_gradient("w", t([0.50004]), small, TOL, timed=False).ok  # 4e-5 < 1e-5+5e-5
    assert not compare_gradient("w", t([0.5001]), small, TOL, timed=False).ok


def test_a_scalar_stored_as_one_element_is_compared_as_the_scalar() -> None:
    ref = torch.tensor(0.25)
    assert compare_gradient("w", t([0.25]), ref, TOL, timed=False).ok
    wrong = compare_gradient("w", t([0.5]), ref, TOL, timed=False)
    assert wrong.divergence.quantity == "gradient of w" and wrong.divergence.index == ()
    assert (wrong.divergence.got, wrong.divergence.expected) == (0.5, 0.25)


def test_identical_runs_must_agree_bit_for_bit() -> None:
    a = t([[0.1, 0.2], [0.3, 0.4]])
    assert compare_identical("v", a, a.clone(), "again").ok
    b = a.clone()
    b[1, 1] = torch.nextafter(b[1, 1], torch.tensor(1.0))
    div = compare_identical("v", a, b, "again").divergence
    assert div is not None and (div.t, div.index, div.where) == (1, (1,), "again")


def test_firing_rates_past_a_horizon() -> None:
    exp = torch.zeros(20, 1, 10)
    exp[10:, :, :5] = 1.0  # 5 spikes per step after t=10
    got = exp.clone()
    got[12, 0, 5] = 1.0  # one extra spike in the window: within 10 % + one spike
    assert compare_rates(got, exp, 10).ok
    assert compare_rates(torch.zeros_like(exp), torch.zeros_like(exp), 10).ok
    off = exp.clone()
    off[10:, :, 5] = 1.0  # 6 per step instead of 5: 20 % off
    div = compare_rates(off, exp, 10, "run").divergence
    assert div is not None and div.quantity == "firing rate" and "10 %" in div.message
    assert compare_rates(off, exp, 20).ok  # an empty window compares nothing


def test_verdicts_merge_first_divergence_and_all_notes() -> None:
    a = Verdict(notes=["one"], flips=1)
    d = Divergence("spikes", 3, (0,), 1.0, 0.0)
    b = Verdict(d, ["two"], 2)
    merged = a.merge(b)
    assert merged.divergence is d and merged.notes == ["one", "two"] and merged.flips == 3
    assert Verdict(Divergence("x", None, (), None, None)).merge(b).divergence is not d
    assert d.to_dict()["t"] == 3 and "got 1, expected 0" in d.describe()
