"""The ``step`` command: a short root that wires one module per command group.

Each command module has ``register(subparsers)`` and a ``run(args) -> int``; commands parse,
call a library function, and render (rich for people, ``--json`` for machines). Errors that a
person can fix are printed as one line and exit with code 2; nothing is left half-written.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from step import __version__
from step.cli import (
    backends,
    conformance,
    energy,
    models,
    nir,
    probe,
    reproduce,
    specs,
    study,
    sweep,
    trace,
    train,
)
from step.cli.exit_codes import ExitCode
from step.errors import StepError

COMMANDS = [backends, specs, trace, train, models, conformance, energy, study, sweep, probe,
            reproduce, nir]


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        raise SystemExit(ExitCode.USAGE_ERROR)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="step",
        description="STEP: fair, reproducible evaluation of spiking neural networks "
        "across SpikingJelly, BrainCog, snnTorch, Norse and a pure-PyTorch reference.",
    )
    parser.add_argument("--version", action="version", version=f"step {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in COMMANDS:
        module.register(sub)
    return parser


def _subparser(parser: argparse.ArgumentParser, name: str | None) -> argparse.ArgumentParser:
    """The parser of subcommand ``name`` (the root parser if there is none)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and name in action.choices:
            return action.choices[name]
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # name the subcommand's help (step train --help), not the root's
        _subparser(parser, args.command).error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.command is None:
        parser.print_help()
        return ExitCode.USAGE_ERROR
    args.argv = list(argv) if argv is not None else sys.argv[1:]  # to relaunch (torchrun)
    try:
        return int(args.run(args))
    except StepError as err:
        if os.environ.get("RANK", "0") == "0":  # under torchrun, rank 0 speaks for all
            sys.stderr.write(f"step {args.command}: error: {err}\n")
        return ExitCode.USAGE_ERROR
    except OSError as err:  # a path the command cannot read or write
        where = f": {err.filename}" if err.filename else ""
        sys.stderr.write(f"step {args.command}: error: {err.strerror or err}{where}\n")
        return ExitCode.USAGE_ERROR
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return ExitCode.INTERRUPTED
