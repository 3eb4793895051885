"""Plumbing of the reference: the registry of every kind's step functions and the time loop.

Each zoo kind (:mod:`step.specs.lif_variants`, :mod:`step.specs.integer`,
:mod:`step.specs.gated`, :mod:`step.specs.biophysical`) has its equations once, as pure
functions in the mirrored module of :mod:`step.reference`, registered here as a
:class:`Dynamics`:

- ``parameters(spec, dtype)``: the learnable parameters at their canonical initial values;
- ``rest(spec, like, params)``: the state at rest (a dict whose ``"v"`` is the canonical
  membrane), shaped like one time step of the input;
- ``step(spec, x, state, params) -> (out, state)``: one time step.

How far a step was from changing its output (the margin by which the conformance suite excuses
a spike that differs only within rounding) is the oracle's business
(:mod:`step.conformance.oracle`), not the reference's.

A kind that is not a recursion over time (PSN sees the whole sequence at once) gives
``sequence`` instead of ``step``. :func:`simulate` runs either; the reference's one neuron
module (:mod:`step.reference.neurons`) calls it for every kind, IF / LIF / PLIF included (their
equations register from :mod:`step.reference.functional`, with a fused fast path beside them).
The conformance suite's expectations come from its own, independent oracle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from step.errors import InputError
from step.specs import NeuronSpec

State = dict[str, Tensor]
Params = dict[str, Tensor]
StepFn = Callable[[NeuronSpec, Tensor, State, Params], tuple[Tensor, State]]


class Run(NamedTuple):
    """A simulated sequence: output, membrane per step, final state."""

    output: Tensor
    v_seq: Tensor
    state: State


@dataclass(frozen=True)
class Dynamics:
    """The equations of one neuron kind (see the module docstring)."""

    parameters: Callable[[NeuronSpec, torch.dtype], Params]
    rest: Callable[[NeuronSpec, Tensor, Params], State]
    step: StepFn | None = None
    sequence: Callable[[NeuronSpec, Tensor, Params], Run] | None = None


#: kind -> its equations. Filled by :func:`register_dynamics` in the kind modules.
DYNAMICS: dict[str, Dynamics] = {}


def register_dynamics(kind: str, dynamics: Dynamics) -> Dynamics:
    """Make ``kind``'s equations known to the reference backend and the conformance suite."""
    if kind in DYNAMICS:
        raise ValueError(f"reference dynamics for {kind!r} are registered twice")
    DYNAMICS[kind] = dynamics
    return dynamics


def no_parameters(spec: NeuronSpec, dtype: torch.dtype) -> Params:
    """For kinds that learn nothing of their own."""
    return {}


def initial_parameters(spec: NeuronSpec, dtype: torch.dtype) -> Params:
    """Every learnable parameter of ``spec`` at its canonical initial value, in ``dtype``.

    The kind's own parameters, plus ``v_threshold`` when ``learn_threshold`` is set.
    """
    params = dict(DYNAMICS[spec.kind].parameters(spec, dtype))
    if spec.learn_threshold:
        params["v_threshold"] = torch.tensor(spec.v_threshold, dtype=dtype)
    return params


def threshold(spec: NeuronSpec, params: Params) -> float | Tensor:
    """The threshold in force: the learnt parameter if there is one, else the spec's."""
    return params["v_threshold"] if spec.learn_threshold else spec.v_threshold


def simulate(spec: NeuronSpec, x: Tensor, params: Params, state: State | None = None) -> Run:
    """Run ``spec``'s equations over ``x`` ([T, B, ...]) from ``state`` (rest when None)."""
    dyn = DYNAMICS[spec.kind]
    if dyn.sequence is not None:
        if state is not None:
            raise InputError(
                f"a {spec.kind} neuron has no state across calls (it sees all T steps at "
                "once): call it on the whole sequence without a state"
            )
        return dyn.sequence(spec, x, params)
    assert dyn.step is not None, f"{spec.kind}: a Dynamics needs step or sequence"
    rest = dyn.rest(spec, x[0], params)
    if state is None:
        state = rest
    else:
        missing = sorted(set(rest) - set(state))
        if missing:
            raise InputError(
                f"a {spec.kind} neuron's state needs the keys {sorted(rest)}; missing "
                f"{missing} (pass the state a previous call left: neuron.last_state)"
            )
    outs, vs = [], []
    # unbind, not x[t]: each x[t] would give the backward a full-size zero tensor (O(T^2))
    for xt in x.unbind(0):
        out, state = dyn.step(spec, xt, state, params)
        outs.append(out)
        vs.append(state["v"])
    return Run(torch.stack(outs), torch.stack(vs), state)
