"""Running a case's neuron on another device, or under ``torch.autocast``, judged on the CPU.

The oracle, the drives and the comparison stay on the CPU in the case's dtype; only the
backend's module moves. :class:`Placed` wraps the module built for a case: each call moves the
input (and a passed state) to the device, runs the module there, under autocast for the
autocast case set, and brings spikes, membrane trace and state back to the CPU in the case's
dtype. Gradients flow through the moves, so the gradient modes work unchanged; the module's
parameters stay visible under their own names (``inner.w``).

Under autocast the neuron receives its input in bfloat16, as it does in a model whose linear or
convolution layer runs under ``torch.autocast(dtype=torch.bfloat16)``: autocast casts the
matmul's output, and the neuron's elementwise arithmetic then runs in bfloat16.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import torch
from torch import Tensor, nn


class Placed(nn.Module):
    """``inner`` run on ``device`` (and under bf16 autocast when ``autocast``), seen from the
    CPU: the :class:`~step.backend.NeuronModule` attributes the modes use, in ``dtype``."""

    def __init__(self, inner: nn.Module, device: str, autocast: bool, dtype: torch.dtype) -> None:
        super().__init__()
        self.inner = inner.to(device)
        self.spec = inner.spec
        self.device, self.autocast, self.dtype = torch.device(device), autocast, dtype
        self.v_seq: Tensor | None = None
        self.last_state: dict[str, Tensor] | None = None

    @property
    def record_v(self) -> bool:
        return bool(self.inner.record_v)

    @record_v.setter
    def record_v(self, value: bool) -> None:
        self.inner.record_v = value

    def _there(self, t: Tensor) -> Tensor:
        return t.to(self.device, torch.bfloat16 if self.autocast else t.dtype)

    def _back(self, t: Any) -> Any:
        return t.to("cpu", self.dtype) if isinstance(t, Tensor) else t

    def forward(self, x: Tensor, state: dict[str, Tensor] | None = None) -> Tensor:
        there = None if state is None else {k: self._there(v) for k, v in state.items()}
        context = (torch.autocast(self.device.type, dtype=torch.bfloat16) if self.autocast
                   else nullcontext())
        with context:
            spikes = self.inner(self._there(x), state=there)
        self.v_seq = self._back(self.inner.v_seq)
        last = self.inner.last_state
        self.last_state = None if last is None else {k: self._back(v) for k, v in last.items()}
        return self._back(spikes)
