"""Paired statistics against values computed by hand (t tables, binomial sums) or independently
(scipy's noncentral t for power), and verdicts on data constructed to be clear either way."""

from __future__ import annotations

import math

import pytest

from step.study import stats

# Student t quantiles from a printed table (two-sided 95%: t_{0.975, df}; one-sided 0.05 and
# 0.0005 critical values).
T975 = {2: 4.303, 4: 2.776}
T95_DF3 = 2.353
T9995_DF3 = 12.924


def test_t_interval_by_hand():
    # diffs 0.01, 0.03, 0.02: mean 0.02, sd 0.01, se 0.01/sqrt(3); t_{0.975,2} = 4.303.
    lo, hi = stats.t_interval([0.01, 0.03, 0.02])
    half = T975[2] * 0.01 / math.sqrt(3)
    assert lo == pytest.approx(0.02 - half, abs=1e-5) and hi == pytest.approx(0.02 + half, abs=1e-5)
    assert stats.t_interval([0.5]) is None


def test_paired_t_pvalue_at_the_table_boundary():
    # diffs with mean m, sd s at n = 5: t = m / (s / sqrt 5). Choose m so that t is exactly
    # the table's t_{0.975,4} = 2.776: p is then 0.05 (to the table's rounding).
    d = [0.0, 0.01, 0.02, 0.03, 0.04]  # sd = 0.0158114, se = 0.0070711
    shift = T975[4] * 0.0070711 - 0.02
    p = stats.paired_t_pvalue([x + shift for x in d])
    assert p == pytest.approx(0.05, abs=2e-4)
    assert stats.paired_t_pvalue([0.0, 0.0, 0.0]) == 1.0  # identical on every seed
    assert stats.paired_t_pvalue([0.01, 0.01]) == 0.0  # the same nonzero gap on every seed


def test_mcnemar_exact_on_a_table_checked_by_hand():
    labels = [0] * 20
    # a right on 12, b right on 9: both right 8, only a 4, only b 1, neither 7.
    a = [0] * 12 + [1] * 8
    b = [0] * 8 + [1] * 4 + [0] * 1 + [1] * 7
    r = stats.mcnemar_exact(a, b, labels)
    assert r["table"] == [[8, 4], [1, 7]]
    # Binomial(5, 1/2), two-sided: 2 * P(X <= 1) = 2 * (1 + 5) / 32 = 0.375.
    assert r["pvalue"] == pytest.approx(0.375)
    # Only b wrong on 6 samples, never the reverse: 2 / 2^6 = 0.03125.
    r = stats.mcnemar_exact([0] * 10, [0] * 4 + [1] * 6, [0] * 10)
    assert (r["only_a"], r["only_b"], r["pvalue"]) == (6, 0, pytest.approx(0.03125))
    # Identical predictions: no discordant sample, no evidence of a difference.
    assert stats.mcnemar_exact([1, 2, 3], [1, 2, 3], [1, 0, 3])["pvalue"] == 1.0
    with pytest.raises(ValueError, match="same samples"):
        stats.mcnemar_exact([1, 2], [1], [1, 2])


def test_tost_by_hand():
    # diffs +-0.001 around 0, n = 4: sd = sqrt(4e-6 / 3), se = sd / 2 = 5.7735e-4; each
    # one-sided t = 0.01 / se = 17.3 > t_{0.9995,3} = 12.924: p < 0.0005, equivalent.
    b = [0.90, 0.91, 0.92, 0.93]
    a = [x + d for x, d in zip(b, [0.001, -0.001, 0.001, -0.001], strict=True)]
    assert stats.tost_pvalue(a, b, 0.01) < 0.0005
    # diffs +-0.001 around 0.009 with margin 0.01: t_upper = 0.001 / se = 1.73 < t_{0.95,3} =
    # 2.353, so the upper one-sided test does not reject: p > 0.05.
    a2 = [x + 0.009 + d for x, d in zip(b, [0.001, -0.001, 0.001, -0.001], strict=True)]
    assert T95_DF3 > 0.001 / 5.7735e-4 and stats.tost_pvalue(a2, b, 0.01) > 0.05


def _power_nct(effect: float, n: int, alpha: float = 0.05) -> float:
    """Two-sided paired t power from scipy's noncentral t (not statsmodels' solver)."""
    from scipy import stats as ss

    crit = ss.t.ppf(1 - alpha / 2, n - 1)
    nc = effect * math.sqrt(n)
    return ss.nct.sf(crit, n - 1, nc) + ss.nct.cdf(-crit, n - 1, nc)


def test_min_detectable_difference_has_the_stated_power():
    sd = 0.02
    for n in (3, 5, 10):
        mdd = stats.min_detectable_difference(sd, n)
        assert _power_nct(mdd / sd, n) == pytest.approx(0.8, abs=1e-4)
    assert stats.min_detectable_difference(sd, 10) < stats.min_detectable_difference(sd, 5)
    assert stats.min_detectable_difference(0.0, 5) == 0.0
    assert stats.min_detectable_difference(sd, 1) is None


def test_seeds_to_detect_is_the_smallest_n_with_the_power():
    n = stats.seeds_to_detect(0.01, 0.02)
    assert _power_nct(0.5, n) >= 0.8 > _power_nct(0.5, n - 1)
    # A measured case (reference - norse, 5 seeds): statsmodels' power is NaN at 100 seeds
    # and beyond, which must not read as "never".
    mean, sd = 0.010027855153203324, 0.01141721533811655
    n = stats.seeds_to_detect(mean, sd)
    assert _power_nct(mean / sd, n) >= 0.8 > _power_nct(mean / sd, n - 1)


def test_verdicts_on_constructed_data():
    base = {s: 0.9 + 0.01 * (s % 3) for s in range(5)}
    # Differences of at most 0.1 point: equivalent within 1 point.
    close = {s: v + (0.001 if s % 2 else -0.001) for s, v in base.items()}
    c = stats.compare_paired(base, close, margin=0.01)
    assert c["verdict"] == "equivalent" and "equivalent within ±1 points" in c["text"]
    # A gap of about 5 points on every seed: different.
    far = {s: v - 0.05 + (0.002 if s % 2 else 0.0) for s, v in base.items()}
    c = stats.compare_paired(base, far, margin=0.01)
    assert c["verdict"] == "different" and c["ci"][0] > 0.04
    # Noisy differences around 0 at 3 seeds: neither test decides; more seeds are named.
    noisy = {0: 0.93, 1: 0.88, 2: 0.915}
    c = stats.compare_paired({0: 0.90, 1: 0.91, 2: 0.92}, noisy, margin=0.01)
    assert c["verdict"] == "inconclusive" and c["seeds_needed"] > 3
    assert f"about {c['seeds_needed']} seeds" in c["text"]
    # One seed: the spread is unknown.
    c = stats.compare_paired({0: 0.9}, {0: 0.8})
    assert c["verdict"] == "inconclusive" and "2 or more seeds" in c["text"]
    # Only seeds both sides have are paired.
    assert stats.compare_paired({0: 0.9, 1: 0.8}, {1: 0.8, 2: 0.7})["seeds"] == [1]


def test_pairwise_combines_pairs_and_runs_mcnemar_per_seed():
    acc = {"x": {1: 0.9, 2: 0.95}, "y": {1: 0.9, 2: 0.95}, "z": {1: 0.8, 2: 0.85}}
    labels = {1: [0, 1, 2, 3], 2: [0, 1, 2, 3]}
    preds = {"x": {1: [0, 1, 2, 3], 2: [0, 1, 2, 3]}, "y": {1: [0, 1, 2, 3], 2: [0, 1, 2, 3]},
             "z": {1: [1, 1, 2, 0], 2: [0, 1, 2, 0]}}
    r = stats.pairwise(acc, margin=0.01, predictions=preds, labels=labels)
    pairs = {(p["a"], p["b"]): p for p in r["pairs"]}
    assert list(pairs) == [("x", "y"), ("x", "z"), ("y", "z")]
    assert pairs["x", "y"]["verdict"] == "equivalent"  # identical on every seed
    assert pairs["x", "z"]["verdict"] == "different"  # 10 points lower on every seed
    assert pairs["x", "z"]["mcnemar"]["1"]["table"] == [[2, 2], [0, 0]]
    assert r["verdict"] == "different"
    r = stats.pairwise({k: acc[k] for k in ("x", "y")})
    assert r["verdict"] == "equivalent" and r["seeds_needed"] is None
    assert stats.pairwise({"x": acc["x"]})["verdict"] is None
