"""The Haar transform of step.models.wavelet against a transform written out by hand and against
PyWavelets (``pywt.wavedec(x, "haar", mode="periodization")``), not against itself."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from step.errors import SpecError
from step.models.wavelet import along_columns, along_rows, haar_matrix


def test_four_point_haar_by_hand() -> None:
    """x = (4, 2, 5, 7): mean (4+2+5+7)/2 = 9, coarse detail (4+2-5-7)/2 = -3, fine details
    (4-2)/sqrt 2 and (5-7)/sqrt 2."""
    x = torch.tensor([4.0, 2.0, 5.0, 7.0], dtype=torch.float64)
    r2 = math.sqrt(2.0)
    expected = torch.tensor([9.0, -3.0, 2.0 / r2, -2.0 / r2], dtype=torch.float64)
    assert torch.allclose(haar_matrix(4, torch.float64) @ x, expected, atol=1e-15)


def test_two_dimensional_transform_of_a_two_by_two_image_by_hand() -> None:
    """[[a, b], [c, d]] -> [[(a+b+c+d)/2, (a-b+c-d)/2], [(a+b-c-d)/2, (a-b-c+d)/2]]: rows
    (last axis) then columns."""
    x = torch.tensor([[1.0, 2.0], [3.0, 5.0]], dtype=torch.float64)
    h = haar_matrix(2, torch.float64)
    y = along_columns(along_rows(x, h), h)
    expected = torch.tensor([[11.0, -3.0], [-5.0, 1.0]], dtype=torch.float64) / 2
    assert torch.allclose(y, expected, atol=1e-15)


@pytest.mark.parametrize("n", [1, 2, 4, 8, 16, 32])
def test_matrix_is_orthogonal_and_its_transpose_inverts_it(n: int) -> None:
    h = haar_matrix(n, torch.float64)
    assert torch.allclose(h @ h.T, torch.eye(n, dtype=torch.float64), atol=1e-14)
    x = torch.randn(3, n, n, dtype=torch.float64)
    y = along_columns(along_rows(x, h), h)
    assert torch.allclose(along_columns(along_rows(y, h.T), h.T), x, atol=1e-12)


@pytest.mark.parametrize("n", [2, 4, 8, 16, 64])
def test_one_dimensional_transform_equals_pywavelets(n: int) -> None:
    pywt = pytest.importorskip("pywt")
    x = np.random.default_rng(n).standard_normal((5, n))
    expected = np.concatenate(pywt.wavedec(x, "haar", mode="periodization", axis=-1), axis=-1)
    ours = along_rows(torch.from_numpy(x), haar_matrix(n, torch.float64)).numpy()
    np.testing.assert_allclose(ours, expected, atol=1e-12)


def test_two_dimensional_transform_equals_pywavelets_along_each_axis() -> None:
    """The separable ("standard") decomposition: every row fully transformed, then every
    column, i.e. ``wavedec`` along the last axis and then along the second-last."""
    pywt = pytest.importorskip("pywt")
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8))

    def full(a: np.ndarray, axis: int) -> np.ndarray:
        return np.concatenate(pywt.wavedec(a, "haar", mode="periodization", axis=axis),
                              axis=axis)

    expected = full(full(x, -1), -2)
    h = haar_matrix(8, torch.float64)
    ours = along_columns(along_rows(torch.from_numpy(x), h), h).numpy()
    np.testing.assert_allclose(ours, expected, atol=1e-12)


@pytest.mark.parametrize("n", [0, 3, 12])
def test_a_size_that_is_no_power_of_two_is_refused(n: int) -> None:
    with pytest.raises(SpecError, match=f"power-of-2 size, got {n}"):
        haar_matrix(n)
