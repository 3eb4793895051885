"""Sequential digits: one pixel per time step (the sMNIST / psMNIST tasks, on the 8x8 digits).

An 8x8 image becomes 64 steps of one value, read row by row: ``[64, 1]`` per sample, batches
``[64, B, 1]``. The permuted variant reorders the pixels with one fixed permutation
(:func:`fixed_permutation`, seed :data:`PERMUTATION_SEED`), the same for every image, run and
machine; it destroys the local structure that makes row-by-row reading easy, so the model must
remember across long spans.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from step.data._base import DataSplits
from step.data.digits import SPLIT_SEED, digits_arrays, split_arrays
from step.data.registry import register_dataset

#: Seed of the pixel permutation of every permuted sequential task.
PERMUTATION_SEED = 0


def pixel_sequence(images: Tensor) -> Tensor:
    """``[N, C, H, W] -> [N, H*W, C]``: pixels in reading order, channels as features."""
    N, C = images.shape[:2]
    return images.reshape(N, C, -1).transpose(1, 2).contiguous()


def fixed_permutation(length: int, seed: int = PERMUTATION_SEED) -> Tensor:
    """The permutation of ``length`` pixel positions used by every permuted task."""
    return torch.randperm(length, generator=torch.Generator().manual_seed(seed))


def _load(name: str, permuted: bool) -> DataSplits:
    images, labels = digits_arrays()
    seq = pixel_sequence(images)
    info: dict = {"split_seed": SPLIT_SEED}
    if permuted:
        seq = seq[:, fixed_permutation(seq.shape[1])]
        info["permutation_seed"] = PERMUTATION_SEED
    train, val, test = split_arrays(seq, labels)
    what = "permuted pixel sequences" if permuted else "pixel sequences"
    return DataSplits(name, train, val, test, "sequence", 10, tuple(seq.shape[1:]),
                      f"sklearn digits as {what}", info)


@register_dataset("digits_seq", layout="sequence",
                  description="digits read pixel by pixel, sequences [64, 1] (embedded)")
def load_digits_seq(root: Path | None = None) -> DataSplits:
    """Row-by-row pixel sequences of the digits."""
    return _load("digits_seq", permuted=False)


@register_dataset("digits_pseq", layout="sequence",
                  description="digits read in a fixed random pixel order, [64, 1] (embedded)")
def load_digits_pseq(root: Path | None = None) -> DataSplits:
    """Pixel sequences in the fixed permuted order."""
    return _load("digits_pseq", permuted=True)
