"""Errors that carry a message a person can act on.

Every error raised on purpose by STEP derives from :class:`StepError`. The command line turns
them into one line on stderr and exit code 2 (see :mod:`step.cli.exit_codes`); library users
catch them like any exception. Each message names the problem and, where there is one, the fix.
"""

from __future__ import annotations


class StepError(Exception):
    """Base of all deliberate STEP errors: the message is meant for a person."""


class SpecError(StepError, ValueError):
    """A neuron, surrogate, encoder or run configuration is invalid."""


class UnknownBackendError(StepError, LookupError):
    """No plugin registered a backend of that name."""


class BackendUnavailableError(StepError, RuntimeError):
    """The backend is registered but its library is missing or broken."""


class UnsupportedSpecError(StepError, NotImplementedError):
    """The backend cannot compute this spec (forward or gradient); the message says why."""


class InputError(StepError, ValueError):
    """Input data does not fit (shape, dtype, missing file)."""
