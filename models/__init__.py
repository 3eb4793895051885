"""Models written once against step's neutral layers, run on any backend.

``create(name, preset=None, backend="reference", **overrides)`` is the only door::

    >>> import torch, step.models
    >>> model = step.models.create("spiking_cnn", "tiny")
    >>> model(torch.rand(2, 1, 8, 8)).shape
    torch.Size([2, 10])

Models import only torch and step (never a backend library); their neurons are built on the
backend named at creation. Families: :mod:`.baselines` (spiking MLP and CNN), :mod:`.spikformer`,
:mod:`.spikformer_semm`, :mod:`.sdt`, :mod:`.qkformer`, :mod:`.spikingformer`,
:mod:`.spikingresformer`, :mod:`.sglformer`, :mod:`.swformer` (its Haar transform in
:mod:`.wavelet`), :mod:`.tim`, :mod:`.spt` (point clouds); the shared blocks are in
:mod:`.blocks`, the configs in :mod:`.config`, the registry in :mod:`._registry`.
"""

from step.models import (  # noqa: F401  (importing a family registers its models)
    baselines,
    qkformer,
    sdt,
    sglformer,
    spikformer,
    spikformer_semm,
    spikingformer,
    spikingresformer,
    spt,
    swformer,
    tim,
)
from step.models._registry import (
    ModelEntry,
    UnknownModelError,
    count_parameters,
    create,
    get_config,
    list_models,
    list_presets,
    model_entry,
    register_model,
)
from step.models.config import ModelConfig, TransformerConfig

__all__ = [
    "ModelConfig", "ModelEntry", "TransformerConfig", "UnknownModelError", "count_parameters",
    "create", "get_config", "list_models", "list_presets", "model_entry", "register_model",
]
