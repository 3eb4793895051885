"""The Spiking Wavelet Transformer beyond the golden file: it learns, its Haar neurons are a role
of their own, and its config refuses what it cannot build.

Equivalence with STEP's port is in tests/test_official_equivalence.py, the Haar transform
against PyWavelets in tests/test_wavelet.py, counts in tests/test_models_counts.py,
cross-backend identity in tests/test_models_backends.py.
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
    2 s of computing per epoch on one core. Chance is 10 %; 150 test images at chance reach
    25 % with probability below 1e-4; the run seen here ended at 49 %."""
    result = train_briefly(tmp_path / "run", capsys, "swformer", "tiny", "digits", epochs=4,
                           train=320, evaluate=150, batch=32, lr=0.02)
    assert loss_drop(result) > 0.5, result["history"]
    assert result["test"]["n"] == 150 and result["test"]["acc"] > 0.25


def test_the_haar_neurons_are_their_own_role() -> None:
    """The three neurons between the passes of the Haar transforms (ternary in the authors'
    code) are the ``haar_neuron`` role: changing it changes the output and only those
    three neurons per block."""
    torch.manual_seed(0)
    base = models.create("swformer", "tiny")
    torch.manual_seed(0)
    other = models.create("swformer", "tiny", haar_neuron={"v_threshold": 0.3})
    changed = [n for (n, a), (_, b) in zip(base.named_modules(), other.named_modules(),
                                           strict=True)
               if hasattr(a, "spec") and a.spec != b.spec]
    assert changed == ["blocks.0.mixer.forward_lif", "blocks.0.mixer.inverse_row_lif",
                       "blocks.0.mixer.inverse_col_lif"]
    x = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert not torch.equal(base(x), other(x))


def test_the_authors_embedding_builds_the_same_layers() -> None:
    """``embedding: sps_membrane`` (the authors' SPS, ending on the membrane) has the same
    parameters as STEP's ``sps_linear_rpe``, and computes something else."""
    assert (models.count_parameters("swformer", "cifar10", embedding="sps_membrane")
            == models.count_parameters("swformer", "cifar10"))
    torch.manual_seed(0)
    a = models.create("swformer", "tiny")
    torch.manual_seed(0)
    b = models.create("swformer", "tiny", embedding="sps_membrane")
    x = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert not torch.equal(a(x), b(x))


def test_a_token_grid_other_than_the_built_one_is_one_input_error() -> None:
    model = models.create("swformer", "tiny")
    with pytest.raises(InputError, match="4x4 token grid"):
        model.blocks[0].mixer(torch.rand(2, 1, 32, 8, 8))


@pytest.mark.parametrize(("overrides", "message"), [
    ({"fl_blocks": 5}, "not divisible by fl_blocks 5"),
    ({"img_size": 24, "patch_size": 2}, "power-of-2 token grid, got 12x12"),
    ({"patch_size": 3}, "power of 2"),
])
def test_what_swformer_cannot_build_is_a_spec_error(overrides: dict, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        models.get_config("swformer", "tiny", **overrides)
