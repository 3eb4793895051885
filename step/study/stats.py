"""Paired statistics: are two backends equivalent, different, or is it too early to say?

A study is paired by construction: for one seed every backend starts from the same initial
weights and sees the same data order, so the per-seed difference of two backends' test
accuracies removes the seed-to-seed variation that dominates unpaired comparisons (at two
seeds the unpaired spread hides almost any gap). On those differences:

- a t confidence interval for the mean paired difference (``1 - alpha``);
- a paired t test (H0: mean difference 0): ``different`` when it rejects;
- TOST, two one-sided t tests against ``-margin`` and ``+margin`` (H0: the difference is at
  least the margin): ``equivalent`` when it rejects, i.e. the ``1 - 2 alpha`` interval lies
  inside the margin;
- the minimum detectable difference: the true mean difference a paired t test at this number
  of seeds finds with the stated power;
- when neither test decides, the number of seeds at which the observed difference and spread
  would settle it (equivalence if the observed difference is inside the margin, a difference
  otherwise).

Per seed, McNemar's exact test on the per-sample test predictions asks whether the two
trained models disagree on more test samples in one direction than chance allows: evidence
within one seed that needs no other seeds. The distributions come from scipy and statsmodels.

Differences of exactly zero variance (every seed gives the same difference: backends that
compute bit-identical models) make the t statistic undefined; they are decided directly: the
interval is that one value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

ALPHA = 0.05
POWER = 0.8
MAX_SEEDS = 1000  # "more than this many seeds" ends the search for a sample size


def t_interval(diffs: Sequence[float], alpha: float = ALPHA) -> tuple[float, float] | None:
    """The ``1 - alpha`` t confidence interval of the mean of ``diffs`` (None below 2 values)."""
    from scipy import stats

    n = len(diffs)
    if n < 2:
        return None
    mean, sd = _mean_sd(diffs)
    half = stats.t.ppf(1 - alpha / 2, n - 1) * sd / math.sqrt(n)
    return (mean - half, mean + half)


def paired_t_pvalue(diffs: Sequence[float]) -> float | None:
    """Two-sided p-value of the paired t test that the mean difference is 0."""
    from scipy import stats

    if len(diffs) < 2:
        return None
    mean, sd = _mean_sd(diffs)
    if sd == 0:
        return 1.0 if mean == 0 else 0.0
    return float(stats.ttest_1samp(diffs, 0.0).pvalue)


def tost_pvalue(a: Sequence[float], b: Sequence[float], margin: float) -> float | None:
    """TOST p-value that the paired mean difference ``a - b`` lies within ``(-margin, margin)``."""
    from statsmodels.stats.weightstats import ttost_paired

    diffs = [x - y for x, y in zip(a, b, strict=True)]
    if len(diffs) < 2:
        return None
    mean, sd = _mean_sd(diffs)
    if sd == 0:
        return 0.0 if abs(mean) < margin else 1.0
    import numpy as np

    p, _, _ = ttost_paired(np.asarray(a, float), np.asarray(b, float), -margin, margin)
    return float(p)


def min_detectable_difference(sd: float, n: int, alpha: float = ALPHA,
                              power: float = POWER) -> float | None:
    """The mean paired difference a two-sided paired t test at ``n`` seeds detects with
    ``power`` (statsmodels' t power), given the spread ``sd`` of the differences."""
    from statsmodels.stats.power import TTestPower

    if n < 2:
        return None
    if sd == 0:
        return 0.0
    effect = TTestPower().solve_power(nobs=n, alpha=alpha, power=power,
                                      alternative="two-sided")
    return float(effect) * sd


def seeds_to_detect(mean: float, sd: float, alpha: float = ALPHA,
                    power: float = POWER) -> int | None:
    """Seeds at which a paired t test detects a true difference ``mean`` (spread ``sd``)."""
    from statsmodels.stats.power import TTestPower

    if mean == 0:
        return None
    power_at = _power(TTestPower().power)
    return _smallest_n(lambda n: power_at(effect_size=abs(mean) / sd, nobs=n, alpha=alpha,
                                          alternative="two-sided") >= power)


def seeds_for_equivalence(mean: float, sd: float, margin: float, alpha: float = ALPHA,
                          power: float = POWER) -> int | None:
    """Seeds at which TOST shows equivalence if the true difference is ``mean``.

    TOST's power is taken as the usual bound from its two one-sided t tests:
    ``P(both reject) >= P(lower rejects) + P(upper rejects) - 1``.
    """
    from statsmodels.stats.power import TTestPower

    if abs(mean) >= margin:
        return None
    power_at = _power(TTestPower().power)

    def enough(n: int) -> bool:
        lower = power_at(effect_size=(margin + mean) / sd, nobs=n, alpha=alpha,
                         alternative="larger")
        upper = power_at(effect_size=(margin - mean) / sd, nobs=n, alpha=alpha,
                         alternative="larger")
        return lower + upper - 1 >= power

    return _smallest_n(enough)


def mcnemar_exact(pred_a: Sequence[int], pred_b: Sequence[int],
                  labels: Sequence[int]) -> dict[str, Any]:
    """McNemar's exact test on one test set: do the two models' errors differ?

    ``only_a``: samples ``a`` gets right and ``b`` wrong; ``only_b`` the reverse. Under H0 each
    discordant sample falls either way with probability 1/2 (a binomial test on them).
    """
    from statsmodels.stats.contingency_tables import mcnemar

    if not len(pred_a) == len(pred_b) == len(labels):
        raise ValueError("McNemar needs the predictions of both models on the same samples")
    right_a = [p == y for p, y in zip(pred_a, labels, strict=True)]
    right_b = [p == y for p, y in zip(pred_b, labels, strict=True)]
    both = sum(x and y for x, y in zip(right_a, right_b, strict=True))
    only_a = sum(x and not y for x, y in zip(right_a, right_b, strict=True))
    only_b = sum(y and not x for x, y in zip(right_a, right_b, strict=True))
    neither = len(labels) - both - only_a - only_b
    table = [[both, only_a], [only_b, neither]]
    p = 1.0 if only_a + only_b == 0 else float(mcnemar(table, exact=True).pvalue)
    return {"table": table, "only_a": only_a, "only_b": only_b, "pvalue": p}


def compare_paired(a: Mapping[int, float], b: Mapping[int, float], *, margin: float = 0.01,
                   alpha: float = ALPHA, power: float = POWER,
                   predictions: Mapping[int, tuple[Sequence[int], Sequence[int],
                                                    Sequence[int]]] | None = None
                   ) -> dict[str, Any]:
    """Compare two backends' accuracies paired by seed; the public entry point.

    ``a`` and ``b`` map seed -> accuracy (only seeds both have are used); ``margin`` is in the
    accuracies' own unit (0.01 = one point); ``predictions`` maps seed -> (predictions of a,
    predictions of b, labels) for McNemar. Returns the numbers and a ``verdict`` of
    ``equivalent``, ``different`` or ``inconclusive`` (with ``seeds_needed`` where it can say).
    """
    seeds = sorted(set(a) & set(b))
    xs, ys = [a[s] for s in seeds], [b[s] for s in seeds]
    diffs = [x - y for x, y in zip(xs, ys, strict=True)]
    n = len(diffs)
    out: dict[str, Any] = {"seeds": seeds, "n": n, "diffs": diffs, "margin": margin,
                           "alpha": alpha, "power": power}
    if predictions:
        out["mcnemar"] = {str(s): mcnemar_exact(*predictions[s]) for s in seeds
                          if s in predictions}
    if n == 0:
        return {**out, "verdict": "inconclusive", "seeds_needed": None,
                "text": "no seed trained on both backends"}
    mean, sd = _mean_sd(diffs) if n > 1 else (diffs[0], None)
    out.update(mean_diff=mean, sd_diff=sd, ci=t_interval(diffs, alpha),
               p_different=paired_t_pvalue(diffs), p_equivalent=tost_pvalue(xs, ys, margin),
               min_detectable=min_detectable_difference(sd, n, alpha, power)
               if sd is not None else None)
    out.update(_decide(out))
    return out


def _decide(c: dict[str, Any]) -> dict[str, Any]:
    """The verdict and a sentence a reader can check against the numbers."""
    n, mean, sd, margin, alpha = c["n"], c["mean_diff"], c["sd_diff"], c["margin"], c["alpha"]
    pts = f"{100 * mean:+.2f} points"
    if n < 2:
        return {"verdict": "inconclusive", "seeds_needed": None,
                "text": f"difference {pts} at one seed: the spread is unknown, run 2 or more "
                        "seeds (--seeds)"}
    lo, hi = c["ci"]
    ci = f"{100 * (1 - alpha):.0f}% CI [{100 * lo:+.2f}, {100 * hi:+.2f}] points"
    if c["p_equivalent"] < alpha:
        also = (" (a real but smaller difference: the paired t test rejects 0)"
                if c["p_different"] < alpha else "")
        return {"verdict": "equivalent", "seeds_needed": None,
                "text": f"equivalent within ±{100 * margin:g} points: mean difference {pts}, "
                        f"{ci}, TOST p = {c['p_equivalent']:.3g}{also}"}
    if c["p_different"] < alpha:
        return {"verdict": "different", "seeds_needed": None,
                "text": f"different: mean difference {pts}, {ci}, paired t p = "
                        f"{c['p_different']:.3g}"}
    needed = (seeds_for_equivalence(mean, sd, margin, alpha, c["power"]) if abs(mean) < margin
              else seeds_to_detect(mean, sd, alpha, c["power"]))
    goal = "show equivalence" if abs(mean) < margin else "show the difference"
    if needed is None:
        settle = f"more than {MAX_SEEDS} seeds would be needed to {goal}"
    else:
        settle = (f"about {needed} seeds would {goal} if the observed difference and spread "
                  "hold")
    return {"verdict": "inconclusive", "seeds_needed": needed,
            "text": f"inconclusive at {n} seeds: mean difference {pts}, {ci}, TOST p = "
                    f"{c['p_equivalent']:.3g}, paired t p = {c['p_different']:.3g}; the minimum "
                    f"detectable difference is {100 * c['min_detectable']:.2f} points; {settle}"}


def pairwise(acc: Mapping[str, Mapping[int, float]], *, margin: float = 0.01,
             alpha: float = ALPHA, power: float = POWER,
             predictions: Mapping[str, Mapping[int, Sequence[int]]] | None = None,
             labels: Mapping[int, Sequence[int]] | None = None) -> dict[str, Any]:
    """Every pair of backends compared, and one verdict over all pairs.

    ``acc`` maps backend -> seed -> accuracy; ``predictions`` backend -> seed -> predicted
    labels and ``labels`` seed -> true labels (the same test set for every backend). All pairs
    equivalent: ``equivalent``; any pair different: ``different``; otherwise ``inconclusive``
    with the largest number of seeds any pair needs.
    """
    pairs = []
    for x, y in combinations(acc, 2):
        preds = None
        if predictions and labels and x in predictions and y in predictions:
            preds = {s: (predictions[x][s], predictions[y][s], labels[s]) for s in labels
                     if s in predictions[x] and s in predictions[y]}
        pairs.append({"a": x, "b": y, **compare_paired(acc[x], acc[y], margin=margin,
                                                       alpha=alpha, power=power,
                                                       predictions=preds)})
    verdicts = [p["verdict"] for p in pairs]
    if not pairs:
        verdict = None
    elif "different" in verdicts:
        verdict = "different"
    elif all(v == "equivalent" for v in verdicts):
        verdict = "equivalent"
    else:
        verdict = "inconclusive"
    needed = [p["seeds_needed"] for p in pairs if p["verdict"] == "inconclusive"]
    seeds_needed = None if None in needed or not needed else max(needed)
    return {"pairs": pairs, "verdict": verdict, "seeds_needed": seeds_needed,
            "margin": margin, "alpha": alpha, "power": power}


def _power(power_at: Any) -> Any:
    """statsmodels' t power, with NaN read as 1: statsmodels 0.15 returns NaN once the
    noncentral t's tail underflows (effect 0.88 at 100 seeds), i.e. where the power is 1 to
    double precision."""

    def power(**kw: Any) -> float:
        value = float(power_at(**kw))
        return 1.0 if math.isnan(value) else value

    return power


def _mean_sd(xs: Sequence[float]) -> tuple[float, float]:
    import statistics

    return statistics.fmean(xs), statistics.stdev(xs)


def _smallest_n(enough: Any) -> int | None:
    """The smallest n in 2..MAX_SEEDS with ``enough(n)`` (power grows with n: bisect)."""
    if not enough(MAX_SEEDS):
        return None
    lo, hi = 2, MAX_SEEDS
    while lo < hi:
        mid = (lo + hi) // 2
        if enough(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo
