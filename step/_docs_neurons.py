"""docs/neurons.md: every neuron's equations, which backend runs it, and how its "as published"
preset differs from the canonical defaults, rendered from the code.

The equations are the spec docstrings (the text the reference is tested against); the support
table asks each built-in adapter's ``neuron_support`` about the kind's default spec, so the
page changes when an adapter does and tests/test_docs.py catches a stale page.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

#: The backends step ships (its own ``step.backends`` entry points), in the page's column
#: order; third-party plugins are left out so that the page does not depend on what else is
#: installed. A column is shown whether or not its library is installed: support is decided
#: from the spec alone. tests/test_docs.py checks that this names every shipped backend.
BUILT_IN = ("reference", "spikingjelly", "snntorch", "norse", "braincog", "sinabs", "rockpool",
            "brainpy")

_MATH_BLOCK = re.compile(r"\.\. math::\n\n((?:[ ]{3}.*\n|\n)+)")
_INLINE = re.compile(r":math:`([^`]*)`")
_ROLE = re.compile(r":(?:class|mod|func|attr):`~?([^`]*)`")


def rst_to_markdown(text: str) -> str:
    """The docstring subset the specs use: math blocks, inline math, cross-references."""

    def block(match: re.Match[str]) -> str:
        lines = [ln.strip() for ln in match.group(1).splitlines() if ln.strip()]
        return "$$\n" + "\n".join(lines) + "\n$$\n\n"

    text = _MATH_BLOCK.sub(block, text + "\n")
    text = _INLINE.sub(lambda m: f"${m.group(1)}$", text)
    return _ROLE.sub(lambda m: f"`{m.group(1)}`", text).rstrip()


def equations(cls: type) -> str:
    """A spec docstring without its doctest examples (the prose states the hand trace)."""
    kept, in_example = [], False
    for line in (inspect.getdoc(cls) or "").splitlines():
        in_example = line.startswith(">>>") or (in_example and line.strip() != "")
        if not in_example:
            kept.append(line)
    return rst_to_markdown("\n".join(kept))


def _cell(level: str) -> str:
    return {"native": "native", "emulated": "emulated", "unsupported": "-"}.get(level, level)


def support_rows() -> tuple[list[str], list[tuple[str, list[str]]], list[str]]:
    """(backends, [(kind, cells)], notes): each kind's default spec on each backend."""
    from step.registry import backend_statuses
    from step.specs import NEURON_KINDS

    statuses = backend_statuses()
    backends = [b for b in BUILT_IN if b in statuses and statuses[b].backend is not None]
    rows: list[tuple[str, list[str]]] = []
    notes: list[str] = []
    for kind, cls in NEURON_KINDS.items():
        spec = cls()
        cells = []
        for name in backends:
            support = statuses[name].backend.neuron_support(spec)  # type: ignore[union-attr]
            fwd, grad = support.forward.value, support.gradient.value
            cell = _cell(fwd) if fwd == grad else f"{_cell(fwd)} / grad {_cell(grad)}"
            if support.reason:
                same = support.forward_how == support.gradient_how
                text = support.forward_how if same and fwd != "native" else support.reason
                if text not in notes:
                    notes.append(text)
                cell += f" [{notes.index(text) + 1}]"
            cells.append(cell)
        rows.append((kind, cells))
    return backends, rows, notes


def grid_rows(backends: list[str]) -> list[tuple[str, list[str]]]:
    """[(kind, cells)]: per backend, how many of the kind's specs in the representative grid
    (:func:`step.backend.representative_specs`) run native / emulated / not at all, forward
    then gradient ("12/4/8 · 6/10/8")."""
    from collections import Counter

    from step.backend import representative_specs
    from step.registry import backend_statuses

    statuses = backend_statuses()
    specs = list(representative_specs())
    kinds = list(dict.fromkeys(spec.kind for spec in specs))
    rows = []
    for kind in kinds:
        cells = []
        for name in backends:
            backend = statuses[name].backend
            fwd: Counter[str] = Counter()
            grad: Counter[str] = Counter()
            for spec in (s for s in specs if s.kind == kind):
                support = backend.neuron_support(spec)  # type: ignore[union-attr]
                fwd[support.forward.value] += 1
                grad[support.gradient.value] += 1
            levels = ("native", "emulated", "unsupported")
            cells.append("/".join(str(fwd[lv]) for lv in levels) + " · "
                         + "/".join(str(grad[lv]) for lv in levels))
        rows.append((kind, cells))
    return rows


def _value(value: Any) -> str:
    if isinstance(value, dict) and "kind" in value:  # a surrogate
        return f"{value['kind']}({value.get('alpha')})"
    if isinstance(value, tuple | list):
        return "(" + ", ".join(str(v) for v in value) + ")"
    return str(value)


def published_cell(kind: str) -> str:
    """The support table's "as published" column: the fields the preset changes."""
    from step.specs import PUBLISHED
    from step.specs.as_published import differences

    if kind not in PUBLISHED:
        return "-"
    changed = [name for name, _, _ in differences(kind)]
    return ", ".join(f"`{n}`" for n in changed) if changed else "= canonical"


def render_published() -> list[str]:
    """Every difference between canonical defaults and "as published" presets, with sources."""
    from step.specs import PUBLISHED
    from step.specs.as_published import differences

    lines = ["## As published", "",
             "`step.specs.published(kind)` is the spec of a named neuron as its authors' code "
             "runs it (fire rule, reset detaching, initial values, parameter defaults); the "
             "canonical defaults above are this project's. The ML kinds' presets are checked "
             "against golden traces of that code (tests/data/zoo/, within 1e-12 in float64). "
             "Below: every field where the two differ, the source, and what no field "
             "expresses.", "",
             "| kind | field | canonical | as published |", "|---|---|---|---|"]
    for kind in PUBLISHED:
        for name, canonical, preset in differences(kind):
            lines.append(f"| `{kind}` | `{name}` | {_value(canonical)} | {_value(preset)} |")
    lines += ["", "Sources:", ""]
    for kind, entry in PUBLISHED.items():
        text = f"- `{kind}`: {entry.source}."
        if entry.golden:
            text += f" Golden trace: {entry.golden}."
        if entry.remaining:
            text += f" Not expressed by the preset: {entry.remaining}."
        lines.append(text)
    return lines + [""]


def render_neurons() -> str:
    from step.specs import NEURON_KINDS

    lines = ["# Neurons", "", "Generated by `python -m step._docs` from the neuron specs "
             "(step/specs/) and the adapters' support answers (plugins/). Each section is the "
             "spec's docstring: the equations as the reference backend computes them "
             "(step/reference/), run as a doctest hand trace.", "",
             "## Which backend runs what", "",
             "Support for each kind's default spec: `native` (the library's own neuron), "
             "`emulated` (composed from library parts or step's formula in the library's "
             "extension point), `-` (not at all). A cell shows the forward level, then the "
             "gradient's where it differs; numbers point to the reasons below. Other settings "
             "of a kind can change the answer: `step trace --neuron KIND --backend all` and "
             "`step conformance` ask the adapters about a concrete spec. Every backend step "
             "ships has a column, installed or not (`step backends` says which are, with the "
             "install hint); lava-dl has none: no lava-dl release installs on Python 3.11 "
             "(0.4.0 to 0.6.0, the only ones on PyPI, require Python < 3.11).", ""]
    backends, rows, notes = support_rows()
    lines += ["| kind | output | as published | " + " | ".join(backends) + " |",
              "|---|---|---|" + "---|" * len(backends)]
    for kind, cells in rows:
        output = NEURON_KINDS[kind].output
        lines.append(f"| `{kind}` | {output} | {published_cell(kind)} | "
                     + " | ".join(cells) + " |")
    lines += [""] + [f"{i}. {n}" for i, n in enumerate(notes, 1)] + [""]
    lines += ["### Every setting of each kind", "",
              "The default spec above is one point; each kind's specs over the grid of its "
              "reset modes, `detach_reset`, fire rule, `decay_input` and the seven surrogate "
              "families (the grid `step backends` summarises) split as native / emulated / "
              "unsupported, forward pass · gradient:", "",
              "| kind | " + " | ".join(backends) + " |", "|---|" + "---|" * len(backends)]
    lines += [f"| `{kind}` | " + " | ".join(cells) + " |" for kind, cells in grid_rows(backends)]
    lines += [""]
    lines += render_published()
    for kind, cls in NEURON_KINDS.items():
        learnable = cls.learnable
        lines += [f"## `{kind}` ({cls.__name__})", "", equations(cls), ""]
        if learnable:
            lines += ["Learnable parameters: " + ", ".join(
                f"`{k}` ({v})" for k, v in learnable.items()) + ".", ""]
    return "\n".join(lines)
