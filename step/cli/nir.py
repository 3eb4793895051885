"""``step export-nir``: write a network made of NIR primitives as a NIR file.

Example::

    step export-nir spiking_mlp mlp.nir                      # a fresh model (a preset's weights)
    step export-nir runs/cnn cnn.nir                          # the trained model of a run
    step export-nir spiking_cnn cnn.nir --set pool=false      # NIR has no max-pooling

The graph maps one time step; ``step.nir.load(path, backend=...)`` runs it on any backend.
docs/nir.md states the discretisation (dt, tau, r, fire rule, reset).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from step.cli.exit_codes import ExitCode
from step.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export-nir", help="write a spiking MLP/CNN (or a trained run's) as a NIR graph",
        description="Export a network made of NIR primitives (Linear, Conv, Flatten, AvgPool, "
        "LIF/IF/LI; BatchNorm folded) to a NIR file; layers without a NIR primitive are named. "
        "Example: step export-nir runs/cnn cnn.nir",
    )
    p.add_argument("model_or_run", metavar="MODEL_OR_RUN",
                   help="model name (see step models) or folder of a finished step train run")
    p.add_argument("out", metavar="OUT.nir", help="NIR file to write")
    p.add_argument("--preset", help="model preset (with a model name)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="model config override (with a model name, repeatable): pool=false")
    p.add_argument("--dt", type=float, default=1.0,
                   help="time step the NIR time constants are written for (default 1.0)")
    p.add_argument("--json", action="store_true", help="print the graph's nodes as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import step.nir
    from step._io import output_dir, say_written

    out = Path(args.out)
    if out.is_dir():
        raise InputError(f"{out} is a folder: give the NIR file to write (e.g. {out}/net.nir)")
    output_dir(out.parent, flag=f"the folder of {out}:")
    if not args.dt > 0:
        raise InputError(f"--dt must be > 0, got {args.dt}")
    target = args.model_or_run
    if args.sets:
        if Path(target).is_dir():
            raise InputError("--set changes a model name's config; a run folder has its own")
        target = _model(target, args.preset, args.sets)
    graph = step.nir.export(target, out, preset=None if args.sets else args.preset, dt=args.dt)
    nodes = {name: type(node).__name__ for name, node in graph.nodes.items()}
    if args.json:
        print(json.dumps({"out": str(out), "dt": args.dt, "nodes": nodes,
                          "edges": [list(e) for e in graph.edges]}))
        say_written(out, to_stderr=True)
        return ExitCode.OK
    print(" -> ".join(f"{n} ({k})" for n, k in nodes.items()))
    print(f"readout: {graph.metadata.get('readout')}; dt {args.dt}")
    say_written(out)
    return ExitCode.OK


def _model(name: str, preset: str | None, sets: list[str]):  # noqa: ANN202
    """A fresh model with ``--set`` overrides, parsed as ``step train`` parses them."""
    import step.models
    from step.train.config import apply_assignments

    if name not in step.models.list_models():
        raise InputError(f"{name} is not a model name (see step models)")
    return step.models.create(name, preset, **apply_assignments({}, sets))
