"""Re-export of :mod:`step.surrogates`, where the surrogate formulas and spike function live.

The formulas are neutral (the reference backend and the adapters' emulated paths share them),
so they moved out of ``step.reference``: an adapter importing from the reference reads like a
silent fallback even when it is not. Third-party plugins written against
``step.reference.surrogates`` (the plugin guide named ``SpikeFunction`` here) keep working
through this module.
"""

from __future__ import annotations

from step.surrogates import SpikeFunction, heaviside, spike, surrogate_grad

__all__ = ["SpikeFunction", "heaviside", "spike", "surrogate_grad"]
