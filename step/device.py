"""The torch device a command computes on, checked before any work.

Every command that computes (train, study, sweep, conformance, energy, probe) takes
``--device`` and checks it here when its settings are parsed: ``--device cuda`` on a machine
without a GPU is one line and exit code 2, before data is loaded or a run starts, not a
traceback at the first tensor moved.
"""

from __future__ import annotations

__all__ = ["check_device", "device_flag"]


def check_device(name: str) -> str:
    """``name`` if torch can run on it here, else a ValueError naming the fix.

    Checked when a config is parsed, so a run asking for a GPU the machine lacks stops before
    loading data or starting any run, not at the first tensor moved.
    """
    import torch

    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"not a torch device: {name!r} (use cpu or cuda)") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(f"{name!r} is not available: torch sees no CUDA GPU on this "
                             "machine (use --device cpu)")
        if device.index is not None and device.index >= count:
            raise ValueError(f"{name!r} is not available: torch sees {count} CUDA GPU(s), "
                             f"cuda:0 to cuda:{count - 1}")
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"{name!r} is not available on this machine (use --device cpu)")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"{name!r}: step runs on cpu, cuda or mps")
    return name


def device_flag(name: str | None) -> str | None:
    """A command's ``--device`` checked before any work (None: not given), as one line."""
    from step.errors import InputError

    if name is None:
        return None
    try:
        return check_device(name)
    except ValueError as err:
        raise InputError(f"--device: {err}") from None
