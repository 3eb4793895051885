"""The hooks a STEP plugin can implement, in one place.

A plugin is a plain module (or object) with functions marked ``@step.hookimpl``, found through
the ``step.backends`` entry-point group (see :func:`step.registry.load_plugins`). The built-in
reference backend and the four library adapters are registered exactly like a third-party plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from step.backend import Backend

PROJECT = "step"

hookspec = pluggy.HookspecMarker(PROJECT)
#: Mark a plugin function as the implementation of a hook: ``@step.hookimpl``.
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def step_backends() -> list[Backend]:
    """Return the backends this plugin provides.

    Called once per plugin when :func:`step.registry.load_plugins` runs, before any backend is
    used. Return a list of :class:`step.backend.Backend` instances (usually one). The call must
    be cheap and must not import the backend's library: import it in ``Backend.build_neuron``.
    All results are collected (not first-result-wins); a plugin whose call raises is listed as
    unavailable with the exception as its reason, and the other plugins keep working.
    """
