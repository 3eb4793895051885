"""CIFAR-10 and CIFAR-100 from a local folder, in the python-pickle format torchvision uses.

Layout (what ``torchvision.datasets.CIFAR10(root, download=True)`` leaves behind)::

    ROOT/cifar-10-batches-py/data_batch_1 .. data_batch_5, test_batch
    ROOT/cifar-100-python/train, test

Each file is a pickled dict with ``b"data"`` (N x 3072 uint8, channel-major 32x32) and
``b"labels"`` (CIFAR-10) or ``b"fine_labels"`` (CIFAR-100). Images stay uint8 in memory and are
scaled to [0, 1] a batch at a time. The official test set is the test split; validation is a
fixed stratified 10 % of the official training set, so the test set never picks a checkpoint.
``cifar10_seq`` reads the same CIFAR-10 files as sequences (sCIFAR10, :func:`load_cifar10_seq`).
Pickle files can run code when loaded: only point ``--data-root`` at files you downloaded from
the dataset's own site.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor

from step.data._base import ArraySet, DataSplits, Layout, require_dir, stratified_split
from step.data.digits import resize
from step.data.digits_seq import chunk_steps, pixel_sequence
from step.data.registry import register_dataset
from step.errors import InputError

SPLIT_SEED = 0
VAL_FRACTION = 0.1
URL = "https://www.cs.toronto.edu/~kriz/cifar.html"
#: CIFAR-10's training batches and its test batch.
CIFAR10_FILES = ([f"data_batch_{i}" for i in range(1, 6)], "test_batch")


def read_batch(path: Path, label_key: bytes) -> tuple[Tensor, Tensor]:
    """One pickle batch as uint8 ``[N, 3, 32, 32]`` images and labels."""
    try:
        with open(path, "rb") as f:
            d = pickle.load(f, encoding="bytes")
    except (OSError, pickle.UnpicklingError, EOFError) as err:
        raise InputError(f"cannot read CIFAR batch {path}: {err}") from None
    if not isinstance(d, dict) or b"data" not in d or label_key not in d:
        raise InputError(f"{path} is not a CIFAR python batch (no data/{label_key.decode()})")
    data = torch.as_tensor(d[b"data"], dtype=torch.uint8).reshape(-1, 3, 32, 32)
    return data, torch.as_tensor(list(d[label_key]), dtype=torch.long)


def _scaler(img_size: int | None):
    def scale(x: Tensor) -> Tensor:
        x = x.float() / 255.0
        return resize(x, img_size) if img_size else x

    return scale


def _arrays(name: str, root: Path | None, folder: str, train_files: list[str], test_file: str,
            label_key: bytes) -> tuple[Tensor, Tensor, Tensor, Tensor, Path]:
    """Training and test images (uint8 ``[N, 3, 32, 32]``) and labels, and the folder read."""
    how = (f"download the python version from {URL} (or torchvision.datasets."
           f"{name.upper()}(ROOT, download=True)) and give ROOT, which holds {folder}/")
    base = require_dir(root, name.upper(), how)
    if (base / folder).is_dir():
        base = base / folder
    missing = [f for f in [*train_files, test_file] if not (base / f).is_file()]
    if missing:
        raise InputError(f"{name.upper()} files {', '.join(missing)} not found in {base}: {how}")
    parts = [read_batch(base / f, label_key) for f in train_files]
    x_test, y_test = read_batch(base / test_file, label_key)
    return (torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts]), x_test, y_test,
            base)


def _splits(name: str, arrays: tuple[Tensor, Tensor, Tensor, Tensor, Path],
            transform: Callable[[Tensor], Tensor], layout: Layout, num_classes: int,
            sample_shape: tuple[int, ...], what: str, info: dict | None = None) -> DataSplits:
    """Train / validation (a fixed stratified 10 % of training) / official test."""
    x_train, y_train, x_test, y_test, base = arrays
    tr, va = stratified_split(y_train, (1 - VAL_FRACTION, VAL_FRACTION), SPLIT_SEED)
    return DataSplits(
        name, ArraySet(x_train[tr], y_train[tr], transform),
        ArraySet(x_train[va], y_train[va], transform), ArraySet(x_test, y_test, transform),
        layout, num_classes, sample_shape, f"{what} from {base}",
        {"split_seed": SPLIT_SEED, "val_fraction": VAL_FRACTION, **(info or {})},
    )


def _load(name: str, root: Path | None, folder: str, train_files: list[str], test_file: str,
          label_key: bytes, num_classes: int, img_size: int | None) -> DataSplits:
    arrays = _arrays(name, root, folder, train_files, test_file, label_key)
    size = img_size or 32
    return _splits(name, arrays, _scaler(img_size), "static", num_classes, (3, size, size),
                   name.upper())


@register_dataset("cifar10", layout="static", accepts=("img_size",), needs_root=True,
                  description="CIFAR-10, python pickle batches from --data-root")
def load_cifar10(root: Path | None = None, img_size: int | None = None) -> DataSplits:
    """CIFAR-10: 50 000 training images (5 000 of them validation), 10 000 test images."""
    train_files, test_file = CIFAR10_FILES
    return _load("cifar10", root, "cifar-10-batches-py", train_files, test_file, b"labels", 10,
                 img_size)


@register_dataset("cifar100", layout="static", accepts=("img_size",), needs_root=True,
                  description="CIFAR-100 (fine labels), python pickle files from --data-root")
def load_cifar100(root: Path | None = None, img_size: int | None = None) -> DataSplits:
    """CIFAR-100 with its 100 fine labels."""
    return _load("cifar100", root, "cifar-100-python", ["train"], "test", b"fine_labels", 100,
                 img_size)


@register_dataset("cifar10_seq", layout="sequence", accepts=("T",), needs_root=True,
                  description="sequential CIFAR-10 (sCIFAR10): [1024, 3] pixel sequences, "
                  "T=32 for rows as steps [32, 96]")
def load_cifar10_seq(root: Path | None = None, T: int | None = None) -> DataSplits:
    """sCIFAR10: each image read pixel by pixel in reading order, the three colours as the
    features of a step (``[1024, 3]``), as STEP's sCIFAR10 feeds its models (``[B, 3, 1024]``).
    ``T`` joins consecutive pixels into ``T`` steps: ``T = 32`` reads one row per step
    (``[32, 96]``, each row's pixels with their three colours side by side)."""
    train_files, test_file = CIFAR10_FILES
    arrays = _arrays("cifar10", root, "cifar-10-batches-py", train_files, test_file, b"labels")
    length = 32 * 32
    info: dict = {}
    if T is not None:
        chunk_steps(torch.zeros(1, length, 3), int(T))  # one clear error for a T that won't do
        info["pixels_per_step"] = length // int(T)

    def to_seq(x: Tensor) -> Tensor:
        seq = pixel_sequence(x.float() / 255.0)  # [B, 1024, 3]
        return seq if T is None else chunk_steps(seq, int(T))

    shape = (length, 3) if T is None else (int(T), length * 3 // int(T))
    what = "CIFAR-10 as pixel sequences" + ("" if T is None else f" in {T} steps")
    return _splits("cifar10_seq", arrays, to_seq, "sequence", 10, shape, what, info)
