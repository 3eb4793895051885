"""``step backends``: every discovered backend, its library version and what it supports."""

from __future__ import annotations

import argparse
import json

from step.cli.exit_codes import ExitCode


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "backends",
        help="list the discovered backends, their versions and support",
        description="List every backend found through the step.backends entry points, with "
        "library version, availability (reason and install hint when unavailable) and how "
        "many representative neuron specs each computes natively, emulated or not at all, "
        "for the forward pass and for the gradient.",
    )
    p.add_argument("--json", action="store_true", help="print JSON for machines")
    p.set_defaults(run=run)


def collect() -> list[dict]:
    """One row per backend; a plugin whose ``neuron_support`` raises gets ``support: null`` and
    its exception in ``support_error``, and the other rows are unaffected."""
    from step.registry import backend_statuses, guarded_summary

    rows = []
    for status in backend_statuses().values():
        row = status.to_dict()
        summary, error = guarded_summary(status.backend) if status.backend else (None, "")
        row["support"], row["support_error"] = summary, error
        rows.append(row)
    return sorted(rows, key=lambda r: (r["name"] != "reference", r["name"]))


def run(args: argparse.Namespace) -> int:
    rows = collect()
    if args.json:
        print(json.dumps({"backends": rows}, indent=2))
        return ExitCode.OK
    from rich.markup import escape
    from rich.table import Table

    from step.cli._console import console

    table = Table(title="STEP backends")
    for col in ("backend", "library", "version", "status", "forward n/e/u", "gradient n/e/u"):
        table.add_column(col)
    for r in rows:
        # reasons and hints are text ("pip install 'step-snn[sinabs]'"), not rich markup
        status = ("[green]available[/]" if r["available"]
                  else f"[red]unavailable[/]: {escape(r['reason'])}")
        if r["install_hint"]:
            status += f" ({escape(r['install_hint'])})"
        if r["support_error"]:
            status = f"[red]error[/]: {escape(r['support_error'])}"
        sup = r["support"] or {}
        counts = [f"{c['native']}/{c['emulated']}/{c['unsupported']}" if c else "-"
                  for c in (sup.get("forward"), sup.get("gradient"))]
        table.add_row(r["name"], r["library"] or "-", r["version"] or "-", status, *counts)
    console().print(table)
    console().print("n/e/u: how many of a grid of representative neuron specs each backend runs "
                    "natively, emulated, or not at all (step trace --backend all shows one spec)")
    return ExitCode.OK
