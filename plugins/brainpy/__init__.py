"""BrainPy adapter (``step.backends: brainpy``), for brainpy 2.8 on JAX: the first backend
outside torch.

A torch model runs its neurons in BrainPy through one ``torch.autograd.Function``
(:mod:`.neurons`): the forward hands the input ``[T, B, ...]`` to JAX through DLPack (no copy on
CPU when the tensor is contiguous), runs ``brainpy.dyn.Lif`` over time with ``jax.lax.scan``
(jit-compiled once per shape and dtype), and hands spikes and membrane back through DLPack; the
backward is ``jax.vjp`` of the same function, so the gradient is JAX's differentiation of
BrainPy's update (its surrogate included). Only the ``NeuronModule`` shell is torch.

Mapping (read from brainpy 2.8.2 ``dyn/neurons/lif.py`` and braintools 0.3 ``surrogate``):
``Lif`` in ``TrainingMode`` integrates ``dV/dt = (-V + V_rest + R*I)/tau``; with
``method="euler"`` and ``dt=1`` that is ``V + (-V + V_rest + R*x)/tau``, the canonical charge
with ``V_rest = v_reset`` and ``R = 1`` (``decay_input``) or ``R = tau`` (without). Its spike is
``spk_fun(V - V_th)``, a braintools surrogate whose forward is ``x >= 0`` (``fire="ge"``; the
threshold is nudged one ulp for ``gt``). Reset ``hard`` is ``V += (V_reset - V) * spike``;
``soft`` is ``V -= (V_th - V_reset) * spike`` with ``V_reset = 0`` (it subtracts ``V_th``);
``none`` is the soft reset with ``V_reset = V_th`` (it subtracts 0).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from step.backend import Backend
from step.hookspecs import hookimpl
from step.plugins._adapter import LibraryBackend, Plan
from step.quirks import Quirk, library_fire_rule
from step.specs import NeuronSpec

from .mapping import plan

if TYPE_CHECKING:
    from step.backend import NeuronModule


class BrainPyBackend(LibraryBackend):
    """LIF on ``brainpy.dyn.Lif`` run by JAX, wrapped in a torch autograd function."""

    name = "brainpy"
    label = "BrainPy"
    library = "brainpy"
    distribution = "brainpy"
    install_hint = "pip install 'step-snn[brainpy]'"
    description = "BrainPy 2.x brainpy.dyn.Lif on JAX (lax.scan, jax.vjp), via DLPack"
    fire_rules = ("gt", "ge")
    quirks = {q.name: q for q in (
        library_fire_rule("ge", "BrainPy", "braintools heaviside: x >= 0"),
        Quirk("exp_euler", "brainpy.dyn.Lif integrates with method='exp_auto' by default (the "
              "exact exponential solution, decay exp(-1/tau)), not the Euler step 1 - 1/tau",
              when=lambda spec: spec.kind == "lif"),
    )}

    def base_plan(self, spec: NeuronSpec) -> Plan:
        return plan(spec, self.quirk_on("exp_euler"))

    def build(self, spec: NeuronSpec, plan: Plan) -> NeuronModule:
        from step.plugins.brainpy.neurons import BrainPyNeuron

        return BrainPyNeuron(spec, self)


@hookimpl
def step_backends() -> list[Backend]:
    return [BrainPyBackend()]
