"""SPT beyond the golden file: Q-SDE by hand, it learns the embedded primitives, and its config
refuses what it cannot build.

Equivalence with STEP's code is in tests/test_official_equivalence.py, counts in
tests/test_models_counts.py, cross-backend identity in tests/test_models_backends.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from train_helpers import loss_drop, train_briefly

import step.models as models
from step.errors import InputError, SpecError
from step.models.spt import QueueEncoder

LINE = [0.0, 1, 2, 3, 4, 5, 10]


def _steps(indexing: str) -> list[list[float]]:
    cloud = torch.tensor([[[x, 0.0, 0.0] for x in LINE]])
    return QueueEncoder(3, 3, indexing)(cloud)[:, 0, :, 0].tolist()


def test_q_sde_by_hand() -> None:
    """Seven points on a line at 0, 1, 2, 3, 4, 5, 10; T = 3, S = 3 per step, so
    r = (7 - 3) // 2 = 2 new points per step. Step 0, FPS from the first point: 0, 10, then 5
    (5 from 0, 5 from 10). Left: 1, 2, 3, 4. Step 1 keeps the last S - r = 1 point (5) and
    FPS picks 1 and 4 among the left ones (positions 0 and 3 of [1, 2, 3, 4]); left: 2, 3.
    Step 2 keeps 4 and adds 2 and 3 (positions 0 and 1 of [2, 3]). The released code reads
    positions 0 and 3 (then 0 and 1) of the *full* cloud instead: 0 and 3 (then 0 and 1)."""
    assert _steps("remaining") == [[0, 10, 5], [5, 1, 4], [4, 2, 3]]
    assert _steps("as_released") == [[0, 10, 5], [5, 0, 3], [3, 0, 1]]


def test_repeat_encoding_gives_every_step_the_whole_cloud() -> None:
    model = models.create("spt", "tiny", point_encoder="repeat", num_samples=1)
    x = torch.rand(2, 64, 3)
    assert torch.equal(model.time_first(x), x.expand(4, 2, 64, 3))


def test_step_train_learns_the_embedded_primitives_above_chance(tmp_path: Path, capsys) -> None:
    """``step train`` on the embedded point clouds of five primitives (64 points, no download),
    5 epochs of 250 clouds. Chance is 20 %; 90 test clouds at chance reach 35 % with
    probability about 2e-4 (the run seen here: 48 %). The temporal probe sees Q-SDE's steps
    differ (each holds other points of the cloud)."""
    result = train_briefly(tmp_path / "run", capsys, "spt", "tiny", "shapes", epochs=5,
                           train=250, evaluate=90, batch=25, lr=0.03)
    assert result["dataset"]["layout"] == "points"
    assert result["temporal_probe"]["input_varies_in_time"] is True
    assert loss_drop(result) > 0.2, result["history"]
    assert result["test"]["n"] == 90 and result["test"]["acc"] > 0.35


def test_a_cloud_of_the_wrong_size_is_one_input_error() -> None:
    model = models.create("spt", "tiny")
    with pytest.raises(InputError, match="clouds of 64 points of 3 channels"):
        model(torch.rand(2, 32, 3))
    with pytest.raises(InputError, match=r"clouds \[B, N, C\]"):
        model(torch.rand(2, 3, 8, 8))


@pytest.mark.parametrize(("overrides", "message"), [
    ({"in_channels": 2}, "in_channels must be >= 3"),
    ({"num_samples": 100}, "exceeds num_points"),
    ({"nblocks": 4}, "transition down 3 samples"),
])
def test_what_spt_cannot_build_is_a_spec_error(overrides: dict, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        models.get_config("spt", "tiny", **overrides)
