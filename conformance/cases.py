"""The case catalogue: what the conformance suite runs on every backend.

A case is a neuron spec, an input drive (:mod:`.drives`), a mode (how the backend's module is
called, :mod:`.modes`) and a dtype. Cases come from one factory per neuron kind, registered with
:func:`register_cases` under the kind's name in :data:`step.specs.NEURON_KINDS`; a kind that has
no factory yet gets :func:`standard_cases` on its default spec, so a new neuron is tested the
moment it is registered and a neuron zoo adds its own cases without touching the runner.

Budget: every case builds its neuron once and uses B=4, N=16 and T<=64 (one long case, T=512),
so the whole catalogue runs on five backends in well under two minutes on two cores.
"""

from __future__ import annotations

import fnmatch
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from step.conformance.policy import DTYPES
from step.specs import NEURON_KINDS, IFSpec, LIFSpec, NeuronSpec, PLIFSpec, SurrogateSpec
from step.specs.surrogate import DEFAULT_ALPHA

#: Modes that compare the forward pass; each is implemented in :mod:`.modes`.
FORWARD_MODES = ("multi-step", "single-step", "state-reset", "batch-change")
#: Modes that compare gradients against the reference's autograd.
GRADIENT_MODES = ("input-grad", "param-grad")

#: Drives run in multi-step mode on every spec of the standard grid.
FORWARD_DRIVES = ("constant", "ramp", "random", "sparse", "silence", "large", "negative")


@dataclass(frozen=True)
class Case:
    """One conformance check (see the module docstring)."""

    name: str                 # short label of the spec, e.g. "lif-tau5-soft"
    spec: NeuronSpec
    drive: str
    mode: str
    feature: str              # column of the capability matrix
    T: int = 32
    B: int = 4
    N: int = 16
    dtype: str = "float32"
    strict_threshold: bool = False  # no near-threshold allowance: the case tests the fire rule
    seed: int = field(default=-1)
    #: dtypes the case runs in (empty: all); a model too ill-conditioned to compare at one
    #: dtype's tolerance (Izhikevich in float32) says so here, with the reason in its factory
    dtypes: tuple[str, ...] = ()
    #: the neuron axes after [T, B]: () is [N]; (C, L) a rank-4 and (C, H, W) a rank-5 input
    #: of C*L (C*H*W) = N neurons
    shape: tuple[int, ...] = ()
    #: False: the input is a transposed view (non-contiguous, as after a permute in a model)
    contiguous: bool = True
    #: (dtype, steps) pairs: in that dtype two correct implementations part within ``steps``
    #: (a chaotic or ill-conditioned model): compared step for step up to it, by firing
    #: statistics after it (see :mod:`.horizon`)
    horizons: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        if self.mode not in FORWARD_MODES + GRADIENT_MODES:
            raise ValueError(f"unknown conformance mode {self.mode!r}")
        if self.shape and _prod(self.shape) != self.N:
            raise ValueError(f"case shape {self.shape} does not hold N={self.N} neurons")
        if self.seed < 0:  # stable per case, so adding a case never changes another's input
            key = f"{self.name}/{self.drive}/{self.mode}/{self.T}".encode()
            object.__setattr__(self, "seed", zlib.crc32(key) % 2**31)

    @property
    def id(self) -> str:
        """Unique name: ``spec/drive/mode/T[/layout]/dtype`` (what ``--cases`` matches).

        The layout part (``r5``, ``r3-strided``) appears only for inputs other than a
        contiguous ``[T, B, N]``, so the ids of the original cases never changed.
        """
        layout = ""
        if self.shape or not self.contiguous:
            layout = f"/r{2 + len(self.neuron_shape)}" + ("" if self.contiguous else "-strided")
        return f"{self.name}/{self.drive}/{self.mode}/T{self.T}{layout}/{self.dtype}"

    @property
    def neuron_shape(self) -> tuple[int, ...]:
        """The axes after [T, B]: ``shape``, or ``(N,)``."""
        return self.shape or (self.N,)

    @property
    def horizon(self) -> int | None:
        """Steps compared one for one in this case's dtype (None: all of them)."""
        return dict(self.horizons).get(self.dtype)

    @property
    def aspect(self) -> str:
        """``forward`` or ``gradient``: which support level of the backend applies."""
        return "gradient" if self.mode in GRADIENT_MODES else "forward"


def _prod(shape: tuple[int, ...]) -> int:
    out = 1
    for n in shape:
        out *= n
    return out


CaseFactory = Callable[[], Iterable[Case]]

#: neuron kind -> factory of its cases (dtype left at float32; :func:`catalogue` expands it).
CASE_FACTORIES: dict[str, CaseFactory] = {}


def register_cases(kind: str) -> Callable[[CaseFactory], CaseFactory]:
    """Decorator: the cases of neuron kind ``kind`` (a key of ``NEURON_KINDS``)."""

    def add(factory: CaseFactory) -> CaseFactory:
        if kind in CASE_FACTORIES:
            raise ValueError(f"conformance cases for {kind!r} are registered twice")
        CASE_FACTORIES[kind] = factory
        return factory

    return add


def standard_cases(name: str, spec: NeuronSpec, feature: str) -> list[Case]:
    """Every forward drive in multi-step mode, then the modes and T=1 on the random drive."""
    cases = [Case(name, spec, drive, "multi-step", feature) for drive in FORWARD_DRIVES]
    cases += [
        Case(name, spec, "random", "single-step", "single-step"),
        Case(name, spec, "random", "state-reset", "state reset"),
        Case(name, spec, "random", "batch-change", "batch change"),
        Case(name, spec, "random", "multi-step", "T=1", T=1),
    ]
    return cases


def gradient_cases(name: str, spec: NeuronSpec, feature: str = "input gradient") -> list[Case]:
    """The input gradient, and the learnable parameters' gradients when the spec has any."""
    cases = [Case(name, spec, "random", "input-grad", feature)]
    if spec.learnable_parameters():
        cases.append(Case(name, spec, "random", "param-grad", "parameter gradient"))
    return cases


def threshold_case(name: str, spec: NeuronSpec) -> Case:
    """Inputs that put ``h`` exactly on the threshold: the strict ``>`` rule, no allowance."""
    return Case(name, spec, "at-threshold", "multi-step", "fire at threshold", T=16,
                strict_threshold=True)


@register_cases("if")
def if_cases() -> list[Case]:
    specs = {
        "if": IFSpec(),
        "if-soft": IFSpec(reset="soft"),
        "if-noreset": IFSpec(reset="none"),
        "if-th0.5-vr-0.25": IFSpec(v_threshold=0.5, v_reset=-0.25),
    }
    features = {"hard": "IF", "soft": "soft reset", "none": "no reset"}
    cases = [c for n, s in specs.items() for c in standard_cases(n, s, features[s.reset])]
    cases += [threshold_case("if", specs["if"]), threshold_case("if-soft", specs["if-soft"])]
    cases += gradient_cases("if", specs["if"])
    learnt = IFSpec(reset="soft", learn_threshold=True)
    cases += gradient_cases("if-soft-learnth", learnt)
    return cases


@register_cases("lif")
def lif_cases() -> list[Case]:
    specs = {
        "lif-tau2": LIFSpec(tau=2.0),
        "lif-tau5": LIFSpec(tau=5.0),
        "lif-tau3-th0.5-vr-0.2": LIFSpec(tau=3.0, v_threshold=0.5, v_reset=-0.2),
        "lif-tau5-soft": LIFSpec(tau=5.0, reset="soft"),
        "lif-tau5-noreset": LIFSpec(tau=5.0, reset="none"),
        "lif-tau4-nodecay": LIFSpec(tau=4.0, decay_input=False),
    }
    cases: list[Case] = []
    for name, spec in specs.items():
        feature = {"soft": "soft reset", "none": "no reset"}.get(spec.reset, "LIF")
        if not spec.decay_input:
            feature = "decay_input=False"
        cases += standard_cases(name, spec, feature)
        cases += gradient_cases(name, spec)
    cases.append(Case("lif-tau5", specs["lif-tau5"], "random", "multi-step", "long sequence",
                      T=512))
    cases += [
        threshold_case("lif-tau2", specs["lif-tau2"]),
        threshold_case("lif-tau2-soft", LIFSpec(tau=2.0, reset="soft")),
        threshold_case("lif-tau2-nodecay", LIFSpec(tau=2.0, decay_input=False)),
    ]
    for kind in DEFAULT_ALPHA:  # every surrogate family: its gradient, and its fire rule
        if kind == "atan":  # the default: lif-tau5 and lif-tau2 cover it
            continue
        surrogate = SurrogateSpec(kind=kind)
        cases.append(Case(f"lif-tau5-{kind}", LIFSpec(tau=5.0, surrogate=surrogate), "random",
                          "input-grad", f"surrogate {kind}"))
        cases.append(threshold_case(f"lif-tau2-{kind}", LIFSpec(tau=2.0, surrogate=surrogate)))
    cases += gradient_cases("lif-tau5-detach", LIFSpec(tau=5.0, detach_reset=True),
                            "reset gradient")
    cases += gradient_cases("lif-tau5-soft-detach",
                            LIFSpec(tau=5.0, reset="soft", detach_reset=True), "reset gradient")
    cases += gradient_cases("lif-tau5-learnth", LIFSpec(tau=5.0, learn_threshold=True))
    return cases


@register_cases("plif")
def plif_cases() -> list[Case]:
    specs = {"plif-tau2": PLIFSpec(tau=2.0), "plif-tau4-soft": PLIFSpec(tau=4.0, reset="soft")}
    cases: list[Case] = []
    for name, spec in specs.items():
        cases += standard_cases(name, spec, "PLIF" if spec.reset == "hard" else "soft reset")
        cases += gradient_cases(name, spec)
    cases.append(threshold_case("plif-tau2", specs["plif-tau2"]))
    return cases


def cases_for_kind(kind: str) -> list[Case]:
    """The cases of one neuron kind: its factory's (or the standard grid on its defaults), then
    those derived from its spec space (:mod:`.spec_space`)."""
    from step.conformance.spec_space import derived_cases

    factory = CASE_FACTORIES.get(kind)
    if factory is not None:
        own = list(factory())
    else:
        spec = NEURON_KINDS[kind]()
        own = standard_cases(kind, spec, kind.upper()) + gradient_cases(kind, spec)
    return own + list(derived_cases(kind))


def catalogue(dtypes: Iterable[str] = DTYPES, pattern: str | None = None) -> list[Case]:
    """Every case of every registered neuron kind, in each dtype, optionally filtered.

    ``pattern`` is a shell-style glob over :attr:`Case.id` (``lif-*/random/*``); a pattern
    without wildcards matches as a substring (``single-step``).
    """
    dtypes = list(dtypes)
    unknown = [d for d in dtypes if d not in DTYPES]
    if unknown:
        raise ValueError(f"unknown dtype {unknown[0]!r}: choose from {', '.join(DTYPES)}")
    out: list[Case] = []
    for kind in sorted(NEURON_KINDS):
        for case in cases_for_kind(kind):
            out += [replace(case, dtype=d) for d in dtypes if not case.dtypes or d in case.dtypes]
    if pattern:
        glob = pattern if any(ch in pattern for ch in "*?[") else f"*{pattern}*"
        out = [c for c in out if fnmatch.fnmatchcase(c.id, glob)]
    ids = [c.id for c in out]
    if len(ids) != len(set(ids)):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise ValueError(f"two conformance cases share the id {dup!r}")
    return out


#: The autocast case set: these kinds' cases of these modes (the neurons of every spiking
#: transformer; forward and input gradient), run as :data:`~step.conformance.policy.AUTOCAST`.
AUTOCAST_KINDS = ("if", "lif", "plif")
AUTOCAST_MODES = ("multi-step", "input-grad")
#: Drives of the autocast set: inputs of a trained layer's size (the "large" and "negative"
#: drives push an unleaky IF membrane to hundreds, where bfloat16's spacing is 0.5 or more).
AUTOCAST_DRIVES = ("constant", "ramp", "random", "sparse")
#: The gradient cases' size in the autocast set: gradients are compared only where no spike
#: flipped near the threshold, and in bfloat16 a flip is likely among the 2048 values of the
#: standard size; 128 values let a redrawn input clear the band (see expect.expected).
AUTOCAST_GRADIENT_SIZE = {"B": 1, "N": 8, "T": 16}


def autocast_cases(pattern: str | None = None) -> list[Case]:
    """The case set run on a bfloat16 input under ``torch.autocast`` (see
    :mod:`step.conformance.placement`): the hand-written IF, LIF and PLIF cases in multi-step
    and input-gradient mode, with these left out, each because bfloat16 itself, not a backend,
    would fail it (the reference backend does, measured):

    - cases that put ``h`` exactly on the threshold: a fire-rule test needs exact arithmetic;
    - soft resets: ``v = h - v_th`` turns the bfloat16 spacing of a large ``h`` (0.125 at 16)
      into an absolute error of a membrane near 0;
    - the rectangle surrogate: its gradient jumps at ``|x| = 0.5/alpha``, and a bfloat16
      ``x`` lands on the other side of the jump;
    - the ``large`` and ``negative`` drives (see :data:`AUTOCAST_DRIVES`).
    """
    from step.conformance.policy import AUTOCAST

    out = [replace(c, dtype=AUTOCAST, **(AUTOCAST_GRADIENT_SIZE if c.aspect == "gradient"
                                         else {}))
           for kind in AUTOCAST_KINDS for c in CASE_FACTORIES[kind]()
           if c.mode in AUTOCAST_MODES and not c.strict_threshold
           and c.drive in AUTOCAST_DRIVES and c.T <= 64 and c.spec.reset != "soft"
           and c.spec.surrogate.kind != "rectangle"]
    if pattern:
        glob = pattern if any(ch in pattern for ch in "*?[") else f"*{pattern}*"
        out = [c for c in out if fnmatch.fnmatchcase(c.id, glob)]
    return out


# The neuron zoo's factories register themselves (after everything they import is defined).
from step.conformance import zoo_cases  # noqa: E402, F401
