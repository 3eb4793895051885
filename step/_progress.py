"""Progress for long commands: one rich bar on stderr, so stdout stays clean for ``--json``.

``step train`` and ``step study`` keep their own bars (they add per-epoch lines and a job
count); commands that walk a known number of items (``energy``, ``sweep``, ``models``) use
:func:`track`, and one long step without a count (loading a run, ``probe``) :func:`status`.
Both draw only on a terminal: in a pipe or a log file they print nothing, so an error that
follows is still the one line on stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")


def track(items: Iterable[T], label: str, total: int | None = None,
          enabled: bool = True) -> Iterator[T]:
    """Yield ``items`` while a transient progress bar on stderr counts them (on a terminal)."""
    if not (enabled and sys.stderr.isatty()):
        yield from items
        return
    from rich.console import Console
    from rich.progress import track as rich_track

    yield from rich_track(items, description=label, total=total, transient=True,
                          console=Console(stderr=True))


@contextmanager
def status(text: str, enabled: bool = True) -> Iterator[None]:
    """A transient spinner on stderr while a long step runs (nothing when not on a terminal,
    so an error that follows stays the one line on stderr)."""
    if not (enabled and sys.stderr.isatty()):
        yield
        return
    from rich.console import Console

    with Console(stderr=True).status(text):
        yield
