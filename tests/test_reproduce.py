"""``step reproduce step-paper``: verdict rules, rows from per-seed metrics, the command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from step.cli import main
from step.reproduce import VERDICTS
from step.reproduce.paper import BUDGETS, all_arms, findings
from step.reproduce.rows import build_rows
from step.reproduce.verdict import combine, judge

SEEDS = (42, 43, 44)


def _s(*values: float) -> dict[int, float]:
    return dict(zip(SEEDS, values, strict=True))


def test_greater_agrees_with_a_clear_paired_win_and_its_hand_computed_interval() -> None:
    # differences 0.40, 0.41, 0.42: mean 0.41, sd 0.01, t(0.975, 2) = 4.302653
    t = judge(_s(0.9, 0.91, 0.92), _s(0.5, 0.5, 0.5), "greater", margin=0.01, label="x")
    assert t["verdict"] == "agrees"
    half = 4.302653 * 0.01 / math.sqrt(3)
    assert t["mean_diff"] == pytest.approx(0.41)
    assert t["ci"] == pytest.approx([0.41 - half, 0.41 + half], abs=1e-6)


def test_greater_disagrees_when_the_difference_goes_the_other_way() -> None:
    t = judge(_s(0.5, 0.5, 0.5), _s(0.9, 0.91, 0.92), "greater", margin=0.01, label="x")
    assert t["verdict"] == "disagrees"


def test_greater_disagrees_when_shown_smaller_than_the_margin() -> None:
    t = judge(_s(0.801, 0.800, 0.8005), _s(0.800, 0.8005, 0.800), "greater", margin=0.01,
              label="x")
    assert t["verdict"] == "disagrees"
    assert t["p_equivalent"] < 0.05


def test_equivalent_agrees_inside_the_margin_and_disagrees_far_outside() -> None:
    near = judge(_s(0.801, 0.800, 0.8005), _s(0.800, 0.8005, 0.800), "equivalent",
                 margin=0.01, label="x")
    far = judge(_s(0.6, 0.61, 0.62), _s(0.8, 0.8, 0.81), "equivalent", margin=0.01, label="x")
    assert (near["verdict"], far["verdict"]) == ("agrees", "disagrees")


def test_noisy_differences_and_single_seeds_are_inconclusive() -> None:
    noisy = (_s(0.85, 0.76, 0.83), _s(0.80, 0.80, 0.80))  # +5, -4, +3 points
    assert judge(*noisy, "greater", margin=0.01, label="x")["verdict"] == "inconclusive"
    assert judge(*noisy, "equivalent", margin=0.01, label="x")["verdict"] == "inconclusive"
    one = judge({42: 0.9}, {42: 0.1}, "greater", margin=0.01, label="x")
    assert one["verdict"] == "inconclusive" and one["ci"] is None


def test_a_row_agrees_only_when_every_test_agrees() -> None:
    def v(x: str) -> dict:
        return {"verdict": x}

    assert combine([v("agrees"), v("agrees")]) == "agrees"
    assert combine([v("agrees"), v("inconclusive")]) == "inconclusive"
    assert combine([v("inconclusive"), v("disagrees")]) == "disagrees"


def _table(acc: dict[str, tuple[float, ...]], probe: dict[str, tuple[float, ...]]
           | None = None, energy: tuple[float, float] | None = None) -> dict:
    """arm -> seed -> metrics, from per-arm accuracies (and shuffled accuracies)."""
    table: dict = {}
    for arm, values in acc.items():
        table[arm] = {}
        for i, seed in enumerate(SEEDS):
            m: dict = {"acc": values[i], "rate": 0.1}
            if probe and arm in probe:
                m["probe"] = {"original": values[i], "shuffled@input": probe[arm][i],
                              "reversed@input": probe[arm][i]}
            if energy:
                m["energy"] = {"total_pj": {"snn": energy[0] * (1 + 0.01 * i),
                                            "qnn_bitserial": energy[1]}}
            table[arm][seed] = m
    return table


def _finding(fid: str):
    return next(f for f in findings(BUDGETS["full"]) if f.id == fid)


def test_components_row_agrees_when_frozen_qk_is_free_and_one_conv_costs() -> None:
    f = _finding("components")
    arms = {r: a.name for r, a in f.arms.items()}
    table = _table({arms["baseline"]: (0.90, 0.91, 0.92),
                    arms["frozen_qk"]: (0.9005, 0.9095, 0.9200),
                    arms["one_conv"]: (0.70, 0.72, 0.71)})
    [row] = build_rows([f], table)
    assert [t["verdict"] for t in row["tests"]] == ["agrees", "agrees"]
    assert row["verdict"] == "agrees"
    # one conv as good as the baseline: the paper's claim fails
    table[arms["one_conv"]] = table[arms["frozen_qk"]]
    [row] = build_rows([f], table)
    assert row["verdict"] == "disagrees"


def test_energy_row_reads_the_log_ratio_of_snn_to_bitserial_qnn() -> None:
    f = _finding("energy")
    name = f.arms["baseline"].name
    [row] = build_rows([f], _table({name: (0.9, 0.9, 0.9)}, energy=(200.0, 100.0)))
    assert row["verdict"] == "agrees"
    assert row["tests"][0]["mean_diff"] == pytest.approx(
        sum(math.log(2 * (1 + 0.01 * i)) for i in range(3)) / 3)
    [row] = build_rows([f], _table({name: (0.9, 0.9, 0.9)}, energy=(50.0, 100.0)))
    assert row["verdict"] == "disagrees"


def test_temporal_rows_need_a_recurrent_baseline_that_uses_order() -> None:
    f = _finding("temporal_probe")
    acc = {a.name: (0.9, 0.91, 0.92) for a in f.arms.values()}
    # the RNN loses ~40 points when shuffled, the transformers nothing
    probe = {name: ((0.5, 0.52, 0.51) if name.startswith("spiking_rnn") else v)
             for name, v in acc.items()}
    rows = build_rows([f], _table(acc, probe))
    assert [r["id"] for r in rows] == ["temporal_probe/events", "temporal_probe/digits_seq",
                                       "temporal_probe/digits_pseq"]
    assert {r["verdict"] for r in rows} == {"agrees"}
    from step.reproduce.discussion import temporal_discussion

    # each dataset's paragraph reads its own arms: RNN drops 10, 20, 30 points by dataset
    drop = {"events": 0.1, "digits_seq": 0.2, "digits_pseq": 0.3}
    def rnn_drop(arm: str) -> float:  # arm names: "spiking_rnn digits_events", "... T=8"
        return next(d for data, d in drop.items() if data in arm and
                    not (data == "digits_seq" and "pseq" in arm))

    by_data = {name: tuple(x - rnn_drop(name) for x in v) if name.startswith("spiking_rnn")
               else v for name, v in acc.items()}
    text = temporal_discussion(build_rows([f], _table(acc, by_data)))
    for data, d in drop.items():
        paragraph = text.split(f"**{data}.**")[1].split("\n\n")[0]
        assert f"recurrent baseline +{100 * d:.1f} points" in paragraph
    # the RNN ignores order too: the data cannot tell, whatever the transformers do
    rows = build_rows([f], _table(acc, dict(acc)))
    assert {r["verdict"] for r in rows} == {"inconclusive"}
    assert "cannot show" in rows[0]["note"]


def test_every_finding_builds_rows_with_allowed_verdicts_from_missing_data() -> None:
    fs = findings(BUDGETS["full"])
    rows = build_rows(fs, {})
    assert {r["finding"] for r in rows} == {f.id for f in fs}
    assert all(r["verdict"] == "inconclusive" for r in rows)


def test_shared_arms_train_once() -> None:
    fs = findings(BUDGETS["full"])
    arms = all_arms(fs)
    configs = [json.dumps(a.config, sort_keys=True) for a in arms]
    assert len(configs) == len(set(configs))
    baseline = fs[0].arms["baseline"].config
    assert sum(1 for a in arms if a.config == baseline) == 1


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("repro") / "out"
    assert main(["reproduce", "step-paper", "--smoke", "--out", str(out), "--quiet"]) == 0
    return out


def test_smoke_run_writes_three_reports_with_a_verdict_per_row(smoke: Path) -> None:
    report = json.loads((smoke / "reproduce.json").read_text())
    assert {r["finding"] for r in report["rows"]} == {"components", "energy", "temporal_probe"}
    for row in report["rows"]:
        assert row["verdict"] in VERDICTS
        assert row["claim"] and row["paper"] and row["tests"]
        assert all(t["verdict"] in VERDICTS for t in row["tests"])
    assert report["meta"]["runs_trained"] == report["meta"]["runs_expected"] == 12
    md = (smoke / "reproduce.md").read_text()
    assert "| finding | the paper says |" in md and "smoke" in md
    for r in report["rows"]:
        assert f"**{r['verdict']}**" in md
    page = (smoke / "reproduce.html").read_text()
    assert page.count("data:image/png;base64,") == len(report["rows"])
    assert all(p.stat().st_size > 0 for p in (smoke / "reproduce-plots").glob("*.png"))


def test_rerun_reuses_every_finished_run(smoke: Path, capsys: pytest.CaptureFixture) -> None:
    log = (smoke / "runs.jsonl").read_text()
    assert main(["reproduce", "step-paper", "--smoke", "--out", str(smoke), "--json",
                 "--jobs", "1"]) == 0
    assert (smoke / "runs.jsonl").read_text() == log  # nothing trained again
    report = json.loads(capsys.readouterr().out)
    assert report["meta"]["runs_trained"] == 12


def test_another_budget_in_the_same_folder_is_refused(smoke: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    assert main(["reproduce", "step-paper", "--quick", "--no-train", "--out", str(smoke)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "another budget" in err


@pytest.mark.parametrize("argv, message", [
    (["reproduce", "nature-2024"], "unknown target 'nature-2024'"),
    (["reproduce", "step-paper", "--quick", "--smoke"], "--quick and --smoke"),
    (["reproduce", "step-paper", "--seeds", "0"], "--seeds must be at least 1"),
    (["reproduce", "step-paper", "--md", "x.txt"], "must end in .md"),
    (["reproduce", "step-paper", "--jobs", "0"], "--jobs must be at least 1"),
    (["reproduce", "step-paper", "--part", "3/2"], "--part 3/2"),
])
def test_bad_input_is_one_line_and_exit_2(argv: list[str], message: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture) -> None:
    assert main([*argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert not (tmp_path / "o").exists()
