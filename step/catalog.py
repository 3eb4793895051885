"""What exists: every neuron, surrogate and encoder kind with its fields and defaults.

``step specs`` prints it and docs/specs.md is the long form; both read the registries
(:data:`~step.specs.NEURON_KINDS`, :data:`~step.specs.ENCODER_KINDS`, the surrogate families),
so a new kind appears without editing either.
"""

from __future__ import annotations

import inspect
import typing
from typing import Any

GROUPS = ("neurons", "surrogates", "encoders")


def _default(field: Any) -> Any:
    value = field.default_factory() if field.default_factory is not None else field.default
    return value.model_dump(mode="json") if hasattr(value, "model_dump") else value


def _fields(cls: type) -> list[dict[str, Any]]:
    out = []
    for name, field in cls.model_fields.items():
        if name == "kind":
            continue
        choices = typing.get_args(field.annotation)
        if typing.get_origin(field.annotation) is typing.Literal:
            kind = "one of " + ", ".join(str(c) for c in choices)
        else:
            kind = getattr(field.annotation, "__name__", None) or str(field.annotation)
        out.append({"name": name, "type": kind.replace("typing.", ""),
                    "default": _default(field), "description": field.description or ""})
    return out


def _summary(cls: type) -> str:
    return (inspect.getdoc(cls) or "").split("\n\n")[0].replace("\n", " ")


def catalogue(group: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """``{group: [{"kind", "summary", "fields": [{"name", "type", "default", ...}]}]}``."""
    from step.specs import ENCODER_KINDS, NEURON_KINDS
    from step.specs.surrogate import DEFAULT_ALPHA, SurrogateKind

    out: dict[str, list[dict[str, Any]]] = {}
    if group in (None, "neurons"):
        out["neurons"] = [{"kind": k, "summary": _summary(c), "output": c.output,
                           "learnable": c.learnable, "fields": _fields(c)}
                          for k, c in NEURON_KINDS.items()]
    if group in (None, "surrogates"):
        out["surrogates"] = [{"kind": k, "summary": "the backward of a spike; formulas in "
                              "docs/specs.md and step.specs.surrogate",
                              "fields": [{"name": "alpha", "type": "float",
                                          "default": DEFAULT_ALPHA[k],
                                          "description": "sharpness (> 0)"}]}
                             for k in typing.get_args(SurrogateKind)]
    if group in (None, "encoders"):
        out["encoders"] = [{"kind": k, "summary": _summary(c), "fields": _fields(c)}
                           for k, c in ENCODER_KINDS.items()]
    return out
