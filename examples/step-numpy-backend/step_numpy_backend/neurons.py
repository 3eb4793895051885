"""IF and LIF in NumPy, written from the equations in STEP's spec docstrings."""

from __future__ import annotations

import numpy as np
import torch

from step.nn import NeuronModule, State
from step.specs import NeuronSpec


class NumpyNeuron(NeuronModule):
    def __init__(self, spec: NeuronSpec) -> None:
        super().__init__(spec, "numpy")

    def run(self, x: torch.Tensor, state: State | None, record_v: bool):  # noqa: ANN201
        spec = self.spec
        xs = x.detach().cpu().numpy()
        v = (state["v"].detach().cpu().numpy().copy() if state is not None
             else np.full(xs.shape[1:], spec.v_reset, dtype=xs.dtype))
        spikes = np.zeros_like(xs)
        vs = np.zeros_like(xs)
        for t in range(xs.shape[0]):
            if spec.kind == "if":
                h = v + xs[t]
            elif spec.decay_input:
                h = v + (xs[t] - (v - spec.v_reset)) / spec.tau
            else:
                h = v - (v - spec.v_reset) / spec.tau + xs[t]
            s = (h - spec.v_threshold > 0).astype(xs.dtype)
            if spec.reset == "hard":
                v = np.where(s > 0, np.asarray(spec.v_reset, dtype=xs.dtype), h)
            elif spec.reset == "soft":
                v = h - s * spec.v_threshold
            else:
                v = h
            spikes[t], vs[t] = s, v
        as_torch = lambda a: torch.from_numpy(a).to(x.device)  # noqa: E731
        return as_torch(spikes), (as_torch(vs) if record_v else None), {"v": as_torch(v)}
