"""SGLFormer beyond the golden file: it learns, its windows are the code's strided ones, and its
config refuses what it cannot build.

Equivalence with the authors' code is in tests/test_official_equivalence.py, counts in
tests/test_models_counts.py, cross-backend identity in tests/test_models_backends.py (all
parametrised over the registry or listing this model).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from train_helpers import loss_drop, train_briefly

import step.models as models
from step.errors import SpecError
from step.models.sglformer import integrate, partition


def test_step_train_learns_the_embedded_digits_above_chance(tmp_path: Path, capsys) -> None:
    """``step train`` on the embedded 8x8 digits (no download), T = 2 (the head convolution
    spans T steps, and two halve the time): 4 epochs of 160 images, about 15 s of CPU per
    epoch. Chance is 10 %; 150 test images at chance reach 25 % with probability below 1e-4;
    the run seen here ended at 51 % (84 % after 4 epochs of 320 at T = 4)."""
    result = train_briefly(tmp_path / "run", capsys, "sglformer", "tiny", "digits", epochs=4,
                           train=160, evaluate=150, batch=16, lr=0.02, extra=("--set", "T=2"))
    assert loss_drop(result) > 0.5, result["history"]
    assert result["test"]["n"] == 150 and result["test"]["acc"] > 0.25


def test_a_window_holds_every_second_token_of_the_grid() -> None:
    """The code's ``Partition`` with two windows per side: window (a, b) holds the tokens
    (2i + a, 2j + b), written out for a 4x4 grid numbered 0..15 row by row."""
    grid = torch.arange(16.0).reshape(1, 1, 1, 4, 4)
    windows = partition(grid, 2)
    assert windows.shape == (1, 4, 1, 2, 2)
    assert windows[0, :, 0].flatten(1).tolist() == [
        [0, 2, 8, 10], [1, 3, 9, 11], [4, 6, 12, 14], [5, 7, 13, 15]]
    assert torch.equal(integrate(windows, 2), grid)


def test_windows_of_two_images_stay_apart() -> None:
    x = torch.rand(2, 3, 5, 8, 8)
    windows = partition(x, 4)
    assert windows.shape == (2, 3 * 16, 5, 2, 2)
    assert torch.equal(windows[:, :16], partition(x[:, :1], 4))
    assert torch.equal(integrate(windows, 4), x)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"num_heads": 5}, "not divisible by num_heads"),
    ({"local_windows": 3}, "does not split into local_windows=3"),
    ({"patch_size": 3}, "power of 2"),
])
def test_what_sglformer_cannot_build_is_a_spec_error(overrides: dict, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        models.get_config("sglformer", "tiny", **overrides)
