"""``step study``: one model on every backend, same weights and data order; a fair comparison.

Example (the README's main job; the defaults train spikformer/tiny on the embedded digits on
every installed backend, two seeds, and write runs/study/study.{json,md,html})::

    step study
    step study --model spiking_cnn --preset tiny --backends reference,snntorch --seeds 3
"""

from __future__ import annotations

import argparse
from typing import Any

from step.cli.exit_codes import ExitCode

STUDY_FLAGS = ("model", "preset", "dataset", "epochs", "batch_size", "lr", "data_root",
               "img_size", "train_subset", "eval_subset", "device", "backends", "seeds", "seed",
               "out", "jobs")


def register(sub: argparse._SubParsersAction) -> None:
    from step.cli.train import add_run_flags

    p = sub.add_parser(
        "study", help="compare backends: same model, weights and data order on each",
        description="Train the same model config on each backend and seed under identical "
        "conditions; write study.json, study.md and a self-contained study.html with accuracy "
        "(mean and spread over seeds), loss, firing rates, time per epoch, peak memory, support "
        "levels and a verdict on whether backends differ more than seeds. Example: step study "
        "--backends reference,snntorch --seeds 2 --epochs 3",
    )
    add_run_flags(p, with_backend=False)
    p.add_argument("--backends", help="'all' (default) or a comma-separated list")
    p.add_argument("--seeds", type=int, help="number of seeds (default 2)")
    p.add_argument("--seed", type=int, help="first seed (default 42)")
    p.add_argument("--out", help="output folder (default runs/study)")
    p.add_argument("--jobs", type=int,
                   help="runs at once, each in its own process (default 2: one per core)")
    p.add_argument("--in-process", action="store_true",
                   help="run every training in this process (faster start, shared peak memory)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def load_study_config(args: argparse.Namespace) -> Any:
    from step.specs import apply_assignments, load_mapping
    from step.study import StudyConfig

    data: dict[str, Any] = {}
    if args.config:
        data.update(load_mapping(args.config, "study settings"))
    data.update({k: getattr(args, k) for k in STUDY_FLAGS if getattr(args, k, None) is not None})
    if isinstance(data.get("backends"), str) and data["backends"] != "all":
        data["backends"] = [b.strip() for b in data["backends"].split(",") if b.strip()]
    if args.sets:
        data["model_overrides"] = apply_assignments(dict(data.get("model_overrides") or {}),
                                                    args.sets)
    if args.in_process:
        data["isolate"] = False
    return StudyConfig.parse(data, what="study config")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from step._io import output_dir
    from step.study import run_study, write_study

    cfg = load_study_config(args)
    output_dir(cfg.out)
    study = run_study(cfg, progress=not args.quiet)
    paths = write_study(Path(cfg.out), study)
    render(study, paths)
    trained = [r for r in study["rows"] if r["status"] in ("ok", "partial")]
    return ExitCode.OK if trained else ExitCode.CHECK_FAILED


def render(study: dict, paths: dict) -> None:
    """A compact table for the terminal; support and conformance are in the files."""
    from rich.table import Table

    from step.cli._console import console
    from step.study.report import table

    head, rows = table(study)
    keep = [0, 2, 3, 5, 6, 7, 8]  # backend, status, acc, loss, rate, s/epoch, memory
    t = Table(title=f"{study['config']['model']} on {study['config']['dataset']}")
    for i in keep:
        t.add_column(head[i])
    for r in rows:
        t.add_row(*[r[i] for i in keep])
    c = console()
    c.print(t)
    for r in study["rows"]:
        if r.get("reason"):
            c.print(f"[yellow]{r['backend']}[/]: {r['reason']}")
    c.print(f"[bold]verdict[/]: {study['spread']['text']}")
    c.print(f"written: {', '.join(str(p) for p in paths.values())}")
