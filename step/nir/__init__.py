"""Exchange networks with the neuromorphic ecosystem through NIR (the Neuromorphic
Intermediate Representation, https://neuroir.org).

``step.nir.export(model_or_run, "net.nir")`` writes a step network made of NIR's primitives
(Linear/Affine, Conv1d/Conv2d, Flatten, AvgPool2d, LIF/IF/LI neurons; BatchNorm folded);
``step.nir.load("net.nir", backend="norse")`` runs a NIR graph with step neurons on any backend.
NIR's neurons are ODEs; step's are their forward-Euler steps at ``dt``: docs/nir.md gives the
mapping, the fire rule and the reset. ``nir`` is imported on first use (``pip install
step-snn[nir]``).

>>> import torch, step.nn, step.nir
>>> net = torch.nn.Sequential(step.nn.Linear(1, 1, bias=False), step.nn.Neuron("lif", tau=2.0))
>>> _ = torch.nn.init.ones_(net[0].module.weight)
>>> graph = step.nir.to_nir(net, torch.zeros(3, 1, 1))
>>> type(graph.nodes["1"]).__name__, graph.nodes["1"].tau.tolist(), graph.nodes["1"].r.tolist()
('LIF', [2.0], [1.0])
>>> step.nir.from_nir(graph)(torch.full((3, 1, 1), 2.0)).flatten().tolist()
[0.0, 1.0, 0.0]
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from step.errors import InputError

if TYPE_CHECKING:
    from torch import Tensor, nn

    from step.nir.loader import NIRNetwork

__all__ = ["export", "from_nir", "load", "model_of", "to_nir"]


def _nir() -> Any:
    try:
        import nir
    except ImportError:
        raise InputError("NIR is not installed: pip install 'step-snn[nir]'") from None
    return nir


def to_nir(model: nn.Module, sample: Tensor | None = None, dt: float = 1.0) -> Any:
    """The ``nir.NIRGraph`` of ``model`` (one time step; see :mod:`step.nir.exporter`).

    ``sample`` is a time-first input ``[T, B, ...]`` the model runs on once to find its layers
    and their shapes; step models make their own from their config.
    """
    from step.nir.exporter import graph_of, sample_input

    _nir()
    if not dt > 0:
        raise InputError(f"dt must be > 0, got {dt}")
    return graph_of(model, sample_input(model) if sample is None else sample, dt)


def from_nir(graph: Any, backend: str = "reference", dt: float | None = None) -> NIRNetwork:
    """A ``NIRNetwork`` (``[T, B, ...] -> [T, B, ...]``) of ``graph`` with neurons on
    ``backend`` (see :func:`step.nir.loader.from_nir`)."""
    from step.nir.loader import from_nir as build

    return build(graph, backend=backend, dt=dt)


def model_of(model_or_run: Any, preset: str | None = None) -> nn.Module:
    """A module as given, the trained model of a ``step train`` run folder (its best.pt), or
    a fresh model by name (``preset`` picks the preset)."""
    from torch import nn

    if isinstance(model_or_run, nn.Module):
        return model_or_run
    path = Path(str(model_or_run))
    if path.is_dir():
        if preset:
            raise InputError("a run folder has its own preset: give --preset only with a "
                             "model name")
        return _trained(path)
    import step.models

    if str(model_or_run) not in step.models.list_models():
        raise InputError(f"{model_or_run} is neither a model name (see step models) nor the "
                         "folder of a finished step train run")
    return step.models.create(str(model_or_run), preset)


def _trained(run_dir: Path) -> nn.Module:
    from step.cli.probe import read_result
    from step.train import RunConfig
    from step.train.checkpoint import BEST, load_best
    from step.train.setup import build_model

    if not (run_dir / "result.json").is_file() or not (run_dir / BEST).is_file():
        raise InputError(f"{run_dir} is not a finished step train run (no result.json/best.pt)")
    result = read_result(run_dir)
    cfg = RunConfig.parse(result["config"], what=str(run_dir / "result.json"))
    model, _ = build_model(cfg.model_copy(update={"device": "cpu"}),
                           result["model"]["data_overrides"])
    load_best(run_dir, model)
    return model.eval()


def export(model_or_run: Any, path: str | Path, *, preset: str | None = None,
           dt: float = 1.0, sample: Tensor | None = None) -> Any:
    """Write the NIR graph of a model, a model name or a ``step train`` run folder to
    ``path`` (whole or not at all); return the graph."""
    from step._io import atomic_path

    nir = _nir()
    graph = to_nir(model_of(model_or_run, preset), sample, dt)
    with atomic_path(path) as tmp:
        nir.write(tmp, graph)
    return graph


def load(path: str | Path, backend: str = "reference", dt: float | None = None) -> NIRNetwork:
    """Read a NIR file and build it with step neurons on ``backend`` (see :func:`from_nir`)."""
    nir = _nir()
    if not Path(path).is_file():
        raise InputError(f"no NIR file at {path}")
    try:
        graph = nir.read(path)
    except (OSError, KeyError, ValueError) as err:
        raise InputError(f"{path} is not a readable NIR file: {err}") from None
    return from_nir(graph, backend=backend, dt=dt)
