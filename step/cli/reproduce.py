"""``step reproduce step-paper``: re-run the STEP paper's ablations, with a verdict per finding.

Example::

    step reproduce step-paper --quick          # minutes: a check of the pipeline
    step reproduce step-paper --out runs/repro  # the full run (5 seeds), resumable

Every finished run is appended to OUT/runs.jsonl (the sweep's log), so a rerun, after a crash
or with more seeds, trains only what is missing. Writes OUT/reproduce.json, OUT/reproduce.md
(plots beside it) and a self-contained OUT/reproduce.html.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from step.cli.exit_codes import ExitCode

TARGETS = ("step-paper",)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reproduce", help="re-run a paper's ablations with paired statistics and verdicts",
        description="Re-run the STEP paper's ablations (attention vs. SPS, encodings, neurons, "
        "surrogates, time steps, energy) and test its temporal-modelling conclusion on the "
        "embedded digits, with paired confidence intervals over seeds and a verdict per "
        "finding (agrees, disagrees, inconclusive). Resumable: a rerun trains only what is "
        "missing. Example: step reproduce step-paper --quick",
    )
    p.add_argument("target", metavar="TARGET", help="what to reproduce: step-paper")
    p.add_argument("--out", default=None,
                   help="output folder (default runs/reproduce, runs/reproduce-quick with "
                   "--quick)")
    p.add_argument("--seeds", type=int, default=None,
                   help="number of seeds, 42, 43, ... (default 5; 2 with --quick)")
    p.add_argument("--quick", action="store_true",
                   help="a few minutes: 2 seeds, 2 epochs, 128 val/test samples, fewer T values; "
                   "the report says so")
    p.add_argument("--jobs", type=int, default=2,
                   help="training processes at once, one torch thread each (default 2)")
    p.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)  # tests only
    p.add_argument("--part", default=None, help=argparse.SUPPRESS)  # I/N: share a folder
    p.add_argument("--no-train", action="store_true",
                   help="train nothing: report the runs already in --out (missing ones are "
                   "listed)")
    p.add_argument("--md", default=None, metavar="FILE.md",
                   help="also write the Markdown report to FILE.md, plots in a folder beside "
                   "it (e.g. docs/reproduction.md)")
    p.add_argument("--quiet", action="store_true", help="no per-run lines on stderr")
    p.add_argument("--json", action="store_true", help="print reproduce.json to stdout")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from step._io import output_dir
    from step.errors import InputError
    from step.reproduce.main import budget_of, reproduce
    from step.reproduce.report import write_reports

    if args.target not in TARGETS:
        raise InputError(f"unknown target {args.target!r}: choose one of {', '.join(TARGETS)}")
    if args.quick and args.smoke:
        raise InputError("--quick and --smoke are two budgets: give one")
    name = "smoke" if args.smoke else "quick" if args.quick else "full"
    budget = budget_of(name, args.seeds)
    out = output_dir(args.out or ("runs/reproduce" if name == "full"
                                  else f"runs/reproduce-{name}"))
    md = Path(args.md) if args.md else None
    if md is not None:
        if md.suffix != ".md":
            raise InputError(f"--md {md}: the file name must end in .md")
        output_dir(md.parent, flag="--md folder")
    part = _part(args.part)
    if args.jobs < 1:
        raise InputError(f"--jobs must be at least 1, got {args.jobs}")
    command = "step reproduce step-paper" + "".join(
        f" {flag}" for flag, on in (("--quick", args.quick), ("--smoke", args.smoke)) if on) + (
        f" --seeds {args.seeds}" if args.seeds is not None else "")
    report = reproduce(out, budget, train=not args.no_train,
                       progress=not (args.quiet or args.json), command=command, part=part,
                       jobs=args.jobs)
    files = write_reports(out, report)
    if md is not None:
        write_reports(out, report, md_path=md)
        files.append(md)
    if args.json:
        import json

        print(json.dumps(report, indent=2))
    else:
        _render(report, files)
    return ExitCode.OK if report["meta"]["runs_trained"] else ExitCode.CHECK_FAILED


def _part(text: str | None) -> tuple[int, int] | None:
    from step.errors import InputError

    if text is None:
        return None
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise InputError(f"--part takes I/N (e.g. 1/2), got {text!r}") from None
    if not 1 <= i <= n:
        raise InputError(f"--part {text}: I must be between 1 and N")
    return i, n


def _render(report: dict, files: list[Path]) -> None:
    from rich.console import Console
    from rich.table import Table

    from step.reproduce.report import test_cell

    t = Table(title=report["meta"]["title"])
    for h in ("finding", "ours: paired difference [95% CI]", "verdict"):
        t.add_column(h)
    for r in report["rows"]:
        t.add_row(r["title"], "\n".join(test_cell(x) for x in r["tests"]), r["verdict"])
    c = Console(stderr=False)
    c.print(t)
    for line in report["meta"]["missing"]:
        sys.stderr.write(f"missing: {line}\n")
    c.print("wrote " + ", ".join(str(f) for f in files))
