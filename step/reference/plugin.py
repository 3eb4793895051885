"""Entry point of the reference backend (``step.backends: reference``)."""

from __future__ import annotations

from step.hookspecs import hookimpl
from step.reference.backend import ReferenceBackend


@hookimpl
def step_backends() -> list[ReferenceBackend]:
    return [ReferenceBackend()]
