"""One study run in a process of its own.

The fork server (:mod:`step.study.workers`) imports this module once, and with it torch, the
training code and ``torch._dynamo`` (which ``torch.optim`` imports on an optimizer's first
construction, ~3 s): every run forked from the server finds them loaded. Each run then calls
:func:`train_json`; on failure it returns one line, which becomes the run's error in the
report.
"""

from __future__ import annotations

import json

import torch
import torch._dynamo  # noqa: F401  (preloaded for every forked run; see the module docstring)

from step.train import RunConfig, train


def train_json(run_json: str, threads: int | None) -> tuple[int, str]:
    """Train the run described by ``run_json``; (exit code, error line or "")."""
    from step.errors import StepError

    if threads:
        torch.set_num_threads(threads)
    try:
        train(RunConfig.parse(json.loads(run_json)))
    except StepError as err:
        return 2, str(err)
    except Exception as err:  # a backend crash becomes this run's error line, not a traceback
        return 1, f"{type(err).__name__}: {err}"
    return 0, ""
