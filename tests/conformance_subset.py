"""A few conformance catalogue slices run on one backend (for the test_adapter_<library>.py
files of the adapters that joined through the plugin door): exact ties under both fire rules,
a LIF on random drive in every mode (multi-step, one step at a time, state reset, batch
change, T=1, input gradients) and the pairwise combinations of LIF spec fields."""

from __future__ import annotations

from collections import Counter

from step.registry import get_backend

#: slices of the catalogue (``step conformance --cases``)
PATTERNS = ("*-tie1-*", "lif-tau5*/random/*", "lif[*")


def conformance_counts(backend: str, patterns: tuple[str, ...] = PATTERNS,
                       dtypes: tuple[str, ...] = ("float32", "float64")) -> tuple[Counter, list]:
    """Status counts of the slices on ``backend``, and the failing or erroring results."""
    from step.conformance.cases import catalogue
    from step.conformance.runner import run_suite

    cases = {c.id: c for p in patterns for c in catalogue(dtypes, pattern=p)}
    report = run_suite([get_backend(backend)], list(cases.values()))
    bad = [r for r in report.results if r.status.value in ("fail", "error")]
    return Counter(r.status.value for r in report.results), bad
