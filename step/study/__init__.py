"""Fairness studies and sweeps: the same model under identical conditions on every backend.

``run_study(StudyConfig(...))`` trains one model config on each backend and seed (same initial
weights, same data order), then ``write_study`` reports accuracy, loss, firing rates, time and
memory side by side with a paired verdict per pair of backends: equivalent within a margin,
different, or inconclusive with the number of seeds that would settle it
(:func:`step.study.stats.compare_paired`, reusable on any paired results). ``run_sweep``
runs a grid of ablations (neuron, surrogate, encoder, attention, embedding, backend), appending
each finished run to a JSON-lines file so that a rerun skips what is done.
"""

from step.study.config import StudyConfig
from step.study.report import write_study
from step.study.runner import run_study

__all__ = ["StudyConfig", "run_study", "write_study"]
