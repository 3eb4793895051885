"""Mixed precision (``--amp``) in training and evaluation, and TensorBoard scalars (``--log``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from step.cli import main
from step.train import RunConfig, evaluate, train
from step.train.checkpoint import CHECKPOINT
from step.train.precision import autocast, grad_scaler


def small(out: Path, **kw) -> RunConfig:
    base = {"model": "spiking_mlp", "preset": "tiny", "dataset": "digits", "epochs": 2,
            "train_subset": 160, "eval_subset": 60, "batch_size": 32, "seed": 5,
            "probe": False, "out": str(out)}
    return RunConfig.parse({**base, **kw})


@pytest.fixture(scope="module")
def fp32(tmp_path_factory) -> dict:
    return train(small(tmp_path_factory.mktemp("fp32") / "run"))


def test_autocast_and_scaler_choices():
    lin = torch.nn.Linear(3, 2)
    with autocast("cpu", "bf16"):
        assert lin(torch.ones(1, 3)).dtype == torch.bfloat16
    with autocast("cpu", None):
        assert lin(torch.ones(1, 3)).dtype == torch.float32
    assert grad_scaler("cpu", "bf16") is None and grad_scaler("cpu", None) is None
    assert grad_scaler("cpu", "fp16").is_enabled()


def test_bf16_training_runs_in_bf16_and_stays_near_float32(fp32, tmp_path: Path):
    bf = train(small(tmp_path / "bf16", amp="bf16"))
    for a, b in zip(fp32["history"], bf["history"], strict=True):
        # bf16 keeps 8 bits of mantissa: the loss moves, but by well under a percent
        assert b["train_loss"] != a["train_loss"]
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-2)
    assert bf["config"]["amp"] == "bf16"


def test_evaluation_runs_under_autocast(tmp_path: Path):
    from step.train.setup import build_model, data_overrides, load_data

    cfg = small(tmp_path / "e")
    data = load_data(cfg)
    model, _ = build_model(cfg, data_overrides(cfg, data))
    kw = {"batch_size": 64, "time_first": False, "criterion": torch.nn.CrossEntropyLoss()}
    seen: list[torch.dtype] = []
    model.head.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    full = evaluate(model, data.val, **kw)
    half = evaluate(model, data.val, amp="bf16", **kw)
    assert seen == [torch.float32, torch.bfloat16]  # one batch each: the head ran in bf16
    assert half["loss"] == pytest.approx(full["loss"], rel=1e-2)


def test_fp16_training_scales_gradients_and_resumes(tmp_path: Path):
    cfg = small(tmp_path / "fp16", amp="fp16")
    full = train(small(tmp_path / "fp16_full", amp="fp16"))
    assert train(cfg, stop_after=1)["status"] == "stopped"
    scaler = torch.load(tmp_path / "fp16" / CHECKPOINT, weights_only=True)["scaler"]
    assert scaler["scale"] > 1  # the loss was scaled (GradScaler starts at 2**16)
    resumed = train(cfg, resume=True)
    assert [r["train_loss"] for r in resumed["history"]] == [
        r["train_loss"] for r in full["history"]]


def test_tensorboard_scalars_equal_the_result(fp32, tmp_path: Path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "tb"
    result = train(small(out, log="tensorboard"))
    assert [r["train_loss"] for r in result["history"]] == [
        r["train_loss"] for r in fp32["history"]]  # logging changes nothing
    acc = EventAccumulator(str(out / "tensorboard"))
    acc.Reload()
    loss = acc.Scalars("train/loss")
    assert [e.step for e in loss] == [1, 2]
    for event, row in zip(loss, result["history"], strict=True):
        assert event.value == pytest.approx(row["train_loss"], rel=1e-6)  # stored as float32
    assert [e.value for e in acc.Scalars("val/acc")] == pytest.approx(
        [r["val_acc"] for r in result["history"]])
    assert acc.Scalars("test/acc")[0].value == pytest.approx(result["test"]["acc"])


def test_log_is_not_part_of_the_runs_identity(tmp_path: Path):
    assert small(tmp_path, log="tensorboard").identity() == small(tmp_path).identity()
    assert small(tmp_path, amp="bf16").identity() != small(tmp_path).identity()


def test_tensorboard_missing_is_one_line(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # as if not installed
    code = main(["train", "--log", "tensorboard", "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "pip install 'step-snn[tensorboard]'" in err
    assert not (tmp_path / "x").exists()
    small(tmp_path, log="tensorboard")  # a config that asked for it still reads
