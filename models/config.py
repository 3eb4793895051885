"""Model configs: every size, neuron and encoder a model uses comes from here.

A config is a :class:`step.specs.Spec` (pydantic, frozen, ``extra="forbid"``): a misspelt key is an
error with one line, never a silently ignored setting (the published STEP ignored ``num_heads`` in
QKFormer, ``img_size``/``embed_dim`` in SpikingResformer and hyphenated YAML keys).

Neuron roles: ``neuron`` is the default neuron of every layer, ``attn_neuron`` the one that fires on
attention scores (threshold 0.5 in Spikformer, SDT, QKFormer and Spikingformer). ``surrogate``, when
set, replaces the surrogate of every role: it is the one key a surrogate ablation changes (the
published STEP passed ``act_func=`` to neurons that read ``act_fun=``, so its configured surrogate
never reached them).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, model_validator

from step.errors import SpecError
from step.specs import (
    AnyEncoderSpec,
    AnyNeuronSpec,
    DirectEncoderSpec,
    LIFSpec,
    NeuronSpec,
    Spec,
    SurrogateSpec,
)

#: The surrogate of the original code of every transformer here: SpikingJelly's
#: ``MultiStepLIFNode`` default, ``surrogate.Sigmoid(alpha=4)`` (canonical ``sigmoid``, alpha 4).
ORIGINAL_SURROGATE = {"kind": "sigmoid", "alpha": 4.0}


def lif(v_threshold: float = 1.0, surrogate: dict[str, Any] | None = None,
        fire: str = "ge") -> dict[str, Any]:
    """The LIF every original uses: tau 2, hard reset to 0, reset detached, firing at
    ``h >= v_th`` (SpikingJelly ``MultiStepLIFNode(tau=2.0, detach_reset=True)``, whose
    heaviside is ``x >= 0``). The fire rule matters: attention neurons (threshold 0.5) sum
    spikes times 0.125, so ``h == v_th`` happens on up to a quarter of their steps."""
    return {
        "kind": "lif", "tau": 2.0, "v_threshold": v_threshold, "v_reset": 0.0, "reset": "hard",
        "detach_reset": True, "decay_input": True, "fire": fire,
        "surrogate": dict(surrogate or ORIGINAL_SURROGATE),
    }


def _default_neuron() -> NeuronSpec:
    return LIFSpec.parse(lif())


def _default_attn_neuron() -> NeuronSpec:
    return LIFSpec.parse(lif(v_threshold=0.5))


class ModelConfig(Spec):
    """Fields every model shares."""

    T: int = Field(4, ge=1, description="time steps (also the encoder's T)")
    img_size: int = Field(32, ge=1, description="input height = width")
    in_channels: int = Field(3, ge=1, description="input channels")
    num_classes: int = Field(10, ge=1, description="classifier outputs")
    encoder: AnyEncoderSpec = Field(
        default_factory=DirectEncoderSpec, description="static input -> [T, B, ...]"
    )
    neuron: AnyNeuronSpec = Field(default_factory=_default_neuron, description="default neuron")
    surrogate: SurrogateSpec | None = Field(
        None, description="when set, the surrogate of every neuron role"
    )

    #: Names of the fields that hold neuron specs (the roles).
    neuron_roles: ClassVar[tuple[str, ...]] = ("neuron",)

    @model_validator(mode="after")
    def _tie_encoder_and_surrogate(self) -> ModelConfig:
        # The config's T is the one place T lives; an encoder T given explicitly must agree.
        if "T" in type(self.encoder).model_fields:
            if "T" in self.encoder.model_fields_set and self.encoder.T != self.T:
                raise ValueError(
                    f"encoder.T ({self.encoder.T}) differs from T ({self.T}): set T only"
                )
            object.__setattr__(self, "encoder", self.encoder.model_copy(update={"T": self.T}))
        if self.surrogate is not None:
            for role in self.neuron_roles:
                spec = getattr(self, role).model_copy(update={"surrogate": self.surrogate})
                object.__setattr__(self, role, spec)
        return self

    def spec(self, role: str) -> NeuronSpec:
        """The neuron spec of ``role`` (``"neuron"``, ``"attn_neuron"``, ...)."""
        if role not in self.neuron_roles:
            raise SpecError(f"unknown neuron role {role!r}: choose one of {self.neuron_roles}")
        return getattr(self, role)


class TransformerConfig(ModelConfig):
    """Fields every spiking transformer shares: the attention neuron role and the MLP ratio."""

    attn_neuron: AnyNeuronSpec = Field(
        default_factory=_default_attn_neuron, description="neuron firing on attention scores"
    )
    mlp_ratio: float = Field(4.0, gt=0, description="MLP hidden = dim * mlp_ratio")

    neuron_roles: ClassVar[tuple[str, ...]] = ("neuron", "attn_neuron")


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Overrides applied to a preset: nested dicts merge key by key.

    An override changes what it names and nothing else. A nested override that names a
    different ``kind`` (``neuron={"kind": "if"}``) keeps every setting of the preset's entry
    that the new kind also has (surrogate, reset, ``detach_reset``, threshold, fire rule...) and
    drops only those it lacks (LIF's ``tau`` and ``decay_input`` for IF), so an ablation of the
    neuron kind is not also an ablation of the surrogate and the reset (a field the new kind
    declares on another scale is not "the same field": see :func:`_shared_fields`). A
    surrogate's ``alpha`` is its family's own parameter (atan 2 and sigmoid 4 both peak at 1),
    so a surrogate family change takes the new family's default unless the
    override names ``alpha`` too.
    """
    out = dict(base)
    for key, value in overrides.items():
        old = out.get(key)
        if isinstance(old, Spec):
            old = old.model_dump()
        if isinstance(old, str) and isinstance(value, dict):
            old = {"kind": old}
        if isinstance(value, Spec):
            value = value.model_dump()
        if isinstance(old, dict) and isinstance(value, dict):
            if "kind" in value and value["kind"] != old.get("kind"):
                old = _shared_fields(key, old, value["kind"])
            out[key] = merge(old, value)
        else:
            out[key] = value
    return out


def _shared_fields(key: str, old: dict[str, Any], kind: Any) -> dict[str, Any]:
    """The entries of ``old`` that a spec of ``kind`` also has, with the same meaning.

    A field means the same in both kinds when both declare it with the same default (LIF's and
    IF's ``v_threshold`` 1.0); the same name with another default is another scale
    (Izhikevich's ``v_threshold`` is a spike peak of 30 mV) and takes the new kind's default.
    An unknown kind keeps nothing: validation then names it.
    """
    from step.specs import ENCODER_KINDS, NEURON_KINDS

    if key == "surrogate":
        return {}  # only the family and its own alpha: nothing carries over
    kinds: dict[str, Any] = ENCODER_KINDS if key == "encoder" else NEURON_KINDS
    new_cls, old_cls = kinds.get(kind), kinds.get(old.get("kind"))
    if new_cls is None:
        return {}

    def same(name: str) -> bool:
        if name == "kind" or name not in new_cls.model_fields:
            return False
        if old_cls is None or name not in old_cls.model_fields:
            return True
        return (old_cls.model_fields[name].get_default(call_default_factory=True)
                == new_cls.model_fields[name].get_default(call_default_factory=True))

    return {k: v for k, v in old.items() if same(k)}
