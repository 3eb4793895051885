"""Data-parallel training (torchrun, DDP, gloo on CPU) gives the one-process result.

Expectations are the one-process run of the same config: DDP must average the gradients of
each global batch's shards into the gradient of the whole batch. Tolerance: float32 sums in a
different order, so weights agree to 1e-6 absolute (measured: 8e-8) and losses to 1e-6
relative (measured: 8e-9; validation losses equal). The model has no BatchNorm: per-process
batch statistics differ from the global batch's by design (SyncBatchNorm is GPU-only in
torch), see step.train.distributed.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from step.cli import main
from step.errors import InputError
from step.train import RunConfig, train
from step.train import distributed as ddp
from step.train.checkpoint import BEST, CHECKPOINT

# 245 samples in global batches of 32: the last batch (21) splits 11 / 10 over two processes,
# so the loss weighting of uneven shards is exercised too.
ARGS = {"model": "spiking_mlp", "preset": "tiny", "dataset": "digits", "epochs": 2,
        "train_subset": 245, "eval_subset": 60, "batch_size": 32, "seed": 3, "lr": 0.02,
        "probe": False, "model_overrides": {"batch_norm": False, "neuron": {"v_threshold": 0.5}}}


def config(out: Path) -> RunConfig:
    return RunConfig.parse({**ARGS, "out": str(out)})


def cli_args(out: Path, tmp: Path) -> list[str]:
    """The same run as :func:`config`, for the command line (JSON is YAML)."""
    path = tmp / f"{out.name}.yaml"
    path.write_text(json.dumps(ARGS))
    return ["--config", str(path), "--out", str(out), "--quiet"]


def weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["model"]


def assert_close_weights(a: Path, b: Path) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=0, atol=1e-6, msg=k)


@pytest.fixture(scope="module")
def one_process(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("one") / "run"
    return out, train(config(out))


def test_two_gloo_processes_match_one_process(one_process, tmp_path: Path, capsys):
    out1, r1 = one_process
    assert r1["firing_rates"]["mean"] > 0.01  # spikes happen: the check is not on silence
    out2 = tmp_path / "two"
    # --log reaches the ranks (torchrun's own parser would take it for its --log-dir)
    log = ["--log", "tensorboard"] if importlib.util.find_spec("tensorboard") else []
    assert main(["train", "--nproc", "2", *cli_args(out2, tmp_path), *log]) == 0
    if log:  # rank 0 alone writes
        assert len(list((out2 / "tensorboard").glob("events.out.tfevents.*"))) == 1
    r2 = json.loads((out2 / "result.json").read_text())
    assert r2["distributed"]["world_size"] == 2 and r2["distributed"]["backend"] == "gloo"
    assert "distributed" not in r1
    for a, b in zip(r1["history"], r2["history"], strict=True):
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-6)
        assert b["train_acc"] == a["train_acc"]
        assert b["val_loss"] == pytest.approx(a["val_loss"], rel=1e-6)
        assert b["lr"] == pytest.approx(a["lr"], rel=1e-12)
    assert r2["test"]["predictions"] == r1["test"]["predictions"]
    assert_close_weights(out1 / BEST, out2 / BEST)


def test_resume_from_two_processes_in_one(one_process, tmp_path: Path):
    out1, _ = one_process
    out = tmp_path / "moved"
    assert main(["train", "--nproc", "2", "--stop-after", "1", *cli_args(out, tmp_path)]) == 0
    assert (out / CHECKPOINT).is_file() and not (out / "result.json").exists()
    resumed = train(config(out), resume=True)  # the second epoch in one process
    assert resumed["selection"]["best_epoch"] >= 1
    assert_close_weights(out1 / CHECKPOINT, out / CHECKPOINT)


def test_shards_cut_each_global_batch_in_order():
    order = torch.tensor([4, 0, 3, 1, 2, 6, 5])
    r0 = ddp.Distributed(rank=0, world_size=2)
    r1 = ddp.Distributed(rank=1, world_size=2)
    # batches of 4: [4 0 3 1] and [2 6 5]; rank 0 takes the first half of each, rank 1 the rest
    assert [(s.tolist(), n) for s, n in r0.shards(order, 4)] == [([4, 0], 4), ([2, 6], 3)]
    assert [(s.tolist(), n) for s, n in r1.shards(order, 4)] == [([3, 1], 4), ([5], 3)]
    # mean loss weights: 2 * 2 / 3 and 1 * 2 / 3 average to the mean over the 3 samples
    assert r0.loss_weight(2, 3) == pytest.approx(4 / 3) and r1.loss_weight(1, 3) == 2 / 3
    one = ddp.Distributed()
    assert [(s.tolist(), n) for s, n in one.shards(order, 4)] == [([4, 0, 3, 1], 4),
                                                                 ([2, 6, 5], 3)]


def test_a_batch_too_small_to_share_is_one_line():
    with pytest.raises(InputError, match="need at least 4 samples"):
        ddp.check_split(n_train=33, batch_size=32, world=4)  # last batch holds 1 sample
    ddp.check_split(n_train=36, batch_size=32, world=4)
    with pytest.raises(InputError, match="multiple of 4"):
        ddp.check_mix_batches(batch_size=6, world=2, mixes=True)  # shares of 3 cannot pair
    ddp.check_mix_batches(batch_size=6, world=2, mixes=False)
    ddp.check_mix_batches(batch_size=8, world=2, mixes=True)
    with pytest.raises(InputError, match="GPUs only"):
        ddp.check_sync_bn(True, "cpu", 2)
    assert ddp._without_nproc(["train", "--nproc", "2", "--nproc=3", "--epochs", "1"]) == [
        "train", "--epochs", "1"]


def test_nproc_checks_before_launching(tmp_path: Path, capsys):
    for args, says in ((["--nproc", "0"], "--nproc must be at least 1"),
                       (["--nproc", "2", "--sync-bn"], "SyncBatchNorm runs on GPUs only")):
        assert main(["train", *args, "--out", str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and says in err, err
    assert not (tmp_path / "x").exists()
