"""snnTorch neuron module: canonical specs mapped onto ``snn.Leaky``, looped over time.

Imported only when a neuron is built (it imports torch; snnTorch is imported through
:meth:`step.backend.Backend.import_library` so that a broken install gives one clear error).
Why each mapping holds is explained in :mod:`step.plugins.snntorch`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from step.backend import State
from step.errors import InputError
from step.plugins._adapter import LibraryNeuron
from step.plugins.snntorch.mapping import _RESET_MECHANISM, NATIVE_SURROGATES, adapter_reset_reason
from step.specs import NeuronSpec, SurrogateSpec
from step.surrogates import surrogate_grad

if TYPE_CHECKING:
    from step.backend import Backend


def build_spike_grad(spec: SurrogateSpec, surrogate_module: Any) -> Any:
    """snnTorch's own surrogate where it is equivalent, else step's formula via custom_surrogate."""
    if spec.kind in NATIVE_SURROGATES:
        factory, arg = NATIVE_SURROGATES[spec.kind]
        kwargs = {arg: float(spec.alpha)} if arg else {}
        return getattr(surrogate_module, factory)(**kwargs)
    kind, alpha = spec.kind, float(spec.alpha)

    def neutral_gradient(input_: Tensor, grad_input: Tensor, spikes: Tensor) -> Tensor:
        return grad_input * surrogate_grad(kind, input_, alpha)

    return surrogate_module.custom_surrogate(neutral_gradient)


def _forget_global_registration(leaky: nn.Module) -> None:
    """Take ``leaky`` off snnTorch's class-level list of every neuron ever built.

    ``SpikingNeuron.__init__`` appends each instance to a global list used only by the
    hidden-state helpers (``reset_hidden``, ``detach_hidden``), which this adapter never uses;
    left there, every neuron built would be kept alive and a user's ``Leaky.reset_hidden()``
    would overwrite this module's buffers.
    """
    for cls in type(leaky).__mro__:
        registry = cls.__dict__.get("instances")
        if isinstance(registry, list):
            registry[:] = [n for n in registry if n is not leaky]


class SnnTorchNeuron(LibraryNeuron):
    """IF / LIF (native) and PLIF (emulated) on one ``snn.Leaky`` with an explicit membrane."""

    library_rule = "gt"  # Leaky fires on mem - threshold > 0

    def __init__(self, spec: NeuronSpec, backend: Backend) -> None:
        snn = backend.import_library("snntorch")
        surrogate_module = backend.import_library("snntorch.surrogate")
        super().__init__(spec, backend.name, owns_w=False)
        # Hard and no reset work in the frame mem = v - v_reset (the zero reset is the reset to
        # v_reset); the soft reset in mem = v (it subtracts the canonical threshold).
        self.shift = 0.0 if spec.reset == "soft" else float(spec.v_reset)
        # Where Leaky's immediate reset is not canonical, it only charges and fires.
        self.adapter_reset = adapter_reset_reason(
            spec, backend.quirk_on("subtract_resubtracts")) is not None
        mechanism = "none" if self.adapter_reset else _RESET_MECHANISM[spec.reset]
        # with learn_threshold, Leaky's own threshold Parameter is the spec's v_threshold
        # (v_threshold - v_reset in the hard frame), registered before w as in the reference
        self.leaky = snn.Leaky(
            beta=self._constant_beta(),
            threshold=float(spec.v_threshold) - self.shift,
            spike_grad=build_spike_grad(spec.surrogate, surrogate_module),
            learn_threshold=spec.learn_threshold,
            reset_mechanism=mechanism,
            reset_delay=False,
        )
        _forget_global_registration(self.leaky)
        if spec.kind == "plif":
            self.w = nn.Parameter(torch.tensor(spec.initial_w))

    # -- parameter mapping ------------------------------------------------------------------
    def _constant_beta(self) -> float:
        """IF: no leak; LIF: 1 - 1/tau (PLIF starts there, then uses 1 - sigmoid(w))."""
        return 1.0 if self.spec.kind == "if" else 1.0 - 1.0 / self.spec.tau

    def _inv_tau(self) -> float | Tensor:
        if self.spec.kind == "plif":
            return torch.sigmoid(self.w)
        return 1.0 / self.spec.tau

    def drive(self, x: Tensor) -> Tensor:
        """The input Leaky gets: it adds its input unscaled and leaks towards 0 in its frame."""
        spec = self.spec
        if spec.kind == "if":
            return x
        k = self._inv_tau()
        offset = spec.v_reset - self.shift  # non-zero only for the soft reset's frame
        if spec.decay_input:
            return x * k + offset * k if offset else x * k
        return x + offset * k if offset else x

    @contextmanager
    def bound(self, x: Tensor) -> Iterator[None]:
        """Give Leaky this call's beta and threshold in the input's dtype, restore afterwards.

        Leaky keeps beta and threshold as float32 buffers built from Python floats; rebuilding
        them in the input's dtype keeps float64 runs at float64 precision. For PLIF, beta is a
        differentiable function of w during the call; afterwards the buffers hold plain
        detached values again (no graph kept alive in a buffer, the module stays copyable).
        """
        leaky = self.leaky
        if self.spec.kind == "plif":
            beta: Tensor = 1.0 - torch.sigmoid(self.w).to(x.dtype)
        else:
            beta = torch.tensor(self._constant_beta(), dtype=x.dtype, device=x.device)
        leaky.beta = beta
        if not self.spec.learn_threshold:
            th = self.fire_threshold(float(self.spec.v_threshold) - self.shift, x.dtype)
            leaky.threshold = torch.tensor(th, dtype=x.dtype, device=x.device)
        try:
            yield
        finally:
            leaky.beta = beta.detach()
            leaky.mem = torch.zeros(0, dtype=x.dtype, device=x.device)
            leaky.reset = None

    def _reset(self, mem: Tensor, spk: Tensor) -> Tensor:
        """The emulated reset, written as snnTorch writes its own (``mem - s*th``, ``mem - s*mem``).

        Applied to the membrane Leaky(reset_mechanism="none") returned, i.e. after charge and
        fire. The spike is cast to the membrane's dtype first: snnTorch's spikes are float32.
        """
        s = spk.to(mem.dtype)
        if self.spec.detach_reset:
            s = s.detach()
        if self.spec.reset == "soft":
            return mem - s * self.leaky.threshold.to(mem.dtype)
        return mem - s * mem

    # -- the LibraryNeuron loop -------------------------------------------------------------
    def start(self, x: Tensor, state: State | None) -> Tensor:
        if state is not None:
            mem = state["v"].to(x.dtype) - self.shift
            self._check_state(mem)
            return mem
        # rest: v = v_reset, i.e. mem = 0 in the shifted frame, v_reset in the soft one
        return torch.full_like(x[0], self.spec.v_reset - self.shift)

    def step(self, x_t: Tensor, mem: Tensor) -> tuple[Tensor, Tensor]:
        spk, mem = self.leaky(x_t, mem)
        if self.adapter_reset:
            mem = self._reset(mem, spk)
        return spk, mem

    def membrane(self, mem: Tensor) -> Tensor:
        return mem + self.shift

    def _check_state(self, mem: Tensor) -> None:
        """Refuse a passed membrane that Leaky's own zero reset would take for a spike.

        Leaky(reset_delay=False) recomputes the previous spike as H(mem - threshold) from the
        membrane it is given and zeroes such a membrane before charging. A state left by a
        previous call never is above threshold after a hard reset; a hand-made one can be.
        """
        if self.adapter_reset or self.spec.reset != "hard":
            return
        if bool((mem > self.leaky.threshold.detach()).any()):
            raise InputError(
                "snntorch: a passed state above v_threshold would be zeroed by snnTorch's "
                "zero reset before the first step; pass the state a previous call left "
                "(neuron.last_state), or use reset='soft'/'none'"
            )
