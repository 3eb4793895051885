"""One study run in its own process, started by :func:`step.study.workers.worker_command`.

The parent reads ``OUT/result.json``; on failure this process prints one line to stderr and
exits non-zero, which becomes the run's error in the report. (The command that starts it
watches the study process and ends the worker if the study is killed.)
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    import os

    import torch

    from step.errors import StepError

    if os.environ.get("STEP_TORCH_THREADS"):
        torch.set_num_threads(int(os.environ["STEP_TORCH_THREADS"]))
    from step.train import RunConfig, train

    try:
        train(RunConfig.parse(json.loads(argv[0])))
    except StepError as err:
        sys.stderr.write(f"{err}\n")
        return 2
    except Exception as err:  # a backend crash becomes this run's error line, not a traceback
        sys.stderr.write(f"{type(err).__name__}: {err}\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
