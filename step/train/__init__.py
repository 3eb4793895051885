"""Training: one deterministic, resumable run (``train``), its config and its evaluation.

``train(RunConfig(...))`` builds the data and the model, trains with AdamW + warm-up + cosine,
selects the checkpoint on the validation split, tests once, and writes ``result.json`` with the
environment, support levels, firing rates, the temporal probe and the learning curve.
"""

from step.train.config import RunConfig, load_run_config
from step.train.evaluate import FiringRates, evaluate, temporal_probe
from step.train.loop import RESULT, train

__all__ = ["RESULT", "FiringRates", "RunConfig", "evaluate", "load_run_config",
           "temporal_probe", "train"]
