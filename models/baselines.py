"""Small baselines: a spiking MLP, a spiking CNN and a recurrent spiking network (no paper; the
yardsticks of the suite).

The MLP and the CNN are the textbook direct-training recipe (Wu et al. 2019, STBP; Fang et al.
2021): a weight layer, BatchNorm over channels (statistics over time and batch) and a LIF neuron
per layer, logits = mean over time of a linear readout. The recurrent network (``spiking_rnn``,
an LSNN: Bellec et al., NeurIPS 2018) adds one recurrent layer of adaptive-threshold neurons: the
yardstick of a model that must use the order of its time steps (the temporal probe of ``step
reproduce``). Their ``tiny`` presets run on scikit-learn's 8x8 one-channel digits (T=4) and train
on one CPU core in seconds per epoch; ``spiking_rnn``'s ``seq`` preset reads the 64-step pixel
sequences (``digits_seq``, ``digits_pseq``).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import ClassVar

import torch
from pydantic import Field
from torch import Tensor, nn

import step.nn as snn
from step.errors import InputError, SpecError
from step.models._registry import register_model
from step.models.blocks import FeatureInfo, Neurons, SpikingModel, conv_bn, init_head
from step.models.config import ModelConfig, lif
from step.specs import ALIFSpec, AnyNeuronSpec

#: Baselines have no original code; they use the same LIF as the transformers, with the
#: canonical atan surrogate (SpikingJelly's ATan(alpha=2), the most common choice in its examples)
#: and the canonical strict fire rule (there is no official code whose rule they must follow).
_BASE_NEURON = lif(surrogate={"kind": "atan", "alpha": 2.0}, fire="gt")
_DIGITS = {"img_size": 8, "in_channels": 1, "num_classes": 10, "T": 4, "neuron": _BASE_NEURON}



def flat_sequence(name: str, x: Tensor, encoder: nn.Module, features_in: int) -> Tensor:
    """``x`` as ``[T, B, features_in]``: static inputs ([B, F], [B, C, H, W]) encoded into T
    steps, sequences ([T, B, F], [T, B, C, H, W]) flattened; one clear line otherwise."""
    if x.dim() in (2, 4):
        x = encoder(x)
    elif x.dim() not in (3, 5):
        raise InputError(
            f"{name} takes [B, F], [T, B, F], [B, C, H, W] or [T, B, C, H, W], got "
            f"shape {tuple(x.shape)}"
        )
    x = x.flatten(2)
    if x.shape[-1] != features_in:
        raise InputError(
            f"{name} was configured for {features_in} input features, "
            f"got {x.shape[-1]} (set in_features, or in_channels / img_size)"
        )
    return x

class SpikingMLPConfig(ModelConfig):
    """Fully connected layers ``in -> hidden[0] -> ... -> num_classes``."""

    in_features: int | None = Field(
        None, ge=1, description="input features; None: in_channels * img_size**2 (flattened)"
    )
    hidden: list[int] = Field(default_factory=lambda: [128], description="hidden widths")
    batch_norm: bool = Field(True, description="BatchNorm1d after every hidden Linear")

    @property
    def features_in(self) -> int:
        return self.in_features or self.in_channels * self.img_size**2


class SpikingMLP(SpikingModel):
    """Linear-BN-LIF layers, then a linear readout averaged over time.

    Takes ``[B, F]`` vectors or ``[B, C, H, W]`` images (encoded), ``[T, B, F]`` sequences or
    ``[T, B, C, H, W]`` frames (used as they are); images are flattened.
    """

    def __init__(self, config: SpikingMLPConfig, backend: str) -> None:
        super().__init__(config)
        make = Neurons(config, backend)
        layers: dict[str, nn.Module] = {}
        width = config.features_in
        for i, h in enumerate(config.hidden):
            layers[f"fc{i}"] = snn.Linear(width, h, bias=not config.batch_norm)
            if config.batch_norm:
                layers[f"bn{i}"] = snn.BatchNorm1d(h)
            layers[f"lif{i}"] = make()
            width = h
        self.layers = nn.Sequential(OrderedDict(layers))
        self.head = init_head(nn.Linear(width, config.num_classes))

    def forward(self, x: Tensor) -> Tensor:
        x = flat_sequence("spiking_mlp", x, self.encoder, self.config.features_in)
        return self.head(self.layers(x)).mean(0)


@register_model(
    SpikingMLPConfig,
    presets={
        "tiny": {**_DIGITS, "hidden": [64]},
        "mnist": {"img_size": 28, "in_channels": 1, "num_classes": 10, "T": 4,
                  "hidden": [512, 256], "neuron": _BASE_NEURON},
        "cifar10": {"img_size": 32, "in_channels": 3, "num_classes": 10, "T": 4,
                    "hidden": [1024, 512], "neuron": _BASE_NEURON},
    },
    default="tiny",
    paper="baseline (no paper): Linear-BN-LIF layers",
)
def spiking_mlp(config: SpikingMLPConfig, backend: str) -> SpikingMLP:
    """Spiking multilayer perceptron."""
    return SpikingMLP(config, backend)


class SpikingCNNConfig(ModelConfig):
    """Conv-BN-LIF stages (2x max-pool after each where ``pool``), optional FC, readout."""

    channels: list[int] = Field(default_factory=lambda: [16, 32], description="stage widths")
    pool: bool = Field(True, description="2x2 max-pool after every stage")
    fc_hidden: list[int] = Field(default_factory=list, description="hidden FC widths")


class SpikingCNN(SpikingModel):
    """Conv3x3-BN-LIF(-MaxPool) stages, flatten, (Linear-BN-LIF)*, linear readout."""

    def __init__(self, config: SpikingCNNConfig, backend: str) -> None:
        super().__init__(config)
        make = Neurons(config, backend)
        stages: list[nn.Module] = []
        c, size = config.in_channels, config.img_size
        for i, width in enumerate(config.channels):
            stage = nn.Sequential(OrderedDict(conv=conv_bn(c, width), lif=make()))
            if config.pool:
                if size < 2:
                    raise SpecError(
                        f"spiking_cnn: stage {i} would pool a 1x1 map; use fewer channels "
                        f"stages, pool=false or a larger img_size (got {config.img_size})"
                    )
                stage.add_module("pool", snn.MaxPool2d(2))
                size //= 2
            stages.append(stage)
            c = width
        self.stages = nn.Sequential(*stages)
        fcs: dict[str, nn.Module] = {}
        width = c * size * size
        for i, h in enumerate(config.fc_hidden):
            fcs.update({f"fc{i}": snn.Linear(width, h, bias=False), f"bn{i}": snn.BatchNorm1d(h),
                        f"lif{i}": make()})
            width = h
        self.fc = nn.Sequential(OrderedDict(fcs))
        self.head = init_head(nn.Linear(width, config.num_classes))

    @property
    def feature_info(self) -> list[FeatureInfo]:
        """The output of every Conv-BN-LIF(-pool) stage (spikes), stride doubled by each pool."""
        c = self.config
        step = 2 if c.pool else 1
        return [FeatureInfo(w, step ** (i + 1), f"stages.{i}")
                for i, w in enumerate(c.channels)]

    def stage_maps(self, x: Tensor) -> list[Tensor]:
        maps = []
        for stage in self.stages:
            x = stage(x)
            maps.append(x)
        return maps

    def features(self, x: Tensor) -> Tensor:
        return self.fc(self.stage_maps(x)[-1].flatten(2))


@register_model(
    SpikingCNNConfig,
    presets={
        "tiny": {**_DIGITS, "channels": [8, 16]},
        "cifar10": {"channels": [64, 128, 256, 256], "fc_hidden": [256],
                    "neuron": _BASE_NEURON},
        "cifar100": {"channels": [64, 128, 256, 256], "fc_hidden": [512], "num_classes": 100,
                     "neuron": _BASE_NEURON},
    },
    default="tiny",
    paper="baseline (no paper): VGG-style Conv-BN-LIF stages",
)
def spiking_cnn(config: SpikingCNNConfig, backend: str) -> SpikingCNN:
    """Spiking convolutional network."""
    return SpikingCNN(config, backend)


#: The recurrent layer's neuron: an adaptive LIF as in LSNNs (Bellec et al., NeurIPS 2018), with
#: a slower membrane (tau 5 steps) and a threshold adaptation of 20 steps, so that one layer can
#: carry information across a 64-step sequence; the same atan surrogate and fire rule as above.
_RNN_NEURON = {**_BASE_NEURON, "kind": "alif", "tau": 5.0, "tau_adapt": 20.0, "beta": 1.8,
               "reset": "soft"}


class SpikingRNNConfig(SpikingMLPConfig):
    """An input layer, one recurrent adaptive layer (LSNN), a linear readout.

    ``hidden`` holds one width per layer: ``[input, recurrent]``. ``neuron`` is the input
    layer's LIF, ``rec_neuron`` the recurrent layer's neuron (ALIF by default).
    """

    hidden: list[int] = Field(default_factory=lambda: [64, 64], min_length=2, max_length=2,
                              description="[input layer width, recurrent layer width]")
    rec_neuron: AnyNeuronSpec = Field(default_factory=lambda: ALIFSpec.parse(_RNN_NEURON),
                                      description="neuron of the recurrent layer")

    neuron_roles: ClassVar[tuple[str, ...]] = ("neuron", "rec_neuron")


class SpikingRNN(SpikingModel):
    """A baseline that must use the order of its time steps (an LSNN).

    ``s_in = LIF(BN(W_in x))`` over the whole sequence, then step by step
    ``s[t] = ALIF(W_ff s_in[t] + W_rec s[t-1])``: the recurrent layer sees its own spikes of the
    previous step, and its neuron state is carried from step to step (the neuron module is
    called once per step with the previous call's state, as the neuron contract allows).
    Logits are the readout averaged over time, as every model here. Feed-forward spiking
    transformers get order only from their membranes; this model gets it from its recurrence
    and its adaptive thresholds, so the temporal probe (time reversed or shuffled) must hurt it
    on a task that needs memory.
    """

    def __init__(self, config: SpikingRNNConfig, backend: str) -> None:
        super().__init__(config)
        make = Neurons(config, backend)
        width_in, width_rec = config.hidden
        self.fc_in = snn.Linear(config.features_in, width_in, bias=False)
        self.bn_in = snn.BatchNorm1d(width_in)
        self.lif_in = make()
        self.ff = nn.Linear(width_in, width_rec)
        self.rec = nn.Linear(width_rec, width_rec, bias=False)
        self.rec_lif = make("rec_neuron")
        self.head = init_head(nn.Linear(width_rec, config.num_classes))

    def forward(self, x: Tensor) -> Tensor:
        x = flat_sequence("spiking_rnn", x, self.encoder, self.config.features_in)
        drive = self.ff(self.lif_in(self.bn_in(self.fc_in(x))))  # [T, B, H]
        s = drive.new_zeros(drive.shape[1:])
        state, out = None, []
        for t in range(drive.shape[0]):
            s = self.rec_lif((drive[t] + self.rec(s)).unsqueeze(0), state=state)[0]
            state = self.rec_lif.last_state
            out.append(s)
        return self.head(torch.stack(out)).mean(0)


@register_model(
    SpikingRNNConfig,
    presets={
        "tiny": {**_DIGITS, "hidden": [32, 64]},
        "seq": {"img_size": 8, "in_channels": 1, "in_features": 1, "num_classes": 10, "T": 64,
                "hidden": [32, 64], "neuron": _BASE_NEURON},
    },
    default="tiny",
    paper="baseline (no paper): a recurrent adaptive spiking layer, as LSNNs (Bellec et al., "
          "NeurIPS 2018)",
)
def spiking_rnn(config: SpikingRNNConfig, backend: str) -> SpikingRNN:
    """Recurrent spiking network (LSNN-style): the order-using baseline of the temporal probe."""
    return SpikingRNN(config, backend)
