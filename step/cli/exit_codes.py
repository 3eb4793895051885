"""The exit codes of the ``step`` command, in one place."""

from enum import IntEnum


class ExitCode(IntEnum):
    #: Everything ran and every check passed.
    OK = 0
    #: The command ran, and a check it made failed (a conformance case, a comparison).
    CHECK_FAILED = 1
    #: Bad usage or bad input (unknown option, invalid spec, missing file, unknown backend).
    USAGE_ERROR = 2
    #: Interrupted by the user (Ctrl-C).
    INTERRUPTED = 130
