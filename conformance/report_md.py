"""The Markdown report, ``report.md``: the same findings as the HTML page, for a terminal, a
pull request or an issue. Also the groupings both human-readable reports share."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from step.conformance.plots import PASSING, matrix_cells
from step.conformance.policy import SEVERITY, TOLERANCES, Status, worst

if TYPE_CHECKING:
    from step.conformance.runner import CaseResult, SuiteReport

#: One symbol per outcome for plain-text matrices.
SYMBOLS: dict[Status, str] = {
    Status.PASS: "pass", Status.EMULATED_PASS: "emul", Status.PASS_NOTED: "noted",
    Status.UNSUPPORTED: "n/a", Status.FAIL: "FAIL", Status.ERROR: "ERROR",
}


def with_status(report: SuiteReport, *statuses: Status) -> list[CaseResult]:
    """The results with one of ``statuses``, in run order."""
    return [r for r in report.results if r.status in statuses]


def unsupported_groups(report: SuiteReport) -> dict[tuple[str, str], list[str]]:
    """{(backend, reason): [case ids]}: unsupported cases grouped by the adapter's reason."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in with_status(report, Status.UNSUPPORTED):
        groups[(r.backend, r.detail)].append(r.case.id)
    return dict(groups)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(report: SuiteReport) -> str:
    """The whole report as Markdown."""
    out = ["# STEP conformance report", ""]
    verdict = "**FAILED**" if report.failed else "**passed**"
    out += [f"{verdict}: {len(report.results)} results, {len(report.cases)} cases "
            f"({', '.join(report.dtypes)}), {len(report.counts())} backends, "
            f"{report.seconds:.1f} s. Schema `step.conformance/1` in report.json.", ""]
    out += ["## Summary", "", "| backend | version | " + " | ".join(s.value for s in SEVERITY)
            + " |", "|---|---|" + "---|" * len(SEVERITY)]
    for name, counts in report.counts().items():
        version = report.backends[name].get("version") or "-"
        out.append(f"| {name} | {version} | "
                   + " | ".join(str(counts[s.value]) for s in SEVERITY) + " |")
    unavailable = {n: i for n, i in report.backends.items() if not i.get("available")}
    for name, info in unavailable.items():
        out.append(f"\n{name}: unavailable ({_cell(info.get('reason', ''))})")
    out.append("")
    for dtype in report.dtypes:
        backends, features, cells = matrix_cells(report, dtype)
        out += [f"## Capability matrix ({dtype})", "",
                "Worst outcome per feature, then cases passed / run.", "",
                "| backend | " + " | ".join(features) + " |",
                "|---|" + "---|" * len(features)]
        for b in backends:
            row = []
            for f in features:
                statuses = cells.get((b, f), [])
                w = worst(statuses)
                ok = sum(s in PASSING for s in statuses)
                row.append(f"{SYMBOLS[w]} {ok}/{len(statuses)}" if w else "-")
            out.append(f"| {b} | " + " | ".join(row) + " |")
        out.append("")
    failures = with_status(report, Status.FAIL, Status.ERROR)
    out += [f"## Failures and errors ({len(failures)})", ""]
    out += [f"- `{r.backend}` `{r.case.id}` **{r.status.value}**: {_cell(r.detail)}"
            for r in failures] or ["None."]
    noted = with_status(report, Status.PASS_NOTED)
    emulated_noted = [r for r in with_status(report, Status.EMULATED_PASS) if r.notes]
    out += ["", f"## Near-threshold differences ({len(noted) + len(emulated_noted)})", ""]
    out += [f"- `{r.backend}` `{r.case.id}`: {_cell('; '.join(r.notes))}"
            for r in noted + emulated_noted] or ["None."]
    groups = unsupported_groups(report)
    out += ["", f"## Unsupported ({sum(len(v) for v in groups.values())} cases)", ""]
    out += [f"- `{b}` ({len(ids)} cases, e.g. `{ids[0]}`): {_cell(reason)}"
            for (b, reason), ids in groups.items()] or ["None."]
    emulated = with_status(report, Status.EMULATED_PASS)
    if emulated:
        hows = sorted({(r.backend, r.detail.split("; ")[1] if "; " in r.detail else r.detail)
                       for r in emulated})
        out += ["", f"## Emulated ({len(emulated)} cases)", ""]
        out += [f"- `{b}`: {_cell(h)}" for b, h in hows]
    out += ["", "## Tolerance policy", "", "| dtype | membrane atol | membrane rtol | "
            "threshold band | gradient atol | gradient rtol |", "|---|---|---|---|---|---|"]
    for d in report.dtypes:
        t = TOLERANCES[d]
        out.append(f"| {d} | {t.membrane_atol:g} | {t.membrane_rtol:g} | {t.threshold_band:g}"
                   f" | {t.gradient_atol:g} | {t.gradient_rtol:g} |")
    out += ["", "Spikes exactly; a flip where the reference's |h - v_th| is within the band is "
            "a near-threshold difference (pass-noted); fire-at-threshold cases get no band. "
            "See docs/conformance.md.", "", "## Environment", ""]
    env = report.environment
    out += [f"- {k}: {v}" for k, v in env.items() if k != "libraries"]
    out += [f"- {b}: {v or 'n/a'}" for b, v in env.get("libraries", {}).items()]
    return "\n".join(out) + "\n"
