"""Which backend builds neurons when none is named: ``with step.use_backend("snntorch"):``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

DEFAULT_BACKEND = "reference"

_current: ContextVar[str] = ContextVar("step_backend", default=DEFAULT_BACKEND)


def current_backend() -> str:
    """The backend name in force: the innermost ``use_backend``, else ``reference``."""
    return _current.get()


@contextmanager
def use_backend(name: str) -> Iterator[str]:
    """Build neurons on ``name`` inside the block (checked on entry)."""
    from step.registry import get_backend

    get_backend(name)
    token = _current.set(name)
    try:
        yield name
    finally:
        _current.reset(token)
