"""``step.nn.Encoder``: the neutral encoder module (identical spikes on every backend)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from step.reference.encoders import encode
from step.specs import EncoderSpec, parse_encoder


class Encoder(nn.Module):
    """Turn an input into a time-first spike tensor ``[T, B, ...]``.

    Stochastic encoders draw from the module's own generator, seeded from the spec; the
    generator restarts from the seed on :meth:`reset`, so a run is reproducible.
    """

    def __init__(self, spec: EncoderSpec | dict[str, Any] | str) -> None:
        super().__init__()
        self.spec = parse_encoder(spec)
        self.generator = torch.Generator()
        self.reset()

    def reset(self) -> None:
        self.generator.manual_seed(getattr(self.spec, "seed", 0))

    def forward(self, x: Tensor) -> Tensor:
        return encode(self.spec, x, self.generator)

    def extra_repr(self) -> str:
        return repr(self.spec)
