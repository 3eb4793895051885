"""What a case should produce: the canonical equations run directly, never a backend module.

The expectation is computed from :func:`step.reference.functional.neuron_step` in the case's
dtype, so the reference *backend* (a module built through the plugin system) is judged like any
other backend and a faulty subclass of it is caught. ``neuron_step`` also returns the charged
membrane ``h``, from which the near-threshold margin ``h - v_th`` of the policy comes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from step.conformance.cases import Case
from step.conformance.drives import make_drive
from step.conformance.policy import TOLERANCES, torch_dtype
from step.reference._dynamics import DYNAMICS, simulate
from step.reference._dynamics import initial_parameters as zoo_parameters
from step.reference.functional import neuron_step
from step.reference.zoo import has_dynamics  # noqa: F401  (imports the zoo's equations)
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
    """The learnable parameters at their canonical initial values (PLIF w0 = -ln(tau - 1))."""
    if spec.kind in DYNAMICS:  # a zoo kind: its reference module knows its parameters
        return zoo_parameters(spec, dtype)
    params: dict[str, Tensor] = {}
    if spec.kind == "plif":
        params["w"] = torch.tensor(spec.initial_w, dtype=dtype)
    if spec.learn_threshold:
        params["v_threshold"] = torch.tensor(spec.v_threshold, dtype=dtype)
    return params


#: Gradient cases redraw their input (next seed) until no charged membrane of the reference
#: lies this close to the threshold, so that a legitimate near-threshold flip never stops a
#: gradient from being compared.
GRADIENT_CLEARANCE = 10 * TOLERANCES["float32"].threshold_band


def case_input(case: Case, attempt: int = 0) -> Tensor:
    """The case's main input, drawn from its seed (and the attempt) in its dtype."""
    return make_drive(case.drive, case.T, case.B, case.N, case.spec, case.seed + 1009 * attempt,
                      torch_dtype(case.dtype))


def loss_weights(case: Case, like: Tensor) -> Tensor:
    """Fixed random weights of the spikes in the gradient cases' loss, sum(w * s)."""
    gen = torch.Generator().manual_seed(case.seed + 1)
    w = 0.5 + torch.rand(like.shape, generator=gen, dtype=torch.float64)
    return w.to(like.dtype)


def expected(case: Case) -> Expected:
    """Run the canonical equations on the case's input (with gradients for gradient modes)."""
    if case.aspect == "forward":
        return _run(case, case_input(case))
    for attempt in range(20):
        exp = _run(case, case_input(case, attempt))
        if float(exp.margin.abs().min()) > GRADIENT_CLEARANCE:
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
        if spec.kind in DYNAMICS:  # a zoo kind: the same simulate() its reference module runs
            run = simulate(spec, leaves["x"], {n: t for n, t in leaves.items() if n != "x"})
            s_seq, v_seq, margin, v = run.output, run.v_seq, run.margin, run.state["v"]
        else:
            s_seq, v_seq, margin, v = _base_kinds(spec, leaves)
        grads: dict[str, Tensor] = {}
        if grad:
            loss = (s_seq * loss_weights(case, s_seq)).sum()
            names = list(leaves)
            values = torch.autograd.grad(loss, [leaves[n] for n in names], allow_unused=True)
            grads = {n: (g if g is not None else torch.zeros_like(leaves[n]))
                     for n, g in zip(names, values, strict=True)}
    return Expected(x=x, spikes=s_seq.detach(), v=v_seq.detach(), margin=margin.detach(),
                    final_v=v.detach(), grads=grads)


def _base_kinds(spec: NeuronSpec, leaves: dict[str, Tensor]
                ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """IF / LIF / PLIF step by step: (spikes, membrane, h - v_th, final membrane)."""
    v_th = leaves.get("v_threshold", spec.v_threshold)
    if spec.kind == "plif":
        inv_tau: float | Tensor | None = torch.sigmoid(leaves["w"])
    elif spec.kind == "if":
        inv_tau = None
    else:
        inv_tau = 1.0 / spec.tau
    x = leaves["x"]
    v = torch.full_like(x[0], spec.v_reset)
    spikes, vs, margins = [], [], []
    for t in range(x.shape[0]):
        s, v, h = neuron_step(spec, x[t], v, v_th, inv_tau,
                              spec.tau if spec.kind == "lif" else None)
        spikes.append(s)
        vs.append(v)
        margins.append(h - v_th)
    return torch.stack(spikes), torch.stack(vs), torch.stack(margins), v
