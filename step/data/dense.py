"""Embedded dense data, no download: the 8x8 digits composited onto a canvas.

``digits_seg`` gives each pixel a class (0 background, 1 + digit), ``digits_det`` gives each
image its boxes and labels (1 + digit; torchvision's convention, 0 is the background). Both
come from one generator: every canvas of ``CANVAS x CANVAS`` pixels holds 2 or 3 digits,
each an 8x8 digit upscaled (bilinear) to ``DIGIT`` pixels, placed in its own quadrant at a
random offset (so digits never overlap);
a canvas pixel belongs to a digit where that digit's grey level exceeds :data:`INK`.

The digits of a canvas are drawn from the same split of the fixed digits split
(:func:`step.data.digits.digits_split_indices`), so no test canvas shows a training digit;
the generator is seeded per split (:data:`SPLIT_SEED`), so every run sees the same canvases.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from step.data._base import ArraySet, DataSplits
from step.data.digits import digits_arrays, digits_split_indices, resize
from step.data.registry import register_dataset
from step.errors import InputError

CANVAS = 32
DIGIT = 12
INK = 0.3
SPLIT_SEED = 0
#: Canvases per split (train, val, test).
SIZES = (800, 200, 200)
#: Pixel label that no loss or metric counts (boundaries in VOC, "other" in ADE20K).
IGNORE_INDEX = 255


def _corners(g: torch.Generator, k: int) -> list[tuple[int, int]]:
    """Top-left corners of ``k`` DIGIT-sized patches that never overlap: ``k`` distinct
    quadrants of the canvas, a random offset inside each."""
    half = CANVAS // 2
    quadrants = torch.randperm(4, generator=g)[:k].tolist()
    offsets = torch.randint(0, half - DIGIT + 1, (k, 2), generator=g).tolist()
    return [(half * (q // 2) + dy, half * (q % 2) + dx)
            for q, (dy, dx) in zip(quadrants, offsets, strict=True)]


@lru_cache(maxsize=3)
def canvases(split: int) -> tuple[Tensor, Tensor, tuple[Tensor, ...], tuple[Tensor, ...]]:
    """Split ``split`` (0 train, 1 val, 2 test): images ``[N, 1, S, S]``, masks ``[N, S, S]``,
    boxes (one ``[k, 4]`` xyxy tensor per image, pixel edges) and labels (``[k]``, 1 + digit)."""
    images, labels = digits_arrays()
    pool = digits_split_indices()[split]
    big = resize(images[pool], DIGIT)
    g = torch.Generator().manual_seed(SPLIT_SEED * 1000 + split)
    n = SIZES[split]
    xs = torch.zeros(n, 1, CANVAS, CANVAS)
    masks = torch.zeros(n, CANVAS, CANVAS, dtype=torch.long)
    boxes: list[Tensor] = []
    classes: list[Tensor] = []
    for i in range(n):
        k = int(torch.randint(2, 4, (1,), generator=g))
        b, c = [], []
        picks = torch.randint(0, len(pool), (k,), generator=g).tolist()
        for j, (y, x) in zip(picks, _corners(g, k), strict=True):
            digit, label = big[j, 0], int(labels[pool[j]]) + 1
            ink = digit > INK
            xs[i, 0, y:y + DIGIT, x:x + DIGIT] = torch.maximum(
                xs[i, 0, y:y + DIGIT, x:x + DIGIT], digit)
            masks[i, y:y + DIGIT, x:x + DIGIT][ink] = label
            rows, cols = torch.nonzero(ink, as_tuple=True)
            b.append(torch.tensor([x + cols.min(), y + rows.min(), x + cols.max() + 1,
                                   y + rows.max() + 1], dtype=torch.float32))
            c.append(label)
        boxes.append(torch.stack(b))
        classes.append(torch.tensor(c, dtype=torch.long))
    return xs, masks, tuple(boxes), tuple(classes)


class DetectionSet:
    """Images ``[N, C, H, W]`` with per-image targets (``{"boxes": [k, 4] xyxy, "labels":
    [k]}``, torchvision's format); a batch is ``(images, list of targets)``."""

    def __init__(self, x: Tensor, targets: list[dict[str, Tensor]]) -> None:
        if len(x) != len(targets):
            raise InputError(f"{len(x)} images but {len(targets)} targets")
        self.x, self.targets = x, targets

    def __len__(self) -> int:
        return len(self.targets)

    def get_batch(self, index: Tensor) -> tuple[Tensor, list[dict[str, Tensor]]]:
        return self.x[index], [self.targets[int(i)] for i in index]

    def subset(self, index: Tensor) -> DetectionSet:
        return DetectionSet(self.x[index], [self.targets[int(i)] for i in index])


def _info(task: str) -> dict[str, Any]:
    return {"task": task, "split_seed": SPLIT_SEED, "canvas": CANVAS, "digit_size": DIGIT,
            "ink_threshold": INK, "ignore_index": IGNORE_INDEX,
            "classes": ["background"] + [str(d) for d in range(10)]}


@register_dataset(
    "digits_seg", layout="static", task="segmentation",
    description="2-3 digits on a 32x32 canvas, a class per pixel (0 background, 1 + digit; "
    "embedded)",
)
def load_digits_seg(root: Path | None = None) -> DataSplits:
    """Canvases ``[1, 32, 32]`` and masks ``[32, 32]``: 11 classes."""
    parts = [canvases(s) for s in range(3)]
    sets = [ArraySet(x, m) for x, m, _, _ in parts]
    return DataSplits("digits_seg", *sets, "static", 11, (1, CANVAS, CANVAS),
                      "digits composited on a canvas, per-pixel classes", _info("segmentation"))


@register_dataset(
    "digits_det", layout="static", task="detection",
    description="2-3 digits on a 32x32 canvas, a box and a label per digit (embedded)",
)
def load_digits_det(root: Path | None = None) -> DataSplits:
    """Canvases ``[1, 32, 32]`` with boxes and labels 1..10; ``num_classes`` 11 counts the
    background, as torchvision's detectors do."""
    sets = []
    for s in range(3):
        x, _, boxes, labels = canvases(s)
        sets.append(DetectionSet(x, [{"boxes": b, "labels": c}
                                     for b, c in zip(boxes, labels, strict=True)]))
    return DataSplits("digits_det", *sets, "static", 11, (1, CANVAS, CANVAS),
                      "digits composited on a canvas, boxes", _info("detection"))
