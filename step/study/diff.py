"""What differs between two resolved configs: the check that an ablation changed one thing.

Rows of a study or a sweep record their fully resolved model config (every neuron role with
every field, after presets and overrides). Comparing two rows field by field shows exactly
what an axis changed, including what it changed without naming it (the published STEP's
neuron axis also switched the surrogate and the reset's gradient).
"""

from __future__ import annotations

from typing import Any

#: Shown for a field one side has and the other lacks (IF has no ``tau``).
ABSENT = "(absent)"


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as ``{"neuron.surrogate.alpha": 4.0, ...}`` (lists stay values)."""
    if not isinstance(data, dict):
        return {prefix: data}
    out: dict[str, Any] = {}
    for key, value in data.items():
        out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def config_diff(a: dict[str, Any], b: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Every dotted field whose value differs between ``a`` and ``b``: ``(a's, b's)``, in
    ``a``'s field order, then the fields only ``b`` has."""
    fa, fb = flatten(a), flatten(b)
    keys = [*fa, *(k for k in fb if k not in fa)]
    return {k: (fa.get(k, ABSENT), fb.get(k, ABSENT)) for k in keys
            if fa.get(k, ABSENT) != fb.get(k, ABSENT)}


def describe(diff: dict[str, tuple[Any, Any]]) -> str:
    """``neuron.kind: lif -> if; neuron.tau: 2.0 -> (absent)``, or ``identical``."""
    if not diff:
        return "identical"
    return "; ".join(f"{k}: {a} -> {b}" for k, (a, b) in diff.items())
