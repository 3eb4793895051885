"""``step conformance``: run the conformance suite and write report.json, report.md, report.html.

Exit code 0 when every case passed (pass, pass-noted, emulated-pass or unsupported), 1 when any
case failed or raised, 2 for bad usage (an unknown backend, a pattern that matches no case).
Example: ``step conformance --backends reference,snntorch --cases 'lif-*' --dtype float32``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from step.cli.exit_codes import ExitCode
from step.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "conformance",
        help="compare every backend with the canonical equations and write a report",
        description="Run the conformance catalogue (neuron specs x drives x modes x dtypes) "
        "on each backend, compare spikes, membranes and gradients with the reference under "
        "the documented tolerance policy, and write report.json, report.md and a "
        "self-contained report.html into --out. Exit code 1 when any case fails or errors.",
    )
    p.add_argument("--backends", default="all",
                   help="'all' (every available backend) or comma-separated names")
    p.add_argument("--cases", metavar="PATTERN",
                   help="only the cases whose id matches: a glob ('lif-*/random/*') or a "
                   "substring ('single-step'); ids look like lif-tau5/random/multi-step/T32/"
                   "float32")
    p.add_argument("--dtype", default="both",
                   choices=["float32", "float64", "both", "bf16-autocast", "all"],
                   help="which dtypes to run (default both: float32 and float64); "
                   "bf16-autocast: the autocast case set (IF, LIF, PLIF on a bfloat16 input under "
                   "torch.autocast, its own tolerance, docs/conformance.md); all: the three")
    p.add_argument("--device", default="cpu",
                   help="device of the backends' modules (cpu, cuda, cuda:1; the reference "
                   "and the judging stay on the CPU)")
    from step.executor import add_executor_flags

    add_executor_flags(p)
    p.add_argument("--out", default="conformance-report", metavar="DIR",
                   help="folder for report.json, report.md and report.html")
    p.add_argument("--json", action="store_true", help="also print report.json to stdout")
    p.set_defaults(run=run)


def resolve_backends(text: str) -> tuple[list[Any], dict[str, dict[str, Any]]]:
    """The backends to run and the report's ``backends`` section (unavailable ones listed)."""
    from step.registry import available_backends, backend_statuses, get_backend, plugin_record

    statuses = backend_statuses()
    if text.strip() == "all":
        names = available_backends()
    else:
        names = list(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
        if not names:
            raise InputError("--backends needs 'all' or at least one backend name")
    backends = [get_backend(n) for n in names]  # one clear line for an unknown name
    info: dict[str, dict[str, Any]] = {}
    for b in backends:
        info[b.name] = {"version": b.version(), "available": True, "reason": "",
                        "library": b.library, **plugin_record(b.name)}
    if text.strip() == "all":
        for name, st in statuses.items():
            if not st.available:
                info[name] = {"version": st.version, "available": False,
                              "reason": st.reason, "library": st.library,
                              **plugin_record(name)}
    return backends, info


def selected_cases(dtype: str, pattern: str | None) -> list[Any]:
    """The cases of ``--dtype`` (the catalogue's dtypes, and/or the autocast set)."""
    from step.conformance.cases import autocast_cases, catalogue
    from step.conformance.policy import AUTOCAST, DTYPES

    dtypes = {"both": list(DTYPES), "all": list(DTYPES), AUTOCAST: []}.get(dtype, [dtype])
    cases = catalogue(dtypes, pattern) if dtypes else []
    if dtype in (AUTOCAST, "all"):
        cases += autocast_cases(pattern)
    return cases


def run(args: argparse.Namespace) -> int:
    from contextlib import nullcontext

    from step._io import output_dir
    from step.device import device_flag
    from step.executor import RayPool, check_executor

    device_flag(args.device)
    executor = check_executor(args.executor or "local", args.address, args.retries or 0)
    output_dir(args.out)
    backends, info = resolve_backends(args.backends)
    cases = selected_cases(args.dtype, args.cases)
    if not cases:
        raise InputError(f"no conformance case matches {args.cases!r} (ids look like "
                         "lif-tau5/random/multi-step/T32/float32; try --cases lif-tau5)")
    with RayPool(args.address, args.retries or 0) if executor == "ray" else nullcontext() as ray:
        report = _run_with_progress(backends, cases, info, args.cases, args.device, ray)
    write_reports(report, Path(args.out))
    if args.json:
        from step.conformance.report_json import to_json

        print(json.dumps(to_json(report), indent=2))
    else:
        render(report, Path(args.out))
    return ExitCode.CHECK_FAILED if report.failed else ExitCode.OK


def _run_with_progress(backends: list[Any], cases: list[Any], info: dict[str, dict[str, Any]],
                       pattern: str | None, device: str = "cpu", ray: Any = None) -> Any:
    """Run the suite with a progress bar on stderr (stdout stays clean for --json)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from step.conformance.runner import run_suite

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("conformance", total=len(backends) * len(cases))

        def advance(result: Any) -> None:
            progress.update(task, advance=1, description=f"{result.backend:>12} "
                                                         f"{result.case.feature}")

        return run_suite(backends, cases, on_result=advance, backend_info=info,
                         pattern=pattern, device=device, ray=ray)


def write_reports(report: Any, out: Path) -> None:
    """Render all three reports first, then write each whole (temporary file and rename)."""
    from step._io import atomic_path
    from step.conformance.report_html import to_html
    from step.conformance.report_json import to_json
    from step.conformance.report_md import to_markdown

    texts = {"report.json": json.dumps(to_json(report), indent=2) + "\n",
             "report.md": to_markdown(report), "report.html": to_html(report)}
    # all three are written to temporary files first and renamed together at the end, so a
    # failure leaves the previous set of reports, never a mix of old and new
    with (atomic_path(out / "report.json") as tj, atomic_path(out / "report.md") as tm,
          atomic_path(out / "report.html") as th):
        for tmp, name in ((tj, "report.json"), (tm, "report.md"), (th, "report.html")):
            tmp.write_text(texts[name])


def render(report: Any, out: Path) -> None:
    """A per-backend summary table and the first failures, for a person at a terminal."""
    from rich.table import Table

    from step.cli._console import console
    from step.conformance.policy import SEVERITY, Status

    con = console()
    table = Table(title=f"STEP conformance ({len(report.cases)} cases, "
                        f"{report.seconds:.1f} s)")
    table.add_column("backend")
    for s in SEVERITY:
        table.add_column(s.value, justify="right")
    for name, counts in report.counts().items():
        table.add_row(name, *[str(counts[s.value]) for s in SEVERITY])
    con.print(table)
    failures = [r for r in report.results if r.status in (Status.FAIL, Status.ERROR)]
    for r in failures[:10]:
        con.print(f"[red]{r.status.value}[/] {r.backend} {r.case.id}: {r.detail}",
                  markup=True, highlight=False, soft_wrap=True)
    if len(failures) > 10:
        con.print(f"... and {len(failures) - 10} more in the report")
    con.print(f"report: {out / 'report.html'} (also report.md, report.json)")
