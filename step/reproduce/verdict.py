"""From paired numbers to a verdict on a claim: agrees, disagrees, or inconclusive.

A row of the reproduction holds one or more *tests*. A test compares two quantities paired by
seed (``a`` and ``b``, each seed -> value) and states what the paper expects of them:

- ``greater``: ``a`` exceeds ``b`` (direct encoding beats rate coding). The paired t test
  (:func:`step.study.stats.compare_paired`) must reject a zero difference with a positive mean
  to agree; a difference shown to lie inside the margin (TOST) or a significant difference the
  other way disagrees; anything else is inconclusive at this many seeds.
- ``equivalent``: ``a`` and ``b`` differ by less than the margin (frozen Q/K costs "almost
  nothing"). TOST must show it to agree; a significant difference outside the margin disagrees.

The row agrees when every test agrees, disagrees when any test disagrees, and is otherwise
inconclusive. The statistics are the study's; nothing here re-derives a distribution.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from step.study.stats import ALPHA, compare_paired

#: The verdicts a row (and each of its tests) can have.
VERDICTS = ("agrees", "disagrees", "inconclusive")

Expect = Literal["greater", "equivalent"]


def judge(a: Mapping[int, float], b: Mapping[int, float], expect: Expect, *, margin: float,
          label: str, unit: str = "points", scale: float = 100.0) -> dict[str, Any]:
    """One paired test of a claim; ``margin`` in the values' own unit, ``scale`` turns that
    unit into the one printed (100: accuracy fractions printed as points)."""
    c = compare_paired(a, b, margin=margin)
    out: dict[str, Any] = {"label": label, "expect": expect, "margin": margin, "unit": unit,
                           "scale": scale, "n": c["n"], "seeds": c["seeds"], "diffs": c["diffs"]}
    if c["n"] < 2:
        return {**out, "verdict": "inconclusive", "mean_diff": c.get("mean_diff"), "ci": None,
                "text": f"{label}: {c['n']} paired seed(s); 2 or more are needed for an "
                        "interval"}
    mean, (lo, hi) = c["mean_diff"], c["ci"]
    p_diff, p_eq = c["p_different"], c["p_equivalent"]
    out.update(mean_diff=mean, ci=[lo, hi], p_different=p_diff, p_equivalent=p_eq,
               min_detectable=c["min_detectable"])
    numbers = (f"{label}: {scale * mean:+.2f} {unit}, 95% CI [{scale * lo:+.2f}, "
               f"{scale * hi:+.2f}], paired t p = {p_diff:.3g}, TOST (±{scale * margin:g}) "
               f"p = {p_eq:.3g}, n = {c['n']}")
    if expect == "greater":
        if p_diff < ALPHA and mean > 0:
            verdict = "agrees"
        elif p_diff < ALPHA and mean < 0:
            verdict = "disagrees"
        elif p_eq < ALPHA:
            verdict = "disagrees"  # shown to be smaller than the margin: no real advantage
        else:
            verdict = "inconclusive"
    else:
        if p_eq < ALPHA:
            verdict = "agrees"
        elif p_diff < ALPHA and abs(mean) >= margin:
            verdict = "disagrees"
        else:
            verdict = "inconclusive"
    return {**out, "verdict": verdict, "text": numbers}


def combine(tests: list[dict[str, Any]]) -> str:
    """The row's verdict: every test agrees -> agrees; any disagrees -> disagrees."""
    verdicts = [t["verdict"] for t in tests]
    if verdicts and all(v == "agrees" for v in verdicts):
        return "agrees"
    if "disagrees" in verdicts:
        return "disagrees"
    return "inconclusive"
