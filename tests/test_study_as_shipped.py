"""``step study --as-shipped``: which library quirks the study runs, and the attribution table.

Which quirks change the default model's neurons is worked out by hand from the spec (spikformer
tiny: LIF, hard reset, detached, sigmoid(4), fire ge on both roles) and docs/quirks.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from step.cli import main
from step.study import StudyConfig
from step.study.report import attribution_table
from step.study.runner import resolve_backends
from step.study.summary import quirk_attribution


def test_variants_are_the_quirks_that_change_the_models_neurons() -> None:
    """snnTorch and Norse fire at > (the model asks >=): their fire-rule quirk applies; the
    re-subtracting reset does not (hard reset), nor Norse's super (sigmoid surrogate).
    BrainCog's SigmoidGrad already fires at >= and the model detaches its reset: only the
    surrogate alpha (4 asked, 2 as shipped) applies. SpikingJelly fires at >= natively."""
    cfg = StudyConfig(backends=["reference", "spikingjelly", "snntorch", "norse", "braincog"],
                      as_shipped=True)
    assert resolve_backends(cfg) == [
        "reference", "spikingjelly", "snntorch", "snntorch+library_fire_rule",
        "norse", "norse+library_fire_rule", "braincog", "braincog+surrogate_alpha_2"]


def test_several_quirks_add_an_as_shipped_variant() -> None:
    """A soft-reset, undetached atan LIF at >= on BrainCog: its atan fires at > (fire rule),
    alpha 2 instead of 3, and its reset is detached: three quirks, so also NAME+as-shipped."""
    cfg = StudyConfig(backends=["braincog"], as_shipped=True, model="spiking_mlp",
                      model_overrides={"neuron": {"fire": "ge", "detach_reset": False,
                                                  "surrogate": {"kind": "atan", "alpha": 3.0}}})
    assert resolve_backends(cfg) == [
        "braincog", "braincog+library_fire_rule", "braincog+surrogate_alpha_2",
        "braincog+always_detached_reset", "braincog+as-shipped"]


def _run(seed: int, acc: float, rate: float, preds: list[int]) -> dict:
    return {"seed": seed, "test": {"acc": acc, "predictions": preds, "labels": [0, 1, 1, 0]},
            "firing_rate": rate}


def test_attribution_pairs_each_variant_with_its_own_library() -> None:
    """Per-seed differences +0.10, +0.12, +0.08 (variant minus canonical): mean +0.10, sd 0.02,
    t interval 0.10 +- 4.303 * 0.02 / sqrt(3) = [0.0503, 0.1497]: beyond seed noise."""
    runs = {
        "snntorch": [_run(s, a, 0.1, [0, 1, 0, 0]) for s, a in ((1, 0.70), (2, 0.72), (3, 0.68))],
        "snntorch+library_fire_rule": [_run(s, a, 0.2, [0, 1, 1, 0])
                                       for s, a in ((1, 0.80), (2, 0.84), (3, 0.76))],
    }
    rows = [{"backend": "snntorch", "status": "ok", "firing_rate": 0.1},
            {"backend": "snntorch+library_fire_rule", "status": "ok", "firing_rate": 0.2}]
    out = quirk_attribution(StudyConfig(), rows, runs)
    assert len(out) == 1
    a = out[0]
    assert a["backend"] == "snntorch" and a["quirks"] == ["library_fire_rule"]
    assert a["mean_diff"] == pytest.approx(0.10)
    assert a["ci"][0] == pytest.approx(0.0503, abs=1e-4)
    assert a["ci"][1] == pytest.approx(0.1497, abs=1e-4)
    assert a["verdict"] == "different"
    assert a["firing_rate_diff"] == pytest.approx(0.1)
    # McNemar per seed: the variant alone gets sample 2 right: 1 discordant pair, p = 1
    assert a["mcnemar"]["1"]["only_a"] == 1 and a["mcnemar"]["1"]["only_b"] == 0
    head, table = attribution_table({"attribution": out})
    assert table[0][0] == "snntorch" and table[0][4] == "+10.00"
    assert table[0][-1] == "different"


def test_variant_without_its_library_in_the_study_says_so() -> None:
    rows = [{"backend": "norse+library_fire_rule", "status": "ok"}]
    out = quirk_attribution(StudyConfig(), rows, {"norse+library_fire_rule": []})
    assert out[0]["verdict"] is None and "no trained norse" in out[0]["text"]


def test_as_shipped_study_writes_the_attribution(tmp_path: Path, capsys) -> None:
    out = tmp_path / "study"
    code = main(["study", "--as-shipped", "--backends", "snntorch", "--seeds", "2",
                 "--epochs", "1", "--train-subset", "64", "--eval-subset", "32",
                 "--in-process", "--quiet", "--json", "--out", str(out)])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert [a["variant"] for a in summary["attribution"]] == ["snntorch+library_fire_rule"]
    assert summary["attribution"][0]["verdict"] in ("equivalent", "different", "inconclusive")
    # the variant is not a backend of the verdict
    assert all("+" not in p["a"] + p["b"] for p in summary["pairs"])
    assert "Quirk attribution" in (out / "study.md").read_text()
    assert "Quirk attribution" in (out / "study.html").read_text()
