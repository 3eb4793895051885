"""``NeuronModule`` and ``State``, re-exported from :mod:`step.backend`, where they live.

They are part of the backend contract (every backend's neurons are ``NeuronModule`` s) and moved
there beside ``Backend`` and ``check_supported_gradient``; this module stays so that code written
against ``step.nn.base`` keeps working. New code imports ``step.backend`` (or ``step.nn``).
"""

from __future__ import annotations

from step.backend import NeuronModule, State

__all__ = ["NeuronModule", "State"]
