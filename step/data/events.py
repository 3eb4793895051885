"""Event-camera datasets from a local folder, read with tonic (an optional dependency).

tonic's dataset classes download whatever they do not find complete (N-MNIST insists on 10 000
files), so STEP walks tonic's own folder layout itself and uses tonic only for what it is good
at: the file readers and binning events into frames. Layouts (``ROOT`` is what you would pass
to tonic as ``save_to``)::

    ROOT/NMNIST/Train/<digit>/*.bin, ROOT/NMNIST/Test/<digit>/*.bin
    ROOT/DVSGesture/ibmGestureTrain/userNN_<lighting>/<label>.npy (and ibmGestureTest)
    ROOT/CIFAR10DVS/<class name>/*.aedat4          (needs the ``aedat`` package too)

Every recording becomes ``T`` binary frames ``[T, 2, S, S]`` (tonic's ``ToFrame`` with
``n_time_bins=T``, counts clipped to 1, max-pooled to ``S`` = ``img_size``). Without an official
validation split, validation is a fixed stratified 10 % of the training recordings; CIFAR10-DVS
has no official test split either and is cut 80/10/10.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from numpy.lib import recfunctions
from torch import Tensor

from step.data._base import DataSplits, FileSet, require_dir, stratified_split
from step.data.registry import register_dataset
from step.errors import InputError

SPLIT_SEED = 0
TONIC_HINT = "event datasets need tonic: pip install tonic"
CIFAR10DVS_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                      "ship", "truck"]


def import_tonic() -> ModuleType:
    """tonic, imported on first use; a missing tonic is one line with the install hint."""
    try:
        import tonic
    except ImportError:
        raise InputError(TONIC_HINT) from None
    return tonic


def to_frames(events: np.ndarray, sensor_size: tuple[int, int, int], T: int,
              img_size: int | None) -> Tensor:
    """Bin one recording into ``[T, 2, S, S]`` binary frames."""
    tonic = import_tonic()
    frames = tonic.transforms.ToFrame(sensor_size=sensor_size, n_time_bins=T)(events)
    x = (torch.as_tensor(np.asarray(frames), dtype=torch.float32) > 0).float()
    if img_size is not None and tuple(x.shape[-2:]) != (img_size, img_size):
        x = F.adaptive_max_pool2d(x, (img_size, img_size))
    return x


def _files(folder: Path, suffix: str,
           label_of: Callable[[Path], int]) -> tuple[list[Path], list[int]]:
    paths = sorted(p for p in folder.rglob(f"*{suffix}") if p.is_file())
    return paths, [label_of(p) for p in paths]


def _splits(name: str, read: Callable[[Path], Tensor], train: tuple[list[Path], list[int]],
            test: tuple[list[Path], list[int]] | None, num_classes: int, T: int, size: int,
            what: str) -> DataSplits:
    paths = train[0] + (test[0] if test else [])
    labels = train[1] + (test[1] if test else [])
    if not paths:
        raise InputError(f"{what}: no recordings found")
    fs = FileSet(lambda i: read(paths[i]), labels)
    n_train = len(train[0])
    y_train = torch.as_tensor(train[1], dtype=torch.long)
    if test is not None:
        tr, va = stratified_split(y_train, (0.9, 0.1), SPLIT_SEED)
        te = torch.arange(n_train, len(paths))
    else:
        tr, va, te = stratified_split(y_train, (0.8, 0.1, 0.1), SPLIT_SEED)
    return DataSplits(name, fs.subset(tr), fs.subset(va), fs.subset(te), "event", num_classes,
                      (T, 2, size, size), what, {"split_seed": SPLIT_SEED})


def _base(root: Path | None, folder: str, what: str, how: str) -> Path:
    base = require_dir(root, what, how)
    return base / folder if (base / folder).is_dir() else base


@register_dataset("nmnist", layout="event", accepts=("T", "img_size"), needs_root=True,
                  description="N-MNIST event recordings via tonic, frames [T, 2, 34, 34]")
def load_nmnist(root: Path | None = None, T: int = 8, img_size: int | None = None) -> DataSplits:
    """N-MNIST: 34x34 ON/OFF events of MNIST digits seen through three saccades."""
    how = ("download Train.zip and Test.zip from https://www.garrickorchard.com/datasets/n-mnist"
           " and unzip them into ROOT/NMNIST/ (ROOT/NMNIST/Train/0/*.bin ...)")
    tonic = import_tonic()
    base = _base(root, "NMNIST", "N-MNIST", how)
    dtype = tonic.datasets.NMNIST.dtype
    sensor = tonic.datasets.NMNIST.sensor_size
    parts = []
    for split in ("Train", "Test"):
        if not (base / split).is_dir():
            raise InputError(f"N-MNIST folder {base / split} not found: {how}")
        parts.append(_files(base / split, ".bin", lambda p: int(p.parent.name)))

    def read(p: Path) -> Tensor:
        return to_frames(tonic.io.read_mnist_file(str(p), dtype=dtype), sensor, T, img_size)

    return _splits("nmnist", read, parts[0], parts[1], 10, T, img_size or sensor[0],
                   f"N-MNIST from {base}")


@register_dataset("dvsgesture", layout="event", accepts=("T", "img_size"), needs_root=True,
                  description="DVS128 Gesture via tonic, frames [T, 2, S, S] (default S=32)")
def load_dvsgesture(root: Path | None = None, T: int = 16, img_size: int = 32) -> DataSplits:
    """DVS128 Gesture: 11 gestures, 128x128 sensor pooled to ``img_size``."""
    how = ("download ibmGestureTrain.tar.gz and ibmGestureTest.tar.gz (tonic's DVSGesture "
           "mirror, figshare) and extract them into ROOT/DVSGesture/")
    tonic = import_tonic()
    base = _base(root, "DVSGesture", "DVS-Gesture", how)
    cls = tonic.datasets.DVSGesture
    parts = []
    for split in ("ibmGestureTrain", "ibmGestureTest"):
        if not (base / split).is_dir():
            raise InputError(f"DVS-Gesture folder {base / split} not found: {how}")
        parts.append(_files(base / split, ".npy", lambda p: int(p.stem)))

    def read(p: Path) -> Tensor:
        raw = np.load(p)
        raw[:, 3] *= 1000  # tonic's files store milliseconds; ToFrame expects microseconds
        events = recfunctions.unstructured_to_structured(raw, cls.dtype)
        return to_frames(events, cls.sensor_size, T, img_size)

    return _splits("dvsgesture", read, parts[0], parts[1], 11, T, img_size,
                   f"DVS-Gesture from {base}")


@register_dataset("cifar10dvs", layout="event", accepts=("T", "img_size"), needs_root=True,
                  description="CIFAR10-DVS via tonic (+aedat), frames [T, 2, S, S] (S=48)")
def load_cifar10dvs(root: Path | None = None, T: int = 10, img_size: int = 48) -> DataSplits:
    """CIFAR10-DVS: 10 000 recordings of CIFAR-10 images, cut 80/10/10 (no official split)."""
    how = ("download CIFAR10DVS.zip (tonic's figshare mirror), unzip it and each class zip "
           "into ROOT/CIFAR10DVS/<class>/*.aedat4")
    tonic = import_tonic()
    base = _base(root, "CIFAR10DVS", "CIFAR10-DVS", how)
    index = {c: i for i, c in enumerate(CIFAR10DVS_CLASSES)}

    def label_of(p: Path) -> int:
        if p.parent.name not in index:
            raise InputError(f"CIFAR10-DVS: {p} is not inside a class folder ({how})")
        return index[p.parent.name]

    def read(p: Path) -> Tensor:
        try:
            events: Any = tonic.io.read_aedat4(str(p))
        except ImportError:
            raise InputError("CIFAR10-DVS needs the aedat package: pip install aedat") from None
        events.dtype.names = ["t", "x", "y", "p"]
        return to_frames(events, tonic.datasets.CIFAR10DVS.sensor_size, T, img_size)

    return _splits("cifar10dvs", read, _files(base, ".aedat4", label_of), None, 10, T, img_size,
                   f"CIFAR10-DVS from {base}")
