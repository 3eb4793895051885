"""The report for people, ``report.html``: one self-contained page, plots embedded as base64 PNG.

Nothing is fetched when the page is opened (no scripts, fonts or images from elsewhere), so the
file can be attached to an issue or archived with a paper's artefacts and still render.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from step._io import img_tag
from step.conformance.plots import COLOURS, capability_matrix, case_plot, sample_plot
from step.conformance.policy import SEVERITY, TOLERANCES, Status
from step.conformance.report_md import unsupported_groups, with_status

if TYPE_CHECKING:
    from step.conformance.runner import CaseResult, SuiteReport

#: At most this many failing cases get a plot (the table lists all of them).
MAX_FAILURE_PLOTS = 12
#: Cases shown for every backend as samples, when they were run.
SAMPLE_CASES = (
    "lif-tau5/random/multi-step/T32/float32",
    "if-soft/at-threshold/multi-step/T16/float32",
    "plif-tau2/ramp/multi-step/T32/float32",
)

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1150px;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 7px;
font-size:13px;text-align:left;vertical-align:top}th{background:#f3f3f3}
.badge{color:#fff;border-radius:3px;padding:1px 6px;font-size:12px;white-space:nowrap}
code{font-size:12px}img{max-width:100%;border:1px solid #eee;margin:.4em 0}
.fail{color:#d2382f;font-weight:bold}.ok{color:#2e9e48;font-weight:bold}
"""


def badge(status: Status) -> str:
    return f'<span class="badge" style="background:{COLOURS[status]}">{status.value}</span>'


def _esc(text: object) -> str:
    return html.escape(str(text))


def _rows(results: list[CaseResult]) -> str:
    body = "".join(
        f"<tr><td>{_esc(r.backend)}</td><td><code>{_esc(r.case.id)}</code></td>"
        f"<td>{badge(r.status)}</td><td>{_esc(r.detail)}</td></tr>" for r in results)
    return ("<table><tr><th>backend</th><th>case</th><th>status</th><th>detail</th></tr>"
            f"{body}</table>")


def _failure_plots(failures: list[CaseResult]) -> list[str]:
    """Plots of failing cases, one per (backend, feature) first, so every fault gets one."""
    first: dict[tuple[str, str], CaseResult] = {}
    for r in failures:
        first.setdefault((r.backend, r.case.feature), r)
    picked = {id(r) for r in first.values()}
    ordered = list(first.values()) + [r for r in failures if id(r) not in picked]
    out = []
    for r in ordered:
        if len(out) >= MAX_FAILURE_PLOTS:
            break
        png = case_plot(r)
        if png is not None:
            out.append(img_tag(png, f"{r.backend} {r.case.id}"))
    return out


def _samples(report: SuiteReport) -> list[str]:
    by_case: dict[str, list[CaseResult]] = {}
    for r in report.results:
        by_case.setdefault(r.case.id, []).append(r)
    chosen = [c for c in SAMPLE_CASES if c in by_case]
    if not chosen:
        chosen = [c.id for c in report.cases if c.mode == "multi-step"][:2]
    out = []
    for case_id in chosen:
        png = sample_plot(case_id, by_case.get(case_id, []))
        if png is not None:
            out.append(img_tag(png, f"sample {case_id}"))
    return out


def to_html(report: SuiteReport) -> str:
    """The whole report as one HTML document."""
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'>",
             "<title>STEP conformance report</title>", f"<style>{_CSS}</style></head><body>",
             "<h1>STEP conformance report</h1>"]
    verdict = ('<span class="fail">FAILED</span>' if report.failed
               else '<span class="ok">passed</span>')
    parts.append(f"<p>{verdict}: {len(report.results)} results over {len(report.cases)} cases "
                 f"({_esc(', '.join(report.dtypes))}) in {report.seconds:.1f} s. "
                 "Machine-readable: report.json (schema <code>step.conformance/1</code>).</p>")
    head = "".join(f"<th>{badge(s)}</th>" for s in SEVERITY)
    rows = "".join(
        f"<tr><td>{_esc(n)}</td><td>{_esc(report.backends[n].get('version') or '-')}</td>"
        + "".join(f"<td>{c[s.value]}</td>" for s in SEVERITY) + "</tr>"
        for n, c in report.counts().items())
    parts.append(f"<h2>Summary</h2><table><tr><th>backend</th><th>version</th>{head}</tr>"
                 f"{rows}</table>")
    for name, info in report.backends.items():
        if not info.get("available"):
            parts.append(f"<p>{_esc(name)}: unavailable ({_esc(info.get('reason', ''))})</p>")
    parts += ["<h2>Capability matrix</h2>", img_tag(capability_matrix(report), "capability matrix")]
    failures = with_status(report, Status.FAIL, Status.ERROR)
    parts.append(f"<h2>Failures and errors ({len(failures)})</h2>")
    parts.append(_rows(failures) if failures else "<p>None.</p>")
    parts += _failure_plots([r for r in failures if r.status is Status.FAIL])
    noted = [r for r in report.results if r.notes]
    parts.append(f"<h2>Near-threshold differences ({len(noted)})</h2>")
    parts.append(_rows(noted) if noted else "<p>None.</p>")
    groups = unsupported_groups(report)
    parts.append(f"<h2>Unsupported ({sum(len(v) for v in groups.values())} cases)</h2>")
    parts.append("<table><tr><th>backend</th><th>cases</th><th>reason</th></tr>" + "".join(
        f"<tr><td>{_esc(b)}</td><td>{len(ids)} (e.g. <code>{_esc(ids[0])}</code>)</td>"
        f"<td>{_esc(reason)}</td></tr>" for (b, reason), ids in groups.items()) + "</table>"
        if groups else "<p>None.</p>")
    emulated = with_status(report, Status.EMULATED_PASS)
    if emulated:
        parts.append(f"<h2>Emulated ({len(emulated)} cases)</h2>" + _rows(emulated[:50]))
    parts.append("<h2>Sample cases</h2>")
    parts += _samples(report)
    parts.append("<h2>Tolerance policy</h2><table><tr><th>dtype</th><th>membrane atol</th>"
                 "<th>membrane rtol</th><th>threshold band</th><th>gradient atol</th>"
                 "<th>gradient rtol</th></tr>")
    for d in report.dtypes:
        t = TOLERANCES[d]
        parts.append(f"<tr><td>{d}</td><td>{t.membrane_atol:g}</td><td>{t.membrane_rtol:g}"
                     f"</td><td>{t.threshold_band:g}</td><td>{t.gradient_atol:g}</td>"
                     f"<td>{t.gradient_rtol:g}</td></tr>")
    parts.append("</table><p>Spikes must match exactly; a spike that flips where the "
                 "reference's |h - v_th| lies within the band is a near-threshold difference "
                 "(pass-noted, listed above); fire-at-threshold cases get no band.</p>")
    env = report.environment
    items = [(k, v) for k, v in env.items() if k != "libraries"]
    items += [(f"{b} library", v or "n/a") for b, v in env.get("libraries", {}).items()]
    parts.append("<h2>Environment</h2><table>" + "".join(
        f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in items) + "</table>")
    parts.append("</body></html>\n")
    return "\n".join(parts)
