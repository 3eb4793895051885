"""Fitting data and model to each other, and building the model with the same start everywhere.

The data and the model must agree on image size, channels, classes and time steps. The model's
config says what it was built for (``img_size``, ``T``); a resizable dataset follows it, and
what the data cannot change (classes, channels, the length of a sequence) becomes an override
of the model config. Every override made here is recorded in the result.

Initial weights: the model is first built on the reference backend under the run's seed, then on
the chosen backend under the same seed, and every tensor the two share (same name, same shape)
is copied from the reference build. Backends therefore start from identical weights even if
building their neurons draws random numbers differently; the fingerprint of those weights goes
into the result so a study can prove it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from step.data import DataSplits, dataset_entry, load_dataset
from step.train.config import RunConfig


def model_config(cfg: RunConfig, **extra: Any) -> Any:
    """The validated model config the run asks for (no model is built)."""
    from step.models import get_config

    return get_config(cfg.model, cfg.preset, **{**cfg.model_overrides, **extra})


def load_data(cfg: RunConfig) -> DataSplits:
    """The dataset, resized / binned to what the model was configured for."""
    entry = dataset_entry(cfg.dataset)
    mcfg = model_config(cfg)
    options: dict[str, Any] = {}
    if "img_size" in entry.accepts:
        options["img_size"] = cfg.img_size or getattr(mcfg, "img_size", None)
    if "num_points" in entry.accepts:  # a point cloud is sampled to the model's size
        options["num_points"] = getattr(mcfg, "num_points", None)
    if "T" in entry.accepts and (entry.layout != "sequence" or "T" in cfg.model_overrides):
        # a sequence's length is the data's own unless the run sets T explicitly (then it is
        # read in T steps); a preset's default T is no request to re-chunk it
        options["T"] = getattr(mcfg, "T", None)
    data = load_dataset(cfg.dataset, cfg.data_root, **options)
    return data.limit(cfg.train_subset, cfg.eval_subset)


def data_overrides(cfg: RunConfig, data: DataSplits) -> dict[str, Any]:
    """Model-config changes the data forces (only fields the model has, only where they differ)."""
    mcfg = model_config(cfg)
    fields = type(mcfg).model_fields
    want: dict[str, Any] = {"num_classes": data.num_classes}
    shape = data.sample_shape
    if data.layout == "static":
        want.update(in_channels=shape[0], img_size=shape[-1])
    elif data.layout == "event":
        want.update(T=shape[0], in_channels=shape[1], img_size=shape[-1])
    elif data.layout == "points":  # [N, C] clouds; the model encodes them into its own T
        want.update(num_points=shape[0], in_channels=shape[-1])
    elif getattr(mcfg, "sequence_length", None) is not None:
        # a model that reads the whole sequence as one input (STEP's sequential front end):
        # the sequence's length and features size the model, its T stays the model's own
        want.update(sequence_length=shape[0], in_channels=shape[-1])
    else:  # sequence [T, F], one step of F features per time step
        want.update(T=shape[0])
        if "in_features" in fields:
            want["in_features"] = shape[-1]
    return {k: v for k, v in want.items() if k in fields and getattr(mcfg, k) != v}


def build_model(cfg: RunConfig, overrides: dict[str, Any],
                wrap: Callable[[nn.Module], nn.Module] | None = None,
                ) -> tuple[nn.Module, dict[str, Any]]:
    """The model on ``cfg.backend``, initial weights copied from the reference build.

    ``wrap`` turns the registered model into the network that trains (a dense task's backbone
    plus head, :mod:`step.tasks`); it runs under the same seed in both builds, so the head's
    weights are copied from the reference too."""
    from step.models import create

    kwargs = {**cfg.model_overrides, **overrides}
    wrap = wrap or (lambda m: m)
    torch.manual_seed(cfg.seed)
    reference = wrap(create(cfg.model, cfg.preset, backend="reference", **kwargs))
    torch.manual_seed(cfg.seed)
    model = wrap(create(cfg.model, cfg.preset, backend=cfg.backend, **kwargs))
    ref_state = reference.state_dict()
    own = model.state_dict()
    shared = {k: v for k, v in ref_state.items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(shared, strict=False)
    torch.manual_seed(cfg.seed)  # training draws start from the same RNG state on every backend
    info = {
        "copied_from_reference": len(shared),
        "backend_only": sorted(set(own) - set(shared)),
        "reference_only": sorted(set(ref_state) - set(shared)),
        "fingerprint": fingerprint({k: own[k] for k in shared}),
    }
    return model.to(cfg.device), info


def fingerprint(state: dict[str, torch.Tensor]) -> str:
    """sha256 of the tensors' bytes in key order: equal fingerprints, equal weights."""
    h = hashlib.sha256()
    for key in sorted(state):
        h.update(key.encode())
        h.update(state[key].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def neuron_support(model: nn.Module, backend: str) -> list[dict[str, Any]]:
    """Each distinct neuron spec of the model with this backend's forward/gradient support."""
    from step.nn import NeuronModule
    from step.registry import get_backend

    b = get_backend(backend)
    seen: dict[str, dict[str, Any]] = {}
    for name, m in model.named_modules():
        if isinstance(m, NeuronModule):
            key = m.spec.model_dump_json()
            if key not in seen:
                seen[key] = {"spec": m.spec.model_dump(), "layers": [],
                             "support": b.neuron_support(m.spec).to_dict()}
            seen[key]["layers"].append(name)
    return list(seen.values())


def environment(backend: str, seed: int) -> dict[str, Any]:
    """Versions and machine: what a person needs to reproduce the numbers."""
    from step._env import environment as machine
    from step.registry import backend_statuses

    status = backend_statuses().get(backend)
    return machine(
        backend=backend,
        backend_library=status.library if status else None,
        backend_version=status.version if status else None,
        seed=seed,
    )
