"""``step train --task segmentation / detection``: scores from torchmetrics checked against hand
counts, deterministic and resumable runs, and one line for a dataset of another task."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from step.cli import main
from step.data.dense import DetectionSet
from step.errors import InputError
from step.tasks.base import get_task
from step.train import RunConfig, train


class _Fixed(nn.Module):
    """Returns stored outputs, whatever the input (the scorer sees known predictions)."""

    def __init__(self, out: object) -> None:
        super().__init__()
        self.out = out

    def forward(self, x: object) -> object:
        return self.out


def test_miou_and_pixel_accuracy_by_hand() -> None:
    from step.data import ArraySet

    labels = torch.tensor([[[0, 1], [1, 255]]])
    pred = torch.tensor([[[0, 1], [0, 1]]])
    logits = nn.functional.one_hot(pred, 3).permute(0, 3, 1, 2).float()
    cfg = RunConfig.parse({"task": "segmentation", "dataset": "digits_seg"})
    res = get_task("segmentation").evaluate(_Fixed(logits), ArraySet(torch.zeros(1, 1, 2, 2),
                                                                      labels), cfg, 3)
    # class 0: tp 1, fp 1 (pixel (1,0)), fn 0 -> 1/2; class 1: tp 1, fn 1 -> 1/2 (pixel (1,1)
    # is ignored); class 2 appears nowhere and is left out of the mean
    assert res["miou"] == pytest.approx(0.5)
    assert res["pixel_acc"] == pytest.approx(2 / 3)
    assert res["iou_per_class"][:2] == pytest.approx([0.5, 0.5])


def test_coco_map_is_one_for_exact_boxes_and_zero_for_wrong_labels() -> None:
    boxes = torch.tensor([[2.0, 2.0, 10.0, 12.0], [14.0, 3.0, 20.0, 9.0]])
    truth = {"boxes": boxes, "labels": torch.tensor([1, 2])}
    data = DetectionSet(torch.zeros(1, 1, 32, 32), [truth])
    cfg = RunConfig.parse({"task": "detection", "dataset": "digits_det"})
    task = get_task("detection")
    exact = [{"boxes": boxes, "scores": torch.tensor([0.9, 0.8]), "labels": truth["labels"]}]
    assert task.evaluate(_Fixed(exact), data, cfg, 3)["map"] == pytest.approx(1.0)
    wrong = [{**exact[0], "labels": torch.tensor([2, 1])}]
    assert task.evaluate(_Fixed(wrong), data, cfg, 3)["map"] == pytest.approx(0.0)
    # one box of 10 x 10 against a prediction of 10 x 6.2 inside it: IoU 0.62, a match at
    # the thresholds 0.50, 0.55, 0.60 of the ten 0.50:0.95, so mAP 3/10, mAP@0.5 1, @0.75 0
    one = DetectionSet(torch.zeros(1, 1, 32, 32), [{"boxes": torch.tensor([[0.0, 0, 10, 10]]),
                                                    "labels": torch.tensor([1])}])
    shifted = [{"boxes": torch.tensor([[0.0, 0, 10, 6.2]]), "scores": torch.tensor([0.9]),
                "labels": torch.tensor([1])}]
    res = task.evaluate(_Fixed(shifted), one, cfg, 2)
    assert (res["map"], res["map_50"], res["map_75"]) == pytest.approx((0.3, 1.0, 0.0))


def _seg(out: Path, **kw: object) -> RunConfig:
    base = {"task": "segmentation", "head": "fpn", "head_channels": 8, "model": "spiking_cnn",
            "preset": "tiny", "model_overrides": {"T": 2}, "dataset": "digits_seg",
            "epochs": 2, "train_subset": 24, "eval_subset": 8, "batch_size": 8,
            "eval_batch_size": 8, "out": str(out)}
    return RunConfig.parse({**base, **kw})


def _strip(result: dict) -> dict:
    r = json.loads(json.dumps(result))
    for row in r["history"]:
        row.pop("train_time_s")
    for key in ("time_per_epoch_s", "memory", "config"):
        r.pop(key)
    return r


def test_segmentation_run_is_deterministic_resumable_and_counts_the_head(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    full = train(_seg(tmp_path / "full"))
    assert full["task"] == "segmentation" and full["model"]["head"] == "fpn"
    assert 0.0 <= full["test"]["miou"] <= 1.0 and full["test"]["n"] == 8
    # the rule, by hand: highest val mIoU, then lowest val loss, then earliest
    rows = full["history"]
    best = min(rows, key=lambda r: (-r["val_miou"], r["val_loss"], r["epoch"]))
    assert full["selection"]["best_epoch"] == best["epoch"]
    layers = full["firing_rates"]["layers"]
    assert any(n.startswith("head.") for n in layers)  # the head's neurons are measured
    assert any(n.startswith("backbone.") for n in layers)
    assert full["energy"]["total_pj"] > 0
    # step energy RUN_DIR rebuilds backbone and head from the run and counts both
    assert main(["energy", str(tmp_path / "full"), "--json", "--quiet"]) == 0
    names = [layer["name"] for layer in json.loads(capsys.readouterr().out)["layers"]]
    assert any(n.startswith("head.") for n in names)
    assert any(n.startswith("backbone.") for n in names)
    cfg = _seg(tmp_path / "killed")
    assert train(cfg, stop_after=1)["status"] == "stopped"
    resumed = train(cfg, resume=True)
    assert _strip(resumed) == _strip(full)


def test_detection_run_reports_coco_map(tmp_path: Path) -> None:
    result = train(RunConfig.parse({
        "task": "detection", "head_channels": 8, "model": "spiking_cnn", "preset": "tiny",
        "model_overrides": {"T": 2}, "dataset": "digits_det", "epochs": 1, "train_subset": 8,
        "eval_subset": 4, "batch_size": 4, "eval_batch_size": 4, "out": str(tmp_path / "d")}))
    assert result["model"]["head"] == "faster_rcnn"
    assert set(result["test"]) >= {"map", "map_50", "map_75", "mar_100", "n"}
    assert result["test"]["n"] == 4
    assert result["firing_rates"]["mean"] is not None


def test_cli_dense_run_and_its_summary(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    args = ["train", "--task", "segmentation", "--head", "fcn", "--model", "spiking_cnn",
            "--preset", "tiny", "--dataset", "digits_seg", "--epochs", "1",
            "--train-subset", "8", "--eval-subset", "4", "--batch-size", "8", "--set", "T=1",
            "--out", str(tmp_path / "cli"), "--quiet"]
    assert main(args) == 0
    assert "test mIoU" in capsys.readouterr().out
    assert main(args) == 0  # the same run again: nothing to do, says its scores
    assert "already holds this run, finished (test mIoU" in capsys.readouterr().out


@pytest.mark.parametrize("argv, words", [
    (["--task", "segmentation", "--dataset", "digits"], "is for classification, not "
     "segmentation: use --dataset"),
    (["--task", "detection", "--dataset", "digits_seg"], "use --dataset coco / digits_det"),
    (["--head", "fpn"], "head 'fpn' does not fit task classification"),
    (["--task", "segmentation", "--model", "spiking_mlp", "--dataset", "digits_seg"],
     "no spatial feature maps"),
    (["--task", "segmentation", "--dataset", "digits_seg", "--amp", "bf16"],
     "amp: classification settings that task segmentation does not apply"),
    (["--task", "detection", "--dataset", "digits_det", "--nproc", "2"],
     "--task detection trains in one process: leave out --nproc"),
])
def test_bad_dense_input_is_one_line_exit_2(argv: list[str], words: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "bad"
    assert main(["train", *argv, "--epochs", "1", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and "\n" not in err and "Traceback" not in err
    assert not (out / "result.json").exists()


def test_classification_is_unchanged_by_the_task_field(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        get_task("classification")
    cfg = RunConfig.parse({"model": "spiking_mlp", "preset": "tiny", "epochs": 1,
                           "train_subset": 32, "eval_subset": 16, "out": str(tmp_path / "c"),
                           "probe": False})
    assert cfg.task == "classification"
    result = train(cfg)
    assert "task" not in result and "acc" in result["test"]
    # a classification run's identity (run hashes, --resume, finished-run check) is as before
    assert not {"task", "head", "head_channels"} & set(cfg.identity())


def test_study_compares_backends_on_miou(tmp_path: Path) -> None:
    from step.registry import available_backends
    from step.study import StudyConfig, run_study, write_study

    others = [b for b in ("snntorch", "spikingjelly", "norse") if b in available_backends()]
    backends = ["reference", *others[:1]]
    cfg = StudyConfig(task="segmentation", head="fpn", head_channels=8, model="spiking_cnn",
                      preset="tiny", model_overrides={"T": 2}, dataset="digits_seg",
                      train_subset=16, eval_subset=8, epochs=1, batch_size=8, seeds=2,
                      backends=backends, isolate=False, conformance=False,
                      out=str(tmp_path / "study"))
    study = run_study(cfg)
    write_study(tmp_path / "study", study)
    assert study["metric"] == {"task": "segmentation", "key": "miou", "name": "mIoU"}
    ref = next(r for r in study["rows"] if r["backend"] == "reference")
    run = json.loads((Path(ref["runs"][0]) / "result.json").read_text())
    assert run["task"] == "segmentation"
    assert ref["acc_per_seed"][0] == run["test"]["miou"]  # the row holds the runs' mIoU
    assert "test mIoU (mean ± std)" in (tmp_path / "study" / "study.md").read_text()
    if len(backends) == 2:
        assert study["paired"]["pairs"]


def test_a_dense_study_refuses_a_classification_dataset(tmp_path: Path) -> None:
    from step.study import StudyConfig, run_study

    cfg = StudyConfig(task="segmentation", dataset="digits", out=str(tmp_path / "s"),
                      backends=["reference"], isolate=False)
    with pytest.raises(InputError, match="is for classification, not segmentation"):
        run_study(cfg)
    assert not (tmp_path / "s").exists()


def test_selection_rule_highest_score_then_lowest_loss_then_earliest() -> None:
    from step.tasks.loop import _better

    seg = get_task("segmentation")
    best = {"epoch": 1, "val_miou": 0.30, "val_loss": 0.5}
    assert _better(seg, {"miou": 0.31, "loss": 0.9}, best)
    assert not _better(seg, {"miou": 0.29, "loss": 0.1}, best)
    assert _better(seg, {"miou": 0.30, "loss": 0.4}, best)
    assert not _better(seg, {"miou": 0.30, "loss": 0.5}, best)  # a tie keeps the earlier
    det = get_task("detection")  # no validation loss; an undefined mAP loses to any
    assert _better(det, {"map": 0.0}, {"epoch": 1, "val_map": None})
    assert not _better(det, {"map": 0.2}, {"epoch": 1, "val_map": 0.2})
