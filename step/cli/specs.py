"""``step specs``: every neuron, surrogate and encoder kind, with its fields and defaults.

Example::

    step specs neurons           # one table per kind: field, default, meaning
    step specs surrogates --json
"""

from __future__ import annotations

import argparse

from step.cli.exit_codes import ExitCode


def register(sub: argparse._SubParsersAction) -> None:
    from step.catalog import GROUPS

    p = sub.add_parser(
        "specs", help="list the neuron, surrogate and encoder kinds with fields and defaults",
        description="List what a spec can name: every neuron kind, surrogate family and "
        "encoder, with each field's default and meaning (the long form is docs/specs.md). "
        "Example: step specs neurons",
    )
    p.add_argument("group", nargs="?", choices=GROUPS, help="only this group (default: all)")
    p.add_argument("--json", action="store_true", help="print JSON for machines")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from step._io import dumps
    from step.catalog import catalogue

    data = catalogue(args.group)
    if args.json:
        print(dumps(data))
        return ExitCode.OK
    from rich.markup import escape
    from rich.table import Table

    from step.cli._console import console

    out = console()
    for group, kinds in data.items():
        table = Table(title=f"{group} (field meanings: step specs {group} --json, docs/specs.md)",
                      show_lines=True)
        for col in ("kind", "fields = defaults", "what it is"):
            table.add_column(col, overflow="fold")
        for entry in kinds:
            fields = "\n".join(f"{f['name']} = {f['default']}" for f in entry["fields"])
            table.add_row(entry["kind"], escape(fields), escape(entry["summary"]))  # h[t]: text
        out.print(table)
    return ExitCode.OK
