"""The study report: conformance of the specs the run used, curves a reader can tell apart."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure

from step.registry import available_backends
from step.study import StudyConfig
from step.study.report import curve_labels, draw_curves, pairs_table
from step.study.runner import resolve_backends, role_specs
from step.study.summary import conformance_cases, conformance_status


def test_conformance_cases_are_the_runs_own_specs():
    specs = role_specs(StudyConfig())
    cases = conformance_cases(specs)
    assert {c.spec for c in cases} == set(specs.values())  # nothing of another variant
    assert {c.aspect for c in cases} == {"forward", "gradient"}
    assert any(c.strict_threshold for c in cases)  # the fire rule at exact ties
    assert len({c.id for c in cases}) == len(cases)
    # Two roles with one spec are one group of cases, not two.
    same = {"neuron": specs["neuron"], "attn_neuron": specs["neuron"]}
    assert len(conformance_cases(same)) == len(cases) // 2


@pytest.mark.skipif("braincog" not in available_backends(), reason="braincog not installed")
def test_a_backend_lacking_other_variants_conforms_on_the_runs_specs():
    # BrainCog has no soft reset and always detaches the reset: unsupported on LIF's other
    # variants, which is not what this model uses (hard reset, detached).
    specs = role_specs(StudyConfig())
    status = conformance_status("braincog", specs)
    assert status["status"] in ("pass", "emulated-pass"), status
    assert status["roles"] == ["neuron", "attn_neuron"]


def test_duplicate_backends_run_once():
    cfg = StudyConfig(backends=["reference", "reference", " reference"])
    assert resolve_backends(cfg) == ["reference"]


def test_learning_curves_whole_epochs_and_identical_curves_visible():
    same = {"epoch": [1, 2, 3], "val_acc": [0.5, 0.7, 0.8], "train_loss": [2.0, 1.0, 0.5]}
    other = {"epoch": [1, 2, 3], "val_acc": [0.4, 0.6, 0.9], "train_loss": [2.1, 1.1, 0.4]}
    curves = {"reference": same, "snntorch": dict(same), "norse": other}
    assert curve_labels(curves) == {"reference": "reference", "snntorch": "snntorch (= reference)",
                                    "norse": "norse"}
    fig = Figure()
    draw_curves(fig, curves)
    for ax in fig.axes:
        assert all(float(t).is_integer() for t in ax.get_xticks())
        lines = ax.get_lines()
        assert len({ln.get_marker() for ln in lines}) == 3
        # Later lines have smaller hollow markers: coinciding curves show as nested rings.
        sizes = [ln.get_markersize() for ln in lines]
        assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == 3
        assert all(ln.get_markerfacecolor() == "none" for ln in lines)


def test_pairs_table_in_points():
    study = {"paired": {"pairs": [{
        "a": "x", "b": "y", "n": 3, "mean_diff": 0.0123, "ci": (-0.001, 0.0256),
        "p_equivalent": 0.4, "p_different": 0.06, "min_detectable": 0.031,
        "mcnemar": {"42": {"pvalue": 0.5, "only_a": 3, "only_b": 1}},
        "verdict": "inconclusive", "seeds_needed": 9}]}}
    head, rows = pairs_table(study)
    cells = dict(zip(head, rows[0], strict=True))
    assert cells["mean diff (points)"] == "+1.23"
    assert cells["95% CI (points)"] == "[-0.10, +2.56]"
    assert cells["min detectable (points)"] == "3.10"
    assert cells["McNemar p per seed"] == "42: 0.5 (3/1)"
    assert cells["verdict"] == "inconclusive (9 seeds)"


def test_study_verdict_names_undecided_pairs_and_the_seeds_to_settle_them():
    from step.study.stats import pairwise
    from step.study.summary import _paired_text

    acc = {"x": {0: 0.90, 1: 0.91, 2: 0.92}, "y": {0: 0.90, 1: 0.91, 2: 0.92},
           "z": {0: 0.93, 1: 0.88, 2: 0.915}}
    p = pairwise(acc, margin=0.01)
    needed = {(q["a"], q["b"]): q["seeds_needed"] for q in p["pairs"]}
    assert needed[("x", "y")] is None and needed[("x", "z")] > 3
    text = _paired_text(p, 3)
    assert text.startswith("inconclusive at margin ±1 points: x vs z, y vs z neither")
    assert f"about {needed[('x', 'z')]} seeds would settle it" in text
    assert _paired_text(pairwise({"x": acc["x"], "y": acc["y"]}), 2).startswith(
        "equivalent: every pair of the 2 backends is within ±1 points")
