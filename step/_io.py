"""Writing files whole or not at all: write to a temporary file beside the target, then rename."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def output_dir(path: str | Path, flag: str = "--out") -> Path:
    """Check that ``path`` can become a folder of results, or say in one line why not.

    Commands call this before any long work, so a bad ``--out`` fails at once, not after an
    hour of training. Nothing is created here: the folder appears with the first file written.
    """
    from step.errors import InputError

    out = Path(path)
    if out.exists() and not out.is_dir():
        raise InputError(f"{flag} {out} is a file, not a folder: choose another path")
    existing = out
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"{flag} {out}: {existing} is a file, not a folder: choose another path")
    if not os.access(existing, os.W_OK):
        raise InputError(f"{flag} {out} is not writable: choose another path")
    return out


def check_figure_path(path: str | Path) -> Path:
    """Fail early, in one line, on a figure path matplotlib could not write."""
    from step.errors import InputError

    p = Path(path)
    formats = ("png", "svg", "pdf", "jpg", "jpeg")
    if p.suffix.lower().lstrip(".") not in formats:
        raise InputError(f"cannot draw {p}: the file name must end in "
                         + ", ".join(f".{f}" for f in formats))
    output_dir(p.parent, flag=f"the folder of {p}:")
    return p


def say_written(*paths: str | Path, to_stderr: bool = False) -> None:
    """Tell the person where the results went: ``written: a, b`` (stderr beside ``--json``,
    whose stdout must stay one JSON document)."""
    import sys

    stream = sys.stderr if to_stderr else sys.stdout
    stream.write("written: " + ", ".join(str(p) for p in paths) + "\n")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces ``path``, on error it is removed."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=target.suffix)
    os.close(fd)
    # mkstemp creates 0600; a finished report gets the mode any new file would get
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def json_safe(data: Any) -> Any:
    """``data`` with every NaN or infinite float replaced by None.

    ``json.dumps`` writes them as bare ``NaN``/``Infinity``, which is not JSON: strict readers
    (``json.loads`` in other languages, ``jq``) reject the whole file. A diverged run's loss
    is therefore ``null``, and the result says why elsewhere.
    """
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: json_safe(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [json_safe(v) for v in data]
    return data


def dumps(data: Any, indent: int | None = 2) -> str:
    """Valid JSON always: non-finite floats become null (see :func:`json_safe`)."""
    return json.dumps(json_safe(data), indent=indent, allow_nan=False)


def write_json(path: str | Path, data: Any) -> None:
    write_text(path, dumps(data) + "\n")


def figure_bytes(
    draw: Callable[[Any], None], fmt: str = "png", dpi: int = 110, top: float = 1.0,
    **fig_kw: Any,
) -> bytes:
    """Create a matplotlib figure (Agg, no display), let ``draw(fig)`` fill it, return the file.

    ``top`` is the fraction of the height the axes may use (room for a legend above them).
    """
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(**fig_kw)
    try:
        draw(fig)
        fig.tight_layout(rect=(0.0, 0.0, 1.0, top))
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=dpi)
        return buf.getvalue()
    finally:
        plt.close(fig)


def save_figure(path: str | Path, draw: Callable[[Any], None], **fig_kw: Any) -> None:
    """Draw a figure with ``draw(fig)`` and write it whole to ``path`` (format from suffix)."""
    data = figure_bytes(draw, fmt=Path(path).suffix.lstrip(".").lower() or "png", **fig_kw)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def img_tag(png: bytes, alt: str) -> str:
    """An HTML <img> whose source is the PNG itself: pages stay self-contained."""
    import base64
    import html

    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'

