"""The module every backend's neurons are: multi-step, time-first, reset by contract.

``forward(x)`` takes ``[T, B, ...]`` and returns spikes of the same shape. Each call starts from
rest (``v = v_reset``), so running a sequence never leaks state into the next and batch-size
changes are safe. To continue a sequence, pass the state of the previous call explicitly:
``neuron(x2, state=neuron.last_state)``. The state is a dict whose ``"v"`` entry is the membrane
in canonical units (after reset), whatever the library stores internally.

With ``record_v = True`` the module keeps the membrane after reset at every step in ``v_seq``.
"""

from __future__ import annotations

from abc import abstractmethod

import torch
from torch import Tensor, nn

from step.backend import check_supported_gradient
from step.errors import InputError
from step.specs import NeuronSpec
from step.support import Level, Support

State = dict[str, Tensor]


class NeuronModule(nn.Module):
    """Base of every backend's neuron module (see the module docstring for the contract)."""

    def __init__(self, spec: NeuronSpec, backend: str) -> None:
        super().__init__()
        self.spec = spec
        self.backend_name = backend
        self.support: Support | None = None
        self.record_v = False
        self.v_seq: Tensor | None = None
        self.last_state: State | None = None

    def forward(self, x: Tensor, state: State | None = None) -> Tensor:
        if x.dim() < 2:
            raise InputError(
                f"a neuron takes time-first input [T, B, ...], got shape {tuple(x.shape)}"
            )
        if not x.is_floating_point():  # integer maths would truncate the leak (or fail)
            raise InputError(f"a neuron takes a floating-point input current, got {x.dtype}: "
                             "convert it first, e.g. x.float()")
        # cheapest test first: this runs on every call of every neuron of a model
        if (
            self.support is not None
            and self.support.gradient is Level.UNSUPPORTED
            and torch.is_grad_enabled()
            and (x.requires_grad or any(p.requires_grad for p in self.parameters()))
        ):
            check_supported_gradient(self.backend_name, self.support)
        spikes, v_seq, final = self.run(x, state, self.record_v)
        self.last_state = final
        self.v_seq = v_seq
        return spikes

    @abstractmethod
    def run(
        self, x: Tensor, state: State | None, record_v: bool
    ) -> tuple[Tensor, Tensor | None, State]:
        """Compute the sequence: (spikes, membrane after reset per step or None, final state)."""

    def __getstate__(self) -> dict:
        # The last call's state and trace may hold an autograd graph, which cannot be deep-copied
        # or pickled (copy.deepcopy of a trained model, checkpoints): they are not part of the
        # module's identity, so copies start without them.
        state = self.__dict__.copy()
        state["last_state"] = None
        state["v_seq"] = None
        return state

    def reset(self) -> None:
        """Forget the last call's state and trace (the next call starts from rest anyway)."""
        self.last_state = None
        self.v_seq = None

    def extra_repr(self) -> str:
        return f"backend={self.backend_name}, spec={self.spec!r}"
