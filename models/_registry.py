"""The model registry: ``@register_model`` factories, named presets, and ``create`` the only door.

As in timm (``timm/models/_registry.py``), a model is a small factory function registered under its
own name; unlike timm, the registry is one private dict behind functions, a name registered twice
raises instead of being overwritten, and a preset is a named config (a dict validated by the
factory's config class) rather than a pretrained-weights record.

>>> import step.models
>>> step.models.list_models("spiking*")
['spiking_cnn', 'spiking_mlp', 'spikingformer', 'spikingresformer']
>>> step.models.get_config("spiking_mlp", "tiny", T=2).T
2
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import torch
from torch import nn

from step.errors import SpecError
from step.models.config import ModelConfig, merge

Factory = Callable[[Any, str], nn.Module]
F = TypeVar("F", bound=Factory)


class UnknownModelError(SpecError, LookupError):
    """No model (or preset) of that name is registered."""


@dataclass(frozen=True)
class ModelEntry:
    """One registered model: its factory, config class and presets."""

    name: str
    factory: Factory
    config_cls: type[ModelConfig]
    presets: dict[str, dict[str, Any]] = field(default_factory=dict)
    default_preset: str | None = None
    paper: str = ""


_MODELS: dict[str, ModelEntry] = {}


def register_model(
    config: type[ModelConfig],
    presets: dict[str, dict[str, Any]],
    default: str | None = None,
    paper: str = "",
) -> Callable[[F], F]:
    """Register ``factory(config, backend) -> nn.Module`` under the factory's own name.

    ``presets`` maps a preset name (``cifar10``, ``tiny``, ...) to config values; ``default`` is
    the preset ``create(name)`` uses (the first one if not given). A second registration of the
    same name raises: two models must never share a name silently.
    """

    def decorate(factory: F) -> F:
        name = factory.__name__
        if name in _MODELS:
            raise SpecError(f"model {name!r} is registered twice (rename one of the factories)")
        if not presets:
            raise SpecError(f"model {name!r} needs at least one preset")
        chosen = default or next(iter(presets))
        if chosen not in presets:
            raise SpecError(f"model {name!r}: default preset {chosen!r} is not among its presets")
        _MODELS[name] = ModelEntry(name, factory, config, dict(presets), chosen, paper)
        return factory

    return decorate


def unregister_model(name: str) -> None:
    """Remove a registration (for tests that register throw-away models)."""
    _MODELS.pop(name, None)


def _entry(name: str) -> ModelEntry:
    entry = _MODELS.get(name)
    if entry is None:
        close = difflib.get_close_matches(name, list(_MODELS), n=1)
        maybe = f" (did you mean {close[0]!r}?)" if close else ""
        raise UnknownModelError(
            f"unknown model {name!r}{maybe}: known models are {', '.join(sorted(_MODELS))}"
        )
    return entry


def model_entry(name: str) -> ModelEntry:
    """The registration of ``name`` (factory, config class, presets, paper)."""
    return _entry(name)


def list_models(pattern: str = "*") -> list[str]:
    """Registered model names matching a shell wildcard pattern, sorted."""
    return sorted(n for n in _MODELS if fnmatch.fnmatchcase(n, pattern))


def list_presets(name: str) -> list[str]:
    """The preset names of model ``name``, the default first."""
    entry = _entry(name)
    return sorted(entry.presets, key=lambda p: (p != entry.default_preset, p))


def get_config(name: str, preset: str | None = None, **overrides: Any) -> ModelConfig:
    """The validated config of ``name``'s ``preset`` with ``overrides`` applied.

    Nested overrides are dicts (``neuron={"tau": 3.0}``) and merge into the preset's entry; an
    unknown key anywhere raises :class:`step.errors.SpecError` with one line.
    """
    entry = _entry(name)
    preset = preset or entry.default_preset
    if preset not in entry.presets:
        close = difflib.get_close_matches(str(preset), list(entry.presets), n=1)
        maybe = f" (did you mean {close[0]!r}?)" if close else ""
        raise UnknownModelError(
            f"model {name!r} has no preset {preset!r}{maybe}: presets are "
            f"{', '.join(list_presets(name))}"
        )
    data = merge(entry.presets[preset], overrides)
    return entry.config_cls.parse(data, what=f"{name} config (preset {preset})")


def create(
    name: str, preset: str | None = None, backend: str | None = None, **overrides: Any
) -> nn.Module:
    """Build model ``name`` from its ``preset`` with ``overrides``, its neurons on ``backend``.

    ``backend`` defaults to the one in force, as for ``step.nn.Neuron``: the innermost
    ``step.use_backend(...)`` block, else ``reference``. The module carries ``model.config``
    (the validated config) and ``model.backend_name``.

    >>> import torch, step.models
    >>> model = step.models.create("spiking_mlp", "tiny", neuron={"tau": 3.0})
    >>> model.config.neuron.tau, model.backend_name
    (3.0, 'reference')
    >>> model(torch.rand(2, 1, 8, 8)).shape
    torch.Size([2, 10])
    """
    from step.context import current_backend
    from step.registry import get_backend

    backend = backend or current_backend()
    get_backend(backend)  # one clear error for an unknown or unavailable backend
    config = get_config(name, preset, **overrides)
    model = _entry(name).factory(config, backend)
    model.config = config
    model.backend_name = backend
    return model


def count_parameters(name: str, preset: str | None = None, **overrides: Any) -> int:
    """Trainable parameters of ``name``'s preset, built on the meta device (no memory, fast)."""
    with torch.device("meta"):
        model = create(name, preset, **overrides)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
