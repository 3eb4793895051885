"""Dense data: the embedded canvases, and the ADE20K, VOC and COCO loaders on tiny files written
here in the published folder layouts and file formats (JPEG images, grey and palette PNG
labels, a COCO instances JSON). Expected labels and boxes are worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from step.data import batches, load_dataset
from step.data.dense import INK, canvases
from step.errors import InputError


def test_digits_seg_masks_follow_the_ink_and_splits_are_fixed() -> None:
    data = load_dataset("digits_seg")
    assert data.sizes() == {"train": 800, "val": 200, "test": 200}
    assert data.num_classes == 11 and data.sample_shape == (1, 32, 32)
    x, y = data.test.get_batch(torch.arange(50))
    assert y.shape == (50, 32, 32) and y.dtype == torch.long
    labelled = y > 0
    assert (x[:, 0][labelled] > INK).all()  # a digit pixel is inked
    assert 0.05 < labelled.float().mean() < 0.4  # digits cover a fair share of the canvas
    assert set(y.unique().tolist()) == set(range(11))
    again, _ = load_dataset("digits_seg").test.get_batch(torch.arange(50))
    assert torch.equal(x, again)


def test_digits_det_boxes_are_the_tight_boxes_of_each_digit_mask() -> None:
    _, masks, boxes, labels = canvases(2)
    for mask, b, c in zip(masks[:40], boxes[:40], labels[:40], strict=True):
        assert 2 <= len(b) <= 3 and len(b) == len(c)
        covered = torch.zeros_like(mask, dtype=torch.bool)
        for (x0, y0, x1, y1), label in zip(b.long().tolist(), c.tolist(), strict=True):
            assert 1 <= label <= 10
            inside = mask[y0:y1, x0:x1] == label
            # tight: the box's first and last rows and columns each hold the digit
            assert inside[0].any() and inside[-1].any()
            assert inside[:, 0].any() and inside[:, -1].any()
            covered[y0:y1, x0:x1] |= inside
        assert torch.equal(covered, mask > 0)
    det = load_dataset("digits_det")
    x, targets = next(batches(det.train, 4, time_first=False))
    assert x.shape == (4, 1, 32, 32) and len(targets) == 4
    assert set(targets[0]) == {"boxes", "labels"}


def _jpeg(path: Path, w: int, h: int, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(path, "JPEG")


def _halves(w: int, h: int, left: int, right: int) -> np.ndarray:
    a = np.full((h, w), left, dtype=np.uint8)
    a[:, w // 2:] = right
    return a


def test_ade20k_reads_the_published_layout_and_reduces_the_zero_label(tmp_path: Path) -> None:
    base = tmp_path / "ADEChallengeData2016"
    for split, names in (("training", ["a", "b", "c"]), ("validation", ["v", "w"])):
        for k, name in enumerate(names):
            _jpeg(base / "images" / split / f"ADE_{name}.jpg", 16, 12, k)
            ann = base / "annotations" / split / f"ADE_{name}.png"
            ann.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(_halves(16, 12, 0, 7)).save(ann)  # 0 (other) | class 7
    data = load_dataset("ade20k", tmp_path, img_size=8)
    assert data.num_classes == 150 and data.sample_shape == (3, 8, 8)
    assert data.sizes() == {"train": 2, "val": 1, "test": 2}
    x, y = data.test.get_batch(torch.arange(2))
    assert x.shape == (2, 3, 8, 8) and x.min() >= 0 and x.max() <= 1
    # 0 -> ignored (255), 7 -> 6; nearest resize keeps the halves
    assert (y[:, :, :4] == 255).all() and (y[:, :, 4:] == 6).all()


def test_voc_reads_palette_indices_not_colours(tmp_path: Path) -> None:
    base = tmp_path / "VOCdevkit" / "VOC2012"
    sets = base / "ImageSets" / "Segmentation"
    sets.mkdir(parents=True)
    (sets / "train.txt").write_text("2007_000001\n2007_000002\n")
    (sets / "val.txt").write_text("2007_000003\n")
    palette = [0, 0, 0, 128, 0, 0] + [0] * (3 * 254)
    palette[15 * 3:15 * 3 + 3] = [192, 128, 128]  # person
    palette[255 * 3:255 * 3 + 3] = [224, 224, 192]  # boundary
    for k, i in enumerate(["2007_000001", "2007_000002", "2007_000003"]):
        _jpeg(base / "JPEGImages" / f"{i}.jpg", 10, 10, k)
        label = _halves(10, 10, 15, 255)
        label[0, 0] = 0
        im = Image.fromarray(label, mode="P")
        im.putpalette(palette)
        (base / "SegmentationClass").mkdir(exist_ok=True)
        im.save(base / "SegmentationClass" / f"{i}.png")
    data = load_dataset("voc_seg", tmp_path, img_size=10)
    assert data.num_classes == 21 and data.sizes() == {"train": 1, "val": 1, "test": 1}
    _, y = data.test.get_batch(torch.arange(1))
    assert y[0, 0, 0] == 0 and y[0, 5, 1] == 15 and (y[0, :, 5:] == 255).all()


def test_coco_maps_categories_scales_boxes_and_skips_crowds(tmp_path: Path) -> None:
    ann = tmp_path / "annotations"
    ann.mkdir()
    cats = [{"id": 18, "name": "dog"}, {"id": 1, "name": "person"}]
    for split, ids in (("train2017", [1, 2, 3]), ("val2017", [9])):
        images = [{"id": i, "file_name": f"{i:012d}.jpg", "width": 40, "height": 20}
                  for i in ids]
        anns = [{"id": 100 + i, "image_id": i, "category_id": 18, "bbox": [4, 2, 10, 6],
                 "iscrowd": 0, "area": 60} for i in ids]
        anns.append({"id": 999, "image_id": ids[0], "category_id": 1, "bbox": [0, 0, 8, 8],
                     "iscrowd": 1, "area": 64})
        (ann / f"instances_{split}.json").write_text(json.dumps(
            {"images": images, "annotations": anns, "categories": cats}))
        for k, i in enumerate(ids):
            _jpeg(tmp_path / split / f"{i:012d}.jpg", 40, 20, k)
    data = load_dataset("coco", tmp_path, img_size=10)
    assert data.num_classes == 3  # background, person (id 1), dog (id 18)
    assert data.info["classes"] == ["background", "person", "dog"]
    assert data.sizes() == {"train": 2, "val": 1, "test": 1}
    x, targets = data.test.get_batch(torch.arange(1))
    assert x.shape == (1, 3, 10, 10)
    # x scaled by 10/40, y by 10/20; the crowd box is left out
    assert torch.allclose(targets[0]["boxes"], torch.tensor([[1.0, 1.0, 3.5, 4.0]]))
    assert targets[0]["labels"].tolist() == [2]


@pytest.mark.parametrize("name", ["ade20k", "voc_seg", "coco"])
def test_a_missing_folder_is_one_line_with_the_download(name: str, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="download"):
        load_dataset(name, tmp_path / "nowhere")
    with pytest.raises(InputError, match="--data-root"):
        load_dataset(name)
