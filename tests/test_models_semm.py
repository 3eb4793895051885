"""Spikformer+SEMM beyond the golden file: it learns, and its config refuses what it cannot build.

Equivalence with the published code is in tests/test_official_equivalence.py, counts in
tests/test_models_counts.py, cross-backend identity in tests/test_models_backends.py (all
parametrised over the registry or listing this model).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from train_helpers import loss_drop, train_briefly

import step.models as models
from step.errors import InputError, SpecError


def test_step_train_learns_the_embedded_digits_above_chance(tmp_path: Path, capsys) -> None:
    """``step train`` on the embedded 8x8 digits (no download): 4 epochs of 320 images, about
    20 s on one core. Chance is 10 %; 150 test images at chance reach 20 % with probability
    below 1e-3, and the runs seen here ended at 31-41 % (seeds 0-2)."""
    result = train_briefly(tmp_path / "run", capsys, "spikformer_semm", "tiny", "digits",
                           epochs=4, train=320, evaluate=150, batch=32, lr=0.02)
    assert loss_drop(result) > 0.2, result["history"]
    assert result["test"]["n"] == 150 and result["test"]["acc"] > 0.2


def test_step_train_learns_the_embedded_pixel_sequences_with_the_smnist_front_end(
        tmp_path: Path, capsys) -> None:
    """The smnist preset (STEP's Conv1d front end, shrunk to one block of 32 channels) on the
    embedded sMNIST-style digits (64 steps of one pixel): the data size the sequence
    (``sequence_length`` 64), the model keeps its own T = 4, and it learns above chance (runs
    seen here: 33 % after 4 epochs of 320 sequences)."""
    shrink = ("--set", "embed_dim=32", "--set", "depth=1", "--set", "num_experts=2",
              "--set", "expert_dim=8")
    result = train_briefly(tmp_path / "run", capsys, "spikformer_semm", "smnist", "digits_seq",
                           epochs=4, train=320, evaluate=150, batch=32, lr=0.02, extra=shrink)
    assert result["model"]["data_overrides"] == {"sequence_length": 64}
    assert result["model"]["config"]["T"] == 4
    probe = result["temporal_probe"]
    assert probe["T"] == 4 and probe["input_T"] == 64  # the input's order is the sequence's
    assert loss_drop(result) > 0.3, result["history"]
    assert result["test"]["acc"] > 0.2


def test_a_sequence_of_the_wrong_length_is_one_input_error() -> None:
    model = models.create("spikformer_semm", "smnist", embed_dim=16, depth=1)
    with pytest.raises(InputError, match="sequences of 784 steps of 1 features"):
        model(torch.rand(100, 2, 1))


@pytest.mark.parametrize(("overrides", "message"), [
    ({"attention": "sdsa"}, "attention must be ssa"),
    ({"pre_activation": True}, "attention must be ssa"),
    ({"mlp_ratio": 0.75, "embed_dim": 34}, "must be even"),
    ({"embedding": "sequential"}, "needs sequence_length"),
])
def test_what_semm_cannot_build_is_a_spec_error(overrides: dict, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        models.get_config("spikformer_semm", "tiny", **overrides)
