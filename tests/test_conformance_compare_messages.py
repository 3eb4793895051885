"""What a failing comparison tells a person, word for word, and the tolerance boundaries.

The report's one-line details and JSON rows are the suite's interface to adapter authors: a
garbled message is a bug. Written from the mutants that survived the first mutation run
(docs/conformance.md, mutation testing).
"""

from __future__ import annotations

import torch

from step.conformance.compare import (
    Divergence,
    compare_close,
    compare_gradient,
    compare_identical,
    compare_spikes,
)
from step.conformance.policy import TOLERANCES, Tolerance

TOL = TOLERANCES["float32"]
QUARTER = Tolerance(membrane_atol=0.25, membrane_rtol=0.0, threshold_band=0.25,
                    gradient_atol=0.25, gradient_rtol=0.0)


def t(rows: list) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float32)


def test_descriptions_word_for_word() -> None:
    spike = Divergence("spikes", 3, (1, 2), 1.0, 0.0, "one step at a time", margin=-0.125)
    assert spike.describe() == ("spikes differ (one step at a time) at t=3, index [1, 2]: "
                                "got 1, expected 0 (reference h - v_th = -0.125)")
    param = Divergence("gradient of w", None, (), 0.123456789123, None)
    assert param.describe() == "gradient of w differ at index []: got 0.123456789, expected None"
    missing = Divergence("membrane", None, (), None, None, "whole sequence", message="gone")
    assert missing.describe() == "membrane (whole sequence): gone"
    assert spike.to_dict() == {"quantity": "spikes", "where": "one step at a time", "t": 3,
                               "index": [1, 2], "got": 1.0, "expected": 0.0, "margin": -0.125,
                               "message": ""}


def test_structural_problems_are_named() -> None:
    exp = t([[1.0, 0.0]])
    cases = {
        "the backend did not provide it": compare_close("membrane", None, exp, 1, 1, where="w"),
        "shape (1, 3), expected (1, 2)": compare_close("membrane", t([[1.0, 0, 0]]), exp, 1, 1),
    }
    for message, verdict in cases.items():
        div = verdict.divergence
        assert div is not None and div.message == message and div.quantity == "membrane"
        assert div.t is None and div.index == () and div.got is None
    assert cases["the backend did not provide it"].divergence.where == "w"
    spikes = compare_spikes(None, exp, exp, TOL, strict=False, where="r")[0].divergence
    assert (spikes.quantity, spikes.where) == ("spikes", "r")
    dtype = compare_spikes(exp.double(), exp, exp, TOL, strict=False, where="r")[0].divergence
    assert dtype.message == "dtype torch.float64, expected torch.float32 (the input's)"
    assert (dtype.quantity, dtype.where, dtype.t) == ("spikes", "r", None)
    same = compare_identical("membrane", exp, t([[1.0]]), "again").divergence
    assert same.message == "shape (1, 1), expected (1, 2)" and same.quantity == "membrane"


def test_a_failing_spike_names_quantity_values_and_margin() -> None:
    exp, got = t([[0.0, 1.0]]), t([[0.0, 0.0]])
    div = compare_spikes(got, exp, t([[-1.0, 0.5]]), TOL, strict=False, where="w")[0].divergence
    assert div == Divergence("spikes", 0, (1,), 0.0, 1.0, "w", 0.5)


def test_the_flip_note_word_for_word() -> None:
    exp, got = t([[0.0], [0.0]]), t([[0.0], [1.0]])
    verdict, _ = compare_spikes(got, exp, t([[-1.0], [2e-6]]), TOL, strict=False, where="w")
    assert verdict.notes == [
        "1 spike(s) flipped within the threshold band 1e-05 (w); first at t=1, index [0]: "
        "got 1, expected 0, reference h - v_th = 2e-06; those neurons are not compared after "
        "their flip"]
    plain, _ = compare_spikes(got, exp, t([[-1.0], [2e-6]]), TOL, strict=False)
    assert "band 1e-05; first at t=1" in plain.notes[0]


def test_tolerance_boundaries_are_inclusive() -> None:
    exp = t([[1.0]])
    assert compare_close("v", t([[1.25]]), exp, 0.25, 0.0).ok  # exactly atol away
    assert not compare_close("v", t([[1.375]]), exp, 0.25, 0.0).ok
    assert compare_close("v", t([[1.5]]), exp, 0.0, 0.5).ok  # exactly rtol |expected| away
    flip, _ = compare_spikes(t([[1.0]]), t([[0.0]]), t([[-0.25]]), QUARTER, strict=False)
    assert flip.ok and flip.flips == 1  # a margin exactly at the band is excused


def test_gradient_scale_uses_the_largest_reference_value_not_less_than_one() -> None:
    ref = t([1.5, 0.0])  # scale 1.5: atol 0.375 on every entry
    assert compare_gradient("x", t([1.5, 0.375]), ref, QUARTER, timed=False).ok
    assert not compare_gradient("x", t([1.5, 0.5]), ref, QUARTER, timed=False).ok
    small = t([0.5, 0.0])  # scale 1, not 0.5
    assert compare_gradient("x", t([0.5, 0.25]), small, QUARTER, timed=False).ok
    assert not compare_gradient("x", t([0.5, 0.375]), small, QUARTER, timed=False).ok
    empty = torch.zeros(0)
    assert compare_gradient("x", torch.zeros(0), empty, QUARTER, timed=False).ok


def test_a_gradient_of_another_size_is_a_shape_failure_not_a_crash() -> None:
    verdict = compare_gradient("w", t([1.0, 2.0, 3.0]), t([1.0, 2.0]), TOL, timed=False)
    assert verdict.divergence.message == "shape (3,), expected (2,)"
    assert verdict.divergence.quantity == "gradient of w"
    same = compare_gradient("w", t([[1.0, 2.0]]), t([1.0, 2.0]), TOL, timed=False)
    assert same.ok  # [1, 2] read as [2]: same numbers


def test_identical_runs_name_both_values() -> None:
    first, second = t([[0.5, 0.25]]), t([[0.5, 0.75]])
    div = compare_identical("membrane", first, second, "second run").divergence
    assert div == Divergence("membrane", 0, (1,), 0.75, 0.25, "second run")


def test_the_firing_rate_verdict_word_for_word_and_at_its_boundary() -> None:
    from step.conformance.compare import compare_rates

    exp = torch.zeros(14, 1, 4)
    exp[4:, :, :] = 1.0  # 4 spikes per step over the 10 steps from t=4
    got = exp.clone()
    got[4:, :, 0] = 0.0  # 3 per step: 25 % off
    div = compare_rates(got, exp, 4, "w").divergence
    assert div == Divergence(
        "firing rate", None, (), 0.75, 1.0, "w",
        message="past the horizon (steps 4..13) the mean spikes per neuron and step are "
                "0.75, expected 1 (10 % allowed)")
    # allowed: 10 % of 4 per step plus one spike in the 10-step window = 0.5 per step
    edge = exp.clone()
    edge[4:9, :, 0] = 0.0  # 5 spikes fewer in the window: exactly 0.5 per step
    assert compare_rates(edge, exp, 4).ok
    edge[9, :, 0] = 0.0  # one more: 0.6 per step
    assert not compare_rates(edge, exp, 4).ok
