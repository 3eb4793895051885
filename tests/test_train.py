"""Training: determinism, resume, validation-only selection, firing rates, config errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

import step.nn as snn
from step.cli import main
from step.errors import InputError, SpecError
from step.hookspecs import hookimpl
from step.reference.backend import ReferenceBackend
from step.registry import register_plugin, unregister_plugin
from step.train import FiringRates, RunConfig, load_run_config, train
from step.train import loop as train_loop
from step.train.checkpoint import BEST, CHECKPOINT
from step.train.evaluate import time_permutations
from step.train.loop import warmup_cosine


def small(out: Path, **kw) -> RunConfig:
    """spiking_mlp tiny on 240 training digits, 2 epochs: about a second."""
    base = {"model": "spiking_mlp", "preset": "tiny", "dataset": "digits", "epochs": 2,
            "train_subset": 240, "eval_subset": 120, "batch_size": 32, "seed": 7,
            "out": str(out)}
    return RunConfig.parse({**base, **kw})


def strip_times(result: dict) -> dict:
    """The result without wall-clock fields (which differ between any two runs)."""
    r = json.loads(json.dumps(result))
    for row in r["history"]:
        row.pop("train_time_s")
    for key in ("time_per_epoch_s", "memory", "config"):
        r.pop(key)
    return r


def weights(path: Path) -> dict:
    return torch.load(path, weights_only=True)["model"]


def test_same_seed_gives_bit_identical_results(tmp_path: Path):
    a = train(small(tmp_path / "a"))
    b = train(small(tmp_path / "b"))
    assert strip_times(a) == strip_times(b)
    wa, wb = weights(tmp_path / "a" / BEST), weights(tmp_path / "b" / BEST)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    c = train(small(tmp_path / "c", seed=8))
    assert c["initial_weights"]["fingerprint"] != a["initial_weights"]["fingerprint"]
    assert [r["train_loss"] for r in c["history"]] != [r["train_loss"] for r in a["history"]]


def test_resume_after_a_kill_gives_the_uninterrupted_result(tmp_path: Path):
    # Rate encoding draws random spikes every batch: the encoder's generator state must be
    # restored too, not only weights, optimizer and schedule.
    rate = {"model_overrides": {"encoder": {"kind": "rate"}}}
    full = train(small(tmp_path / "full", **rate))
    cfg = small(tmp_path / "killed", **rate)
    stopped = train(cfg, stop_after=1)
    assert stopped["status"] == "stopped" and stopped["epochs_done"] == 1
    assert (tmp_path / "killed" / CHECKPOINT).is_file()
    assert not (tmp_path / "killed" / "result.json").exists()
    resumed = train(cfg, resume=True)
    assert strip_times(resumed) == strip_times(full)
    assert resumed["test"] == full["test"]


class _DrawsAtBuild(ReferenceBackend):
    """The reference equations, but building a neuron consumes random numbers (as a library
    that initialises its own parameters would): weights must still start identical."""

    name = "draws-at-build-test"

    def _build_neuron(self, spec, support):
        torch.rand(1000)
        return super()._build_neuron(spec, support)


class _DrawsPlugin:
    @hookimpl
    def step_backends(self):
        return [_DrawsAtBuild()]


def test_every_backend_starts_from_the_reference_weights(tmp_path: Path):
    register_plugin(_DrawsPlugin(), "draws-at-build-plugin")
    try:
        other = train(small(tmp_path / "other", backend="draws-at-build-test", epochs=1))
    finally:
        unregister_plugin("draws-at-build-plugin")
    ref = train(small(tmp_path / "ref", epochs=1))
    assert other["initial_weights"]["fingerprint"] == ref["initial_weights"]["fingerprint"]
    assert other["initial_weights"]["copied_from_reference"] > 0
    assert other["test"] == ref["test"]  # same equations, same start, same data: same result


def test_resume_refuses_a_different_config(tmp_path: Path):
    train(small(tmp_path / "r"), stop_after=1)
    with pytest.raises(InputError, match="lr differ"):
        train(small(tmp_path / "r", lr=0.05), resume=True)
    with pytest.raises(InputError, match="no checkpoint"):
        train(small(tmp_path / "empty"), resume=True)


def test_test_split_never_chooses_the_checkpoint(tmp_path: Path, monkeypatch):
    # 1. Record which split every evaluation runs on: test only once, after the last epoch.
    seen: list[tuple[str, int]] = []
    real_evaluate = train_loop.evaluate
    real_load = train_loop.load_data
    holder: dict = {}

    def load(cfg):
        holder["data"] = real_load(cfg)
        return holder["data"]

    def spy(model, data, **kw):
        d = holder["data"]
        name = next(n for n in ("train", "val", "test") if getattr(d, n) is data)
        seen.append((name, len(seen)))
        return real_evaluate(model, data, **kw)

    monkeypatch.setattr(train_loop, "load_data", load)
    monkeypatch.setattr(train_loop, "evaluate", spy)
    res = train(small(tmp_path / "a", epochs=3, probe=False))
    assert [n for n, _ in seen] == ["val", "val", "val", "test"]
    hist = res["history"]
    best = max(hist, key=lambda r: (r["val_acc"], -r["val_loss"], -r["epoch"]))
    assert res["selection"]["best_epoch"] == best["epoch"]
    monkeypatch.undo()

    # 2. Scramble the test labels: the chosen checkpoint must not move.
    def scrambled(cfg):
        d = real_load(cfg)
        d.test.y = torch.roll(d.test.y, 1)
        return d

    monkeypatch.setattr(train_loop, "load_data", scrambled)
    res2 = train(small(tmp_path / "b", epochs=3, probe=False))
    assert res2["selection"] == res["selection"]
    assert res2["test"]["acc"] != res["test"]["acc"]


def test_result_records_environment_support_rates_and_curve(tmp_path: Path):
    res = train(small(tmp_path / "r"))
    env = res["environment"]
    assert env["backend"] == "reference" and env["seed"] == 7
    assert env["torch"] == torch.__version__ and env["backend_version"]
    support = res["neuron_support"]
    assert support and support[0]["support"]["forward"] == "native"
    assert [r["epoch"] for r in res["history"]] == [1, 2]
    rates = res["firing_rates"]
    layer = next(iter(rates["layers"].values()))
    assert len(layer["per_step"]) == 4 and 0 <= rates["mean"] <= 1
    assert json.loads((tmp_path / "r" / "result.json").read_text())["test"] == res["test"]
    assert (tmp_path / "r" / "learning_curve.png").stat().st_size > 0
    probe = res["temporal_probe"]
    assert probe["T"] == 4 and probe["input_varies_in_time"] is False  # direct encoding


def test_firing_rates_by_hand():
    # IF neuron, threshold 1, hard reset to 0, fires on h > 1 (strict).
    model = nn.Sequential(snn.Neuron({"kind": "if", "v_threshold": 1.0}))
    x = torch.tensor([[[2.0, 0.5]], [[0.0, 0.5]], [[2.0, 0.5]]])  # [T=3, B=1, 2 neurons]
    with FiringRates(model) as fr:
        spikes = model(x)
    # neuron 0: 2 > 1 fires, reset; 0 no; 2 fires -> 1, 0, 1
    # neuron 1: 0.5 no; 1.0 not > 1 no; 1.5 fires  -> 0, 0, 1
    assert spikes[:, 0].T.tolist() == [[1, 0, 1], [0, 0, 1]]
    s = fr.summary()
    assert s["layers"]["0"]["per_step"] == [0.5, 0.0, 1.0]
    assert s["mean"] == pytest.approx(3 / 6)


def test_warmup_then_cosine():
    f = warmup_cosine(total_steps=10, warmup_steps=2, min_ratio=0.1)
    assert [f(0), f(1)] == [0.5, 1.0]
    assert f(2) == pytest.approx(1.0) and f(10) == pytest.approx(0.1)
    assert f(6) == pytest.approx(0.1 + 0.9 * 0.5)  # half way through the cosine


def test_time_permutations():
    p = time_permutations(4)
    assert p["reversed"].tolist() == [3, 2, 1, 0]
    assert sorted(p["shuffled"].tolist()) == [0, 1, 2, 3] and p["shuffled"].tolist() != [0, 1, 2, 3]


def test_event_data_probe_reorders_input(tmp_path: Path):
    res = train(small(tmp_path / "e", dataset="digits_events", epochs=1))
    assert res["model"]["data_overrides"] == {"in_channels": 2}
    probe = res["temporal_probe"]
    assert probe["input_varies_in_time"] is True
    assert {"reversed@input", "shuffled@input", "reversed@first_layer"} <= set(probe)


def test_config_file_unknown_key_is_an_error(tmp_path: Path):
    good = tmp_path / "run.yaml"
    good.write_text("model: spiking_mlp\nepochs: 3\nlr: 0.01\n")
    cfg = load_run_config(str(good), {"epochs": 5, "seed": None}, ["neuron.tau=3"])
    assert (cfg.epochs, cfg.lr, cfg.seed) == (5, 0.01, 42)
    assert cfg.model_overrides == {"neuron": {"tau": "3"}}
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: spiking_mlp\nepoch: 3\n")
    with pytest.raises(SpecError, match="epoch: unknown key"):
        load_run_config(str(bad), {})


def test_cli_train_and_exit_codes(tmp_path: Path, capsys):
    assert main(["train", "--dataset", "nope", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown dataset 'nope'" in err
    assert not (tmp_path / "x").exists()  # nothing written on bad input
    bad = tmp_path / "bad.yaml"
    bad.write_text("epoch: 3\n")
    assert main(["train", "--config", str(bad)]) == 2
    assert "unknown key" in capsys.readouterr().err
    out = tmp_path / "cli"
    args = ["train", "--model", "spiking_mlp", "--preset", "tiny", "--epochs", "2",
            "--train-subset", "100", "--eval-subset", "50", "--out", str(out), "--quiet"]
    assert main([*args, "--stop-after", "1"]) == 0
    assert "continue with --resume" in capsys.readouterr().out
    assert main([*args, "--resume", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [r["epoch"] for r in result["history"]] == [1, 2]


def test_cli_probe_on_a_finished_run(tmp_path: Path, capsys):
    out = tmp_path / "ev"
    train(small(out, dataset="digits_events", epochs=1))
    assert main(["probe", str(out), "--json"]) == 0
    probe = json.loads(capsys.readouterr().out)
    assert probe["checkpoint_epoch"] == 1 and probe["input_varies_in_time"] is True
    assert probe["original"]["acc"] - probe["reversed@input"]["acc"] == pytest.approx(
        probe["reversed@input"]["acc_drop"])
    assert json.loads((out / "probe.json").read_text()) == probe
    assert main(["probe", str(tmp_path / "nothing")]) == 2
    assert "not a finished step train run" in capsys.readouterr().err
