"""Real-format loaders on small files the tests write: CIFAR pickles, MNIST IDX, N-MNIST bins."""

from __future__ import annotations

import gzip
import pickle
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from step.data import batches, load_dataset
from step.data.digits_seq import fixed_permutation
from step.data.mnist import read_idx
from step.errors import InputError


def cifar_batch(path: Path, n: int, label_key: bytes, first: int = 0) -> np.ndarray:
    """A pickle batch of ``n`` images whose pixel (c, h, w) of image i is (i + c + h) % 256."""
    i, c, h, w = np.meshgrid(np.arange(n), np.arange(3), np.arange(32), np.arange(32),
                             indexing="ij")
    images = ((i + first + c * 10 + h) % 256).astype(np.uint8)
    labels = [(k + first) % 10 for k in range(n)]
    with open(path, "wb") as f:
        pickle.dump({b"data": images.reshape(n, 3072), label_key: labels}, f)
    return images


@pytest.fixture
def cifar10_root(tmp_path: Path) -> Path:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for b in range(1, 6):
        cifar_batch(folder / f"data_batch_{b}", 20, b"labels", first=20 * (b - 1))
    cifar_batch(folder / "test_batch", 20, b"labels", first=7)
    return tmp_path


def test_cifar10_pickle_batches(cifar10_root: Path):
    d = load_dataset("cifar10", cifar10_root)
    # 100 training images, 10 per class; validation takes round(0.1 * 10) = 1 per class.
    assert d.sizes() == {"train": 90, "val": 10, "test": 20}
    assert sorted(d.val.labels.tolist()) == list(range(10))
    x, y = next(batches(d.test, 20, time_first=False))
    assert x.shape == (20, 3, 32, 32) and x.dtype == torch.float32
    # test image 2 was written with first=7: pixel (c=1, h=4, w=9) = (2 + 7 + 10 + 4) / 255.
    assert float(x[2, 1, 4, 9]) == pytest.approx(23 / 255)
    assert y[:3].tolist() == [7, 8, 9]
    small = load_dataset("cifar10", cifar10_root, img_size=16)
    assert next(batches(small.train, 2, time_first=False))[0].shape == (2, 3, 16, 16)


def test_cifar10_seq_reads_pixels_in_reading_order_with_colours_as_features(cifar10_root: Path):
    d = load_dataset("cifar10_seq", cifar10_root)
    assert d.layout == "sequence" and d.sample_shape == (1024, 3)
    assert d.sizes() == {"train": 90, "val": 10, "test": 20}
    x, y = next(batches(d.test, 20, time_first=True))
    assert x.shape == (1024, 20, 3) and x.dtype == torch.float32
    # test image 2 (first=7), pixel (c=1, h=4, w=9) = (2 + 7 + 10 + 4) / 255 at step 4*32 + 9
    assert float(x[137, 2, 1]) == pytest.approx(23 / 255)
    assert float(x[137, 2, 2]) == pytest.approx(33 / 255)  # c=2: + 10
    assert float(x[160, 2, 0]) == pytest.approx(14 / 255)  # step 160 = row 5, column 0
    assert y[:3].tolist() == [7, 8, 9]


def test_cifar10_seq_in_32_steps_reads_one_row_per_step(cifar10_root: Path):
    d = load_dataset("cifar10_seq", cifar10_root, T=32)
    assert d.sample_shape == (32, 96)
    x, _ = next(batches(d.test, 20, time_first=True))
    assert x.shape == (32, 20, 96)
    # row 4 of test image 2; column 9, colour 1 is feature 9 * 3 + 1
    assert float(x[4, 2, 28]) == pytest.approx(23 / 255)
    assert float(x[4, 2, 3 * 31 + 2]) == pytest.approx(33 / 255)  # the row's last pixel, c=2
    with pytest.raises(InputError, match="T must divide"):
        load_dataset("cifar10_seq", cifar10_root, T=5)


def test_cifar100_fine_labels(tmp_path: Path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    cifar_batch(folder / "train", 20, b"fine_labels")
    cifar_batch(folder / "test", 20, b"fine_labels", first=3)
    d = load_dataset("cifar100", folder)  # the folder itself is accepted too
    assert d.num_classes == 100 and d.sizes()["test"] == 20
    assert d.test.labels[:2].tolist() == [3, 4]


def test_cifar_missing_batch_is_one_line(tmp_path: Path):
    (tmp_path / "cifar-10-batches-py").mkdir()
    with pytest.raises(InputError) as err:
        load_dataset("cifar10", tmp_path)
    assert "data_batch_1" in str(err.value) and "\n" not in str(err.value)


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(raw))
    else:
        path.write_bytes(raw)


@pytest.fixture
def mnist_root(tmp_path: Path) -> Path:
    images = np.zeros((60, 28, 28), dtype=np.uint8)
    for i in range(60):
        images[i, i % 28, 27 - i % 28] = 255  # one bright pixel at (row i, column 27 - i)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.arange(60) % 10)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", images[:10])  # not gzipped: both work
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.arange(10))
    return tmp_path


def test_idx_reader_reads_header_and_data(mnist_root: Path):
    a = read_idx(mnist_root / "t10k-images-idx3-ubyte")
    assert a.shape == (10, 28, 28) and a[3, 3, 24] == 255 and a.sum() == 10 * 255


def test_mnist_seq_and_pseq(mnist_root: Path):
    d = load_dataset("mnist_seq", mnist_root)
    assert d.sizes() == {"train": 50, "val": 10, "test": 10} and d.sample_shape == (784, 1)
    x, y = next(batches(d.test, 10, time_first=True))
    assert x.shape == (784, 10, 1)
    # 6 training images per class: validation takes 0.6 rounded half up = 1 per class.
    # test image 3 has its pixel at row 3, column 24: step 3 * 28 + 24 = 108.
    assert torch.nonzero(x[:, 3, 0]).flatten().tolist() == [108]
    p = load_dataset("mnist_pseq", mnist_root)
    px, _ = next(batches(p.test, 10, time_first=True))
    perm = fixed_permutation(784)
    assert torch.equal(px, x[perm])
    assert int(torch.nonzero(px[:, 3, 0])) == int(torch.nonzero(perm == 108))


def test_bad_idx_magic_is_an_input_error(tmp_path: Path):
    (tmp_path / "f").write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x01\x05")
    with pytest.raises(InputError, match="not an IDX file"):
        read_idx(tmp_path / "f")


@pytest.mark.parametrize("name, needle", [
    ("cifar10", "cifar-10-batches-py"), ("cifar10_seq", "cifar-10-batches-py"),
    ("cifar100", "cifar-100-python"),
    ("mnist_seq", "train-images-idx3-ubyte"), ("nmnist", "n-mnist"),
    ("dvsgesture", "ibmGestureTrain"), ("cifar10dvs", "CIFAR10DVS"),
])
def test_missing_path_says_what_to_download(tmp_path: Path, name: str, needle: str):
    with pytest.raises(InputError) as err:
        load_dataset(name, tmp_path / "nowhere")
    msg = str(err.value)
    assert "\n" not in msg and "download" in msg and needle in msg
    with pytest.raises(InputError, match="--data-root"):
        load_dataset(name)


def nmnist_bin(path: Path, events: list[tuple[int, int, int, int]]) -> None:
    """N-MNIST's 40-bit events: x, y, polarity bit + 23-bit timestamp (microseconds)."""
    raw = bytearray()
    for x, y, p, t in events:
        raw += bytes([x, y, (p << 7) | ((t >> 16) & 127), (t >> 8) & 255, t & 255])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(raw))


def test_nmnist_through_tonic(tmp_path: Path):
    pytest.importorskip("tonic")
    base = tmp_path / "NMNIST"
    # Two events per recording: ON at (x=3, y=5) early, OFF at (x=7, y=2) late; tonic's ToFrame
    # drops an event exactly at the end time, so a third one closes the recording.
    events = [(3, 5, 1, 10), (7, 2, 0, 600), (1, 1, 1, 1000)]
    for split, n in (("Train", 10), ("Test", 2)):
        for digit in (0, 1):
            for k in range(n):
                nmnist_bin(base / split / str(digit) / f"{k:05d}.bin", events)
    d = load_dataset("nmnist", tmp_path, T=2)
    assert d.sizes() == {"train": 18, "val": 2, "test": 4}
    assert d.sample_shape == (2, 2, 34, 34)
    x, y = next(batches(d.test, 4, time_first=True))
    assert x.shape == (2, 4, 2, 34, 34) and y.tolist() == [0, 0, 1, 1]
    hot = torch.nonzero(x[:, 0]).tolist()  # [t, polarity, y, x] of the first recording
    assert hot == [[0, 1, 5, 3], [1, 0, 2, 7]]


def test_missing_tonic_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "tonic", None)  # import tonic now raises ImportError
    with pytest.raises(InputError, match="pip install tonic"):
        load_dataset("nmnist", tmp_path)
