"""Library quirks as named switches: run a backend the way its library ships.

Each adapter normalises its library's quirks so that every backend computes the canonical spec
(SpikingJelly fires at ``>=``, BrainCog ignores the configured surrogate alpha, ...). To measure
what those quirks do to a published number, each one is also a named switch, off by default:
``get_backend("braincog+surrogate_alpha_2")`` is BrainCog with that one quirk left in, and
``"braincog+as-shipped"`` turns on every quirk the adapter declares. The fairness study's
``--as-shipped`` mode and its attribution table (one quirk at a time against the canonical run)
are built on these names.

A quirk is either a rewrite of the spec (the library, as shipped, computes another spec: BrainCog
builds ``SigmoidGrad(alpha=2)`` whatever alpha was asked for), which the core applies before the
adapter sees the spec, or a flag the adapter reads itself (``Backend.quirk_on(name)``) where the
library's code path differs (snnTorch's own subtract reset). Either way the run is the library's
own computation, reported under the quirk's name, and conformance shows where it departs from
the spec.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from step.errors import SpecError
from step.specs import NeuronSpec

#: Backend-name suffix that turns on every quirk of a backend.
AS_SHIPPED = "as-shipped"


@dataclass(frozen=True)
class Quirk:
    """One behaviour of a library that its adapter normalises away by default."""

    name: str
    #: what the library does as shipped, and where (one sentence a reader can check)
    what: str
    #: the spec the library computes instead (None: the adapter handles the flag itself)
    rewrite: Callable[[NeuronSpec], NeuronSpec] | None = None
    #: for a flag quirk: the specs it changes (None: every spec)
    when: Callable[[NeuronSpec], bool] | None = None

    def applies(self, spec: NeuronSpec) -> bool:
        """Whether the quirk changes anything for ``spec`` (a rewrite that is a no-op does not)."""
        if self.rewrite is not None:
            return self.rewrite(spec) != spec
        return self.when is None or self.when(spec)


def library_fire_rule(rule: str, library: str, where: str) -> Quirk:
    """The library's own comparison, whatever ``NeuronSpec.fire`` asks for."""
    symbol = ">=" if rule == "ge" else ">"
    return Quirk("library_fire_rule", f"{library} fires at h {symbol} v_th ({where})",
                 lambda spec: spec.model_copy(update={"fire": rule})
                 if spec.kind != "li" else spec)


def applicable(backend: str, specs: list[NeuronSpec]) -> list[str]:
    """The quirks of ``backend`` that change at least one of ``specs`` (a study's roles)."""
    from step.registry import get_backend

    quirks = get_backend(backend).quirks
    return [n for n, q in quirks.items() if any(q.applies(s) for s in specs)]


def split_name(name: str) -> tuple[str, tuple[str, ...]]:
    """``"braincog+a+b"`` -> ``("braincog", ("a", "b"))``."""
    base, *quirks = name.split("+")
    return base, tuple(quirks)


def resolve(name: str, declared: dict[str, Quirk], requested: tuple[str, ...]
            ) -> tuple[str, ...]:
    """The quirk names to turn on for ``requested`` (``as-shipped`` expands to all), checked."""
    out: list[str] = []
    for q in requested:
        if q == AS_SHIPPED:
            out += [n for n in declared if n not in out]
        elif q in declared:
            if q not in out:
                out.append(q)
        else:
            known = ", ".join([*declared, AS_SHIPPED]) if declared else "none"
            raise SpecError(f"backend {name!r} has no quirk {q!r}: its quirks are {known}")
    return tuple(out)
