"""Finding backends: entry points, pluggy, and a status for every plugin, broken or not.

Loading is explicit (:func:`load_plugins`) and happens on first use, never at import time. Every
entry point of the ``step.backends`` group is loaded and validated in its own guard: a plugin
that fails to import, misspells a hook, raises in ``step_backends`` or returns something that is
not a :class:`~step.backend.Backend` becomes an unavailable entry with its reason, and the
others keep working; :func:`guarded_support` does the same for a raising ``neuron_support``.
``STEP_TRACE_PLUGINS=1`` prints every hook call to stderr (pluggy's own tracing: hooks are
called through ``pm.hook``, never as plain functions).
"""

from __future__ import annotations

import difflib
import importlib.metadata
import os
import sys
from dataclasses import dataclass, field
from typing import Any

import pluggy

from step import hookspecs
from step.backend import Backend
from step.errors import BackendUnavailableError, UnknownBackendError
from step.support import Support

ENTRY_POINT_GROUP = "step.backends"


@dataclass
class BackendStatus:
    """What ``step backends`` shows for one backend (or one broken plugin)."""

    name: str
    plugin: str
    available: bool
    reason: str = ""
    install_hint: str = ""
    library: str | None = None
    version: str | None = None
    description: str = ""
    #: the distribution (pip package) that provides the plugin, and its version: a plugin's
    #: own release, not the library's (None for a plugin registered by hand)
    plugin_distribution: str | None = None
    plugin_version: str | None = None
    backend: Backend | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "plugin": self.plugin,
            "library": self.library,
            "version": self.version,
            "available": self.available,
            "reason": self.reason,
            "install_hint": self.install_hint,
            "description": self.description,
            "plugin_distribution": self.plugin_distribution,
            "plugin_version": self.plugin_version,
        }


class _Registry:
    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.statuses: dict[str, BackendStatus] = {}
        self.dists: dict[str, tuple[str, str] | None] = {}
        if os.environ.get("STEP_TRACE_PLUGINS"):
            self.pm.trace.root.setwriter(sys.stderr.write)
            self.pm.enable_tracing()

    def add_plugin(self, plugin: object, name: str, dist: tuple[str, str] | None = None) -> None:
        """Register one plugin in its own guard and collect its backends.

        The plugin's ``step_backends`` is called through pluggy's hook executor, so
        ``STEP_TRACE_PLUGINS=1`` shows the call and what it returned.
        """
        self.dists[name] = dist
        try:
            self.pm.register(plugin, name=name)
            self.pm.check_pending()
        except Exception as err:
            if self.pm.is_registered(plugin):
                self.pm.unregister(plugin)
            self._fail(name, f"plugin {name!r} is invalid: {err}")
            return
        hook = self.pm.hook.step_backends
        mine = [impl for impl in hook.get_hookimpls() if impl.plugin is plugin]
        try:
            # the hook caller's own executor with this plugin's implementations only: what
            # pm.hook.step_backends() runs, traced by pluggy, but one plugin at a time (pluggy's
            # subset_hook_caller needs hashable plugin objects; a plugin may be any object)
            results = hook._hookexec(hook.name, mine, {}, False)
        except Exception as err:
            self._fail(name, f"plugin {name!r} raised in step_backends: "
                             f"{type(err).__name__}: {err}")
            return
        for backends in results:
            if isinstance(backends, Backend):
                backends = [backends]
            for backend in backends or []:
                self._add_backend(backend, name)

    def _add_backend(self, backend: object, plugin: str) -> None:
        if not isinstance(backend, Backend):
            self._fail(plugin, f"plugin {plugin!r} returned {type(backend).__name__}, "
                               "not a step.backend.Backend")
            return
        if backend.name in self.statuses and self.statuses[backend.name].backend is not None:
            other = self.statuses[backend.name].plugin
            self._fail(f"{backend.name}@{plugin}",
                       f"backend name {backend.name!r} is already provided by plugin {other!r}")
            return
        try:
            available, reason = backend.availability()
            version = backend.version() if available else None
        except Exception as err:
            available, reason, version = False, f"{type(err).__name__}: {err}", None
        self.statuses[backend.name] = BackendStatus(
            name=backend.name, plugin=plugin, available=available, reason=reason,
            install_hint=backend.install_hint if not available else "",
            library=backend.library, version=version, description=backend.description,
            plugin_distribution=(self.dists.get(plugin) or (None, None))[0],
            plugin_version=(self.dists.get(plugin) or (None, None))[1], backend=backend,
        )

    def _fail(self, name: str, reason: str) -> None:
        dist, version = self.dists.get(name) or (None, None)
        self.statuses[name] = BackendStatus(
            name=name, plugin=name, available=False, reason=reason,
            install_hint="reinstall or remove the package that provides this plugin",
            plugin_distribution=dist, plugin_version=version,
        )

    def load_entry_points(self) -> None:
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = getattr(ep, "dist", None)
            self.dists[ep.name] = (dist.name, dist.version) if dist is not None else None
            try:
                plugin = ep.load()
            except Exception as err:
                self._fail(ep.name, f"plugin {ep.name!r} ({ep.value}) failed to import: "
                                    f"{type(err).__name__}: {err}")
                continue
            self.add_plugin(plugin, ep.name, self.dists[ep.name])


_registry: _Registry | None = None


def load_plugins(*, reload: bool = False) -> pluggy.PluginManager:
    """Discover and register every backend plugin (once; ``reload=True`` starts afresh)."""
    global _registry
    if _registry is None or reload:
        _registry = _Registry()
        _registry.load_entry_points()
    return _registry.pm


def register_plugin(plugin: object, name: str) -> None:
    """Register a plugin object by hand (tests, notebooks); same guards as entry points."""
    load_plugins()
    assert _registry is not None
    _registry.add_plugin(plugin, name)


def unregister_plugin(name: str) -> None:
    """Remove a plugin registered by :func:`register_plugin` and its backends."""
    load_plugins()
    assert _registry is not None
    plugin = _registry.pm.get_plugin(name)
    if plugin is not None:
        _registry.pm.unregister(plugin)
    for key in [k for k, s in _registry.statuses.items() if s.plugin == name]:
        del _registry.statuses[key]


def backend_statuses() -> dict[str, BackendStatus]:
    """Every discovered backend and broken plugin, by name."""
    load_plugins()
    assert _registry is not None
    return dict(_registry.statuses)


def available_backends() -> list[str]:
    """Names of the backends that can run now, the reference first."""
    names = [n for n, s in backend_statuses().items() if s.available]
    return sorted(names, key=lambda n: (n != "reference", n))


def get_backend(name: str) -> Backend:
    """The backend called ``name``; one clear error if unknown or unavailable.

    ``NAME+QUIRK+...`` is backend NAME with those library quirks left in (:mod:`step.quirks`;
    ``NAME+as-shipped`` turns on all of them).
    """
    if "+" in name:
        from step.quirks import split_name

        base, quirks = split_name(name)
        return get_backend(base).with_quirks(quirks)
    statuses = backend_statuses()
    status = statuses.get(name)
    if status is None:
        close = difflib.get_close_matches(name, list(statuses), n=1)
        maybe = f" (did you mean {close[0]!r}?)" if close else ""
        known = ", ".join(sorted(statuses))
        raise UnknownBackendError(f"unknown backend {name!r}{maybe}: known backends are {known}")
    if not status.available or status.backend is None:
        hint = f": {status.install_hint}" if status.install_hint else ""
        raise BackendUnavailableError(f"backend {name!r} is unavailable ({status.reason}){hint}")
    return status.backend


def guarded_support(backend: Backend, spec: Any) -> tuple[Support | None, str]:
    """``backend.neuron_support(spec)``, or None and the reason when the plugin raises.

    A third-party ``neuron_support`` is plugin code: every command that asks it goes through
    here, so a raising plugin becomes its own row (``error`` with the exception), never a
    traceback that stops the other backends.
    """
    try:
        return backend.neuron_support(spec), ""
    except Exception as err:
        return None, f"neuron_support raised {type(err).__name__}: {err}"


def guarded_summary(backend: Backend) -> tuple[dict[str, dict[str, int]] | None, str]:
    """``backend.support_summary()``, or None and the reason when the plugin raises."""
    try:
        return backend.support_summary(), ""
    except Exception as err:
        return None, f"neuron_support raised {type(err).__name__}: {err}"


def plugin_record(name: str) -> dict[str, Any]:
    """What a report records about the plugin of backend ``name``: its distribution and
    version (the plugin's own release, besides the library's version)."""
    status = backend_statuses().get(name.split("+", 1)[0])
    if status is None:
        return {"plugin": None, "plugin_distribution": None, "plugin_version": None}
    return {"plugin": status.plugin, "plugin_distribution": status.plugin_distribution,
            "plugin_version": status.plugin_version}
