"""Mixed precision (``--amp bf16|fp16``) with torch's own autocast and gradient scaler.

Inside :func:`autocast` matrix products and convolutions run in the chosen 16-bit type; the
neurons see 16-bit inputs wherever their layer before ran in 16 bits. fp16 has few exponent
bits, so its gradients are scaled (:class:`torch.amp.GradScaler`) to keep small ones from
vanishing; bf16 has float32's exponent range and needs none. torch autocasts to both types on
CPU as well as CUDA, so the same run runs on either.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

import torch

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def autocast(device: str, amp: str | None) -> AbstractContextManager[Any]:
    """torch.autocast to ``amp``'s dtype on ``device``'s type, or nothing."""
    if amp is None:
        return nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=DTYPES[amp])


def grad_scaler(device: str, amp: str | None) -> torch.amp.GradScaler | None:
    """A gradient scaler for fp16, None otherwise (bf16 and float32 need none)."""
    if amp != "fp16":
        return None
    return torch.amp.GradScaler(torch.device(device).type)
