"""The interface every backend implements (the reference backend and each library adapter).

A backend is cheap to construct and never imports its library until a neuron is built, so that
``step backends`` stays fast. It answers, for each spec, how it computes it
(:class:`step.support.Support`), and builds multi-step neuron modules (:class:`NeuronModule`,
below) that follow the reset contract: every call starts from rest unless a state is passed
explicitly.

The whole contract lives here: :class:`Backend`, :class:`NeuronModule`, ``State`` and
:func:`check_supported_gradient`. ``step.nn`` and every layer above import it, never the
reverse. ``NeuronModule`` subclasses ``torch.nn.Module``, and importing this module must not
import torch (``step backends``, plugin discovery and every ``neuron_support`` answer without
it), so ``NeuronModule`` and ``State`` are built on first access (PEP 562 ``__getattr__``).
"""

from __future__ import annotations

import copy
import functools
import importlib
import importlib.metadata
import importlib.util
import itertools
import typing
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

from step.errors import BackendUnavailableError, UnsupportedSpecError
from step.specs import NeuronSpec, SurrogateSpec, parse_neuron
from step.specs.surrogate import DEFAULT_ALPHA
from step.support import Level, Support

if TYPE_CHECKING:
    from torch import Tensor
    from torch.nn import Module as NeuronModule  # for linters: the class is defined below

    from step.quirks import Quirk

    State = dict[str, Tensor]


class Backend(ABC):
    """A way of computing STEP's neutral specs. Subclass it in a plugin."""

    #: Name used on the command line and in configs (``--backend NAME``).
    name: ClassVar[str]
    #: Import name of the library (None for a backend that needs none).
    library: ClassVar[str | None] = None
    #: Distribution name for the version (defaults to ``library``).
    distribution: ClassVar[str | None] = None
    #: What a user runs to make the backend available.
    install_hint: ClassVar[str] = ""
    #: One line for ``step backends``.
    description: ClassVar[str] = ""
    #: The fire rules (``NeuronSpec.fire``) this backend computes. The field came after the
    #: first plugins, which all fire on ``>``: a backend that does not list ``"ge"`` here is
    #: reported ``unsupported`` for ``fire="ge"`` specs by the core (see ``__init_subclass__``),
    #: never run with the wrong rule. A plugin that honours both sets ``("gt", "ge")``.
    fire_rules: ClassVar[tuple[str, ...]] = ("gt",)

    #: The library's quirks that the adapter normalises away, as named switches (off by
    #: default; :mod:`step.quirks`). ``get_backend("NAME+QUIRK")`` turns one on.
    quirks: ClassVar[dict[str, Quirk]] = {}
    #: The quirks turned on for this instance (see :meth:`with_quirks`).
    active_quirks: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Guard each subclass's ``neuron_support`` with its declared ``fire_rules``, and
        apply the spec rewrites of its active quirks before it answers."""
        super().__init_subclass__(**kwargs)
        impl = cls.__dict__.get("neuron_support")
        if impl is None or getattr(impl, "_fire_rule_guard", False):
            return

        @functools.wraps(impl)
        def neuron_support(self: Backend, spec: NeuronSpec) -> Support:
            asked, spec = spec, self.as_shipped(spec)
            if spec.fire not in type(self).fire_rules:
                return Support.unsupported(
                    f"backend {self.name!r} does not declare the fire rule {spec.fire!r} "
                    f"(its fire_rules are {', '.join(type(self).fire_rules)}): a plugin that "
                    "predates NeuronSpec.fire computes h > v_threshold only")
            support = impl(self, spec)
            shipped = [q.what for n, q in self.quirks.items()
                       if n in self.active_quirks and q.applies(asked)]
            if shipped and support.forward is not Level.UNSUPPORTED:
                note = "as shipped: " + "; ".join(shipped)
                support = Support(support.forward, support.gradient,
                                  f"{note}; {support.forward_how}",
                                  f"{note}; {support.gradient_how}",
                                  support.gradient_precision, support.precision_how)
            return support

        neuron_support._fire_rule_guard = True  # type: ignore[attr-defined]
        cls.neuron_support = neuron_support  # type: ignore[method-assign]

    # -- availability ------------------------------------------------------------------------
    def version(self) -> str | None:
        """The installed library's version, read from package metadata (no import)."""
        dist = self.distribution or self.library
        if dist is None:
            from step import __version__

            return __version__
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return None

    def availability(self) -> tuple[bool, str]:
        """(available, reason): whether the library can be found, without importing it."""
        if self.library is None:
            return True, ""
        if importlib.util.find_spec(self.library) is None:
            return False, f"library {self.library!r} is not installed"
        return True, ""

    def import_library(self, module: str | None = None) -> ModuleType:
        """Import the library (or one of its modules) on first use; one clear error if broken."""
        target = module or self.library
        assert target is not None, "import_library needs a library"
        try:
            return importlib.import_module(target)
        except Exception as err:  # an ImportError, or a library that breaks while importing
            hint = f" ({self.install_hint})" if self.install_hint else ""
            raise BackendUnavailableError(
                f"backend {self.name!r} cannot import {target}: {type(err).__name__}: {err}{hint}"
            ) from None

    # -- support -----------------------------------------------------------------------------
    @abstractmethod
    def neuron_support(self, spec: NeuronSpec) -> Support:
        """How this backend computes ``spec``: forward and gradient, with the reason."""

    # -- quirks ------------------------------------------------------------------------------
    def with_quirks(self, names: tuple[str, ...]) -> Backend:
        """A copy of this backend with the library quirks ``names`` left in, named
        ``NAME+QUIRK+...`` so that its results are never mistaken for the canonical run."""
        from step.quirks import resolve

        chosen = resolve(self.name, self.quirks, names)
        if not chosen:
            return self
        clone = copy.copy(self)
        clone.active_quirks = chosen
        clone.name = "+".join((type(self).name, *chosen))  # type: ignore[misc]
        return clone

    def quirk_on(self, name: str) -> bool:
        """Whether the library quirk ``name`` is left in (adapters read their flag quirks)."""
        return name in self.active_quirks

    def as_shipped(self, spec: NeuronSpec) -> NeuronSpec:
        """The spec the library computes with the active quirks (``spec`` when none)."""
        for name in self.active_quirks:
            rewrite = self.quirks[name].rewrite
            if rewrite is not None:
                spec = rewrite(spec)
        return spec

    # -- building ----------------------------------------------------------------------------
    @abstractmethod
    def _build_neuron(self, spec: NeuronSpec, support: Support) -> NeuronModule:
        """Build the module for a spec whose forward is supported (called by build_neuron)."""

    def build_neuron(self, spec: NeuronSpec | dict[str, Any] | str) -> NeuronModule:
        """Build a multi-step neuron module, refusing specs this backend cannot run."""
        spec = parse_neuron(spec)
        ok, reason = self.availability()
        if not ok:
            hint = f": {self.install_hint}" if self.install_hint else ""
            raise BackendUnavailableError(f"backend {self.name!r} is unavailable ({reason}){hint}")
        support = self.neuron_support(spec)
        if support.forward is Level.UNSUPPORTED:
            raise UnsupportedSpecError(
                f"backend {self.name!r} cannot run this {spec.kind} neuron: {support.forward_how}"
            )
        module = self._build_neuron(self.as_shipped(spec), support)
        module.support = support
        return module

    # -- summary -----------------------------------------------------------------------------
    def support_summary(self) -> dict[str, dict[str, int]]:
        """Native / emulated / unsupported counts over :func:`representative_specs`, for the
        forward pass and the gradient separately (a backend may run a spec but not train it)."""
        counts: dict[str, Counter[str]] = {
            part: Counter({lv.value: 0 for lv in Level}) for part in ("forward", "gradient")
        }
        for spec in representative_specs():
            support = self.neuron_support(spec)
            counts["forward"][support.forward.value] += 1
            counts["gradient"][support.gradient.value] += 1
        return {part: dict(c) for part, c in counts.items()}


def representative_specs() -> Iterator[NeuronSpec]:
    """A grid over neuron kinds, reset modes, detach, fire rule, decay_input and surrogates.

    The reset modes of a kind are those its ``reset`` field accepts; a kind narrows any other
    axis through its ``grid`` class attribute (ILIF's backward is fixed, PSN has no reset).
    """
    from step.specs import NEURON_KINDS

    surrogates = [SurrogateSpec(kind=k) for k in DEFAULT_ALPHA]
    for kind, cls in sorted(NEURON_KINDS.items()):
        fields = cls.model_fields
        resets: tuple[Any, ...] = typing.get_args(fields["reset"].annotation) or ("hard",)
        axes: dict[str, tuple[Any, ...]] = {
            "reset": resets,
            "detach_reset": (False, True),
            "fire": ("gt", "ge"),
            "decay_input": (True, False) if "decay_input" in fields else (None,),
            "surrogate": tuple(surrogates),
            **cls.grid,
        }
        names = list(axes)
        for values in itertools.product(*(axes[n] for n in names)):
            data: dict[str, Any] = {"kind": kind}
            data.update({n: v for n, v in zip(names, values, strict=True) if v is not None})
            yield cls.parse(data)


def check_supported_gradient(backend: str, support: Support) -> None:
    """Raise when a gradient is asked of a spec whose gradient this backend cannot compute."""
    if support.gradient is Level.UNSUPPORTED:
        raise UnsupportedSpecError(
            f"backend {backend!r} cannot compute the gradient of this neuron: "
            f"{support.gradient_how} (run it under torch.no_grad(), or change the spec)"
        )


# -- the neuron module (built on first access: it needs torch) ---------------------------------
_NEURON_MODULE_DOC = """Every backend's neurons are this: multi-step, time-first, reset by contract.

    ``forward(x)`` takes ``[T, B, ...]`` and returns spikes of the same shape. Each call starts
    from rest (``v = v_reset``), so running a sequence never leaks state into the next and
    batch-size changes are safe. To continue a sequence, pass the state of the previous call
    explicitly: ``neuron(x2, state=neuron.last_state)``. The state (``State``) is a dict whose
    ``"v"`` entry is the membrane in canonical units (after reset), whatever the library stores
    internally.

    With ``record_v = True`` the module keeps the membrane after reset at every step in
    ``v_seq``.
    """


def _define_neuron_module() -> tuple[type, Any]:
    """(NeuronModule, State), defined once when first asked for (see the module docstring)."""
    import torch
    from torch import Tensor, nn

    from step.errors import InputError

    state_type = dict[str, Tensor]

    class NeuronModule(nn.Module):
        __doc__ = _NEURON_MODULE_DOC

        def __init__(self, spec: NeuronSpec, backend: str) -> None:
            super().__init__()
            self.spec = spec
            self.backend_name = backend
            self.support: Support | None = None
            self.record_v = False
            self.v_seq: Tensor | None = None
            self.last_state: dict[str, Tensor] | None = None

        def forward(self, x: Tensor, state: dict[str, Tensor] | None = None) -> Tensor:
            if x.dim() < 2:
                raise InputError(
                    f"a neuron takes time-first input [T, B, ...], got shape {tuple(x.shape)}"
                )
            if not x.is_floating_point():  # integer maths would truncate the leak (or fail)
                raise InputError(f"a neuron takes a floating-point input current, got {x.dtype}: "
                                 "convert it first, e.g. x.float()")
            # cheapest test first: this runs on every call of every neuron of a model
            if (
                self.support is not None
                and self.support.gradient is Level.UNSUPPORTED
                and torch.is_grad_enabled()
                and (x.requires_grad or any(p.requires_grad for p in self.parameters()))
            ):
                check_supported_gradient(self.backend_name, self.support)
            spikes, v_seq, final = self.run(x, state, self.record_v)
            self.last_state = final
            self.v_seq = v_seq
            return spikes

        @abstractmethod
        def run(
            self, x: Tensor, state: dict[str, Tensor] | None, record_v: bool
        ) -> tuple[Tensor, Tensor | None, dict[str, Tensor]]:
            """Compute the sequence: (spikes, membrane after reset per step or None, final
            state)."""

        def __getstate__(self) -> dict:
            # The last call's state and trace may hold an autograd graph, which cannot be
            # deep-copied or pickled (copy.deepcopy of a trained model, checkpoints): they are
            # not part of the module's identity, so copies start without them.
            state = self.__dict__.copy()
            state["last_state"] = None
            state["v_seq"] = None
            return state

        def reset(self) -> None:
            """Forget the last call's state and trace (the next call starts from rest anyway)."""
            self.last_state = None
            self.v_seq = None

        def extra_repr(self) -> str:
            return f"backend={self.backend_name}, spec={self.spec!r}"

    NeuronModule.__module__ = __name__
    NeuronModule.__qualname__ = "NeuronModule"
    return NeuronModule, state_type


def __getattr__(name: str) -> Any:
    if name in ("NeuronModule", "State"):
        module, state = _define_neuron_module()
        globals().update(NeuronModule=module, State=state)
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
