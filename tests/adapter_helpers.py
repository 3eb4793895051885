"""Helpers shared by the four adapter test files: one run, the reference's charge, gradients.

Each library's file keeps what is particular to that library; these are the parts that were
the same in all of them.
"""

from __future__ import annotations

import torch

from step import registry
from step.reference.functional import charge_lif, neuron_step
from step.registry import get_backend
from step.specs import NeuronSpec, parse_neuron


def run(backend: str, spec: dict, x: torch.Tensor, state: dict | None = None):
    """(spikes, v_seq, module) for one call, module in the input's dtype."""
    neuron = get_backend(backend).build_neuron(spec).to(x.dtype)
    neuron.record_v = True
    with torch.no_grad():
        s = neuron(x, state=state)
    return s, neuron.v_seq, neuron


def reference_charge(spec: dict, x: torch.Tensor, v_seq: torch.Tensor) -> torch.Tensor:
    """h[t] of the reference run, from its membrane after reset (to find near-threshold steps)."""
    p = parse_neuron(spec)
    v_prev = torch.cat([torch.full_like(x[:1], p.v_reset), v_seq[:-1]])
    if p.kind == "if":
        return v_prev + x
    return charge_lif(x, v_prev, 1.0 / p.tau, p.v_reset, p.decay_input)


def _grads(backend: str, spec: dict, x: torch.Tensor):
    neuron = get_backend(backend).build_neuron(spec).double()
    neuron.record_v = True
    xx = x.clone().requires_grad_(True)
    s = neuron(xx)
    (s * torch.linspace(0.5, 1.5, s.shape[-1], dtype=s.dtype)).sum().add(
        0.3 * neuron.v_seq.sum()).backward()
    params = {n: p.grad.clone() for n, p in neuron.named_parameters()}
    return xx.grad, params, neuron


def reference_run(spec: NeuronSpec, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The reference's spikes, membrane after reset and charged membrane h, per step."""
    ref = registry.get_backend("reference").build_neuron(spec).to(x.dtype)
    v = torch.full_like(x[0], spec.v_reset)
    spikes, vs, hs = [], [], []
    for t in range(x.shape[0]):
        s, v, h = neuron_step(spec, x[t], v, ref.v_threshold, ref.inv_tau(),
                              spec.tau if spec.kind == "lif" else None)
        spikes.append(s), vs.append(v), hs.append(h)
    return torch.stack(spikes), torch.stack(vs), torch.stack(hs)


def trusted(h: torch.Tensor, v_threshold: float, tol: float) -> torch.Tensor:
    """False from the first step where h is within tol of the threshold (a legitimate flip)."""
    near = ((h - v_threshold).abs() < tol).to(torch.int8)
    return torch.cummax(near, dim=0).values == 0


def grads(backend: str, spec: NeuronSpec, x: torch.Tensor) -> tuple:
    """Spikes, membrane, and d(loss)/d(input and each trainable parameter)."""
    neuron = registry.get_backend(backend).build_neuron(spec).double()
    neuron.record_v = True
    spikes = neuron(x)
    weights = torch.linspace(-1.0, 1.0, spikes.numel(), dtype=x.dtype).view_as(spikes)
    loss = (spikes * weights).sum() + (neuron.v_seq * weights).sum()
    params = [p for p in neuron.parameters() if p.requires_grad]
    return spikes, neuron.v_seq, torch.autograd.grad(loss, [x, *params])
