"""The energy model: what a spiking network spends per inference, against quantised ANNs.

Counts are measured, never assumed: hooks watch every weight layer and neuron while the model
runs over real data (:mod:`.counting`, :mod:`.synops`); named, versioned hardware profiles
price them (:mod:`.profiles`); :mod:`.model` turns counts into energy for the SNN, quantised
ANNs with ``ceil(log2(T+1))``-bit activations (dense, bit-serial over all bits, bit-serial
skipping zero bits) and the full-precision ANN, and solves the spike rate at which the SNN
breaks even. The study calls :func:`estimate`; ``step energy`` is the command.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from torch import Tensor, nn

from step.energy.counting import Counts, count
from step.energy.model import NETWORKS, TERMS, EnergyReport, LayerEnergy, energy_report
from step.energy.profiles import HardwareProfile, list_profiles, load_profile
from step.energy.synops import activation_bits


def estimate(
    model: nn.Module,
    batches: Iterable[Tensor],
    profile: str | Path | HardwareProfile = "45nm",
    T: int | None = None,
    time_first: bool | None = None,
) -> EnergyReport:
    """Energy per inference of ``model`` over real input ``batches`` under ``profile``.

    ``batches`` yields model inputs (``[B, C, H, W]`` images, or time-first data); ``T``
    defaults to ``model.config.T``; ``time_first`` says the batches are ``[T, B, ...]``
    (default: guessed from ``model.sample_dims``). The report gives per-layer counts and
    energy by term for every network in :data:`NETWORKS`, ``.total_pj`` (the SNN),
    ``.break_even_rate`` (the spike rate below which the SNN beats the bit-serial QNN) and
    ``.to_dict()``.

    >>> import torch, step.models, step.energy
    >>> model = step.models.create("spiking_mlp", "tiny")
    >>> report = step.energy.estimate(model, [torch.rand(4, 1, 8, 8)], "45nm")
    >>> report.total_pj > 0, report.profile.version
    (True, '1')
    """
    return energy_report(count(model, batches, T, time_first), load_profile(profile))


__all__ = [
    "NETWORKS", "TERMS", "Counts", "EnergyReport", "HardwareProfile", "LayerEnergy",
    "activation_bits", "count", "energy_report", "estimate", "list_profiles", "load_profile",
]
