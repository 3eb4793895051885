"""The machine and versions a result was produced on: one record for every report.

Training results, the study, the conformance report and the benchmarks all carry this, so a
reader can reproduce a number or explain a difference.
"""

from __future__ import annotations

import os
import platform
import sys
from typing import Any


def environment(**extra: Any) -> dict[str, Any]:
    """Python, platform, CPU count, torch and step versions and threads, plus ``extra``."""
    import numpy
    import torch

    from step import __version__

    record: dict[str, Any] = {
        "step": __version__,
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }
    if torch.cuda.is_available():
        record["gpu"] = torch.cuda.get_device_name()
    record.update(extra)
    return record
