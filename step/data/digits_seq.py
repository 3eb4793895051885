"""Sequential digits: one pixel per time step (the sMNIST / psMNIST tasks, on the 8x8 digits).

An 8x8 image becomes 64 steps of one value, read row by row: ``[64, 1]`` per sample, batches
``[64, B, 1]``. The permuted variant reorders the pixels with one fixed permutation
(:func:`fixed_permutation`, seed :data:`PERMUTATION_SEED`), the same for every image, run and
machine; it destroys the local structure that makes row-by-row reading easy, so the model must
remember across long spans.

``T`` (optional) reads the 64 pixels in ``T`` steps of ``64 / T`` consecutive pixels each
(``[T, 64 / T]``): the same task with less or more to remember per step, for sweeps over the
number of time steps. The default reads one pixel per step.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from step.data._base import DataSplits
from step.data.digits import SPLIT_SEED, digits_arrays, split_arrays
from step.data.registry import register_dataset
from step.errors import InputError

#: Seed of the pixel permutation of every permuted sequential task.
PERMUTATION_SEED = 0


def pixel_sequence(images: Tensor) -> Tensor:
    """``[N, C, H, W] -> [N, H*W, C]``: pixels in reading order, channels as features."""
    N, C = images.shape[:2]
    return images.reshape(N, C, -1).transpose(1, 2).contiguous()


def fixed_permutation(length: int, seed: int = PERMUTATION_SEED) -> Tensor:
    """The permutation of ``length`` pixel positions used by every permuted task."""
    return torch.randperm(length, generator=torch.Generator().manual_seed(seed))


def chunk_steps(seq: Tensor, T: int) -> Tensor:
    """``[N, L, C] -> [N, T, L * C / T]``: consecutive steps joined into ``T`` steps."""
    N, L, C = seq.shape
    if T < 1 or L % T:
        raise InputError(f"T must divide the sequence length {L}, got T = {T}: use one of "
                         + ", ".join(str(d) for d in range(1, L + 1) if L % d == 0))
    return seq.reshape(N, T, L * C // T)


def _load(name: str, permuted: bool, T: int | None) -> DataSplits:
    images, labels = digits_arrays()
    seq = pixel_sequence(images)
    info: dict = {"split_seed": SPLIT_SEED}
    if permuted:
        seq = seq[:, fixed_permutation(seq.shape[1])]
        info["permutation_seed"] = PERMUTATION_SEED
    if T is not None:
        seq = chunk_steps(seq, int(T))
        info["pixels_per_step"] = seq.shape[-1]
    train, val, test = split_arrays(seq, labels)
    what = "permuted pixel sequences" if permuted else "pixel sequences"
    return DataSplits(name, train, val, test, "sequence", 10, tuple(seq.shape[1:]),
                      f"sklearn digits as {what}", info)


@register_dataset("digits_seq", layout="sequence", accepts=("T",),
                  description="digits read pixel by pixel, sequences [64, 1] (embedded)")
def load_digits_seq(root: Path | None = None, T: int | None = None) -> DataSplits:
    """Row-by-row pixel sequences of the digits (``T`` steps of ``64 / T`` pixels if given)."""
    return _load("digits_seq", permuted=False, T=T)


@register_dataset("digits_pseq", layout="sequence", accepts=("T",),
                  description="digits read in a fixed random pixel order, [64, 1] (embedded)")
def load_digits_pseq(root: Path | None = None, T: int | None = None) -> DataSplits:
    """Pixel sequences in the fixed permuted order (``T`` steps of ``64 / T`` pixels if given)."""
    return _load("digits_pseq", permuted=True, T=T)
