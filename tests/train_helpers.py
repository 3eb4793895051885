"""``step train`` as the model tests call it: a short run on embedded data, through the CLI.

The tests that show a model learns (loss falls, test accuracy above chance) differ only in the
model, the data and the run's size; the command line and the reading of its JSON live here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from step.cli import main


def train_briefly(out: Path, capsys: Any, model: str, preset: str, dataset: str, *,
                  epochs: int, train: int, evaluate: int, batch: int, lr: float,
                  extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """``step train`` (seed 0, quiet, JSON on stdout) into ``out``; its result.json content."""
    args = ["train", "--model", model, "--preset", preset, "--dataset", dataset, *extra,
            "--epochs", str(epochs), "--train-subset", str(train), "--eval-subset",
            str(evaluate), "--batch-size", str(batch), "--lr", str(lr), "--seed", "0",
            "--out", str(out), "--quiet", "--json"]
    assert main(args) == 0
    return json.loads(capsys.readouterr().out)


def loss_drop(result: dict[str, Any]) -> float:
    """How far the training loss fell from the first epoch to the last."""
    losses = [row["train_loss"] for row in result["history"]]
    return losses[0] - losses[-1]
