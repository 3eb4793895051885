"""The pydantic base of every spec, and the one place validation errors become one line.

Specs forbid unknown keys: a misspelt key in a YAML file is an error, never silently ignored
(the published STEP lost several settings that way).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from step.errors import SpecError


class Spec(BaseModel):
    """Immutable, validated, YAML-loadable configuration."""

    # allow_inf_nan=False: NaN or infinity in any float field (a threshold, tau, a learning
    # rate) is an error at construction, in every spec, not a silent NaN membrane later.
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True,
                              allow_inf_nan=False)

    @classmethod
    def parse(cls, data: Any, what: str | None = None) -> Self:
        """Validate ``data`` (a dict or an instance) into this spec, raising :class:`SpecError`."""
        if isinstance(data, cls):
            return data
        try:
            return cls.model_validate(data)
        except ValidationError as err:
            raise SpecError(format_validation_error(err, what or cls.__name__)) from None

    @classmethod
    def from_yaml(cls, path: str | Path) -> Self:
        """Load the spec from a YAML file."""
        return cls.parse(load_yaml(path), what=str(path))


def load_yaml(path: str | Path) -> Any:
    """Read a YAML file, turning a missing file or a syntax error into a :class:`SpecError`."""
    p = Path(path)
    if not p.is_file():
        raise SpecError(f"config file {p} does not exist: check the path")
    try:
        return yaml.safe_load(p.read_text())
    except UnicodeDecodeError:
        raise SpecError(f"config file {p} is not a text file: give a YAML file") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise SpecError(f"config file {p} is not valid YAML{where}: fix the syntax") from None


def load_mapping(path: str | Path, what: str = "settings") -> dict[str, Any]:
    """A YAML file that must hold a mapping (an empty file is an empty mapping)."""
    data = load_yaml(path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SpecError(f"config file {path} must hold a mapping of {what}, "
                        f"got a {type(data).__name__}")
    return data


def format_validation_error(err: ValidationError, what: str) -> str:
    """One line: ``what: field: message; field: message``."""
    parts = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"] if not isinstance(x, int) or len(e["loc"]) == 1)
        msg = e["msg"]
        for prefix in ("Value error, ", "Assertion failed, "):
            msg = msg.removeprefix(prefix)
        if e["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see the spec's fields)"
        elif e["type"] == "finite_number":
            msg = f"must be a finite number, got {e.get('input')!r}"
        elif e["type"] == "literal_error":
            msg = f"{msg}, got {e.get('input')!r}"
        parts.append(f"{loc}: {msg}" if loc else msg)
    return f"invalid {what}: " + "; ".join(parts)


def apply_assignments(data: dict[str, Any], assignments: list[str]) -> dict[str, Any]:
    """Apply ``key=value`` strings (dotted keys nest: ``surrogate.alpha=3``) to a dict copy.

    Values stay strings; the spec's validation converts them (``"2"`` to 2.0, ``"false"`` to
    False). See :func:`set_dotted` for how dotted keys nest.
    """
    out = dict(data)
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SpecError(f"--set expects KEY=VALUE, got {item!r}")
        out = set_dotted(out, key, value)
    return out


def set_dotted(data: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """A copy of ``data`` with ``value`` at the dotted ``key`` (``neuron.tau``).

    A string that a dotted key descends into becomes ``{"kind": value}``, so ``surrogate=atan``
    and ``surrogate.alpha=3`` combine. ``--set`` and a sweep's ``grid`` both go through here.
    """
    out = dict(data)
    parts = key.split(".")
    node = out
    for part in parts[:-1]:
        child = node.get(part)
        if isinstance(child, str):
            child = {"kind": child}
        elif not isinstance(child, dict):
            child = {}
        node[part] = dict(child)
        node = node[part]
    node[parts[-1]] = value
    return out
