"""Datasets by name: ``load_dataset("digits", img_size=16)``.

Each family module registers its loaders with :func:`register_dataset`, stating which options
it accepts (``img_size``, ``T``) so that training can fit the data to the model (an event
dataset binned into the model's T, digits resized to the model's image size) and a wrong option
is an error rather than silently ignored.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from step.data._base import DataSplits, Layout
from step.errors import InputError

Loader = Callable[..., DataSplits]


@dataclass(frozen=True)
class DatasetEntry:
    """One registered dataset: its loader and what it is."""

    name: str
    loader: Loader
    layout: Layout
    description: str
    accepts: frozenset[str]
    needs_root: bool
    task: str = "classification"


DATASETS: dict[str, DatasetEntry] = {}


def register_dataset(
    name: str, *, layout: Layout, description: str, accepts: tuple[str, ...] = (),
    needs_root: bool = False, task: str = "classification",
) -> Callable[[Loader], Loader]:
    """Decorator: make ``loader(root=..., **options) -> DataSplits`` loadable by ``name``.

    ``task`` is what its targets are for: ``classification`` (one label per sample),
    ``segmentation`` (a class per pixel) or ``detection`` (boxes and labels per image)."""

    def wrap(loader: Loader) -> Loader:
        if name in DATASETS:
            raise InputError(f"dataset {name!r} is registered twice")
        DATASETS[name] = DatasetEntry(name, loader, layout, description, frozenset(accepts),
                                      needs_root, task)
        return loader

    return wrap


def _ensure_loaded() -> None:
    # The family modules register on import; importing them here keeps one list of families.
    from step.data import (  # noqa: F401
        cifar,
        dense,
        dense_files,
        digits,
        digits_events,
        digits_seq,
        events,
        mnist,
        points,
    )


def list_datasets() -> list[str]:
    """Every registered dataset name, sorted."""
    _ensure_loaded()
    return sorted(DATASETS)


def dataset_entry(name: str) -> DatasetEntry:
    """The entry called ``name``; an unknown name gets the close matches and the full list."""
    _ensure_loaded()
    entry = DATASETS.get(name)
    if entry is None:
        close = difflib.get_close_matches(name, list(DATASETS), n=1)
        maybe = f" (did you mean {close[0]!r}?)" if close else ""
        raise InputError(
            f"unknown dataset {name!r}{maybe}: known datasets are {', '.join(sorted(DATASETS))}"
        )
    return entry


def load_dataset(name: str, root: str | Path | None = None, **options: Any) -> DataSplits:
    """Load dataset ``name`` (from ``root`` for the real datasets) with its accepted options.

    Options set to None are dropped, so callers can pass what they have.
    """
    entry = dataset_entry(name)
    options = {k: v for k, v in options.items() if v is not None}
    wrong = sorted(set(options) - entry.accepts)
    if wrong:
        takes = ", ".join(sorted(entry.accepts)) or "no options"
        raise InputError(f"dataset {name!r} does not take {', '.join(wrong)} (it takes {takes})")
    return entry.loader(root=Path(root).expanduser() if root is not None else None, **options)
