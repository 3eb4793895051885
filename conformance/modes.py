"""How a case calls a backend's neuron module, one function per mode.

Each mode drives the module through the :class:`step.backend.NeuronModule` contract and returns
what it saw (:class:`Seen`): the runs to compare with the reference, the gradients, and the
verdicts of checks that need no reference (two runs of one input agree bit for bit; the module
trains nothing the spec does not declare).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

from step.backend import NeuronModule
from step.conformance.cases import Case
from step.conformance.compare import Divergence, Verdict, compare_identical
from step.conformance.expect import Expected, drive_for, loss_weights


@dataclass
class Observation:
    """One call (or stitched calls) of the module, to compare with rows of the reference."""

    where: str
    spikes: Tensor
    v_seq: Tensor | None
    final_v: Tensor | None
    rows: slice = field(default_factory=lambda: slice(None))  # batch rows of the reference


@dataclass
class Seen:
    observations: list[Observation]
    grads: dict[str, Tensor | None] = field(default_factory=dict)
    checks: list[Verdict] = field(default_factory=list)


def _final_v(neuron: NeuronModule) -> Tensor | None:
    state = neuron.last_state
    return state.get("v") if isinstance(state, dict) else None


def call(neuron: NeuronModule, x: Tensor, where: str, rows: slice = slice(None),
         state: dict | None = None) -> Observation:
    """One forward call, recording the membrane; the outputs are detached copies."""
    spikes = neuron(x, state=state)
    v_seq = neuron.v_seq
    final = _final_v(neuron)
    return Observation(where, spikes.detach().clone(),
                       None if v_seq is None else v_seq.detach().clone(),
                       None if final is None else final.detach().clone(), rows)


def multi_step(neuron: NeuronModule, exp: Expected, case: Case) -> Seen:
    """The whole sequence in one call."""
    with torch.no_grad():
        return Seen([call(neuron, exp.x, "whole sequence")])


def single_step(neuron: NeuronModule, exp: Expected, case: Case) -> Seen:
    """One step per call, passing ``last_state`` back: must equal the whole-sequence run."""
    spikes, vs = [], []
    state = None
    with torch.no_grad():
        for t in range(exp.x.shape[0]):
            obs = call(neuron, exp.x[t:t + 1], "one step at a time", state=state)
            spikes.append(obs.spikes)
            vs.append(obs.v_seq)
            state = neuron.last_state
    v_seq = None if any(v is None for v in vs) else torch.cat(vs)  # type: ignore[arg-type]
    return Seen([Observation("one step at a time", torch.cat(spikes), v_seq,
                             _final_v(neuron))])


def state_reset(neuron: NeuronModule, exp: Expected, case: Case) -> Seen:
    """Another sequence first, then the case's input twice: no state may carry over."""
    other = drive_for(case, "constant", case.seed + 7, exp.x.dtype)
    with torch.no_grad():
        call(neuron, other, "another sequence")
        after = call(neuron, exp.x, "after another sequence")
        again = call(neuron, exp.x, "second run of the same input")
    checks = [compare_identical("spikes", after.spikes, again.spikes, again.where)]
    if after.v_seq is not None and again.v_seq is not None:
        checks.append(compare_identical("membrane", after.v_seq, again.v_seq, again.where))
    return Seen([after, again], checks=checks)


def batch_change(neuron: NeuronModule, exp: Expected, case: Case) -> Seen:
    """Batch 4, then 2 other rows, then 4 again on one module: shapes must not leak state."""
    plan = [(slice(None), f"batch {case.B}"), (slice(1, 3), "batch 2 (rows 1-2)"),
            (slice(None), f"batch {case.B} again")]
    with torch.no_grad():
        return Seen([call(neuron, exp.x[:, rows], where, rows) for rows, where in plan])


#: Names under which a module may expose a learnable parameter of the spec, besides the
#: spec's own name: the libraries call the threshold ``threshold`` (snnTorch, BrainCog) or
#: ``v_th`` (Norse).
PARAMETER_ALIASES: dict[str, tuple[str, ...]] = {"v_threshold": ("threshold", "v_th")}


def find_parameter(neuron: NeuronModule, name: str) -> tuple[str, Tensor] | None:
    """The module's trainable parameter for the spec's learnable ``name``.

    Adapters expose each learnable parameter of the spec under its name (``w``,
    ``v_threshold``) or an alias of :data:`PARAMETER_ALIASES`, possibly inside a submodule
    (``node.w``). The spec's own name wins over an alias.
    """
    params = list(neuron.named_parameters())
    for candidate in (name, *PARAMETER_ALIASES.get(name, ())):
        for full, p in params:
            if p.requires_grad and (full == candidate or full.endswith("." + candidate)):
                return full, p
    return None


def _gradients(neuron: NeuronModule, exp: Expected, case: Case) -> Seen:
    """Backward of sum(w * spikes) to the input and to every learnable parameter."""
    declared = list(case.spec.learnable_parameters())
    found = {n: find_parameter(neuron, n) for n in declared}
    checks: list[Verdict] = []
    matched = {f[0] for f in found.values() if f is not None}
    for full, p in neuron.named_parameters():
        if p.requires_grad and full not in matched:
            checks.append(Verdict(Divergence(
                "parameters", None, (), None, None, message=f"trainable parameter {full!r} is "
                "not declared by the spec (an optimiser would train it; freeze it)")))
    x = exp.x.clone().requires_grad_(True)
    with torch.enable_grad():
        spikes = neuron(x)
        v_seq = neuron.v_seq
        final = _final_v(neuron)
        targets: list[Tensor] = [x] + [f[1] for f in found.values() if f is not None]
        loss = (spikes * loss_weights(case, spikes)).sum()
        values = torch.autograd.grad(loss, targets, allow_unused=True) if loss.requires_grad \
            else [None] * len(targets)
    grads: dict[str, Tensor | None] = {"x": values[0]}
    it = iter(values[1:])
    for n, f in found.items():
        grads[n] = next(it) if f is not None else None
        if f is None:
            have = [k for k, _ in neuron.named_parameters()]
            checks.append(Verdict(Divergence(
                f"gradient of {n}", None, (), None, None, message="the module has no trainable "
                f"parameter named {n!r} (it has {have}); expose the spec's learnable "
                "parameters under their names")))
    obs = Observation("whole sequence", spikes.detach().clone(),
                      None if v_seq is None else v_seq.detach().clone(),
                      None if final is None else final.detach().clone())
    return Seen([obs], grads=grads, checks=checks)


def input_gradient(neuron: NeuronModule, exp: Expected, case: Case) -> Seen:
    """Gradient of the input; judged on ``x`` only."""
    seen = _gradients(neuron, exp, case)
    seen.grads = {"x": seen.grads["x"]}
    seen.checks = [c for c in seen.checks if c.divergence is None
                   or c.divergence.quantity == "parameters"]
    return seen


def parameter_gradient(neuron: NeuronModule, exp: Expected, case: Case) -> Seen:
    """Gradients of the learnable parameters (PLIF ``w``, a learnt threshold)."""
    seen = _gradients(neuron, exp, case)
    seen.grads = {k: v for k, v in seen.grads.items() if k != "x"}
    return seen


#: mode name -> how it calls the module. Keys match :data:`step.conformance.cases` modes.
MODES: dict[str, Callable[[NeuronModule, Expected, Case], Seen]] = {
    "multi-step": multi_step,
    "single-step": single_step,
    "state-reset": state_reset,
    "batch-change": batch_change,
    "input-grad": input_gradient,
    "param-grad": parameter_gradient,
}
