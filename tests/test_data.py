"""The embedded digits datasets: split, resize, events and sequences, checked by hand."""

from __future__ import annotations

import hashlib

import pytest
import torch

from step.data import batches, epoch_order, list_datasets, load_dataset, stratified_split
from step.data.digits import digits_arrays, digits_split_indices
from step.data.digits_events import events_between, saccade_events, saccade_positions, shift
from step.data.digits_seq import fixed_permutation, pixel_sequence
from step.errors import InputError


def test_registry_names_every_family():
    assert list_datasets() == sorted([
        "digits", "digits_events", "digits_seq", "digits_pseq", "cifar10", "cifar10_seq",
        "cifar100", "mnist_seq", "mnist_pseq", "nmnist", "cifar10dvs", "dvsgesture",
        "digits_seg", "digits_det", "ade20k", "voc_seg", "coco", "shapes", "modelnet40"])


def test_unknown_dataset_suggests_the_close_name():
    with pytest.raises(InputError, match="did you mean 'digits'"):
        load_dataset("digitz")


def test_option_a_dataset_does_not_take_is_an_error():
    with pytest.raises(InputError, match="does not take T"):
        load_dataset("digits", T=4)


def test_digits_split_sizes_and_stratification():
    _, labels = digits_arrays()
    train, val, test = digits_split_indices()
    assert (len(train), len(val), len(test)) == (1078, 360, 359)
    every = torch.cat([train, val, test])
    assert torch.equal(torch.sort(every).values, torch.arange(1797))  # disjoint, complete
    # Class 0 has 178 images: round(0.6 * 178) = 107 train, round(0.8 * 178) - 107 = 35 val.
    assert int((labels[train] == 0).sum()) == 107
    assert int((labels[val] == 0).sum()) == 35
    assert int((labels[test] == 0).sum()) == 36
    for c in range(10):
        n = int((labels == c).sum())
        assert abs(int((labels[train] == c).sum()) - 0.6 * n) <= 0.5
        assert abs(int((labels[val] == c).sum()) - 0.2 * n) <= 1.0


def test_digits_split_is_pinned():
    # The split must be the same on every machine and every run: pin its digest.
    h = hashlib.sha256()
    for part in digits_split_indices():
        h.update(part.numpy().astype("int64").tobytes())
    assert h.hexdigest()[:16] == PINNED_SPLIT


PINNED_SPLIT = "6a8359ad8df5220c"


def test_stratified_split_rounds_per_class():
    labels = torch.tensor([0] * 10 + [1] * 5)
    a, b = stratified_split(labels, (0.6, 0.4), seed=3)
    assert int((labels[a] == 0).sum()) == 6 and int((labels[a] == 1).sum()) == 3
    assert len(b) == 6
    with pytest.raises(InputError):
        stratified_split(labels, (0.5, 0.6), seed=0)


def test_digits_scaled_and_resized():
    d8 = load_dataset("digits")
    x, y = next(batches(d8.train, 7, time_first=False))
    assert x.shape == (7, 1, 8, 8) and x.min() >= 0 and x.max() <= 1
    assert float(digits_arrays()[0].max()) == 1.0  # 16 / 16
    d16 = load_dataset("digits", img_size=16)
    assert d16.sample_shape == (1, 16, 16)
    x16, y16 = next(batches(d16.train, 7, time_first=False))
    assert x16.shape == (7, 1, 16, 16) and torch.equal(y, y16)
    # Bilinear 2x upsampling keeps the mean brightness (up to the edge pixels).
    assert abs(float(x16.mean()) - float(x.mean())) < 0.02


def test_epoch_order_depends_only_on_seed_and_epoch():
    assert torch.equal(epoch_order(50, 1, 3), epoch_order(50, 1, 3))
    assert not torch.equal(epoch_order(50, 1, 3), epoch_order(50, 1, 4))
    assert not torch.equal(epoch_order(50, 2, 3), epoch_order(50, 1, 3))


def test_shift_moves_content_and_fills_zeros():
    img = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])
    assert shift(img, 0, 1).tolist() == [[0, 1, 2], [0, 4, 5], [0, 7, 8]]
    assert shift(img, 1, 0).tolist() == [[0, 0, 0], [1, 2, 3], [4, 5, 6]]
    assert shift(img, -1, -1).tolist() == [[5, 6, 0], [8, 9, 0], [0, 0, 0]]


def test_events_of_a_pixel_moved_right():
    # A 3x3 image, one bright pixel in the centre, moved one pixel right:
    # the centre-right pixel brightens (ON), the centre darkens (OFF), nothing else.
    img = torch.zeros(3, 3)
    img[1, 1] = 1.0
    ev = events_between(torch.stack([img, shift(img, 0, 1)]), threshold=0.1)
    assert ev.shape == (1, 2, 3, 3)
    on, off = ev[0, 0], ev[0, 1]
    assert on.tolist() == [[0, 0, 0], [0, 0, 1], [0, 0, 0]]
    assert off.tolist() == [[0, 0, 0], [0, 1, 0], [0, 0, 0]]
    # The first saccade move is one pixel to the right: the dataset function agrees.
    assert torch.equal(saccade_events(img[None, None], T=1)[0], ev)


def test_changes_below_threshold_give_no_event():
    a = torch.zeros(1, 1, 3, 3)
    b = a + 0.05
    assert events_between(torch.cat([a, b]), threshold=0.1).sum() == 0


def test_saccade_is_closed_triangle():
    assert saccade_positions(3) == [(0, 0), (0, 1), (1, 1), (0, 0)]


def test_digits_events_layout():
    d = load_dataset("digits_events", T=6)
    assert d.layout == "event" and d.sample_shape == (6, 2, 8, 8)
    x, _ = next(batches(d.train, 5, time_first=True))
    assert x.shape == (6, 5, 2, 8, 8)
    assert set(torch.unique(x).tolist()) <= {0.0, 1.0} and x.sum() > 0


def test_sequences_read_pixels_row_by_row():
    d = load_dataset("digits_seq")
    assert d.sample_shape == (64, 1)
    x, _ = next(batches(d.test, 3, time_first=True))
    assert x.shape == (64, 3, 1)
    images, _ = digits_arrays()
    first_test = images[digits_split_indices()[2][0], 0]
    # step t reads pixel (t // 8, t % 8): step 10 is row 1, column 2.
    assert float(x[10, 0, 0]) == float(first_test[1, 2])
    assert torch.equal(x[:, 0, 0], first_test.flatten())


def test_permuted_sequences_use_one_fixed_permutation():
    perm = fixed_permutation(64)
    assert torch.equal(perm, fixed_permutation(64))
    assert torch.equal(torch.sort(perm).values, torch.arange(64))
    assert not torch.equal(perm, torch.arange(64))
    seq = load_dataset("digits_seq")
    pseq = load_dataset("digits_pseq")
    x, _ = next(batches(seq.train, 4, time_first=True))
    px, _ = next(batches(pseq.train, 4, time_first=True))
    assert torch.equal(px, x[perm])
    assert torch.equal(pixel_sequence(torch.arange(8.0).view(1, 2, 2, 2))[0],
                       torch.tensor([[0.0, 4.0], [1.0, 5.0], [2.0, 6.0], [3.0, 7.0]]))


def test_digits_as_rgb_repeat_the_grey_level() -> None:
    grey = load_dataset("digits", img_size=8)
    rgb = load_dataset("digits", img_size=8, channels=3)
    assert rgb.test.x.shape[1:] == (3, 8, 8)
    for c in range(3):
        assert torch.equal(rgb.test.x[:, c], grey.test.x[:, 0])


def test_digits_read_from_the_shipped_csv_equal_scikit_learns_loader(monkeypatch):
    from sklearn.datasets import load_digits

    import step.data.digits as digits

    bunch = load_digits()
    assert digits._shipped_csv() is not None, "scikit-learn moved digits.csv.gz: update the path"
    for csv in (digits._shipped_csv(), None):  # the fast path, then the loader it stands in for
        assert csv is None or csv.name == "digits.csv.gz"
        monkeypatch.setattr(digits, "_shipped_csv", lambda csv=csv: csv)
        digits.digits_arrays.cache_clear()
        images, labels = digits.digits_arrays()
        assert torch.equal(images, torch.as_tensor(bunch.images, dtype=torch.float32)
                           .unsqueeze(1) / 16.0)
        assert torch.equal(labels, torch.as_tensor(bunch.target))
    digits.digits_arrays.cache_clear()
