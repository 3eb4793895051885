"""``step sweep FILE.yaml``: a grid of ablations, resumable, with a summary table and plot.

Example::

    step sweep ablation.yaml      # base run config + grid over neuron, surrogate, encoder,
                                  # attention/embedding variant and backend

The whole grid is checked before the first run (exit 2 on a bad key, backend, neuron, model or
dataset). Each finished run is appended to OUT/runs.jsonl; rerunning skips what is done and
retries failures. The summary is written to OUT/sweep.md and OUT/sweep.png. Exit code 1 when
any run failed. Sweep files to start from: examples/sweeps/; every key: docs/run-config.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from step.cli.exit_codes import ExitCode


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep", help="run a grid of ablations (neuron, surrogate, encoder, backend, ...)",
        description="Run the product of the grid in FILE.yaml over its base run config; each "
        "finished run is appended to OUT/runs.jsonl, so a rerun skips what is done. Writes "
        "OUT/sweep.md and OUT/sweep.png. Example: step sweep ablation.yaml",
    )
    p.add_argument("file", metavar="FILE.yaml", help="sweep file: base, grid, out")
    p.add_argument("--out", help="output folder (overrides the file's out)")
    from step.executor import add_executor_flags

    add_executor_flags(p)
    p.add_argument("--quiet", action="store_true", help="no per-run lines on stderr")
    p.add_argument("--json", action="store_true",
                   help="print the entries (one per grid point) as JSON on stdout")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from step._io import output_dir, say_written
    from step.executor import check_executor
    from step.specs import load_mapping
    from step.study.sweep import LOG, SweepConfig, run_sweep

    if args.executor or args.address or args.retries:  # before reading the file: one line
        check_executor(args.executor or "local", args.address, args.retries or 0)
    data = load_mapping(args.file, "base, grid and out")
    if args.out:
        data["out"] = args.out
    data.update({k: getattr(args, k) for k in ("executor", "address", "retries")
                 if getattr(args, k) is not None})
    sweep = SweepConfig.parse(data, what=f"sweep file {args.file}")
    output_dir(sweep.out)
    entries = run_sweep(sweep, progress=not (args.quiet or args.json),
                        what=f"sweep file {args.file}")
    out = Path(sweep.out)
    write_summary(out, entries, list(sweep.grid))
    if args.json:
        import json

        print(json.dumps({"axes": list(sweep.grid), "entries": entries,
                          "files": [str(out / LOG), str(out / "sweep.md"),
                                    str(out / "sweep.png")]}, indent=2))
    else:
        render(entries, list(sweep.grid))
        say_written(out / LOG, out / "sweep.md", out / "sweep.png")
    failed = [e for e in entries if e["status"] == "failed"]
    if failed:
        sys.stderr.write(f"{len(failed)} of {len(entries)} runs failed (see the note column); "
                         "rerun the same command to retry only those\n")
    return ExitCode.CHECK_FAILED if failed or not entries else ExitCode.OK


def rows(entries: list[dict], axes: list[str]) -> tuple[list[str], list[list[str]]]:
    from step.study.diff import config_diff, describe

    head = [*axes, "status", "test acc", "val acc", "firing rate", "s / epoch",
            "model config vs first row", "note"]
    out = []
    configs = [(e.get("specs") or {}).get("model") for e in entries]
    first = next((c for c in configs if c), None)
    for e, config in zip(entries, configs, strict=True):
        changed = describe(config_diff(first, config)) if first and config else ""

        def f(k: str, fmt: str = ".4f", e: dict = e) -> str:
            return format(e[k], fmt) if e.get(k) is not None else ""

        out.append([str(e["point"].get(a)) for a in axes] + [
            e["status"] + (" (done before)" if e.get("reused") else ""), f("test_acc"),
            f("val_acc"), f("firing_rate"), f("time_per_epoch_s", ".2f"), changed,
            e.get("error", "")])
    return head, out


def write_summary(out: Path, entries: list[dict], axes: list[str]) -> None:
    from step._io import save_figure, write_text

    head, body = rows(entries, axes)
    md = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    md += ["| " + " | ".join(c.replace("|", "/") for c in r) + " |" for r in body]
    write_text(out / "sweep.md", "# Sweep\n\n" + "\n".join(md) + "\n\n![sweep](sweep.png)\n")
    trained = [e for e in entries if e["status"] == "trained"]

    def draw(fig: Any) -> None:
        ax = fig.subplots()
        labels = [", ".join(f"{v}" for v in e["point"].values()) for e in trained]
        ax.barh(range(len(trained)), [e["test_acc"] for e in trained])
        ax.set_yticks(range(len(trained)), labels, fontsize="small")
        ax.set_xlabel("test accuracy")
        ax.set_title(" x ".join(axes))

    save_figure(out / "sweep.png", draw, figsize=(8, 1.5 + 0.35 * max(len(trained), 1)))


def render(entries: list[dict], axes: list[str]) -> None:
    from rich.table import Table

    from step.cli._console import console

    head, body = rows(entries, axes)
    t = Table(title="sweep")
    for h in head:
        t.add_column(h, no_wrap=h == "note", overflow="ellipsis", max_width=40)
    for r in body:
        t.add_row(*r)
    console().print(t)
