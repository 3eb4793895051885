"""Helpers of the adapter tests (test_adapters.py and the per-library files): the reference's
run step by step, the near-threshold mask, gradients keyed by the spec's names, a LIF's support
levels, and a library surrogate's backward against step's formula."""

from __future__ import annotations

from collections.abc import Callable

import torch

from step import registry
from step.reference.functional import neuron_step
from step.specs import NeuronSpec, parse_neuron
from step.support import Level
from step.surrogates import surrogate_grad


def float64_reference(spec: NeuronSpec) -> torch.nn.Module:
    """The reference backend's module with its parameters created in float64 (their initial
    values exact in float64, not float32 values cast up), recording its membrane."""
    torch.set_default_dtype(torch.float64)
    try:
        neuron = registry.get_backend("reference").build_neuron(spec)
    finally:
        torch.set_default_dtype(torch.float32)
    neuron.record_v = True
    return neuron


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


#: the names libraries give the spec's learnable threshold (as the plugin guide allows)
THRESHOLD_ALIASES = ("v_threshold", "threshold", "v_th")


def grads(backend: str, spec: NeuronSpec, x: torch.Tensor) -> tuple:
    """Spikes, membrane, and d(loss)/d(input and each trainable parameter), the parameters
    keyed by the spec's names (``v_threshold``, ``w``) whatever the module calls them."""
    neuron = registry.get_backend(backend).build_neuron(spec).double()
    neuron.record_v = True
    spikes = neuron(x)
    # not symmetric: with the straight-through surrogate and no reset, a symmetric weighting
    # cancels the threshold's gradient exactly
    weights = torch.linspace(-1.0, 1.5, spikes.numel(), dtype=x.dtype).view_as(spikes)
    loss = (spikes * weights).sum() + (neuron.v_seq * weights).sum()
    named = [(n, p) for n, p in neuron.named_parameters() if p.requires_grad]
    names = ["v_threshold" if n.rsplit(".", 1)[-1] in THRESHOLD_ALIASES else n.rsplit(".", 1)[-1]
             for n, _ in named]
    got = torch.autograd.grad(loss, [x, *(p for _, p in named)])
    return spikes, neuron.v_seq, {"x": got[0], **dict(zip(names, got[1:], strict=True))}


def lif_levels(backend: str, **fields: object) -> tuple[Level, Level]:
    """(forward, gradient) support of a LIF spec with ``fields`` on ``backend``."""
    spec = parse_neuron({"kind": "lif", **fields})
    support = registry.get_backend(backend).neuron_support(spec)
    return support.forward, support.gradient


def assert_gradient_is_formula(spike_fn: Callable[[torch.Tensor], torch.Tensor], kind: str,
                               alpha: float) -> None:
    """The backward of a library's spike function equals step's surrogate formula on [-2, 2]."""
    x = torch.linspace(-2, 2, 401, dtype=torch.float64).requires_grad_(True)
    spike_fn(x).sum().backward()
    torch.testing.assert_close(x.grad, surrogate_grad(kind, x.detach(), alpha), rtol=1e-12,
                               atol=1e-12)
