"""What a case should produce: the conformance oracle run directly, never a backend module.

The expectation comes from :mod:`.oracle`, a plain step-by-step implementation of every kind
written from the spec docstrings, independent of :mod:`step.reference`: the reference backend
is judged like any other backend, and a wrong equation in it (or a faulty subclass of it) is
caught. The oracle also returns ``h - v_th``, from which the policy's near-threshold margin
comes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from step.conformance.cases import Case
from step.conformance.drives import make_drive, shape_drive
from step.conformance.oracle import oracle_parameters, oracle_run
from step.conformance.policy import AUTOCAST, TOLERANCES, torch_dtype
from step.specs import NeuronSpec


@dataclass
class Expected:
    """The reference's answer for one case's main input."""

    x: Tensor                # the input [T, B, N]
    spikes: Tensor           # [T, B, N]
    v: Tensor                # membrane after reset, [T, B, N]
    margin: Tensor           # h - v_th, [T, B, N]
    final_v: Tensor          # [B, N]
    grads: dict[str, Tensor] = field(default_factory=dict)  # "x" and learnable parameters


def initial_parameters(spec: NeuronSpec, dtype: torch.dtype) -> dict[str, Tensor]:
    """The learnable parameters at their documented initial values (PLIF w0 = -ln(tau - 1))."""
    return oracle_parameters(spec, dtype)


#: Gradient cases redraw their input (next seed) until no charged membrane of the reference
#: lies this close to the threshold, so that a legitimate near-threshold flip never stops a
#: gradient from being compared.
GRADIENT_CLEARANCE = 10 * TOLERANCES["float32"].threshold_band


def case_input(case: Case, attempt: int = 0) -> Tensor:
    """The case's main input, drawn from its seed (and the attempt) in its dtype; for the
    autocast set rounded to bfloat16 first, so that reference and module see the same input."""
    x = drive_for(case, case.drive, case.seed + 1009 * attempt, torch_dtype(case.dtype))
    if case.dtype == AUTOCAST:
        x = x.to(torch.bfloat16).to(x.dtype)
    return x


def drive_for(case: Case, name: str, seed: int, dtype: torch.dtype) -> Tensor:
    """Drive ``name`` for ``case``'s spec in the case's layout (rank, contiguity)."""
    x = make_drive(name, case.T, case.B, case.N, case.spec, seed, dtype)
    if case.shape or not case.contiguous:
        x = shape_drive(x, case.neuron_shape, case.contiguous)
    return x


def loss_weights(case: Case, like: Tensor) -> Tensor:
    """Fixed random weights of the spikes in the gradient cases' loss, sum(w * s)."""
    gen = torch.Generator().manual_seed(case.seed + 1)
    w = 0.5 + torch.rand(like.shape, generator=gen, dtype=torch.float64)
    return w.to(like.dtype)


def expected(case: Case) -> Expected:
    """Run the oracle on the case's input (with gradients for gradient modes)."""
    if case.aspect == "forward":
        return _run(case, case_input(case))
    clearance = (GRADIENT_CLEARANCE if case.dtype != AUTOCAST
                 else 2 * TOLERANCES[AUTOCAST].threshold_band)
    for attempt in range(20):
        exp = _run(case, case_input(case, attempt))
        if float(exp.margin.abs().min()) > clearance:
            break
    return exp


def _run(case: Case, x: Tensor) -> Expected:
    spec = case.spec
    dtype = torch_dtype(case.dtype)
    params = initial_parameters(spec, dtype)
    grad = case.aspect == "gradient"
    leaves = {"x": x.clone().requires_grad_(True)} if grad else {"x": x}
    for name, value in params.items():
        leaves[name] = value.clone().requires_grad_(grad)
    with torch.enable_grad() if grad else torch.no_grad():
        s_seq, v_seq, margin, v = oracle_run(
            spec, leaves["x"], {n: t for n, t in leaves.items() if n != "x"})
        grads: dict[str, Tensor] = {}
        if grad:
            loss = (s_seq * loss_weights(case, s_seq)).sum()
            names = list(leaves)
            values = torch.autograd.grad(loss, [leaves[n] for n in names], allow_unused=True)
            grads = {n: (g if g is not None else torch.zeros_like(leaves[n]))
                     for n, g in zip(names, values, strict=True)}
    return Expected(x=x, spikes=s_seq.detach(), v=v_seq.detach(), margin=margin.detach(),
                    final_v=v.detach(), grads=grads)
