"""SpikingJelly neuron module: canonical specs mapped onto ``activation_based.functional``.

Imported only when a neuron is built (it imports torch; SpikingJelly is imported through
:meth:`step.backend.Backend.import_library` so that a broken install gives one clear error).
Why each mapping holds is explained in :mod:`step.plugins.spikingjelly`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from step.backend import State
from step.plugins._adapter import LibraryNeuron, fire_threshold
from step.plugins.spikingjelly.mapping import native_surrogate
from step.specs import NeuronSpec, SurrogateSpec
from step.surrogates import surrogate_grad

if TYPE_CHECKING:
    from step.backend import Backend

#: SpikingJelly's heaviside fires at equality.
LIBRARY_RULE = "ge"


def spec_threshold(spec: NeuronSpec, dtype: torch.dtype) -> float:
    """The threshold to hand SpikingJelly (which fires on ``h - th >= 0``) so that it fires by
    the spec's rule: ``v_threshold`` itself for ``ge``, one ulp above it for ``gt``
    (:mod:`step.fire_rule`)."""
    return fire_threshold(spec.v_threshold, spec.fire, dtype, LIBRARY_RULE)


class _NeutralSpike(torch.autograd.Function):
    """SpikingJelly's heaviside forward, step's surrogate formula backward."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, heaviside: Any, kind: str, alpha: float) -> Tensor:
        ctx.save_for_backward(x)
        ctx.kind, ctx.alpha = kind, alpha
        return heaviside(x).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None, None]:
        (x,) = ctx.saved_tensors
        return grad * surrogate_grad(ctx.kind, x, ctx.alpha), None, None, None


class NeutralSurrogate(nn.Module):
    """A surrogate module for SpikingJelly's extension point, for families it lacks.

    The forward keeps SpikingJelly's own ``heaviside`` (``x >= 0``) so that the fire-rule
    normalisation applies unchanged; only the gradient formula is step's (reported emulated).
    """

    def __init__(self, spec: SurrogateSpec, heaviside: Any) -> None:
        super().__init__()
        self.kind, self.alpha = spec.kind, float(spec.alpha)
        self._heaviside = heaviside

    def forward(self, x: Tensor) -> Tensor:
        return _NeutralSpike.apply(x, self._heaviside, self.kind, self.alpha)

    def extra_repr(self) -> str:
        return f"kind={self.kind}, alpha={self.alpha:g}"


def build_surrogate(spec: SurrogateSpec, surrogate_module: Any) -> nn.Module:
    """The library's equivalent surrogate, else step's formula behind its heaviside."""
    found = native_surrogate(spec)
    if found is None:
        return NeutralSurrogate(spec, surrogate_module.heaviside)
    name, kwargs = found
    return getattr(surrogate_module, name)(**kwargs)


class SpikingJellyNeuron(LibraryNeuron):
    """IF / LIF / PLIF computed by SpikingJelly's functional multi-step neurons.

    SpikingJelly loops over time itself, so :meth:`run` replaces the skeleton's loop; PLIF's
    ``w`` is the skeleton's (the same initial value as ``ParametricLIFNode(init_tau)``).
    """

    library_rule = LIBRARY_RULE

    def __init__(self, spec: NeuronSpec, backend: Backend) -> None:
        super().__init__(spec, backend.name)
        functional = backend.import_library("spikingjelly.activation_based.functional")
        surrogate_module = backend.import_library("spikingjelly.activation_based.surrogate")
        # Keep the function, not the library module: a module object would make the neuron
        # impossible to deepcopy or pickle.
        self._multi_step = getattr(functional, f"{spec.kind}_multi_step")
        self.surrogate_function = build_surrogate(spec.surrogate, surrogate_module)

    # -- parameter mapping ------------------------------------------------------------------
    def _library_input(self, x: Tensor) -> Tensor:
        """Offset the input where SpikingJelly's soft-reset charge leaks towards 0."""
        spec = self.spec
        if spec.kind == "if" or spec.reset != "soft" or spec.v_reset == 0.0:
            return x
        if spec.decay_input:
            return x + spec.v_reset
        k = torch.sigmoid(self.w) if spec.kind == "plif" else 1.0 / spec.tau
        return x + spec.v_reset * k

    def _call(
        self, x: Tensor, v0: Tensor, threshold: float, v_reset: float | None, detach: bool,
        store_v_seq: bool,
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        """One call of the library's multi-step function: (spikes, v_last, v_seq or None)."""
        spec, sg = self.spec, self.surrogate_function
        if spec.kind == "if":  # functional.if_multi_step
            return self._multi_step(x, v0, threshold, v_reset, sg, detach, store_v_seq)
        # functional.lif_multi_step takes tau, plif_multi_step the parameter w
        tau_or_w = float(spec.tau) if spec.kind == "lif" else self.w
        return self._multi_step(
            x, v0, tau_or_w, spec.decay_input, threshold, v_reset, sg, detach, store_v_seq
        )

    # -- the NeuronModule contract ----------------------------------------------------------
    def run(
        self, x: Tensor, state: State | None, record_v: bool
    ) -> tuple[Tensor, Tensor | None, State]:
        spec = self.spec
        v0 = state["v"].to(x.dtype) if state is not None else torch.full_like(x[0], spec.v_reset)
        threshold = self.fire_threshold(spec.v_threshold, x.dtype)
        x_lib = self._library_input(x)
        if spec.reset == "none":
            return self._run_without_reset(x_lib, v0, threshold)
        v_reset = None if spec.reset == "soft" else float(spec.v_reset)
        spikes, v_last, v_seq = self._call(
            x_lib, v0, threshold, v_reset, spec.detach_reset, record_v
        )
        return spikes, v_seq, {"v": v_last}

    def _run_without_reset(
        self, x: Tensor, v0: Tensor, threshold: float
    ) -> tuple[Tensor, Tensor, State]:
        """Emulated reset="none": library charge with a threshold never reached, library fire.

        With the dtype's largest value as threshold the neuron never fires, so its hard reset
        never acts (and is detached, so its zero spikes add no gradient): the library's
        membrane trace is the charge h. The spikes are the library surrogate applied to
        h - threshold, exactly as SpikingJelly's own fire step does.
        """
        unreachable = float(torch.finfo(x.dtype).max)
        _, v_last, h = self._call(x, v0, unreachable, float(self.spec.v_reset), True, True)
        assert h is not None
        spikes = self.surrogate_function(h - threshold).to(x.dtype)
        return spikes, h, {"v": v_last}
