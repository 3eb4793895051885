""""As published" presets: each named neuron as its authors' code runs it.

The canonical defaults of a kind are this project's choice (strict fire rule, attached reset,
initial values that make a fresh neuron easy to read). A model that reproduces a paper needs
the authors' choices instead: their fire rule, whether they detach the reset, their initial
values and parameter defaults. ``published(kind)`` returns that spec; the registry below is the
one place they are written, each with its source (repository and commit), and
``tests/test_zoo_published.py`` checks the ML kinds against golden traces of that code
(``tests/data/zoo/``). docs/neurons.md lists every field where the two differ.

>>> published("clif").fire, published("clif").surrogate.kind
('ge', 'rectangle')
>>> published("psn", T=8).init_weight
'kaiming_uniform'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from step.errors import SpecError
from step.specs.neuron import NEURON_KINDS, NeuronSpec, parse_neuron


@dataclass(frozen=True)
class Published:
    """One kind's preset: the fields its authors set otherwise, and where that is read."""

    kind: str
    #: field -> the authors' value, for every field where it differs from the canonical one
    settings: Mapping[str, Any]
    #: the code the preset reproduces ("owner/repo@commit path"), or why there is none
    source: str
    #: what the authors' code does that no spec field expresses ("" when nothing)
    remaining: str = ""
    #: the reference the golden trace was made from when it is not the authors' own code
    golden: str = ""


#: kind -> its "as published" preset. Filled by :func:`register_published`, below.
PUBLISHED: dict[str, Published] = {}


def register_published(entry: Published) -> Published:
    """Add a kind's preset (once); the settings must validate as that kind's spec."""
    if entry.kind in PUBLISHED:
        raise SpecError(f"an as-published preset of {entry.kind!r} is registered twice")
    if entry.kind not in NEURON_KINDS:
        raise SpecError(f"as-published preset for unknown neuron kind {entry.kind!r}")
    PUBLISHED[entry.kind] = entry
    parse_neuron({"kind": entry.kind, **entry.settings})
    return entry


def published(kind: str, **overrides: Any) -> NeuronSpec:
    """The spec of ``kind`` as its authors' code runs it; ``overrides`` change fields on top
    (``published("psn", T=8)``)."""
    if kind not in PUBLISHED:
        known = ", ".join(sorted(PUBLISHED))
        raise SpecError(f"no as-published preset for neuron kind {kind!r}: choose one of {known}")
    return parse_neuron({"kind": kind, **PUBLISHED[kind].settings, **overrides})


def differences(kind: str) -> list[tuple[str, Any, Any]]:
    """(field, canonical value, published value) for every field where the two differ."""
    canonical = NEURON_KINDS[kind]().model_dump()
    preset = published(kind).model_dump()
    return [(name, canonical[name], preset[name]) for name in canonical
            if canonical[name] != preset[name]]


_SJ_FIRE = "fires at h >= v_th (SpikingJelly's heaviside)"

register_published(Published(
    "plif", {"fire": "ge", "detach_reset": True},
    "fangwei123456/Parametric-Leaky-Integrate-and-Fire-Spiking-Neuron@f644ff6 codes/models.py "
    "PLIFNode as in the published runs (init_tau 2, -detach_reset, ATan(2) not learnt); "
    + _SJ_FIRE))
register_published(Published(
    "klif", {"fire": "ge", "surrogate": {"kind": "sigmoid", "alpha": 4.0}},
    "no authors' code found; SpikingJelly's port (spikingjelly 2.0.0 "
    "activation_based.neuron.KLIFNode, every default: Sigmoid(4), hard reset, "
    "scale_reset False); " + _SJ_FIRE,
    golden="spikingjelly 2.0.0 KLIFNode"))
register_published(Published(
    "clif", {"fire": "ge", "surrogate": {"kind": "rectangle", "alpha": 1.0}},
    "HuuYuLong/Complementary-LIF@d76af59 modules/neuron.py ComplementaryLIFNeuron with "
    "train.py's defaults (tau 2, surrogate Rectangle(1)); " + _SJ_FIRE,
    remaining="Rectangle's gradient is 1 on |x| <= 0.5 (step: |x| < 0.5): they differ only at "
              "exactly |h - v_th| = 0.5"))
register_published(Published(
    "glif", {"init_gate": (0.45, 0.35, 0.45), "init_linear_decay": 0.0625,
             "surrogate": {"kind": "rectangle", "alpha": 1.0}},
    "Ikarosy/Gated-LIF@60638b2 layers.py LIFSpike (layer-wise) with train.py's initial_dict: "
    "--gate 0.6 0.8 0.6 stored raw as log(1/p - 1) with p = (g - 0.5)/2 + 0.5 (no minus "
    "sign, unlike its other parameters), so the gates start at sigmoid = 1 - p = 0.45, 0.35, "
    "0.45; linear leak Vth/(2 * 4) = Vth/8 for every T (layers.py's steps = 4); surrogate "
    "1[|x| < 0.5]; fires at u > Vth",
    remaining="HEAD's backward raises (`input = ctx.saved_tensors` lost its comma in 5cda262) "
              "and its spikes are float32 (`.float()`); the channel-wise LIFSpike_CW of the "
              "trained models uses binary (straight-through) gates unless --soft-mode"))
register_published(Published(
    "psn", {"fire": "ge", "init_weight": "kaiming_uniform"},
    "fangwei123456/Parallel-Spiking-Neuron@2bfcba4 cifar10/train_cf10.py IFNode5 "
    "(nn.Linear(T, T): W drawn by PyTorch's default init, b = -1; surrogate.ATan()); "
    + _SJ_FIRE))
register_published(Published(
    "ilif", {"round_ties": "even", "detach_reset": True},
    "BICLab/SpikeYOLO@309ef5e ultralytics/nn/modules/yolo_spikformer.py mem_update + "
    "MultiSpike4: decay 0.25 (tau 4/3), D 4, input undivided, torch.round (ties to even), "
    "the count detached in the reset"))
register_published(Published(
    "nilif", {"round_ties": "even", "detach_reset": True},
    "no authors' code found; I-LIF's conventions (BICLab/SpikeYOLO@309ef5e mem_update + "
    "MultiSpike4) with the count divided by D",
    golden="SpikeYOLO's mem_update, its count divided by D = 4 in the golden script"))
register_published(Published(
    "izhikevich", {"v_init": -65.0, "fire": "ge"},
    "Izhikevich (IEEE TNN 2003) Fig. 3 listing: v = -65 and u = b v for every neuron, spike "
    "on v >= 30",
    remaining="the listing advances v in two half steps of 0.5 ms per 1 ms step (u in one); "
              "here v moves in one step of dt"))
for _kind, _why in (
        ("eif", "Fourcaud-Trocmé et al. 2003 published no code; canonical values"),
        ("alif", "not compared with the LSNN code (IGITUGraz/LSNN-official); canonical values"),
        ("cuba_lif", "a textbook model without one authors' code; canonical values"),
        ("li", "a textbook model without one authors' code; canonical values"),
        ("hdlif", "no code beyond the published STEP's (whose gate mixes the batch, a bug); "
                  "canonical values"),
        ("hh", "Hodgkin & Huxley 1952 (no code); canonical values, checked against Brian2")):
    register_published(Published(_kind, {}, _why))
