"""Point clouds: the transforms by hand, the embedded primitives, and both ModelNet40 layouts
read from tiny files written here in the real formats (HDF5 needs h5py; skipped without it)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from step.data import load_dataset
from step.data.point_transforms import (
    JITTER_CLIP,
    SHIFT_RANGE,
    augment,
    farthest_point_sample,
    normalize_unit_sphere,
    random_sample,
    sample_surface,
)
from step.data.points import SHAPES, read_off
from step.errors import InputError

# -- transforms ----------------------------------------------------------------------------------


def test_normalize_centres_and_scales_to_the_unit_sphere_by_hand() -> None:
    """(0, 0, 0) and (0, 4, 0): centroid (0, 2, 0), radius 2 -> (0, -1, 0) and (0, 1, 0); the
    fourth channel (a normal, say) is left alone."""
    cloud = torch.tensor([[[0.0, 0.0, 0.0, 7.0], [0.0, 4.0, 0.0, -7.0]]])
    expected = torch.tensor([[[0.0, -1.0, 0.0, 7.0], [0.0, 1.0, 0.0, -7.0]]])
    assert torch.equal(normalize_unit_sphere(cloud), expected)


def test_farthest_point_sampling_by_hand() -> None:
    """On a line at 0, 1, 2, 4, 10 from index 0: 10 is farthest (index 4); then the point
    whose nearer chosen neighbour is farthest: 4 (4 from 0, 6 from 10; index 3), then 2
    (2 from 0 and from 4) rather than 1 (1 from 0)."""
    line = torch.tensor([[x, 0.0, 0.0] for x in (0, 1, 2, 4, 10)])
    assert farthest_point_sample(line, 4).tolist() == [0, 4, 3, 2]
    assert farthest_point_sample(line[None].repeat(2, 1, 1), 2).tolist() == [[0, 4], [0, 4]]


def test_random_sample_draws_distinct_points_reproducibly() -> None:
    cloud = torch.rand(50, 3)
    a = random_sample(cloud, 20, torch.Generator().manual_seed(3))
    b = random_sample(cloud, 20, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and len(set(a.tolist())) == 20
    with pytest.raises(InputError, match="cannot choose 51 of 50"):
        random_sample(cloud, 51, torch.Generator())


def test_augmentation_moves_xyz_within_its_ranges_and_nothing_else() -> None:
    """A cloud at the origin is moved only by the shift (within +-0.1) and the clipped jitter
    (within +-0.05); a cloud at (1, 1, 1) is scaled by 0.8 .. 1.25 per axis before that."""
    g = torch.Generator().manual_seed(0)
    zeros = torch.zeros(64, 100, 4)
    zeros[..., 3] = 5.0
    out = augment(zeros, g)
    assert out[..., :3].abs().max() <= SHIFT_RANGE + JITTER_CLIP
    assert out[..., 3].eq(5.0).all()
    out = augment(torch.ones(64, 100, 3), g)
    assert out.min() >= 0.8 - SHIFT_RANGE - JITTER_CLIP
    assert out.max() <= 1.25 + SHIFT_RANGE + JITTER_CLIP
    spread = out.std(dim=0).mean()  # clouds are scaled differently
    assert spread > 0.05


def test_surface_sampling_weights_faces_by_area() -> None:
    """Two triangles in z = 0 with areas 0.5 and 4.5 (legs 1 and 3): 10 % of the points on the
    small one (4,000 draws: standard deviation 0.5 %), every point inside its triangle."""
    vertices = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0],
                             [5, 0, 0], [8, 0, 0], [5, 3, 0]])
    faces = torch.tensor([[0, 1, 2], [3, 4, 5]])
    p = sample_surface(vertices, faces, 4000, torch.Generator().manual_seed(1))
    assert p[:, 2].eq(0).all()
    small = p[:, 0] < 2
    assert abs(small.float().mean().item() - 0.1) < 0.02
    s, b = p[small], p[~small] - torch.tensor([5.0, 0, 0])
    assert (s[:, :2] >= 0).all() and (s[:, 0] + s[:, 1] <= 1 + 1e-6).all()
    assert (b[:, :2] >= 0).all() and (b[:, 0] + b[:, 1] <= 3 + 1e-5).all()
    # uniform inside a triangle: the mean is its centroid (1/3, 1/3)
    assert torch.allclose(s[:, :2].mean(0), torch.tensor([1 / 3, 1 / 3]), atol=0.03)


# -- OFF files -------------------------------------------------------------------------------------

TETRA = "OFF\n4 4 0\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n3 0 1 2\n3 0 1 3\n3 0 2 3\n3 1 2 3\n"
# a unit square as one quad, counts glued to the header as in some ModelNet files
SQUARE = "OFF4 1 0\n0 0 0\n1 0 0\n1 1 0\n0 1 0\n4 0 1 2 3\n"


def test_read_off_fans_polygons_and_takes_glued_headers(tmp_path: Path) -> None:
    (tmp_path / "sq.off").write_text(SQUARE)
    vertices, faces = read_off(tmp_path / "sq.off")
    assert vertices.shape == (4, 3) and faces.tolist() == [[0, 1, 2], [0, 2, 3]]
    (tmp_path / "bad.off").write_text("PLY\n1 2 3\n")
    with pytest.raises(InputError, match="not an OFF file"):
        read_off(tmp_path / "bad.off")
    (tmp_path / "short.off").write_text("OFF\n4 1 0\n0 0 0\n")
    with pytest.raises(InputError, match="counts and values disagree"):
        read_off(tmp_path / "short.off")


def _write_off_modelnet(root: Path) -> None:
    for cls, text in (("square", SQUARE), ("tetra", TETRA)):
        for split, n in (("train", 10), ("test", 3)):
            folder = root / "ModelNet40" / cls / split
            folder.mkdir(parents=True)
            for i in range(n):
                (folder / f"{cls}_{i:04d}.off").write_text(text)


def test_modelnet40_from_off_meshes(tmp_path: Path) -> None:
    _write_off_modelnet(tmp_path)
    data = load_dataset("modelnet40", tmp_path, num_points=40)
    assert data.layout == "points" and not data.time_first
    assert data.num_classes == 2 and data.info["classes"] == ["square", "tetra"]
    assert data.sizes() == {"train": 18, "val": 2, "test": 6}
    assert data.sample_shape == (40, 3) and data.info["layout"] == "off"
    x, y = data.test.get_batch(torch.arange(6))
    assert x.shape == (6, 40, 3) and y.tolist() == [0, 0, 0, 1, 1, 1]
    assert torch.allclose(x.norm(dim=-1).amax(-1), torch.ones(6))
    # the square's points lie in a plane (z constant after centring): flat
    assert x[:3, :, 2].abs().max() < 1e-6
    # each file gives the same points every time it is read; two files differ
    again, _ = data.test.get_batch(torch.arange(6))
    assert torch.equal(x, again) and not torch.equal(x[0], x[1])


def test_modelnet40_from_hdf5(tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    base = tmp_path / "modelnet40_ply_hdf5_2048"
    base.mkdir()
    (base / "shape_names.txt").write_text("airplane\nbathtub\nbed\n")
    g = torch.Generator().manual_seed(0)
    clouds = {}
    for name, n in (("ply_data_train0.h5", 20), ("ply_data_train1.h5", 10),
                    ("ply_data_test0.h5", 6)):
        data = torch.rand(n, 64, 3, generator=g) * 4 - 1
        labels = (torch.arange(n) % 3).reshape(n, 1)
        with h5py.File(base / name, "w") as f:
            f["data"] = data.numpy()
            f["label"] = labels.numpy().astype("uint8")
        clouds[name] = data
    data = load_dataset("modelnet40", tmp_path, num_points=32)
    assert data.num_classes == 3 and data.info["layout"] == "hdf5"
    assert data.sizes() == {"train": 27, "val": 3, "test": 6}
    x, y = data.test.get_batch(torch.arange(6))
    assert y.tolist() == [0, 1, 2, 0, 1, 2]
    # the first 32 points of each cloud, centred and scaled by hand
    first = clouds["ply_data_test0.h5"][:, :32]
    centred = first - first.mean(1, keepdim=True)
    expected = centred / centred.norm(dim=-1).amax(-1)[:, None, None]
    assert torch.allclose(x, expected, atol=1e-6)


def test_modelnet40_without_its_files_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="needs --data-root"):
        load_dataset("modelnet40")
    with pytest.raises(InputError, match="neither ply_data_train") as err:
        load_dataset("modelnet40", tmp_path)
    assert "\n" not in str(err.value)


# -- the embedded primitives ---------------------------------------------------------------------


def test_shapes_are_balanced_split_and_reproducible() -> None:
    data = load_dataset("shapes", num_points=64)
    assert data.num_classes == len(SHAPES) == 5
    assert data.sizes() == {"train": 420, "val": 90, "test": 90}
    assert torch.bincount(data.test.labels).tolist() == [18] * 5
    x, _ = data.test.get_batch(torch.arange(90))
    assert torch.allclose(x.norm(dim=-1).amax(-1), torch.ones(90))
    again, _ = load_dataset("shapes", num_points=64).test.get_batch(torch.arange(90))
    assert torch.equal(x, again)
    # the training split is augmented: its clouds leave the unit sphere, the same batch the
    # same way
    t1, _ = data.train.get_batch(torch.arange(10))
    t2, _ = data.train.get_batch(torch.arange(10))
    assert torch.equal(t1, t2) and t1.norm(dim=-1).amax() > 1.01


def test_a_sphere_is_round_and_a_cube_is_not() -> None:
    """Normalised, a sphere's points lie at nearly one distance from the centroid (spread by
    the noise and by the centroid of 256 random points missing the centre: radius standard
    deviation below 0.08 here), a cube's from 1/sqrt(3) (face centres) to 1 (corners): every
    cube holds a point nearer than 0.65 and spreads more than any sphere."""
    data = load_dataset("shapes", num_points=256)
    x, y = data.test.get_batch(torch.arange(90))
    radii = x.norm(dim=-1)
    sphere, cube = radii[y == 0], radii[y == 1]
    assert (sphere.std(-1) < 0.08).all() and (cube.std(-1) > 0.08).all()
    assert (cube.amin(-1) < 0.65).all() and (sphere.amin(-1) > 0.65).all()
