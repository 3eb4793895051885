"""The functions a Ray worker runs for a study or a sweep (see :mod:`step.executor`).

Each is a plain function of JSON-ready arguments, imported by the worker by name. A
:class:`~step.errors.StepError` comes back as the run's error (bad input is not retried); any
other exception propagates, so Ray retries the task and, after ``--retries``, the driver turns
it into one failed row.
"""

from __future__ import annotations

import json
from typing import Any


def train_run(run_json: str, threads: int) -> tuple[dict[str, Any], float]:
    """Train the run described by ``run_json`` with ``threads`` torch threads; its result and
    the seconds it took in the worker."""
    import time

    import torch

    from step.errors import StepError
    from step.train import RunConfig, train

    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    try:
        result = train(RunConfig.parse(json.loads(run_json)))
    except StepError as err:
        result = {"error": str(err)}
    return result, time.perf_counter() - t0


def sweep_point(sweep_json: str, point: dict[str, Any], run_json: str,
                threads: int) -> dict[str, Any]:
    """One sweep point's log entry, trained in this worker (the task is its own process)."""
    import torch

    from step.study.sweep import SweepConfig, run_point
    from step.train import RunConfig

    torch.set_num_threads(threads)
    sweep = SweepConfig.parse({**json.loads(sweep_json), "isolate": False})
    return run_point(sweep, point, RunConfig.parse(json.loads(run_json)))
