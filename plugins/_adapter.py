"""The skeleton every built-in library adapter stands on (third-party plugins may use it too).

Each adapter used to write the same plumbing again: the support decision with the neuron zoo
routed by hand, the time loop, dtype binding, PLIF's ``w``, the one-ulp threshold for the fire
rule and the float32-gradient declaration. It lives here once; a library package keeps only its
mapping (which library part computes which spec, and how well) and its quirks.

- :class:`LibraryBackend` answers ``neuron_support`` from one :class:`Plan` per spec:
  :meth:`~LibraryBackend.base_plan` for the base kinds (IF, LIF, PLIF),
  :meth:`~LibraryBackend.zoo_plan` for :data:`ZOO_KINDS`, an unknown kind refused in one
  sentence. ``_build_neuron`` builds from the same plan, so what is reported is what is built.
  Nothing here imports torch: support is decided from the spec alone.
- :class:`LibraryNeuron` (built on first access, as it needs torch) runs a single-step library
  over ``x.unbind(0)`` (indexing ``x[t]`` would give the backward a full-size zero tensor per
  step), binds the library to the input's dtype for the call, creates the learnable parameters
  under the names the spec uses (``v_threshold``, ``w``), and hands the library its threshold
  one ulp away where its comparison (``library_rule``) differs from the spec's ``fire``.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

from step.backend import Backend
from step.specs import NEURON_KINDS, NeuronSpec
from step.support import Support

if TYPE_CHECKING:
    import torch
    from torch import Tensor

    from step.backend import NeuronModule

#: The kinds every adapter maps itself (the canonical IF / LIF / PLIF of ``step.specs.neuron``).
BASE_KINDS = ("if", "lif", "plif")
#: The neuron zoo: every other kind in the spec registry, derived once for all adapters.
ZOO_KINDS = tuple(kind for kind in NEURON_KINDS if kind not in BASE_KINDS)


@dataclass(frozen=True)
class Plan:
    """What an adapter builds for one spec, and its support; a library extends it with the
    details its module needs (Norse's method and unit scale, BrainCog's node and surrogate)."""

    support: Support


def float32_gradient(support: Support, why: str) -> Support:
    """``support`` with the declaration that the library's backward runs in float32 (the
    conformance suite then notes float64 gradients that meet only the float32 tolerance)."""
    return replace(support, gradient_precision="float32", precision_how=why)


def fire_threshold(value: Any, fire: str, dtype: torch.dtype, library_rule: str) -> Any:
    """``value`` (a float, or a learnt tensor) as a library comparing with ``library_rule``
    must see it to fire by the spec's ``fire`` (:mod:`step.fire_rule`)."""
    from torch import Tensor

    from step.fire_rule import library_threshold, library_threshold_tensor

    if isinstance(value, Tensor):
        return library_threshold_tensor(value, fire, library_rule)
    return library_threshold(float(value), dtype, fire, library_rule)


class LibraryBackend(Backend):
    """A backend computing specs with one library: one plan per spec, decided without import."""

    #: The library's name in sentences ("the snnTorch adapter has no 'x' neuron").
    label: ClassVar[str] = ""

    def neuron_support(self, spec: NeuronSpec) -> Support:
        return self.plan(spec).support

    def plan(self, spec: NeuronSpec) -> Plan:
        """The one place where a spec's support is decided: base kinds, zoo, or refused."""
        if spec.kind in ZOO_KINDS:
            return self.zoo_plan(spec)
        if spec.kind not in BASE_KINDS:
            return Plan(Support.unsupported(
                f"the {self.label or self.name} adapter has no {spec.kind!r} neuron"))
        return self.base_plan(spec)

    @abstractmethod
    def base_plan(self, spec: NeuronSpec) -> Plan:
        """The plan of an IF, LIF or PLIF spec."""

    def zoo_plan(self, spec: NeuronSpec) -> Plan:
        """The plan of a zoo spec (none by default)."""
        return Plan(Support.unsupported(f"{self.label or self.name} has no {spec.kind} neuron"))

    @abstractmethod
    def build(self, spec: NeuronSpec, plan: Plan) -> NeuronModule:
        """The module computing ``spec`` by ``plan`` (its forward is supported)."""

    def _build_neuron(self, spec: NeuronSpec, support: Support) -> NeuronModule:
        return self.build(spec, self.plan(spec))


def _define_library_neuron() -> type:
    """LibraryNeuron, defined when first asked for (it subclasses torch's nn.Module)."""
    import torch
    from torch import nn

    from step.backend import NeuronModule

    class LibraryNeuron(NeuronModule):
        """A neuron computed by a library, one call per time step (see the module docstring).

        Subclasses give :meth:`start` (the library's state at the start of the call),
        :meth:`step` (one library call; or :meth:`run` over the whole sequence) and
        :meth:`membrane` (the canonical ``v`` of a library state); optionally :meth:`drive`
        (the input as the library takes it) and :meth:`bound` (the library bound to the
        input's dtype for the call).
        """

        #: The comparison the library's spike function makes: ``"gt"`` (``>``) or ``"ge"``.
        library_rule: str = "gt"

        def __init__(self, spec: NeuronSpec, backend: str, *, owns_w: bool = True,
                     owns_threshold: bool = False) -> None:
            super().__init__(spec, backend)
            # named as the spec names them, in the reference's order (threshold, then w)
            if owns_threshold and spec.learn_threshold:
                self.v_threshold = nn.Parameter(torch.tensor(spec.v_threshold))
            if owns_w and spec.kind == "plif":
                # 1/tau = sigmoid(w), w0 = -ln(tau - 1): the reference's parameterisation
                self.w = nn.Parameter(torch.tensor(spec.initial_w))

        def fire_threshold(self, value: Any, dtype: torch.dtype) -> Any:
            """``value`` nudged so that the library's comparison fires by ``spec.fire``."""
            return fire_threshold(value, self.spec.fire, dtype, self.library_rule)

        def bound(self, x: Tensor) -> Any:
            """A context in which the library computes in ``x``'s dtype (nothing to bind by
            default)."""
            import contextlib

            return contextlib.nullcontext()

        def drive(self, x: Tensor) -> Tensor:
            """The whole input sequence as the library takes it."""
            return x

        @abstractmethod
        def start(self, x: Tensor, state: dict[str, Tensor] | None) -> Any:
            """The library state at the start of the call: rest, or ``state`` converted."""

        def step(self, x_t: Tensor, carry: Any) -> tuple[Tensor, Any]:
            """One library call: (spikes, library state). A library that takes the whole
            sequence in one call overrides :meth:`run` instead and never reaches this."""
            raise NotImplementedError(
                f"{type(self).__name__} must override step(), or run() for a library that "
                "computes the whole sequence in one call")

        @abstractmethod
        def membrane(self, carry: Any) -> Tensor:
            """The canonical membrane after reset of a library state."""

        def final_state(self, carry: Any) -> dict[str, Tensor]:
            return {"v": self.membrane(carry)}

        def run(self, x: Tensor, state: dict[str, Tensor] | None, record_v: bool
                ) -> tuple[Tensor, Tensor | None, dict[str, Tensor]]:
            carry = self.start(x, state)
            spikes, vs = [], []
            with self.bound(x):
                for x_t in self.drive(x).unbind(0):
                    z, carry = self.step(x_t, carry)
                    # some libraries return float32 spikes whatever the input: 0 and 1 are
                    # exact in every float dtype
                    spikes.append(z.to(x.dtype))
                    if record_v:
                        vs.append(self.membrane(carry))
            return torch.stack(spikes), (torch.stack(vs) if record_v else None), \
                self.final_state(carry)

    LibraryNeuron.__module__ = __name__
    LibraryNeuron.__qualname__ = "LibraryNeuron"
    return LibraryNeuron


def __getattr__(name: str) -> Any:
    if name == "LibraryNeuron":
        globals()["LibraryNeuron"] = _define_library_neuron()
        return globals()["LibraryNeuron"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
