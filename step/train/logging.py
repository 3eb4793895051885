"""Optional TensorBoard scalars (``--log tensorboard``): what most people watch training with.

result.json stays the record; TensorBoard gets a copy of the same numbers as they are made:
per epoch ``train/loss``, ``train/acc``, ``val/loss``, ``val/acc`` and ``lr``, and at the end
``test/acc`` and ``test/loss`` (step = epoch). Events go to ``OUT/tensorboard`` (``tensorboard
--logdir OUT``), written by rank 0 only under DDP. torch's own ``SummaryWriter`` writes them; it
needs the ``tensorboard`` package (``pip install 'step-snn[tensorboard]'``), checked before a run
starts (:func:`check_tensorboard`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

FOLDER = "tensorboard"

#: result-row key -> TensorBoard tag
EPOCH_TAGS = {"train_loss": "train/loss", "train_acc": "train/acc", "val_loss": "val/loss",
              "val_acc": "val/acc", "lr": "lr"}


def check_tensorboard(kind: str | None) -> None:
    """One line naming the install command if ``kind`` needs the missing ``tensorboard``.

    Checked when a run starts, not when a config is read: a finished run's config that asked
    for TensorBoard must stay readable (``step probe``) where tensorboard is not installed.
    """
    import importlib.util

    from step.errors import InputError

    if kind != "tensorboard":
        return

    try:
        found = importlib.util.find_spec("tensorboard") is not None
    except ValueError:  # a module object without a spec (replaced in sys.modules)
        found = False
    if not found:
        raise InputError("--log tensorboard needs the tensorboard package: "
                         "pip install 'step-snn[tensorboard]' (or drop --log)")


class Scalars:
    """A TensorBoard writer, or nothing (``kind`` None, or not the main process)."""

    def __init__(self, kind: str | None, out: Path, enabled: bool = True) -> None:
        self.writer: Any = None
        if kind == "tensorboard" and enabled:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir=str(out / FOLDER))

    def epoch(self, row: dict[str, Any]) -> None:
        if self.writer is None:
            return
        for key, tag in EPOCH_TAGS.items():
            if key in row:
                self.writer.add_scalar(tag, row[key], row["epoch"])
        self.writer.flush()

    def test(self, test: dict[str, Any], epoch: int) -> None:
        if self.writer is not None:
            self.writer.add_scalar("test/acc", test["acc"], epoch)
            self.writer.add_scalar("test/loss", test["loss"], epoch)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
