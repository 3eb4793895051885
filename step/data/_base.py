"""What every dataset hands to training: three splits, a layout, and deterministic batches.

A dataset family returns :class:`DataSplits`: train, validation and test sets that never
overlap, the layout of one sample (``static`` images ``[C, H, W]`` that the model encodes
itself, ``event`` frames ``[T, 2, H, W]``, ``sequence`` steps ``[T, F]`` or ``points``, clouds
``[N, 3]`` that the model encodes itself), and the number of
classes. Batches come out time-first for event and sequence data (``[T, B, ...]``, the layout
of every STEP model) and batch-first for static images (``[B, C, H, W]``).

Batch order is a pure function of ``(seed, epoch)``: resuming a run at epoch 3 replays exactly
the order an uninterrupted run would have used, without saving any data-loader state.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
from torch import Tensor

from step.errors import InputError

Layout = Literal["static", "event", "sequence", "points"]


class ArraySet:
    """Samples held as one tensor (any dtype) plus labels; ``transform`` runs per batch.

    Keeping CIFAR as uint8 and scaling a batch at a time costs a quarter of the memory of a
    float copy; ``transform`` is where that scaling (or a permutation of pixels) happens.
    """

    def __init__(
        self, x: Tensor, y: Tensor, transform: Callable[[Tensor], Tensor] | None = None
    ) -> None:
        if len(x) != len(y):
            raise InputError(f"{len(x)} samples but {len(y)} labels")
        self.x = x
        self.y = y.long()
        self.transform = transform

    def __len__(self) -> int:
        return len(self.y)

    @property
    def labels(self) -> Tensor:
        return self.y

    def get_batch(self, index: Tensor) -> tuple[Tensor, Tensor]:
        x = self.x[index]
        if self.transform is not None:
            x = self.transform(x)
        return x, self.y[index]

    def subset(self, index: Tensor) -> ArraySet:
        return ArraySet(self.x[index], self.y[index], self.transform)


class FileSet:
    """Samples read one at a time (event recordings): ``read(i) -> tensor``, labels up front."""

    def __init__(self, read: Callable[[int], Tensor], labels: Sequence[int],
                 keep: Tensor | None = None) -> None:
        self.read = read
        self.all_labels = torch.as_tensor(list(labels), dtype=torch.long)
        self.keep = keep if keep is not None else torch.arange(len(self.all_labels))

    def __len__(self) -> int:
        return len(self.keep)

    @property
    def labels(self) -> Tensor:
        return self.all_labels[self.keep]

    def get_batch(self, index: Tensor) -> tuple[Tensor, Tensor]:
        items = [self.read(int(self.keep[i])) for i in index]
        return torch.stack(items), self.labels[index]

    def subset(self, index: Tensor) -> FileSet:
        return FileSet(self.read, self.all_labels.tolist(), self.keep[index])


SampleSet = ArraySet | FileSet


@dataclass
class DataSplits:
    """Train / validation / test sets of one dataset, and how their samples look."""

    name: str
    train: SampleSet
    val: SampleSet
    test: SampleSet
    layout: Layout
    num_classes: int
    sample_shape: tuple[int, ...]
    description: str = ""
    info: dict = field(default_factory=dict)

    @property
    def time_first(self) -> bool:
        """Whether batches are ``[T, B, ...]`` (event, sequence) rather than ``[B, ...]``
        (static images, point clouds ``[B, N, 3]``)."""
        return self.layout in ("event", "sequence")

    @property
    def T(self) -> int | None:  # noqa: N802  (T is the field name used everywhere in STEP)
        """Time steps carried by the data itself (None for static images)."""
        return self.sample_shape[0] if self.time_first else None

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}

    def split(self, name: str) -> SampleSet:
        if name not in ("train", "val", "test"):
            raise InputError(f"unknown split {name!r}: use train, val or test")
        return getattr(self, name)

    def limit(self, n_train: int | None, n_eval: int | None = None) -> DataSplits:
        """The first ``n_train`` training (and ``n_eval`` val/test) samples: quick runs, tests."""
        def cut(s: SampleSet, n: int | None) -> SampleSet:
            return s if n is None or n >= len(s) else s.subset(torch.arange(n))

        return DataSplits(self.name, cut(self.train, n_train), cut(self.val, n_eval),
                          cut(self.test, n_eval), self.layout, self.num_classes,
                          self.sample_shape, self.description, dict(self.info))


def epoch_order(n: int, seed: int, epoch: int) -> Tensor:
    """The training order of epoch ``epoch``: a permutation drawn from ``(seed, epoch)`` only."""
    g = torch.Generator().manual_seed(seed * 100_003 + epoch)
    return torch.randperm(n, generator=g)


def batches(
    data: SampleSet, batch_size: int, *, time_first: bool, order: Tensor | None = None
) -> Iterator[tuple[Tensor, Tensor]]:
    """Yield ``(x, y)`` batches in ``order`` (default: as stored); time-first if asked."""
    if batch_size < 1:
        raise InputError(f"batch size must be >= 1, got {batch_size}")
    index = order if order is not None else torch.arange(len(data))
    for start in range(0, len(index), batch_size):
        x, y = data.get_batch(index[start:start + batch_size])
        if time_first:
            x = x.transpose(0, 1).contiguous()
        yield x, y


def stratified_split(
    labels: Tensor, fractions: Sequence[float], seed: int
) -> list[Tensor]:
    """Split indices class by class so every part keeps the class proportions.

    Each class's indices are shuffled with a torch generator seeded by ``seed`` (the same on
    every machine), then cut at ``n_c * cumulative fraction`` rounded half up. Returned index
    tensors are sorted, so the split does not depend on the order classes are visited.
    """
    if abs(sum(fractions) - 1.0) > 1e-9 or any(f < 0 for f in fractions):
        raise InputError(f"split fractions must be >= 0 and sum to 1, got {list(fractions)}")
    g = torch.Generator().manual_seed(seed)
    parts: list[list[Tensor]] = [[] for _ in fractions]
    for c in torch.unique(labels).tolist():
        idx = torch.nonzero(labels == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        cuts, acc = [0], 0.0
        for f in fractions:
            acc += f
            cuts.append(math.floor(len(idx) * acc + 0.5))  # half up, not to even
        for k in range(len(fractions)):
            parts[k].append(idx[cuts[k]:cuts[k + 1]])
    return [torch.sort(torch.cat(p)).values for p in parts]


def require_dir(path: Path | str | None, what: str, how: str) -> Path:
    """The folder holding a dataset, or one line saying what to download and where to put it."""
    if path is None:
        raise InputError(f"{what} needs --data-root DIR: {how}")
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(f"{what} not found at {p}: {how}")
    return p
