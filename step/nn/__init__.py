"""Neutral layers: neurons from specs on any backend, encoders, and time-distributed layers."""

from step.backend import NeuronModule, State
from step.nn.encoder import Encoder
from step.nn.layers import (
    BatchNorm1d,
    BatchNorm2d,
    Conv1d,
    Conv2d,
    Linear,
    MaxPool2d,
    SeqWrap,
    reset,
)
from step.nn.neuron import Neuron

__all__ = [
    "BatchNorm1d", "BatchNorm2d", "Conv1d", "Conv2d", "Encoder", "Linear", "MaxPool2d",
    "Neuron", "NeuronModule", "SeqWrap", "State", "reset",
]
