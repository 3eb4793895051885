"""MNIST from local IDX files, as the sequential tasks sMNIST and psMNIST.

Files (LeCun's originals, gzipped or not; torchvision keeps them in ``ROOT/MNIST/raw``)::

    train-images-idx3-ubyte[.gz]  train-labels-idx1-ubyte[.gz]
    t10k-images-idx3-ubyte[.gz]   t10k-labels-idx1-ubyte[.gz]

IDX: two zero bytes, a type byte (0x08 = unsigned byte), the number of dimensions, each
dimension as a big-endian int32, then the data. A 28x28 image becomes 784 steps of one pixel
(``[784, 1]``); psMNIST applies the fixed permutation of :mod:`step.data.digits_seq`.
Validation is a fixed stratified 10 % of the training set; the official test set is the test.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from step.data._base import ArraySet, DataSplits, require_dir, stratified_split
from step.data.digits_seq import PERMUTATION_SEED, fixed_permutation
from step.data.registry import register_dataset
from step.errors import InputError

SPLIT_SEED = 0
VAL_FRACTION = 0.1
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
HOW = ("download the four IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
       "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz; e.g. torchvision.datasets.MNIST("
       "ROOT, download=True)) and give the folder that holds them")


def read_idx(path: Path) -> np.ndarray:
    """An unsigned-byte IDX file (gzipped or not) as a numpy array of its stated shape."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as err:
        raise InputError(f"cannot read IDX file {path}: {err}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise InputError(f"{path} is not an IDX file (bad magic number)")
    if raw[2] != 0x08:
        raise InputError(f"{path}: only unsigned-byte IDX (type 0x08) is supported")
    ndim = raw[3]
    dims = struct.unpack(f">{ndim}i", raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise InputError(f"{path}: header says {dims} but holds {data.size} values")
    return data.reshape(dims)


def find_file(folder: Path, stem: str) -> Path:
    """``stem`` or ``stem.gz`` in ``folder`` or its torchvision subfolder ``MNIST/raw``."""
    for base in (folder, folder / "MNIST" / "raw", folder / "raw"):
        for name in (stem, stem + ".gz"):
            if (base / name).is_file():
                return base / name
    raise InputError(f"MNIST file {stem}[.gz] not found in {folder}: {HOW}")


def mnist_arrays(root: Path | None) -> dict[str, Tensor]:
    """The four MNIST arrays as tensors (images uint8 ``[N, 28, 28]``)."""
    folder = require_dir(root, "MNIST", HOW)
    out = {k: torch.from_numpy(read_idx(find_file(folder, v)).copy()) for k, v in FILES.items()}
    for part in ("train", "test"):
        if len(out[f"{part}_images"]) != len(out[f"{part}_labels"]):
            raise InputError(f"MNIST {part}: image and label files differ in length")
    return out


def _load(name: str, root: Path | None, permuted: bool) -> DataSplits:
    a = mnist_arrays(root)
    length = a["train_images"].shape[1] * a["train_images"].shape[2]
    order = fixed_permutation(length) if permuted else torch.arange(length)

    def to_seq(x: Tensor) -> Tensor:
        return (x.reshape(len(x), -1)[:, order].float() / 255.0).unsqueeze(-1)

    y = a["train_labels"].long()
    tr, va = stratified_split(y, (1 - VAL_FRACTION, VAL_FRACTION), SPLIT_SEED)
    x = a["train_images"]
    info = {"split_seed": SPLIT_SEED, "val_fraction": VAL_FRACTION}
    if permuted:
        info["permutation_seed"] = PERMUTATION_SEED
    return DataSplits(
        name, ArraySet(x[tr], y[tr], to_seq), ArraySet(x[va], y[va], to_seq),
        ArraySet(a["test_images"], a["test_labels"].long(), to_seq), "sequence", 10,
        (length, 1), f"MNIST as {'permuted ' if permuted else ''}pixel sequences", info,
    )


@register_dataset("mnist_seq", layout="sequence", needs_root=True,
                  description="sequential MNIST, [784, 1] pixel sequences from IDX files")
def load_mnist_seq(root: Path | None = None) -> DataSplits:
    """sMNIST: pixels in reading order."""
    return _load("mnist_seq", root, permuted=False)


@register_dataset("mnist_pseq", layout="sequence", needs_root=True,
                  description="permuted sequential MNIST, fixed pixel permutation")
def load_mnist_pseq(root: Path | None = None) -> DataSplits:
    """psMNIST: pixels in the fixed permuted order."""
    return _load("mnist_pseq", root, permuted=True)
