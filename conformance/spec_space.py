"""Cases derived from the spec space: field combinations, input layouts and exact ties.

The hand-written factories of :mod:`.cases` and :mod:`.zoo_cases` test chosen specs; this
module derives, for every neuron kind, the cases that cover what those choices may miss:

- **Field combinations.** Each categorical field that changes the dynamics (``reset``,
  ``v_reset`` at its default and one other value, the fire rule ``fire``, ``decay_input``,
  ``detach_reset``, ``learn_threshold``, the surrogate family) spans one axis; the values a
  kind accepts come from its spec class (its ``Literal`` types, its ``grid``, its
  validators). A greedy covering design (:func:`pairwise`) picks rows until every pair of
  values that some valid spec combines appears in at least one row: a fault that shows only
  when two non-default values meet (a soft reset with a non-zero ``v_reset``) is met. Every
  row runs forward and input-gradient cases (and parameter gradients when the row learns
  any). Each remaining numeric field (``tau``, ``beta``, ``g_na``, ...) is run once at a
  non-default value.
- **Input layouts.** The contract promises ``[T, B, ...]``: rank 4 ``[T, B, C, L]`` and rank 5
  ``[T, B, C, H, W]``, and transposed (non-contiguous) views at ranks 3 and 5.
- **Exact ties.** Inputs on a dyadic grid (multiples of 1/8 of the unit drive, as sums of
  spikes are) on specs whose arithmetic is exact, so that ``h == v_th`` happens on many steps,
  in both dtypes and under both fire rules; a tie is never excused (strict cases).

Budget: the combinations and single fields run in float32 only (a wrong combination of
fields shows in either dtype; the per-kind factories cover float64), except kinds that run
in float64 only. About 600 cases in all; see ``benchmarks/conformance_speed.py``.
"""

from __future__ import annotations

import itertools
import typing
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import torch
from torch import Tensor

from step.errors import SpecError
from step.specs import (
    NEURON_KINDS,
    ALIFSpec,
    CLIFSpec,
    CUBALIFSpec,
    GLIFSpec,
    HHSpec,
    IFSpec,
    ILIFSpec,
    KLIFSpec,
    LIFSpec,
    NeuronSpec,
    NILIFSpec,
    PLIFSpec,
    PSNSpec,
    SurrogateSpec,
)

from .cases import Case
from .drives import register_drive

Row = dict[str, Any]

#: Surrogate families on the combination axis: the default, a smooth and a compactly
#: supported one. Each of the seven families is run on its own by the LIF factory; three here
#: keep the covering design near 10 rows per kind instead of 21.
COMBINED_SURROGATES = ("atan", "sigmoid", "triangle")


def pairwise(axes: dict[str, tuple[Any, ...]], valid: Callable[[Row], bool]) -> list[Row]:
    """Rows covering every pair of axis values that at least one valid row combines.

    Greedy (AETG-like): among all valid rows, repeatedly take the one covering the most
    still-uncovered pairs. Deterministic: ties go to the first row in product order.
    """
    names = list(axes)
    rows = [dict(zip(names, values, strict=True))
            for values in itertools.product(*(axes[n] for n in names))]
    rows = [r for r in rows if valid(r)]

    def pairs(row: Row) -> set[tuple[tuple[str, int], tuple[str, int]]]:
        keys = [(n, axes[n].index(row[n])) for n in names]
        return set(itertools.combinations(keys, 2))

    covers = [pairs(r) for r in rows]
    uncovered = set().union(*covers) if covers else set()
    chosen: list[Row] = []
    while uncovered:
        best = max(range(len(rows)), key=lambda i: len(covers[i] & uncovered))
        chosen.append(rows[best])
        uncovered -= covers[best]
    return chosen


#: The spec each kind's derived cases start from, with the drive and T it runs on, where the
#: kind's defaults do not suit (biophysical units, a fixed T, a chaotic default).
BASES: dict[str, tuple[NeuronSpec, str, int]] = {
    "hh": (HHSpec(dt=0.05, substeps=10), "bio-random", 16),  # T=16: HH is the costliest
    "izhikevich": (NEURON_KINDS["izhikevich"](), "bio-random", 32),
    "psn": (PSNSpec(T=16), "random", 16),
    "glif": (GLIFSpec(T=16), "random", 16),
    "eif": (NEURON_KINDS["eif"](), "sparse", 32),  # a soft EIF runs away on stronger drives
    "hdlif": (NEURON_KINDS["hdlif"](), "sparse", 16),  # its EIF expert too; and costly
}

#: Fields a kind's equations do not read (its docstring says so): never varied.
UNUSED: dict[str, set[str]] = {"li": {"v_threshold"}, "psn": {"v_reset"}}

#: Single-field values where scaling the default says nothing: HH registers a spike where v
#: crosses v_threshold upwards, and every level from about -40 to +30 mV sees the same
#: crossings; 30 mV lies near the peak of a spike, so some spikes no longer reach it.
SINGLE_VALUES: dict[str, dict[str, float]] = {"hh": {"v_threshold": 30.0}}

#: Drive of the single-field cases where the base drive is kept weak for a reset mode the
#: single fields do not use (a hard-reset EIF takes the random drive).
SINGLE_DRIVES = {"eif": "random", "hdlif": "random"}

#: float64 only: Izhikevich for the reason given in its factory (:mod:`.zoo_cases`); HH
#: because away from its default parameters two correct float32 implementations part within
#: a few steps (g_k = 45: by 2e-5 mV at step 6), so its float32 runs are left to its factory's
#: cases with their horizon.
FLOAT64_ONLY = {"izhikevich", "hh"}


def base(kind: str) -> tuple[NeuronSpec, str, int]:
    return BASES.get(kind, (NEURON_KINDS[kind](), "random", 32))


def _make(cls: type[NeuronSpec], data: Row) -> NeuronSpec | None:
    try:
        return cls.parse(data)
    except SpecError:
        return None


def _literal(cls: type[NeuronSpec], name: str) -> tuple[Any, ...]:
    return typing.get_args(cls.model_fields[name].annotation)


def combination_axes(spec: NeuronSpec) -> dict[str, tuple[Any, ...]]:
    """The axes of :func:`pairwise` for ``spec``'s kind (values its class may accept)."""
    cls = type(spec)
    fields = cls.model_fields
    gap = abs(spec.v_threshold - spec.v_reset) or 1.0
    axes: dict[str, tuple[Any, ...]] = {
        "reset": _literal(cls, "reset") or (spec.reset,),
        "v_reset": (spec.v_reset, spec.v_reset + 0.125 * gap),
        "detach_reset": (False, True),
        "learn_threshold": (False, True),
        "surrogate": tuple(SurrogateSpec(kind=k) for k in COMBINED_SURROGATES),
    }
    axes["fire"] = _literal(cls, "fire")
    if "decay_input" in fields:
        axes["decay_input"] = (True, False)
    axes.update({k: v for k, v in cls.grid.items() if k in axes})
    return {k: v for k, v in axes.items() if k not in UNUSED.get(spec.kind, ())}


def _label(value: Any) -> str:
    if isinstance(value, SurrogateSpec):
        return value.kind
    return str(value)


def combination_specs(spec: NeuronSpec) -> list[tuple[str, NeuronSpec]]:
    """(short name, spec) per row of the covering design over ``spec``'s kind."""
    cls = type(spec)
    start = spec.model_dump()
    axes = combination_axes(spec)

    def build(row: Row) -> NeuronSpec | None:
        return _make(cls, {**start, **{k: _plain(v) for k, v in row.items()}})

    out = []
    for row in pairwise(axes, lambda r: build(r) is not None):
        built = build(row)
        assert built is not None
        changed = [f"{k}={_label(v)}" for k, v in row.items() if getattr(spec, k) != v]
        out.append((",".join(changed) or "defaults", built))
    return out


def _plain(value: Any) -> Any:
    return value.model_dump() if isinstance(value, SurrogateSpec) else value


#: Numeric fields that are not dynamics parameters (they change the case's T or sub-steps).
_NOT_SWEPT = {"T", "substeps", "v_reset", "v_threshold"}


def single_field_specs(spec: NeuronSpec) -> list[tuple[str, NeuronSpec]]:
    """Each numeric field (and the threshold) once at a non-default value the class accepts."""
    cls = type(spec)
    start = spec.model_dump()
    out = []
    for name, info in cls.model_fields.items():
        value = getattr(spec, name)
        if name in _NOT_SWEPT - {"v_threshold"} or isinstance(value, bool) \
                or not isinstance(value, (int, float)) or info.annotation is bool:
            continue
        if name in UNUSED.get(spec.kind, ()):
            continue
        fixed = SINGLE_VALUES.get(spec.kind, {}).get(name)
        for factor in (1.25, 0.8, 1.5, 0.5):
            other = value * factor if value else 0.25
            if isinstance(value, int):
                other = int(round(other)) if int(round(other)) != value else value + 1
            if fixed is not None:
                other = fixed
            built = _make(cls, {**start, name: other})
            if built is not None:
                out.append((f"{name}={other:g}", built))
                break
    return out


def _labels(kind: str) -> tuple[str, str]:
    """The capability-matrix columns of the kind's own cases (forward, gradient)."""
    from .cases import CASE_FACTORIES

    factory = CASE_FACTORIES.get(kind)
    cases = list(factory()) if factory else []
    fwd = next((c.feature for c in cases if c.mode == "multi-step"), kind.upper())
    grad = next((c.feature for c in cases if c.mode == "input-grad"), "input gradient")
    return fwd, grad


def _gradients(name: str, spec: NeuronSpec, drive: str, T: int, label: str,
               **kw: Any) -> list[Case]:
    cases = [Case(name, spec, drive, "input-grad", label, T=T, **kw)]
    if spec.learnable_parameters():
        cases.append(Case(name, spec, drive, "param-grad", label, T=T, **kw))
    return cases


@cache
def derived_cases(kind: str) -> tuple[Case, ...]:
    """Every derived case of ``kind`` (see the module docstring)."""
    spec, drive, T = base(kind)
    fwd, grad = _labels(kind)
    dtypes = ("float64",) if kind in FLOAT64_ONLY else ("float32",)
    horizons = (("float32", 16),) if kind == "hh" else ()
    kw: dict[str, Any] = {"dtypes": dtypes, "horizons": horizons}
    cases: list[Case] = []
    for label, s in combination_specs(spec):
        name = f"{kind}[{label}]"
        cases.append(Case(name, s, drive, "multi-step", fwd, T=T, **kw))
        if s.output != "membrane" or kind == "li":
            cases += _gradients(name, s, drive, T, grad, **kw)
    for label, s in single_field_specs(spec):
        cases.append(Case(f"{kind}[{label}]", s, SINGLE_DRIVES.get(kind, drive), "multi-step",
                          fwd, T=T, **kw))
    cases += layout_cases(kind, spec, drive, T, fwd, grad)
    cases += tie_cases(kind, "fire at threshold" if kind in ("if", "lif", "plif") else fwd)
    return tuple(cases)


#: (neuron axes, contiguous) of the layout cases: N = 16 neurons in every layout.
LAYOUTS: tuple[tuple[tuple[int, ...], bool], ...] = (
    ((), False), ((4, 4), True), ((2, 2, 4), True), ((2, 2, 4), False))


def layout_cases(kind: str, spec: NeuronSpec, drive: str, T: int, fwd: str,
                 grad: str) -> list[Case]:
    """Ranks 3 (strided), 4 and 5 (contiguous and strided), forward and gradients."""
    dtypes = ("float64",) if kind in FLOAT64_ONLY else ()
    horizons = (("float32", 16),) if kind == "hh" else ()
    cases: list[Case] = []
    for shape, contiguous in LAYOUTS:
        kw: dict[str, Any] = {"shape": shape, "contiguous": contiguous, "dtypes": dtypes,
                              "horizons": horizons}
        cases.append(Case(f"{kind}-layout", spec, drive, "multi-step", fwd, T=T, **kw))
        if len(shape) == 3:  # the models' [T, B, C, H, W]
            cases += _gradients(f"{kind}-layout", spec, drive, T, grad, **kw)
    return cases


# -- exact ties ---------------------------------------------------------------------------------
@register_drive("dyadic")
def dyadic(T: int, B: int, N: int, unit: float, gen: torch.Generator,
           spec: NeuronSpec) -> Tensor:
    """Multiples of 1/8 unit from 0 to 2 units (sums of spikes times 0.125): exact in both
    dtypes, so that the charge lands exactly on the threshold on many steps."""
    k = torch.randint(0, 17, (T, B, N), generator=gen, dtype=torch.int64)
    return k.to(torch.float64) * (unit / 8)


#: Specs whose arithmetic stays exact on dyadic inputs (tau = 2, powers of two), per kind.
#: Kinds left out cannot produce a tie on a grid: an exponential (EIF, HD-LIF's EIF expert),
#: sigmoid gates (GLIF), 0.04 v^2 (Izhikevich), a continuous crossing (HH) get a constructed
#: tie (:data:`CONSTRUCTED_TIES`); LI never fires.
TIE_SPECS: dict[str, tuple[NeuronSpec, ...]] = {
    "if": (IFSpec(), IFSpec(reset="soft"), IFSpec(v_threshold=0.5, v_reset=-0.25)),
    "lif": (LIFSpec(tau=2.0), LIFSpec(tau=2.0, reset="soft"),
            LIFSpec(tau=2.0, decay_input=False)),
    "plif": (PLIFSpec(tau=2.0),),
    "klif": (KLIFSpec(tau=2.0),),
    "alif": (ALIFSpec(tau=2.0, tau_adapt=2.0, beta=0.5),),
    "cuba_lif": (CUBALIFSpec(tau=2.0, tau_syn=2.0),),
    "ilif": (ILIFSpec(tau=2.0),),
    "nilif": (NILIFSpec(tau=2.0),),
    "clif": (CLIFSpec(),),
    "psn": (PSNSpec(T=16),),
}


def first_step_margin(spec: NeuronSpec, level: float) -> float:
    """h - v_th of the oracle's first step from rest under a constant input ``level``
    (float64; for HH the membrane after the step minus the detection level)."""
    from .oracle import oracle_parameters, oracle_run

    x = torch.full((1, 1, 1), level, dtype=torch.float64)
    with torch.no_grad():
        _, v, margin, _ = oracle_run(spec, x, oracle_parameters(spec, torch.float64))
    if spec.kind == "hh":  # the crossing's margin is the nearer of before and after: use after
        return float(v.flatten()[0]) - spec.v_threshold
    return float(margin.flatten()[0])


@cache
def tie_level(spec: NeuronSpec) -> float | None:
    """A float64 input that charges a resting neuron exactly onto its threshold in one step,
    found by bisection over the input and a walk over the neighbouring floats (None if no
    float lands exactly: then no exact tie is reachable from rest)."""
    lo, hi = -50.0, 500.0  # 50 below and 500 above rest: every kind's input range, finite
    if not first_step_margin(spec, lo) < 0 < first_step_margin(spec, hi):
        return None
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if first_step_margin(spec, mid) < 0 else (lo, mid)
    x = lo
    for _ in range(256):  # the margin moves by about an ulp per float: look around
        if first_step_margin(spec, x) == 0.0:
            return x
        x = float(np.nextafter(x, np.inf))
    return None


@register_drive("first-step-tie")
def first_step_tie(T: int, B: int, N: int, unit: float, gen: torch.Generator,
                   spec: NeuronSpec) -> Tensor:
    """The constant input whose first charge from rest is exactly ``v_th`` (float64 only):
    for kinds whose arithmetic never gives a tie on a grid (exponentials, sigmoid gates,
    0.04 v^2, an Euler crossing), the tie is constructed instead."""
    level = tie_level(spec.model_copy(update={"fire": "gt"}))
    if level is None:
        raise ValueError(f"no float64 input puts a resting {spec.kind} exactly on its threshold")
    return torch.full((T, B, N), level, dtype=torch.float64)


#: Kinds whose exact tie is constructed (``first-step-tie``), with the spec it is built on.
CONSTRUCTED_TIES: dict[str, NeuronSpec] = {
    "eif": NEURON_KINDS["eif"](), "hdlif": NEURON_KINDS["hdlif"](),
    "glif": GLIFSpec(T=4), "izhikevich": NEURON_KINDS["izhikevich"](),
    # detection at -32 mV: near 0 mV a float's spacing is far finer than one input step moves
    # v, so no input lands exactly on 0; at -32 mV one does
    "hh": HHSpec(dt=0.05, substeps=10, v_threshold=-32.0),
}


def tie_cases(kind: str, label: str) -> list[Case]:
    """Dyadic drives on exact specs, under each fire rule, in both dtypes, no allowance; a
    constructed first-step tie (float64) where no grid gives one."""
    cases = []
    if kind in CONSTRUCTED_TIES:
        spec = CONSTRUCTED_TIES[kind]
        for rule in _literal(type(spec), "fire"):
            cases.append(Case(f"{kind}-tie-{rule}", spec.model_copy(update={"fire": rule}),
                              "first-step-tie", "multi-step", label, T=4,
                              strict_threshold=True, dtypes=("float64",)))
    for i, spec in enumerate(TIE_SPECS.get(kind, ())):
        for rule in _literal(type(spec), "fire"):
            s = spec.model_copy(update={"fire": rule})
            cases.append(Case(f"{kind}-tie{i}-{rule}", s, "dyadic", "multi-step", label, T=16,
                              strict_threshold=True))
    return cases

