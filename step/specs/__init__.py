"""Neutral specs: neurons, surrogates, encoders. Pure pydantic, no torch import."""

from step.specs._base import (
    Spec,
    apply_assignments,
    format_validation_error,
    load_mapping,
    load_yaml,
    set_dotted,
)
from step.specs.encoder import (
    ENCODER_KINDS,
    AnyEncoderSpec,
    DeltaEncoderSpec,
    DirectEncoderSpec,
    EncoderSpec,
    LatencyEncoderSpec,
    PhaseEncoderSpec,
    RateEncoderSpec,
    parse_encoder,
)
from step.specs.neuron import (
    NEURON_KINDS,
    AnyNeuronSpec,
    IFSpec,
    LIFSpec,
    NeuronSpec,
    PLIFSpec,
    parse_neuron,
    register_neuron,
)
from step.specs.surrogate import DEFAULT_ALPHA, SurrogateSpec

# The neuron zoo: importing registers each kind in NEURON_KINDS (after the base kinds).
from step.specs.lif_variants import ALIFSpec, CUBALIFSpec, EIFSpec, KLIFSpec, LISpec  # isort: skip
from step.specs.integer import ILIFSpec, NILIFSpec  # isort: skip
from step.specs.gated import CLIFSpec, GLIFSpec, HDLIFSpec, PSNSpec  # isort: skip
from step.specs.biophysical import HHSpec, IzhikevichSpec  # isort: skip
# The authors' presets of the named kinds (after every kind is registered).
from step.specs.as_published import PUBLISHED, Published, published  # isort: skip

__all__ = [
    "ALIFSpec", "CLIFSpec", "CUBALIFSpec", "EIFSpec", "GLIFSpec", "HDLIFSpec", "HHSpec",
    "ILIFSpec", "IzhikevichSpec", "KLIFSpec", "LISpec", "NILIFSpec", "PSNSpec",
    "DEFAULT_ALPHA", "ENCODER_KINDS", "NEURON_KINDS", "AnyEncoderSpec", "AnyNeuronSpec",
    "DeltaEncoderSpec", "DirectEncoderSpec", "EncoderSpec", "IFSpec", "LIFSpec",
    "LatencyEncoderSpec", "NeuronSpec", "PLIFSpec", "PhaseEncoderSpec", "RateEncoderSpec", "Spec",
    "SurrogateSpec", "apply_assignments", "format_validation_error", "load_mapping", "load_yaml",
    "PUBLISHED", "Published", "parse_encoder", "parse_neuron", "published", "set_dotted",
    "register_neuron",
]
