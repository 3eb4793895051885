"""BrainPy neuron module: ``brainpy.dyn.Lif`` run by JAX inside a torch autograd function.

Imported only when a neuron is built. The JAX side is two jit-compiled functions per module:
``simulate(x, v0) -> (spikes, v_seq)`` (a ``jax.lax.scan`` of ``Lif.update``) and its
``jax.vjp``. The backward recomputes the forward inside the vjp rather than keeping a JAX
closure alive on the torch graph: twice the forward's work, but both functions are compiled once
per shape and dtype and the torch graph holds only tensors. Tensors cross with DLPack (zero-copy
on CPU for contiguous tensors).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from step.backend import State
from step.plugins._adapter import LibraryNeuron
from step.plugins.brainpy.mapping import NATIVE_SURROGATES
from step.specs import NeuronSpec

if TYPE_CHECKING:
    from step.backend import Backend


def _to_jax(t: Tensor) -> Any:
    import jax.dlpack

    return jax.dlpack.from_dlpack(t.detach().contiguous())


def _to_torch(a: Any) -> Tensor:
    return torch.from_dlpack(a)


class _JaxLif(torch.autograd.Function):
    """Spikes and membrane trace of BrainPy's Lif; gradient by ``jax.vjp``, with respect to
    the input, the initial membrane and the parameters ``[tau, V_th]``."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, v0: Tensor, params: Tensor, sim: Any
                ) -> tuple[Tensor, Tensor]:
        spikes, v_seq = sim.forward(_to_jax(x), _to_jax(v0), _to_jax(params))
        ctx.sim = sim
        ctx.save_for_backward(x, v0, params)
        return _to_torch(spikes).clone(), _to_torch(v_seq).clone()

    @staticmethod
    def backward(ctx: Any, g_spikes: Tensor, g_v: Tensor
                 ) -> tuple[Tensor, Tensor, Tensor, None]:
        x, v0, params = ctx.saved_tensors
        gx, gv0, gp = ctx.sim.backward(_to_jax(x), _to_jax(v0), _to_jax(params),
                                       _to_jax(g_spikes), _to_jax(g_v))
        return _to_torch(gx).clone(), _to_torch(gv0).clone(), _to_torch(gp).clone(), None


class _Simulation:
    """The jit-compiled JAX functions of one spec (BrainPy objects stay on the JAX side).

    ``tau`` and the library threshold are inputs of the JAX function (``params = [tau,
    V_th]``), not constants, so that a learnt ``w`` (PLIF, ``tau = 1/sigmoid(w)``) or threshold
    gets its gradient from ``jax.vjp`` of BrainPy's update.
    """

    def __init__(self, spec: NeuronSpec, backend: Backend, exp_euler: bool) -> None:
        import jax

        bp = backend.import_library("brainpy")
        bm = backend.import_library("brainpy.math")
        # brainpy's import resets JAX to float32; float64 inputs need x64 (a process-wide JAX
        # switch: float32 arrays stay float32 under it, Python scalars are weakly typed)
        bm.enable_x64()
        self._share = backend.import_library("brainpy.context").share
        self._variable = bm.Variable
        self._spec = spec
        # a family braintools lacks has its gradient reported unsupported (NeuronModule then
        # refuses to run it with gradients): any surrogate computes the same forward x >= 0
        family = NATIVE_SURROGATES.get(spec.surrogate.kind, "Sigmoid")
        sg = getattr(bm.surrogate, family)(alpha=float(spec.surrogate.alpha))
        # Lif's detach_spk detaches the spike it returns too; LifRef's detaches it only in the
        # reset, and with tau_ref = 0 it is Lif (never refractory: see _simulate)
        self._detached = spec.detach_reset and spec.reset != "none"
        extra: dict[str, Any] = {"tau_ref": 0.0} if self._detached else {}
        self._make = partial(
            bp.dyn.LifRef if self._detached else bp.dyn.Lif, **extra, mode=bm.TrainingMode(),
            V_rest=float(spec.v_reset), spk_fun=sg,
            spk_reset="hard" if spec.reset == "hard" else "soft",
            detach_spk=self._detached, method="exp_auto" if exp_euler else "euler", init_var=False)
        self.forward = jax.jit(self._simulate)
        self.backward = jax.jit(self._vjp)

    def _simulate(self, x: Any, v0: Any, params: Any) -> tuple[Any, Any]:
        import jax

        spec = self._spec
        tau, v_th = params[0], params[1]
        reset_value = {"hard": float(spec.v_reset), "soft": 0.0, "none": v_th}[spec.reset]
        # built inside the trace: its state never outlives it
        lif = self._make(x.shape[2:], tau=tau, V_th=v_th, V_reset=reset_value,
                         R=1.0 if spec.decay_input else tau)

        def body(v: Any, x_t: Any) -> tuple[Any, tuple[Any, Any]]:
            # fresh state variables holding the carried tracers: Lif.update reads and writes
            # them, and nothing of BrainPy's state outlives this trace
            lif.V = self._variable(v, batch_axis=0)
            lif.spike = self._variable(jax.numpy.zeros_like(v), batch_axis=0)
            if self._detached:  # refractory iff t - t_last_spike <= tau_ref = 0: never
                lif.t_last_spike = self._variable(jax.numpy.full_like(v, -1e7), batch_axis=0)
            self._share.save(t=0.0, dt=1.0)
            spike = lif.update(x_t)
            return lif.V.value, (spike, lif.V.value)

        _, (spikes, v_seq) = jax.lax.scan(body, v0, x)
        return spikes.astype(x.dtype), v_seq

    def _vjp(self, x: Any, v0: Any, params: Any, g_spikes: Any, g_v: Any
             ) -> tuple[Any, Any, Any]:
        import jax

        _, pullback = jax.vjp(self._simulate, x, v0, params)
        return pullback((g_spikes, g_v))


#: compiled simulations by (spec, exp_euler quirk), for the process
_SIMULATIONS: dict[tuple[str, bool], _Simulation] = {}


class BrainPyNeuron(LibraryNeuron):
    """LIF computed by BrainPy on JAX; the torch module only reshapes and converts."""

    library_rule = "ge"  # braintools' heaviside: x >= 0

    def __init__(self, spec: NeuronSpec, backend: Backend) -> None:
        backend.import_library("brainpy")  # a broken install shows here, not at the first call
        super().__init__(spec, backend.name, owns_threshold=True)
        self._backend = backend
        self._exp_euler = backend.quirk_on("exp_euler")

    def _simulation(self) -> _Simulation:
        """The compiled simulation of this spec, shared by every neuron with the same spec: a
        transformer's many identical neurons then compile once per shape, not once each."""
        key = (self.spec.model_dump_json(), self._exp_euler)
        if key not in _SIMULATIONS:
            _SIMULATIONS[key] = _Simulation(self.spec, self._backend, self._exp_euler)
        return _SIMULATIONS[key]

    def _params(self, x: Tensor) -> Tensor:
        """``[tau, V_th]`` in the input's dtype: PLIF's ``tau = 1/sigmoid(w)`` and a learnt
        threshold keep their graph to ``w`` and ``v_threshold``; V_th is nudged for the rule."""
        spec = self.spec
        if spec.kind == "plif":
            tau = 1.0 / torch.sigmoid(self.w.to(x.dtype))
        else:
            tau = torch.tensor(float(spec.tau), dtype=x.dtype)
        if spec.learn_threshold:
            v_th = self.fire_threshold(self.v_threshold.to(x.dtype), x.dtype)
        else:
            v_th = torch.tensor(self.fire_threshold(spec.v_threshold, x.dtype), dtype=x.dtype)
        return torch.stack([tau, v_th])

    def start(self, x: Tensor, state: State | None) -> Tensor:
        if state is not None:
            return state["v"].to(x.dtype)
        return torch.full_like(x[0], float(self.spec.v_reset))

    def membrane(self, v: Tensor) -> Tensor:
        return v

    def run(self, x: Tensor, state: State | None, record_v: bool
            ) -> tuple[Tensor, Tensor | None, dict[str, Tensor]]:
        if x.device.type != "cpu":
            from step.errors import InputError

            raise InputError("brainpy: the adapter runs JAX on the CPU; pass CPU tensors "
                             "(--device cpu)")
        t, b = x.shape[:2]
        v0 = self.start(x, state).reshape(b, -1)
        spikes, v_seq = _JaxLif.apply(x.reshape(t, b, -1), v0, self._params(x),
                                      self._simulation())
        spikes = spikes.reshape(x.shape)
        v_seq = v_seq.reshape(x.shape)
        return spikes, (v_seq if record_v else None), {"v": v_seq[-1]}
