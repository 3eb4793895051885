"""STEP's recipe (``recipe: step-cifar``): timm's augmentation, mixup and schedule, seeded.

Expectations: timm's pipeline built directly with the literal values of STEP's
cls/configs/spikformer/cifar10.yml (not through step's mapping), normalisation and mixup
written out by hand, and the schedule's learning rates computed by hand from timm's formulas.
"""

from __future__ import annotations

import math
import pickle
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image  # matplotlib's dependency, so always there

from step.cli import main
from step.errors import SpecError
from step.train import RunConfig, recipe, train
from step.train.loop import _schedule

pytest.importorskip("timm")  # the recipe's extra (step-snn[recipe])

MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


def step_timm_pipeline():
    """What STEP's train.py builds for CIFAR-10 training (timm's loader, no prefetcher)."""
    from timm.data import create_transform

    return create_transform(
        input_size=(3, 32, 32), is_training=True, scale=[1.0, 1.0], ratio=[1.0, 1.0],
        hflip=0.5, vflip=0.0, color_jitter=0.0, auto_augment="rand-m9-n1-mstd0.4-inc1",
        interpolation="bicubic", mean=MEAN, std=STD, re_prob=0.25, re_mode="const",
        re_count=1)


def images(n: int, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).integers(0, 256, (n, 3, 32, 32),
                                                                  dtype=np.uint8))


@pytest.fixture
def cifar_root(tmp_path: Path) -> Path:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for name in [f"data_batch_{b}" for b in range(1, 6)] + ["test_batch"]:
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": rng.integers(0, 256, (12, 3072), dtype=np.uint8),
                         b"labels": [k % 10 for k in range(12)]}, f)
    return tmp_path


def test_recipe_fills_steps_published_values_and_flags_win():
    cfg = RunConfig.parse({"recipe": "step-cifar", "dataset": "cifar10"})
    assert (cfg.epochs, cfg.cooldown_epochs, cfg.warmup_epochs) == (410, 10, 20)
    assert (cfg.lr, cfg.min_lr, cfg.warmup_lr, cfg.weight_decay) == (5e-4, 1e-5, 1e-5, 0.06)
    assert (cfg.batch_size, cfg.label_smoothing, cfg.lr_schedule) == (128, 0.1, "timm_cosine")
    a = cfg.augment
    assert a.rand_augment == "rand-m9-n1-mstd0.4-inc1" and a.random_erasing == 0.25
    assert (a.mixup, a.cutmix, a.mix_prob, a.mix_mode, a.mix_off_epoch) == (
        0.5, 0.0, 1.0, "batch", 200)
    short = RunConfig.parse({"recipe": "step-cifar", "dataset": "cifar100", "epochs": 30,
                             "lr": 1e-3})
    assert (short.epochs, short.lr, short.cooldown_epochs) == (30, 1e-3, 10)
    with pytest.raises(SpecError, match="fits cifar10 and cifar100, not dataset digits"):
        RunConfig.parse({"recipe": "step-cifar"})
    with pytest.raises(SpecError, match="unknown recipe 'step-imagenet'"):
        RunConfig.parse({"recipe": "step-imagenet", "dataset": "cifar10"})
    with pytest.raises(SpecError, match="cooldown_epochs \\(10\\) must be fewer"):
        RunConfig.parse({"recipe": "step-cifar", "dataset": "cifar10", "epochs": 5})


def test_cli_recipe_on_a_dataset_it_does_not_fit_is_one_line(tmp_path: Path, capsys):
    code = main(["train", "--recipe", "step-cifar", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--dataset cifar10, or drop --recipe" in err
    assert not (tmp_path / "r").exists()


def test_training_images_equal_timms_pipeline_with_steps_arguments():
    aug = RunConfig.parse({"recipe": "step-cifar", "dataset": "cifar10"}).augment
    x = images(12)
    y = torch.arange(12) % 10
    ours = recipe.PipelineImages(x, y, recipe.train_transform(aug, (3, 32, 32)), seed=5)
    theirs = step_timm_pipeline()
    plain = (x.float() / 255 - torch.tensor(MEAN)[:, None, None]) / torch.tensor(STD)[:, None,
                                                                                       None]
    for epoch in (0, 3):
        ours.set_epoch(epoch)
        outside = (random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state())
        got, labels = ours.get_batch(torch.arange(12))
        # the draws were seeded, and the caller's random states are as they were
        assert random.getstate() == outside[0]
        assert np.array_equal(np.random.get_state()[1], outside[1])
        assert torch.equal(torch.get_rng_state(), outside[2])
        assert torch.equal(labels, y)
        for i in range(12):
            s = recipe.mix_seed(5, epoch, i)
            random.seed(s)
            np.random.seed(s % 2**32)
            torch.manual_seed(s)
            want = theirs(Image.fromarray(x[i].permute(1, 2, 0).numpy()))
            assert torch.equal(got[i], want), (epoch, i)
        changed = [not torch.allclose(got[i], plain[i], atol=1e-5) for i in range(12)]
        assert sum(changed) >= 6  # flips, RandAugment and erasing touched most images
    ours.set_epoch(0)
    first = ours.get_batch(torch.arange(4))[0]
    ours.set_epoch(1)
    assert not torch.equal(first, ours.get_batch(torch.arange(4))[0])
    ours.set_epoch(0)
    assert torch.equal(first, ours.get_batch(torch.arange(4))[0])


def test_evaluation_images_are_only_normalised():
    aug = RunConfig.parse({"recipe": "step-cifar", "dataset": "cifar10"}).augment
    x = images(3, seed=2)
    ev = recipe.PipelineImages(x, torch.zeros(3), recipe.eval_transform(aug, (3, 32, 32)),
                               seed=None)
    got = ev.get_batch(torch.arange(3))[0]
    by_hand = (x.float() / 255 - torch.tensor(MEAN)[:, None, None]) / torch.tensor(STD)[:, None,
                                                                                         None]
    torch.testing.assert_close(got, by_hand, rtol=0, atol=1e-6)


def test_posterize_to_zero_bits_is_black_as_before_pillow13():
    img = Image.fromarray(np.full((2, 2, 3), 183, dtype=np.uint8))
    assert np.asarray(recipe.posterize_as_before_pillow13(img, 0)).max() == 0
    # 4 bits kept: 183 = 0b10110111 -> 0b10110000 = 176
    assert np.asarray(recipe.posterize_as_before_pillow13(img, 4)).tolist() == [[[176] * 3] * 2] * 2
    aug = RunConfig.parse({"recipe": "step-cifar", "dataset": "cifar10"}).augment
    ops = [op for op in recipe._augment_ops(recipe.train_transform(aug, (3, 32, 32)))
           if op.name.startswith("Posterize")]
    assert ops and all(op.aug_fn is recipe.posterize_as_before_pillow13 for op in ops)


def test_mixup_mixes_each_image_with_the_mirrored_one():
    aug = recipe.AugmentSpec(mixup=0.5, mix_off_epoch=2)
    mixer = recipe.Mixer(aug, num_classes=10, label_smoothing=0.1, seed=0, rank=0)
    x = torch.rand(4, 3, 2, 2)
    y = torch.tensor([0, 1, 2, 3])
    mixed, target = mixer(x.clone(), y, epoch=0, batch=0)
    # smoothed one-hot: 0.01 off, 0.91 on; image 0 is mixed with image 3 (batch mode flips)
    lam = (float(target[0, 0]) - 0.01) / 0.9
    assert 0 <= lam <= 1 and lam != 1
    assert float(target[0, 3]) == pytest.approx(0.01 + 0.9 * (1 - lam), abs=1e-6)
    torch.testing.assert_close(mixed[0], lam * x[0] + (1 - lam) * x[3], rtol=0, atol=1e-6)
    torch.testing.assert_close(mixed[1], lam * x[1] + (1 - lam) * x[2], rtol=0, atol=1e-6)
    torch.testing.assert_close(target.sum(1), torch.ones(4))
    for outside in (1, 2):  # seeded by (seed, epoch, batch, rank), not by numpy's state
        np.random.seed(outside)
        again, _ = mixer(x.clone(), y, epoch=0, batch=0)
        assert torch.equal(again, mixed)
    other, _ = mixer(x.clone(), y, epoch=0, batch=1)
    assert not torch.equal(other, mixed)
    off, soft = mixer(x.clone(), y, epoch=2, batch=0)  # mixing ends at mix_off_epoch
    assert torch.equal(off, x)
    assert soft[0, 0] == pytest.approx(0.91) and soft[0, 1] == pytest.approx(0.01)


def test_timm_cosine_schedule_by_hand():
    cfg = RunConfig.parse({"recipe": "step-cifar", "dataset": "cifar10"})
    steps = 3
    factor = _schedule(cfg, steps)
    lr = [cfg.lr * factor(k * steps + 2) for k in range(410)]  # last step of each epoch
    lo, hi = 1e-5, 5e-4
    assert lr[0] == pytest.approx(lo, rel=1e-12)  # warm-up starts at warmup_lr
    assert lr[10] == pytest.approx(lo + 10 * (hi - lo) / 20, rel=1e-12)
    for e in (20, 100, 399):  # cosine over the 400 scheduled epochs (warm-up inside them)
        assert lr[e] == pytest.approx(lo + 0.5 * (hi - lo) * (1 + math.cos(math.pi * e / 400)),
                                      rel=1e-12)
    assert all(v == pytest.approx(lo, rel=1e-12) for v in lr[400:])  # the 10 cool-down epochs
    assert cfg.lr * factor(1) == lr[0]  # every step of an epoch has the epoch's rate


def test_a_recipe_run_is_deterministic_and_resumes(cifar_root: Path, tmp_path: Path):
    base = {"recipe": "step-cifar", "dataset": "cifar10", "data_root": str(cifar_root),
            "model": "spiking_mlp", "preset": "tiny", "epochs": 3, "cooldown_epochs": 1,
            "warmup_epochs": 1, "batch_size": 10, "probe": False}
    full = train(RunConfig.parse({**base, "out": str(tmp_path / "full")}))
    assert full["dataset"]["info"]["augment"]["mixup"] == 0.5
    assert full["config"]["recipe"] == "step-cifar"
    # 54 training images in batches of 10: mixing drops the last 4, as timm's loader does
    cfg = RunConfig.parse({**base, "out": str(tmp_path / "killed")})
    assert train(cfg, stop_after=1)["status"] == "stopped"
    resumed = train(cfg, resume=True)
    for a, b in zip(full["history"], resumed["history"], strict=True):
        assert a["train_loss"] == b["train_loss"] and a["val_loss"] == b["val_loss"]
    assert full["test"] == resumed["test"]
