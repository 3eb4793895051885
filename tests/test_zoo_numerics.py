"""Numerical defects of the zoo (issue 21): HH's Euler step bound, HH's spike detection on every
sub-step, and the sign of a zero integer spike count.

HH's expected spike counts come from an independent integrator (scipy's LSODA at rtol 1e-9
on the 1952 equations written out below, with an event on the upward 0 mV crossing), not from
step's reference.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from step.errors import SpecError
from step.nn import Neuron
from step.reference.integer import spike_count
from step.specs import HHSpec, parse_neuron
from step.trace import trace


def _hh_rates(v: float) -> tuple[float, ...]:
    am = 0.1 * (v + 40) / (1 - math.exp(-(v + 40) / 10))
    bm = 4 * math.exp(-(v + 65) / 18)
    ah = 0.07 * math.exp(-(v + 65) / 20)
    bh = 1 / (1 + math.exp(-(v + 35) / 10))
    an = 0.01 * (v + 55) / (1 - math.exp(-(v + 55) / 10))
    bn = 0.125 * math.exp(-(v + 65) / 80)
    return am, bm, ah, bh, an, bn


def _hh_rhs(t: float, y: np.ndarray, current: float, c_m: float = 1.0) -> list[float]:
    v, m, h, n = y
    am, bm, ah, bh, an, bn = _hh_rates(v)
    i_ion = 120 * m ** 3 * h * (v - 50) + 36 * n ** 4 * (v + 77) + 0.3 * (v + 54.387)
    return [(current - i_ion) / c_m, am * (1 - m) - bm * m, ah * (1 - h) - bh * h,
            an * (1 - n) - bn * n]


def scipy_hh_spikes(current: float, ms: float, threshold: float = 0.0, c_m: float = 1.0) -> int:
    """Upward ``threshold`` crossings of HH from rest (-65 mV, gates at steady state) over
    ``ms``, membrane capacitance ``c_m`` uF/cm^2."""
    am, bm, ah, bh, an, bn = _hh_rates(-65.0)
    y0 = [-65.0, am / (am + bm), ah / (ah + bh), an / (an + bn)]

    def crossing(t: float, y: np.ndarray, current: float, c_m: float) -> float:
        return y[0] - threshold

    crossing.direction = 1  # type: ignore[attr-defined]
    run = solve_ivp(_hh_rhs, (0.0, ms), y0, args=(current, c_m), events=crossing,
                    method="LSODA", rtol=1e-9, atol=1e-9)
    return len(run.t_events[0])


def hh_spikes(spec: HHSpec, current: float, steps: int) -> tuple[int, list[float]]:
    t = trace(spec, [current] * steps)
    return sum(int(s) for s in t.spikes), t.v


def test_hh_spike_near_depolarisation_block_is_detected_within_a_step() -> None:
    # 60 uA/cm^2 for 100 ms: the spikes get brief, some rise above 0 mV and fall back within
    # one 0.5 ms step, so a check at the step ends sees fewer crossings than there are spikes
    spec = HHSpec()  # 20 sub-steps of 0.025 ms per step
    expected = scipy_hh_spikes(60.0, 100.0)
    assert expected == 13
    count, v = hh_spikes(spec, 60.0, 200)
    at_step_ends = sum(1 for a, b in zip([spec.v_reset, *v], v, strict=False) if a <= 0.0 < b)
    assert at_step_ends < expected  # the case this test is about: step ends miss spikes
    assert count == expected


@pytest.mark.parametrize(("threshold", "c_m", "current", "count"), [
    (-20.0, 1.0, 60.0, 13), (10.0, 1.0, 60.0, 1), (0.0, 2.0, 20.0, 8)])
def test_hh_counts_the_crossings_of_any_threshold_and_capacitance_of_an_exact_solver(
        threshold: float, c_m: float, current: float, count: int) -> None:
    # Near depolarisation block (60 uA/cm^2, 100 ms) the late spikes are brief: all 13 cross
    # -20 mV, only the first reaches +10 mV. A doubled capacitance halves dv/dt: 8 spikes at
    # 20 uA/cm^2. The counts are the exact solver's, written down.
    expected = scipy_hh_spikes(current, 100.0, threshold, c_m)
    assert expected == count
    assert hh_spikes(HHSpec(v_threshold=threshold, c_m=c_m), current, 200)[0] == expected


@pytest.mark.parametrize("dt", [0.06, 0.075, 0.1])
def test_hh_rejects_an_unstable_euler_step(dt: float) -> None:
    with pytest.raises(SpecError, match=r"dt must be in \(0, 0.05\] ms: forward Euler .*unstable"):
        parse_neuron({"kind": "hh", "dt": dt, "substeps": 1})


@pytest.mark.parametrize("current", [2.5, 100.0, 200.0])
def test_hh_at_the_largest_accepted_step_counts_the_spikes_of_an_exact_solver(
        current: float) -> None:
    # at dt 0.06 forward Euler fires 5-7 times here for 100-200 uA/cm^2 (one spike, then
    # block); at dt 0.075 it goes to NaN; the bound 0.05 keeps every count right
    spec = HHSpec(dt=0.05, substeps=10)
    count, v = hh_spikes(spec, current, 200)
    assert all(math.isfinite(x) for x in v)
    assert count == scipy_hh_spikes(current, 100.0)


@pytest.mark.parametrize("kind", ["ilif", "nilif"])
def test_a_zero_spike_count_is_positive_zero(kind: str) -> None:
    # ceil(u - 1/2) is -0.0 for u in (-1/2, 1/2]; the count must be +0.0 (copysign 1)
    h = torch.tensor([-0.3, 0.0, 0.2, 0.49, -7.0], dtype=torch.float64)
    counts = spike_count(h, 1.0, 4)
    assert [math.copysign(1.0, c) for c in counts.tolist()] == [1.0] * 5
    out = Neuron(kind).double()(torch.tensor([[-0.3], [0.1], [0.2]], dtype=torch.float64))
    assert not torch.signbit(out).any()
    assert out.eq(0).all()


@pytest.mark.parametrize("y", [0.0, 1e-7, -1e-7, 5e-5, -5e-5, 9.9e-5, -9.9e-5, 1.01e-4, -1.01e-4,
                               3e-3, 0.7, -2.0, 25.0])
def test_hh_rate_helper_x_over_one_minus_exp_is_exact_on_both_sides_of_its_series_switch(
        y: float) -> None:
    # alpha_m and alpha_n have the form x / (1 - exp(-x / k)), 0/0 at x = 0 (v = -40 or -55 mV).
    # Expected: the formula in Python floats (expm1 keeps it exact for small y); its limit k at
    # x = 0, where its slope is 1/2.
    from step.reference.biophysical import _vtrap

    k = 10.0
    x = torch.tensor(k * y, dtype=torch.float64, requires_grad=True)
    got = _vtrap(x, k)
    want = k if y == 0.0 else k * y / -math.expm1(-y)
    assert float(got.detach()) == pytest.approx(want, rel=1e-13, abs=0.0)
    (slope,) = torch.autograd.grad(got, x)
    # d/dx [x / (1 - e^{-x/k})] = (1 - e^{-y} - y e^{-y}) / (1 - e^{-y})^2, -> 1/2 at y = 0
    want_slope = 0.5 if y == 0.0 else (-math.expm1(-y) - y * math.exp(-y)) / math.expm1(-y) ** 2
    assert float(slope) == pytest.approx(want_slope, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize(("rule", "spikes"), [("gt", 1.0), ("ge", 0.0)])
def test_hh_starting_exactly_on_the_threshold_crosses_only_under_gt(rule: str,
                                                                   spikes: float) -> None:
    # Sitting at v = v_th with the gates at rest and a strong input, v rises within the step.
    # The crossing is v[k-1] <= v_th < v[k] under gt (at v_th is still below: a crossing) and
    # v[k-1] < v_th <= v[k] under ge (at v_th already counts as above: no new crossing).
    from step.reference._dynamics import simulate
    from step.reference.biophysical import hh_rest

    spec = parse_neuron({"kind": "hh", "fire": rule})
    x = torch.full((1, 1, 1), 50.0, dtype=torch.float64)
    state = hh_rest(spec, x[0], {})
    state["v"] = torch.full_like(x[0], spec.v_threshold)
    run = simulate(spec, x, {}, state)
    assert float(run.v_seq[0, 0, 0]) > spec.v_threshold  # it did rise
    assert float(run.output[0, 0, 0]) == spikes
