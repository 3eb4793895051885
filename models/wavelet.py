"""The orthonormal Haar wavelet transform as a fixed matrix (torch only).

``haar_matrix(n)`` is the ``n x n`` matrix of the full (``log2 n`` levels) 1-D discrete Haar
transform with periodic boundaries: row 0 is the mean ``1/sqrt(n)``, then the details from the
coarsest level to the finest, each level's rows in position order. ``haar_matrix(n) @ x`` equals
the concatenated output of ``pywt.wavedec(x, "haar", mode="periodization")`` (tests/test_wavelet.py
compares them, and a 4-point transform written out by hand). It is orthogonal, so its transpose
inverts it.

A 2-D image ``X`` (``[..., n, n]``) is transformed separably, rows then columns:
``H X H^T`` (the "standard" decomposition: every row fully transformed, then every column), as
the Spiking Wavelet Transformer does; the inverse is ``H^T Y H``. Models put spiking neurons
between the two 1-D passes (:class:`step.models.swformer.FrequencyMixer`), so the passes are
exposed one by one: :func:`along_rows` and :func:`along_columns`.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from step.errors import SpecError


def haar_matrix(n: int, dtype: torch.dtype = torch.float32,
                device: torch.device | str | None = None) -> Tensor:
    """The ``n x n`` orthonormal Haar transform matrix (``n`` a power of 2)."""
    if n < 1 or n & (n - 1):
        raise SpecError(f"the Haar transform needs a power-of-2 size, got {n}")
    rows = [torch.full((n,), 1.0 / math.sqrt(n), dtype=torch.float64)]
    width = n  # support of the details of the current level
    while width > 1:
        amp = 1.0 / math.sqrt(width)
        for start in range(0, n, width):
            row = torch.zeros(n, dtype=torch.float64)
            row[start:start + width // 2] = amp
            row[start + width // 2:start + width] = -amp
            rows.append(row)
        width //= 2
    return torch.stack(rows).to(dtype=dtype, device=device)


def along_rows(x: Tensor, matrix: Tensor) -> Tensor:
    """Apply ``matrix`` to every row of ``x`` (the last axis): ``x @ matrix^T``."""
    return x @ matrix.transpose(0, 1)


def along_columns(x: Tensor, matrix: Tensor) -> Tensor:
    """Apply ``matrix`` to every column of ``x`` (the second-last axis): ``matrix @ x``."""
    return matrix @ x


__all__ = ["along_columns", "along_rows", "haar_matrix"]
