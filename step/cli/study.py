"""``step study``: one model on every backend, same weights and data order; a fair comparison.

Example (the README's main job; the defaults train spikformer/tiny, widened to 64 channels at
T = 2, on the embedded digits on every installed backend, five seeds, and write
runs/study/study.{json,md,html})::

    step study
    step study --model spiking_cnn --preset tiny --backends reference,snntorch --seeds 3

Rerunning the same command resumes: finished runs are reused (OUT/runs.jsonl). Other settings
in the same OUT are refused unless --overwrite. SIGTERM stops every worker, as Ctrl-C does.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from step.cli.exit_codes import ExitCode

STUDY_FLAGS = ("model", "preset", "dataset", "epochs", "batch_size", "lr", "data_root",
               "img_size", "train_subset", "eval_subset", "device", "backends", "seeds", "seed",
               "out", "jobs", "margin", "as_shipped", "executor", "address", "retries")


STUDY_DEFAULTS_HELP = {
    "model": "model name (default spikformer)",
    "preset": "model preset (default tiny; spikformer/tiny gets embed_dim=64, T=2, which "
              "--set edits, unless the config file gives model_overrides)",
    "epochs": "training epochs (default 8)",
    "batch_size": "training batch size (default 32)",
    "lr": "peak learning rate, AdamW, after half an epoch of warm-up (default 5e-3)",
}


def register(sub: argparse._SubParsersAction) -> None:
    from step.cli.train import add_run_flags
    from step.executor import add_executor_flags

    p = sub.add_parser(
        "study", help="compare backends: same model, weights and data order on each",
        description="Train the same model config on each backend and seed under identical "
        "conditions; write study.json, study.md and a self-contained study.html with accuracy "
        "(mean and spread over seeds), loss, firing rates, time per epoch, peak memory, support "
        "levels and a paired verdict per pair of backends (equivalent within --margin, "
        "different, or inconclusive with the seeds that would settle it). A rerun resumes. "
        "Example: step study --backends reference,snntorch --seeds 3 --epochs 3",
    )
    add_run_flags(p, with_backend=False)
    for action in p._actions:  # the study's own defaults, not a single run's
        if action.dest in STUDY_DEFAULTS_HELP:
            action.help = STUDY_DEFAULTS_HELP[action.dest]
    p.add_argument("--backends", help="'all' (default) or a comma-separated list")
    p.add_argument("--seeds", type=int, help="number of seeds (default 5)")
    p.add_argument("--seed", type=int, help="first seed (default 42)")
    p.add_argument("--out", help="output folder (default runs/study)")
    p.add_argument("--jobs", type=int,
                   help="runs at once, each in its own process (default 2: one per core)")
    p.add_argument("--in-process", action="store_true",
                   help="run every training in this process (faster start, shared peak memory)")
    p.add_argument("--margin", type=float,
                   help="equivalence margin of the paired verdict, in accuracy points "
                   "(default 1)")
    p.add_argument("--as-shipped", action="store_true", default=None,
                   help="also run each backend with each library quirk that changes the "
                   "model's neurons left in (NAME+QUIRK, docs/quirks.md) and add a quirk "
                   "attribution table: which quirk moves accuracy and firing rate, and whether "
                   "beyond seed noise")
    add_executor_flags(p)
    p.add_argument("--overwrite", action="store_true",
                   help="discard a study with other settings in OUT (by default a rerun "
                   "resumes the same settings and refuses others)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true",
                   help="print a summary (rows, paired verdict, files) as JSON on stdout")
    p.set_defaults(run=run)


def load_study_config(args: argparse.Namespace) -> Any:
    from step.specs import apply_assignments, load_mapping
    from step.study import StudyConfig
    from step.study.config import default_model_overrides

    data: dict[str, Any] = {}
    if args.config:
        data.update(load_mapping(args.config, "study settings"))
    data.update({k: getattr(args, k) for k in STUDY_FLAGS if getattr(args, k, None) is not None})
    if isinstance(data.get("backends"), str) and data["backends"] != "all":
        data["backends"] = [b.strip() for b in data["backends"].split(",") if b.strip()]
    if args.sets:  # --set edits the default model's overrides unless the file gives its own
        base = data.get("model_overrides")
        if base is None:
            base = default_model_overrides(data.get("model", StudyConfig.model_fields["model"]
                                                    .default),
                                           data.get("preset", StudyConfig.model_fields["preset"]
                                                    .default))
        data["model_overrides"] = apply_assignments(dict(base), args.sets)
    if args.in_process:
        data["isolate"] = False
    return StudyConfig.parse(data, what="study config")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from step._io import output_dir
    from step.study import run_study, write_study
    from step.study.workers import sigterm_as_interrupt

    cfg = load_study_config(args)
    output_dir(cfg.out)
    with sigterm_as_interrupt():
        study = run_study(cfg, progress=not (args.quiet or args.json), overwrite=args.overwrite)
    paths = write_study(Path(cfg.out), study)
    if args.json:
        print(json.dumps(machine_summary(study, paths), indent=2))
    else:
        render(study, paths)
    trained = [r for r in study["rows"] if r["status"] in ("ok", "partial")]
    return ExitCode.OK if trained else ExitCode.CHECK_FAILED


def machine_summary(study: dict, paths: dict) -> dict[str, Any]:
    """What ``--json`` prints: per backend the numbers of the table, the paired verdict with
    every pair, and the files written (study.json has everything else)."""
    keep = ("backend", "version", "status", "reason", "seeds", "acc_per_seed", "acc",
            "reused_seeds", "loss", "firing_rate", "time_per_epoch_s", "peak_memory_mb",
            "energy_pj", "conformance")
    return {
        "config": study["config"],
        "rows": [{k: r[k] for k in keep if k in r} for r in study["rows"]],
        "verdict": study["paired"]["verdict"], "text": study["paired"]["text"],
        "pairs": [{k: v for k, v in q.items() if k != "mcnemar"} | {
            "mcnemar_p": {s: m["pvalue"] for s, m in (q.get("mcnemar") or {}).items()}}
            for q in study["paired"]["pairs"]],
        "elapsed_s": study["elapsed_s"],
        "files": {k: str(v) for k, v in paths.items()},
        "attribution": [{key: a.get(key) for key in (
            "variant", "backend", "quirks", "verdict", "mean_diff", "ci", "firing_rate_diff",
            "text")} for a in study.get("attribution") or []],
    }


def render(study: dict, paths: dict) -> None:
    """A compact table for the terminal; support and conformance are in the files."""
    from rich.table import Table

    from step.cli._console import console
    from step.study.report import table, verdict_text

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
    c.print(f"[bold]verdict[/]: {verdict_text(study)}")
    for a in study.get("attribution") or []:
        c.print(f"quirk {a['variant']}: {a.get('text', 'n/a')}", markup=False,
                highlight=False)
    c.print(f"written: {', '.join(str(p) for p in paths.values())}")
