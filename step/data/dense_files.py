"""Dense datasets from a local folder, in their published layouts: ADE20K (SceneParsing
``ADEChallengeData2016``), Pascal VOC 2012 segmentation and COCO detection.

Images are read lazily (a batch at a time: ADE20K at 512 x 512 would not fit in memory) and
resized to ``img_size x img_size``: images bilinearly, masks by nearest neighbour, boxes scaled
by the same factors. (The published recipes crop and flip at random; these loaders give the
plain resized view, the same for every run.) Splits: the official validation set is the test
split; the validation split is a fixed :data:`VAL_FRACTION` of the official training set
(seed :data:`SPLIT_SEED`), so the test set never picks a checkpoint.

Labels: ADE20K's annotation PNGs hold 0 (other) and 1..150: 0 becomes the ignored label 255
and the rest move down by one (mmsegmentation's ``reduce_zero_label``), 150 classes. VOC's
``SegmentationClass`` PNGs are palette images whose indices are the classes (0 background,
1..20) and 255 the ignored object boundaries: 21 classes. COCO's category ids become 1..K in
increasing id order (0 is the background of torchvision's detectors); crowd annotations are
left out.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from step.data._base import DataSplits, require_dir
from step.data.dense import IGNORE_INDEX
from step.data.registry import register_dataset
from step.errors import InputError

SPLIT_SEED = 0
VAL_FRACTION = 0.1
DEFAULT_SIZE = 512


class LazyDenseSet:
    """Samples read one at a time: ``read(i) -> (image [C, S, S], target)``; a batch stacks
    the images and stacks the targets (masks) or lists them (detection targets)."""

    def __init__(self, read: Callable[[int], tuple[Tensor, Any]], n: int, stack: bool,
                 keep: Tensor | None = None) -> None:
        self.read, self.n, self.stack = read, n, stack
        self.keep = keep if keep is not None else torch.arange(n)

    def __len__(self) -> int:
        return len(self.keep)

    def get_batch(self, index: Tensor) -> tuple[Tensor, Any]:
        items = [self.read(int(self.keep[i])) for i in index]
        xs = torch.stack([x for x, _ in items])
        ys = [y for _, y in items]
        return xs, (torch.stack(ys) if self.stack else ys)

    def subset(self, index: Tensor) -> LazyDenseSet:
        return LazyDenseSet(self.read, self.n, self.stack, self.keep[index])


def _image(path: Path, size: int) -> tuple[Tensor, tuple[int, int]]:
    """RGB image resized to ``size x size`` as float ``[3, S, S]`` in [0, 1], and its (W, H)."""
    import numpy as np
    from PIL import Image

    with Image.open(path) as im:
        wh = im.size
        arr = np.asarray(im.convert("RGB").resize((size, size), Image.BILINEAR))
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).float() / 255.0, wh


def _mask(path: Path, size: int) -> Tensor:
    """Label PNG (grey or palette: the stored indices, never the colours) at ``size x size``."""
    import numpy as np
    from PIL import Image

    with Image.open(path) as im:
        if im.mode not in ("L", "P", "I", "I;16"):
            raise InputError(f"{path}: a label image must be a grey or palette PNG, got mode "
                             f"{im.mode}")
        arr = np.asarray(im.resize((size, size), Image.NEAREST)).astype(np.int64)
    return torch.from_numpy(arr)


def _train_val(n: int) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(SPLIT_SEED)
    perm = torch.randperm(n, generator=g)
    n_val = max(1, round(n * VAL_FRACTION)) if n > 1 else 0
    return torch.sort(perm[n_val:]).values, torch.sort(perm[:n_val]).values


def _seg_splits(name: str, train: list[tuple[Path, Path]], test: list[tuple[Path, Path]],
                size: int, num_classes: int, label: Callable[[Tensor], Tensor],
                info: dict[str, Any]) -> DataSplits:
    def reader(pairs: list[tuple[Path, Path]]) -> Callable[[int], tuple[Tensor, Tensor]]:
        return lambda i: (_image(pairs[i][0], size)[0], label(_mask(pairs[i][1], size)))

    full = LazyDenseSet(reader(train), len(train), stack=True)
    tr, va = _train_val(len(train))
    return DataSplits(name, full.subset(tr), full.subset(va),
                      LazyDenseSet(reader(test), len(test), stack=True), "static",
                      num_classes, (3, size, size), name,
                      {"task": "segmentation", "ignore_index": IGNORE_INDEX,
                       "split_seed": SPLIT_SEED, "val_fraction": VAL_FRACTION, **info})


def _ade_label(mask: Tensor) -> Tensor:
    out = mask - 1
    out[mask == 0] = IGNORE_INDEX
    return out


ADE_HOW = ("download ADEChallengeData2016.zip (http://sceneparsing.csail.mit.edu) and unzip "
           "it into DIR (DIR/ADEChallengeData2016/images/training/*.jpg, "
           "DIR/ADEChallengeData2016/annotations/training/*.png)")


@register_dataset(
    "ade20k", layout="static", task="segmentation", accepts=("img_size",), needs_root=True,
    description="ADE20K SceneParsing (ADEChallengeData2016), 150 classes, images [3, S, S]",
)
def load_ade20k(root: Path | None = None, img_size: int = DEFAULT_SIZE) -> DataSplits:
    base = require_dir(root, "ade20k", ADE_HOW)
    if (base / "ADEChallengeData2016").is_dir():
        base = base / "ADEChallengeData2016"

    def pairs(split: str) -> list[tuple[Path, Path]]:
        images = sorted((base / "images" / split).glob("*.jpg"))
        if not images:
            raise InputError(f"ade20k: no images in {base / 'images' / split}: {ADE_HOW}")
        out = []
        for im in images:
            ann = base / "annotations" / split / f"{im.stem}.png"
            if not ann.is_file():
                raise InputError(f"ade20k: {im.name} has no annotation {ann}")
            out.append((im, ann))
        return out

    return _seg_splits("ade20k", pairs("training"), pairs("validation"), int(img_size), 150,
                       _ade_label, {"test_split": "validation"})


VOC_HOW = ("download VOCtrainval_11-May-2012.tar (http://host.robots.ox.ac.uk/pascal/VOC/"
           "voc2012/) and untar it into DIR (DIR/VOCdevkit/VOC2012/JPEGImages, "
           "SegmentationClass, ImageSets/Segmentation)")


@register_dataset(
    "voc_seg", layout="static", task="segmentation", accepts=("img_size",), needs_root=True,
    description="Pascal VOC 2012 segmentation, 21 classes, images [3, S, S]",
)
def load_voc_seg(root: Path | None = None, img_size: int = DEFAULT_SIZE) -> DataSplits:
    base = require_dir(root, "voc_seg", VOC_HOW)
    for sub in ("VOCdevkit/VOC2012", "VOC2012"):
        if (base / sub).is_dir():
            base = base / sub
            break

    def pairs(split: str) -> list[tuple[Path, Path]]:
        listing = base / "ImageSets" / "Segmentation" / f"{split}.txt"
        if not listing.is_file():
            raise InputError(f"voc_seg: {listing} not found: {VOC_HOW}")
        ids = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
        out = [(base / "JPEGImages" / f"{i}.jpg", base / "SegmentationClass" / f"{i}.png")
               for i in ids]
        missing = [str(p) for pair in out for p in pair if not p.is_file()]
        if missing:
            raise InputError(f"voc_seg: {len(missing)} files listed in {listing.name} are "
                             f"missing, e.g. {missing[0]}")
        return out

    return _seg_splits("voc_seg", pairs("train"), pairs("val"), int(img_size), 21,
                       lambda m: m, {"test_split": "val"})


COCO_HOW = ("download train2017.zip, val2017.zip and annotations_trainval2017.zip "
            "(https://cocodataset.org) and unzip them into DIR (DIR/train2017, DIR/val2017, "
            "DIR/annotations/instances_train2017.json, instances_val2017.json)")


def _coco_records(base: Path, split: str, size: int,
                  ids: dict[int, int] | None) -> tuple[list[tuple[Path, dict]], dict[int, int],
                                                       list[str]]:
    path = base / "annotations" / f"instances_{split}.json"
    if not path.is_file():
        raise InputError(f"coco: {path} not found: {COCO_HOW}")
    try:
        data = json.loads(path.read_text())
        cats = sorted(data["categories"], key=lambda c: c["id"])
        images, anns = data["images"], data.get("annotations", [])
    except (ValueError, KeyError, TypeError) as err:
        raise InputError(f"coco: {path} is not a COCO instances file ({err})") from None
    ids = ids or {c["id"]: k + 1 for k, c in enumerate(cats)}
    names = [c["name"] for c in cats]
    by_image: dict[int, list[dict]] = {im["id"]: [] for im in images}
    for a in anns:
        if not a.get("iscrowd", 0) and a["image_id"] in by_image:
            by_image[a["image_id"]].append(a)
    records = []
    for im in sorted(images, key=lambda r: r["id"]):
        sx, sy = size / im["width"], size / im["height"]
        boxes, labels = [], []
        for a in by_image[im["id"]]:
            x, y, w, h = a["bbox"]
            if w <= 0 or h <= 0:
                continue
            boxes.append([x * sx, y * sy, (x + w) * sx, (y + h) * sy])
            labels.append(ids[a["category_id"]])
        target = {"boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                  "labels": torch.tensor(labels, dtype=torch.long)}
        records.append((base / split / im["file_name"], target))
    return records, ids, names


@register_dataset(
    "coco", layout="static", task="detection", accepts=("img_size",), needs_root=True,
    description="COCO 2017 detection (annotation JSON + images), boxes of 80 categories",
)
def load_coco(root: Path | None = None, img_size: int = DEFAULT_SIZE) -> DataSplits:
    base = require_dir(root, "coco", COCO_HOW)
    size = int(img_size)
    train, ids, names = _coco_records(base, "train2017", size, None)
    test, _, _ = _coco_records(base, "val2017", size, ids)

    def reader(records: list[tuple[Path, dict]]) -> Callable[[int], tuple[Tensor, dict]]:
        def read(i: int) -> tuple[Tensor, dict]:
            path, target = records[i]
            if not path.is_file():
                raise InputError(f"coco: image {path} not found: {COCO_HOW}")
            return _image(path, size)[0], target
        return read

    full = LazyDenseSet(reader(train), len(train), stack=False)
    tr, va = _train_val(len(train))
    return DataSplits("coco", full.subset(tr), full.subset(va),
                      LazyDenseSet(reader(test), len(test), stack=False), "static",
                      len(names) + 1, (3, size, size), "COCO detection",
                      {"task": "detection", "classes": ["background", *names],
                       "split_seed": SPLIT_SEED, "val_fraction": VAL_FRACTION,
                       "test_split": "val2017"})
