"""STEP: fair, reproducible evaluation of spiking neural networks across backend libraries.

Importing ``step`` is cheap: it does not import torch or any backend library. ``step.nn``,
``step.models`` and the backends are loaded on first use.
"""

from __future__ import annotations

from pathlib import Path

from step.context import current_backend, use_backend
from step.hookspecs import hookimpl

__version__ = "0.1.0"

# Running from a source checkout without installing: the folders plugins/, conformance/ and
# models/ beside step/ are the subpackages step.plugins, step.conformance and step.models
# (the packaging maps them the same way). Only done when this is a checkout.
_root = Path(__file__).resolve().parent.parent
if (_root / "pyproject.toml").is_file() and (_root / "plugins" / "__init__.py").is_file():
    __path__.append(str(_root))  # type: ignore[name-defined]  # noqa: F821

__all__ = ["__version__", "current_backend", "hookimpl", "use_backend"]
