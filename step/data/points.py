"""Point clouds: an embedded set of geometric primitives and ModelNet40 from a local folder.

Samples are ``[N, 3]`` xyz clouds, batch-first like static images (layout ``points``): a
point-cloud model encodes them into time steps itself. Every cloud is normalised to the unit
sphere when it is read; the training split is augmented per batch (scale, shift, jitter:
:mod:`step.data.point_transforms`) from a generator seeded by the batch's sample indices, so a
resumed run sees the same augmented clouds as an uninterrupted one. Validation and test
clouds are never augmented.

``shapes`` (embedded, no download): five primitives (sphere, cube surface, cylinder, cone,
torus), 120 clouds each, every one with its own proportions (cylinder and cone height, torus
tube radius), a random rotation about z and small noise, drawn from a fixed seed and cut
70/15/15 by class.

``modelnet40`` (``--data-root ROOT``), either common layout:

- HDF5 (PointNet's ``modelnet40_ply_hdf5_2048``): ``ROOT[/modelnet40_ply_hdf5_2048]/
  ply_data_train*.h5`` and ``ply_data_test*.h5`` with ``data`` ``[n, 2048, 3]`` and ``label``
  ``[n, 1]``, plus ``shape_names.txt``; the first ``num_points`` points of each cloud are kept
  (the files' points are already in random order; PointNet and DGCNN do the same). Needs
  h5py (``pip install step-snn[points]``).
- OFF meshes (Princeton's ``ModelNet40.zip``): ``ROOT[/ModelNet40]/<class>/{train,test}/
  *.off``; each mesh is sampled to ``num_points`` points by area-weighted surface sampling,
  seeded by the file's position in the sorted list, so the same file always gives the same
  points.

Validation is a fixed stratified 10 % of the training clouds (ModelNet has none).
"""

from __future__ import annotations

import math
import zlib
from pathlib import Path

import torch
from torch import Tensor

from step.data._base import (
    ArraySet,
    DataSplits,
    FileSet,
    SampleSet,
    require_dir,
    stratified_split,
)
from step.data.point_transforms import augment, normalize_unit_sphere, sample_surface
from step.data.registry import register_dataset
from step.errors import InputError

SPLIT_SEED = 0
SHAPES = ("sphere", "cube", "cylinder", "cone", "torus")
PER_SHAPE = 120
NOISE = 0.01
H5_HINT = "the HDF5 layout of ModelNet40 needs h5py: pip install h5py (or step-snn[points])"


class AugmentedSet:
    """A set of clouds whose batches are augmented (the training split only); the generator
    is seeded by the batch's indices, so the same batch is augmented the same way."""

    def __init__(self, base: SampleSet) -> None:
        self.base = base

    def __len__(self) -> int:
        return len(self.base)

    @property
    def labels(self) -> Tensor:
        return self.base.labels

    def get_batch(self, index: Tensor) -> tuple[Tensor, Tensor]:
        x, y = self.base.get_batch(index)
        seed = zlib.crc32(index.to(torch.int64).numpy().tobytes())
        return augment(x, torch.Generator().manual_seed(seed)), y

    def subset(self, index: Tensor) -> AugmentedSet:
        return AugmentedSet(self.base.subset(index))


def _rotate_z(points: Tensor, angle: Tensor) -> Tensor:
    c, s = torch.cos(angle), torch.sin(angle)
    x, y, z = points.unbind(-1)
    return torch.stack([c * x - s * y, s * x + c * y, z], dim=-1)


def primitive(kind: str, n: int, g: torch.Generator) -> Tensor:
    """``n`` points ``[n, 3]`` on the surface of one primitive with drawn proportions."""
    u = torch.rand(n, generator=g)
    v = torch.rand(n, generator=g)
    theta = 2 * math.pi * u
    if kind == "sphere":
        p = torch.randn(n, 3, generator=g)
        return p / p.norm(dim=-1, keepdim=True)
    if kind == "cube":  # six faces of equal area: one drawn per point, (u, v) on it
        face = torch.randint(0, 6, (n,), generator=g)
        a, b = 2 * u - 1, 2 * v - 1
        sign = torch.where(face % 2 == 0, 1.0, -1.0)
        axis = face // 2
        coords = [torch.where(axis == k, sign, torch.where(axis == (k + 1) % 3, a, b))
                  for k in range(3)]
        return torch.stack(coords, dim=-1)
    if kind == "cylinder":  # lateral surface, height / radius from U(1, 3)
        h = 0.5 + torch.rand(1, generator=g)
        return torch.stack([theta.cos(), theta.sin(), (2 * v - 1) * h], dim=-1)
    if kind == "cone":  # lateral surface, uniform in area: distance from apex ~ sqrt(v)
        h = 1.0 + torch.rand(1, generator=g)
        t = v.sqrt()
        return torch.stack([t * theta.cos(), t * theta.sin(), h * (0.5 - t)], dim=-1)
    if kind == "torus":  # tube radius from U(0.2, 0.45) around a ring of radius 1
        r = 0.2 + 0.25 * torch.rand(1, generator=g)
        phi = 2 * math.pi * v
        ring = 1 + r * phi.cos()
        return torch.stack([ring * theta.cos(), ring * theta.sin(), r * phi.sin()], dim=-1)
    raise InputError(f"unknown primitive {kind!r}: choose one of {SHAPES}")


def shapes_arrays(num_points: int) -> tuple[Tensor, Tensor]:
    """All embedded clouds ``[5 * 120, num_points, 3]`` and their labels, from a fixed seed."""
    g = torch.Generator().manual_seed(SPLIT_SEED)
    clouds, labels = [], []
    for label, kind in enumerate(SHAPES):
        for _ in range(PER_SHAPE):
            p = primitive(kind, num_points, g)
            p = _rotate_z(p, 2 * math.pi * torch.rand(1, generator=g))
            p = p + NOISE * torch.randn(p.shape, generator=g)
            clouds.append(p)
            labels.append(label)
    return normalize_unit_sphere(torch.stack(clouds)), torch.tensor(labels)


def _splits(name: str, train: SampleSet, test: SampleSet | None, num_classes: int,
            num_points: int, description: str, info: dict) -> DataSplits:
    """Validation from training (10 %, stratified), or 70/15/15 when there is no test set;
    the training split is augmented."""
    if test is None:
        tr, va, te = stratified_split(train.labels, (0.7, 0.15, 0.15), SPLIT_SEED)
        test = train.subset(te)
    else:
        tr, va = stratified_split(train.labels, (0.9, 0.1), SPLIT_SEED)
    return DataSplits(name, AugmentedSet(train.subset(tr)), train.subset(va), test, "points",
                      num_classes, (num_points, 3), description,
                      {"split_seed": SPLIT_SEED, "augment": "scale, shift, jitter", **info})


@register_dataset("shapes", layout="points", accepts=("num_points",),
                  description="point clouds of 5 geometric primitives [N, 3] (embedded)")
def load_shapes(root: Path | None = None, num_points: int = 256) -> DataSplits:
    """Clouds on a sphere, cube, cylinder, cone or torus: 600, cut 70/15/15 by class."""
    if num_points < 1:
        raise InputError(f"num_points must be >= 1, got {num_points}")
    x, y = shapes_arrays(int(num_points))
    return _splits("shapes", ArraySet(x, y), None, len(SHAPES), int(num_points),
                   "geometric primitives as point clouds", {"shapes": list(SHAPES)})


# -- ModelNet40 --------------------------------------------------------------------------------

MODELNET_HOW = ("download modelnet40_ply_hdf5_2048.zip (PointNet's HDF5 files) or "
                "ModelNet40.zip (Princeton's .off meshes) and unzip it into ROOT")


def read_off(path: Path) -> tuple[Tensor, Tensor]:
    """Vertices ``[V, 3]`` and triangles ``[F, 3]`` of an OFF file (polygons fanned into
    triangles). ModelNet's files sometimes glue the counts to the header (``OFF490 518 0``)."""
    words = path.read_text().split()
    if not words or not words[0].startswith("OFF"):
        raise InputError(f"{path} is not an OFF file (no OFF header)")
    rest = words[1:] if words[0] == "OFF" else [words[0][3:], *words[1:]]
    try:
        n_v, n_f = int(rest[0]), int(rest[1])
        values = rest[3:]
        vertices = torch.tensor([float(w) for w in values[:3 * n_v]]).reshape(n_v, 3)
        faces, i = [], 3 * n_v
        for _ in range(n_f):
            k = int(values[i])
            poly = [int(w) for w in values[i + 1:i + 1 + k]]
            faces += [[poly[0], poly[j], poly[j + 1]] for j in range(1, k - 1)]
            i += 1 + k
    except (IndexError, ValueError, RuntimeError):
        raise InputError(f"{path} is not a valid OFF file (counts and values disagree)") from None
    return vertices, torch.tensor(faces, dtype=torch.long).reshape(-1, 3)


def _h5_split(files: list[Path], num_points: int) -> tuple[Tensor, Tensor]:
    try:
        import h5py
    except ImportError:
        raise InputError(H5_HINT) from None
    xs, ys = [], []
    for f in files:
        with h5py.File(f, "r") as h5:
            xs.append(torch.as_tensor(h5["data"][:, :num_points, :3], dtype=torch.float32))
            ys.append(torch.as_tensor(h5["label"][:].reshape(-1), dtype=torch.long))
    x = torch.cat(xs)
    if x.shape[1] < num_points:
        raise InputError(f"{files[0]} holds {x.shape[1]} points per cloud, fewer than "
                         f"num_points={num_points}")
    return normalize_unit_sphere(x), torch.cat(ys)


def _load_h5(base: Path, num_points: int) -> DataSplits:
    names_file = base / "shape_names.txt"
    if not names_file.is_file():
        raise InputError(f"ModelNet40 HDF5: {names_file} not found ({MODELNET_HOW})")
    names = [n.strip() for n in names_file.read_text().splitlines() if n.strip()]
    train = _h5_split(sorted(base.glob("ply_data_train*.h5")), num_points)
    test_files = sorted(base.glob("ply_data_test*.h5"))
    if not test_files:
        raise InputError(f"ModelNet40 HDF5: no ply_data_test*.h5 in {base} ({MODELNET_HOW})")
    test = _h5_split(test_files, num_points)
    return _splits("modelnet40", ArraySet(*train), ArraySet(*test), len(names),
                   num_points, f"ModelNet40 (HDF5) from {base}",
                   {"layout": "hdf5", "classes": names})


def _load_off(base: Path, num_points: int) -> DataSplits:
    classes = sorted(p.name for p in base.iterdir() if (p / "train").is_dir())
    index = {c: i for i, c in enumerate(classes)}
    sets = []
    for split in ("train", "test"):
        paths = sorted(p for c in classes for p in (base / c / split).glob("*.off"))
        if not paths:
            raise InputError(f"ModelNet40 OFF: no <class>/{split}/*.off under {base} "
                             f"({MODELNET_HOW})")
        offset = 0 if split == "train" else 1_000_000

        def read(i: int, paths: list[Path] = paths, offset: int = offset) -> Tensor:
            vertices, faces = read_off(paths[i])
            g = torch.Generator().manual_seed(SPLIT_SEED * 7_919 + offset + i)
            return normalize_unit_sphere(sample_surface(vertices, faces, num_points, g))

        sets.append(FileSet(read, [index[p.parent.parent.name] for p in paths]))
    return _splits("modelnet40", sets[0], sets[1], len(classes), num_points,
                   f"ModelNet40 (OFF meshes, {num_points} surface samples) from {base}",
                   {"layout": "off", "classes": classes})


@register_dataset("modelnet40", layout="points", accepts=("num_points",), needs_root=True,
                  description="ModelNet40 point clouds [N, 3] from HDF5 files or .off meshes")
def load_modelnet40(root: Path | None = None, num_points: int = 1024) -> DataSplits:
    """ModelNet40 (9,843 training and 2,468 test shapes of 40 classes) in either layout."""
    base = require_dir(root, "ModelNet40", MODELNET_HOW)
    for folder in (base / "modelnet40_ply_hdf5_2048", base):
        if any(folder.glob("ply_data_train*.h5")):
            return _load_h5(folder, int(num_points))
    for folder in (base / "ModelNet40", base):
        if folder.is_dir() and any((p / "train").is_dir() for p in folder.iterdir()):
            return _load_off(folder, int(num_points))
    raise InputError(f"ModelNet40: neither ply_data_train*.h5 nor <class>/train/*.off found "
                     f"under {base}: {MODELNET_HOW}")
