"""STEP: fair, reproducible evaluation of spiking neural networks across backend libraries.

Importing ``step`` is cheap: it does not import torch or any backend library. ``step.nn``,
``step.models`` and the backends are loaded on first use.
"""

from __future__ import annotations

from step.context import current_backend, use_backend
from step.hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = ["__version__", "current_backend", "hookimpl", "use_backend"]
