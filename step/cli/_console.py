"""The console every command prints its tables and lines to.

On a terminal rich fits tables to the window. Into a pipe or a file rich would assume 80
columns and cut cells (``spikingjel...``); there the width is unlimited instead, so every cell
and line arrives whole, with no colour codes.
"""

from __future__ import annotations

from typing import Any

#: The width used when stdout is not a terminal: wide enough that nothing is cut or wrapped.
PIPE_WIDTH = 10_000


def console() -> Any:
    """A rich Console on stdout: the window's width on a terminal, unlimited in a pipe."""
    import sys

    from rich.console import Console

    if sys.stdout.isatty():
        return Console()
    return Console(width=PIPE_WIDTH, no_color=True, highlight=False)
