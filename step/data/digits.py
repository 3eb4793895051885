"""The embedded default: scikit-learn's bundled 8x8 handwritten digits, no download.

1797 grey images with values 0..16 (scaled here to [0, 1]), 10 classes of about 180 each. The
split is fixed (train/val/test = 60/20/20, stratified, seed :data:`SPLIT_SEED`): every run,
every seed and every machine trains, selects and tests on the same images, so seed-to-seed and
backend-to-backend differences are never differences of data.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from step.data._base import ArraySet, DataSplits, stratified_split
from step.data.registry import register_dataset
from step.errors import InputError

#: Seed of the fixed split; changing it changes every published digits number.
SPLIT_SEED = 0
#: Train / validation / test fractions.
FRACTIONS = (0.6, 0.2, 0.2)
NATIVE_SIZE = 8


@lru_cache(maxsize=1)
def digits_arrays() -> tuple[Tensor, Tensor]:
    """All 1797 images as float32 ``[N, 1, 8, 8]`` in [0, 1] and their labels ``[N]``.

    Read straight from the CSV that scikit-learn ships (``sklearn/datasets/data/
    digits.csv.gz``: 64 pixel columns then the label, what ``load_digits`` parses), found
    without importing scikit-learn: its import costs ~2.5 s, paid by every study run. A
    scikit-learn that stores the file elsewhere is read through ``load_digits`` (the same
    numbers; a test checks that both agree).
    """
    csv = _shipped_csv()
    if csv is not None:
        import numpy as np

        table = np.loadtxt(csv, delimiter=",", dtype=np.float64)
        pixels, target = table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype(np.int64)
    else:
        try:
            from sklearn.datasets import load_digits
        except ImportError:
            raise InputError(
                "the embedded digits need scikit-learn: pip install scikit-learn"
            ) from None
        bunch = load_digits()
        pixels, target = bunch.images, bunch.target
    images = torch.as_tensor(pixels, dtype=torch.float32).unsqueeze(1) / 16.0
    return images, torch.as_tensor(target, dtype=torch.long)


def _shipped_csv() -> Path | None:
    """scikit-learn's ``digits.csv.gz``, located without importing scikit-learn."""
    import importlib.util

    spec = importlib.util.find_spec("sklearn")
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = Path(root) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            return path
    return None


def resize(images: Tensor, size: int) -> Tensor:
    """Bilinear resize of ``[N, C, H, W]`` to ``size x size``, clamped back into [0, 1]."""
    if size < 1:
        raise InputError(f"img_size must be >= 1, got {size}")
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    out = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
    return out.clamp(0.0, 1.0)


def digits_split_indices() -> list[Tensor]:
    """The fixed train / val / test indices into the 1797 images."""
    return stratified_split(digits_arrays()[1], FRACTIONS, SPLIT_SEED)


def split_arrays(x: Tensor, y: Tensor) -> tuple[ArraySet, ArraySet, ArraySet]:
    """Cut per-image tensors (any layout, first axis = image) along the fixed split."""
    tr, va, te = digits_split_indices()
    return ArraySet(x[tr], y[tr]), ArraySet(x[va], y[va]), ArraySet(x[te], y[te])


@register_dataset(
    "digits", layout="static", accepts=("img_size", "channels"),
    description="scikit-learn's 8x8 digits, static images [1, S, S] in [0, 1] (embedded)",
)
def load_digits_static(
    root: Path | None = None, img_size: int = NATIVE_SIZE, channels: int = 1
) -> DataSplits:
    """Static digits ``[channels, img_size, img_size]``; the model encodes them into time steps.

    ``channels > 1`` repeats the grey level (a stand-in input for models built for RGB, such
    as the CIFAR presets, when no real dataset is at hand).
    """
    images, labels = digits_arrays()
    images = resize(images, int(img_size))
    if int(channels) != 1:
        images = images.repeat(1, int(channels), 1, 1)
    train, val, test = split_arrays(images, labels)
    return DataSplits("digits", train, val, test, "static", 10, tuple(images.shape[1:]),
                      "sklearn digits, static", {"split_seed": SPLIT_SEED,
                                                 "fractions": list(FRACTIONS)})
