"""``step models``: the registered models, their presets and parameter counts.

Counts are computed by building each preset on PyTorch's meta device (shapes only, no memory, no
arithmetic), so the command stays quick even for ImageNet-sized presets.

Example::

    $ step models --json
    {"models": [{"name": "qkformer", "presets": {"cifar10": 6706234, ...}, ...}, ...]}
"""

from __future__ import annotations

import argparse
import json

from step.cli.exit_codes import ExitCode


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "models",
        help="list the models, their presets and parameter counts",
        description="List every model registered in step.models with its presets and the "
        "number of trainable parameters each preset builds (counted on the meta device).",
    )
    p.add_argument("pattern", nargs="?", default="*", help="shell wildcard on model names")
    p.add_argument("--json", action="store_true", help="print JSON for machines")
    p.set_defaults(run=run)


def collect(pattern: str = "*", progress: bool = False) -> list[dict]:
    """One row per model: name, paper, default preset, parameters per preset."""
    import step.models as models
    from step._progress import track

    rows = []
    names = models.list_models(pattern)
    for name in track(names, "counting parameters", total=len(names), enabled=progress):
        entry = models.model_entry(name)
        rows.append({
            "name": name,
            "paper": entry.paper,
            "default_preset": entry.default_preset,
            "presets": {p: models.count_parameters(name, p) for p in models.list_presets(name)},
        })
    return rows


def run(args: argparse.Namespace) -> int:
    rows = collect(args.pattern, progress=True)
    if not rows:
        from step.errors import InputError
        from step.models import list_models

        raise InputError(f"no model matches {args.pattern!r}: known models are "
                         + ", ".join(list_models()))
    if args.json:
        print(json.dumps({"models": rows}, indent=2))
        return ExitCode.OK
    from rich.table import Table

    from step.cli._console import console

    table = Table(title="STEP models")
    for col in ("model", "preset", "parameters", "paper"):
        table.add_column(col)
    for r in rows:
        for i, (preset, n) in enumerate(r["presets"].items()):
            mark = " (default)" if preset == r["default_preset"] else ""
            table.add_row(r["name"] if i == 0 else "", preset + mark, f"{n:,}",
                          r["paper"] if i == 0 else "")
    console().print(table)
    return ExitCode.OK
