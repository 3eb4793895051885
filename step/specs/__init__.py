"""Neutral specs: neurons, surrogates, encoders. Pure pydantic, no torch import."""

from step.specs._base import Spec, apply_assignments, format_validation_error, load_yaml
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

__all__ = [
    "DEFAULT_ALPHA", "ENCODER_KINDS", "NEURON_KINDS", "AnyEncoderSpec", "AnyNeuronSpec",
    "DeltaEncoderSpec", "DirectEncoderSpec", "EncoderSpec", "IFSpec", "LIFSpec",
    "LatencyEncoderSpec", "NeuronSpec", "PLIFSpec", "PhaseEncoderSpec", "RateEncoderSpec", "Spec",
    "SurrogateSpec", "apply_assignments", "format_validation_error", "load_yaml", "parse_encoder",
    "parse_neuron",
    "register_neuron",
]
