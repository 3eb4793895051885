"""The reproduction report: ``reproduce.json`` (machines), ``.md`` and a self-contained ``.html``.

One row per finding: the claim as the paper states it, the paper's numbers, ours (each paired
test's mean difference and 95 % confidence interval over seeds) and the verdict. Below the
table, each finding's arms (mean accuracy with its t interval, firing rate, energy, temporal
probe) and one plot. The Markdown references its plots as PNG files beside it (so the same
text serves as docs/reproduction.md); the HTML embeds them as data URIs.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from step._io import atomic_path, figure_bytes, img_tag, write_json, write_text
from step.reproduce.discussion import temporal_discussion

JSON, MD, HTML = "reproduce.json", "reproduce.md", "reproduce.html"


def _pts(x: float | None, scale: float = 100.0, sign: bool = False) -> str:
    if x is None:
        return "-"
    return f"{scale * x:+.2f}" if sign else f"{scale * x:.2f}"


def _ci(s: dict[str, Any], scale: float = 100.0) -> str:
    if not s or s.get("mean") is None:
        return "-"
    if not s.get("ci"):
        return f"{scale * s['mean']:.2f}"
    lo, hi = s["ci"]
    return f"{scale * s['mean']:.2f} [{scale * lo:.2f}, {scale * hi:.2f}]"


def test_cell(t: dict[str, Any]) -> str:
    """``label: mean [lo, hi] (verdict)`` in the test's printed unit."""
    sc = t["scale"]
    if t.get("ci"):
        lo, hi = t["ci"]
        body = f"{sc * t['mean_diff']:+.2f} [{sc * lo:+.2f}, {sc * hi:+.2f}]"
    else:
        body = f"n = {t['n']}"
    return f"{t['label']}: {body} ({t['verdict']})"


def _arm_lines(row: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    head = ["arm", "seeds", "test acc % [95% CI]", "firing rate %"]
    extra = [k for k in ("energy_snn_pj", "energy_qnn_bitserial_pj", "drop_shuffled",
                         "drop_reversed") if any(k in a for a in row["arms"].values())]
    names = {"energy_snn_pj": "SNN energy nJ", "energy_qnn_bitserial_pj": "bit-serial QNN nJ",
             "drop_shuffled": "acc lost, shuffled (points)",
             "drop_reversed": "acc lost, reversed (points)"}
    head += [names[k] for k in extra]
    body = []
    for role, a in row["arms"].items():
        cells = [f"{role} ({a['arm']})" if role != a["arm"] else role, str(a["acc"]["n"]),
                 _ci(a["acc"]), _ci(a["rate"])]
        for k in extra:
            cells.append(_ci(a.get(k, {}), 1e-3 if k.startswith("energy") else 100.0))
        body.append(cells)
    return head, body


def _md_table(head: list[str], body: list[list[str]]) -> list[str]:
    esc = [[c.replace("|", "/").replace("\n", " ") for c in r] for r in body]
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head),
            *("| " + " | ".join(r) + " |" for r in esc)]


def render_markdown(report: dict[str, Any], plots: dict[str, str]) -> str:
    """The Markdown report; ``plots`` maps row id -> image path relative to the file."""
    meta = report["meta"]
    lines = [f"# Reproduction: {meta['title']}", "",
             f"Command: `{meta['command']}`  ", f"Budget: {meta['budget']}  ",
             f"Seeds: {', '.join(map(str, meta['seeds']))}; runs trained: "
             f"{meta['runs_trained']} of {meta['runs_expected']}; wall time "
             f"{meta['campaign_s'] / 60:.1f} min from the first call to the last finished run "
             f"({meta['train_s'] / 60:.1f} min of training summed over runs; this call "
             f"{meta['wall_s'] / 60:.1f} min)  ",
             f"Generated {meta['generated']} by step {meta['step_version']}",
             ""]
    if meta.get("missing"):
        lines += ["**Incomplete:** rows built on these arms rest on fewer seeds than the "
                  "budget's: " + "; ".join(meta["missing"]) + ". To finish, rerun the command "
                  "with the same `--out` (finished runs are reused, only the missing ones "
                  "train).", ""]
    lines += [meta["how_to_read"], ""]
    head = ["finding", "the paper says", "paper's numbers", "ours: paired difference [95% CI]",
            "verdict"]
    body = [[r["title"], r["claim"], r["paper"], "<br>".join(test_cell(t) for t in r["tests"]),
             f"**{r['verdict']}**"] for r in report["rows"]]
    lines += _md_table(head, body) + [""]
    for r in report["rows"]:
        lines += [f"## {r['title']}", "", f"*Issue {r['issue']}.* {r['claim']}", "",
                  f"Paper: {r['paper']}", "", f"Choices: {r['choices']}", ""]
        lines += _md_table(*_arm_lines(r)) + [""]
        lines += [f"- {t['text']} -> **{t['verdict']}**" for t in r["tests"]]
        if r.get("note"):
            lines += [f"- {r['note']}"]
        lines += ["", f"Verdict: **{r['verdict']}**", ""]
        if r["id"] in plots:
            lines += [f"![{r['title']}]({plots[r['id']]})", ""]
    discussion = temporal_discussion(report["rows"])
    if discussion:
        lines += [discussion, ""]
    lines += ["## Choices the paper does not state", "", meta["choices"], ""]
    return "\n".join(lines)


def render_html(report: dict[str, Any], pngs: dict[str, bytes]) -> str:
    """The same report as one HTML page, plots embedded."""
    meta = report["meta"]
    e = html.escape
    out = ["<!doctype html><html><head><meta charset='utf-8'>",
           f"<title>{e(meta['title'])}</title><style>body{{font-family:sans-serif;"
           "max-width:1200px;margin:auto}table{border-collapse:collapse}td,th{border:1px solid "
           "#ccc;padding:4px;vertical-align:top}.agrees{background:#dfd}.disagrees"
           "{background:#fdd}.inconclusive{background:#eee}img{max-width:100%}</style>"
           "</head><body>", f"<h1>Reproduction: {e(meta['title'])}</h1>",
           f"<p>Command: <code>{e(meta['command'])}</code><br>Budget: {e(meta['budget'])}"
           f"<br>Seeds: {e(', '.join(map(str, meta['seeds'])))}; runs trained "
           f"{meta['runs_trained']} of {meta['runs_expected']}; wall time "
           f"{meta['campaign_s'] / 60:.1f} min from the first call to the last finished run"
           "</p>"]
    if meta.get("missing"):
        out.append(f"<p><b>Incomplete:</b> {e('; '.join(meta['missing']))}</p>")
    out.append(f"<p>{e(meta['how_to_read'])}</p>")
    out.append("<table><tr><th>finding</th><th>the paper says</th><th>paper's numbers</th>"
               "<th>ours: paired difference [95% CI]</th><th>verdict</th></tr>")
    for r in report["rows"]:
        tests = "<br>".join(e(test_cell(t)) for t in r["tests"])
        out.append(f"<tr><td>{e(r['title'])}</td><td>{e(r['claim'])}</td>"
                   f"<td>{e(r['paper'])}</td><td>{tests}</td>"
                   f"<td class='{r['verdict']}'><b>{r['verdict']}</b></td></tr>")
    out.append("</table>")
    for r in report["rows"]:
        head, body = _arm_lines(r)
        out += [f"<h2>{e(r['title'])}</h2>", f"<p>Paper: {e(r['paper'])}</p>",
                f"<p>Choices: {e(r['choices'])}</p>", "<table><tr>"
                + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr>"]
        out += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in body]
        out.append("</table><ul>")
        out += [f"<li>{e(t['text'])}: <b>{t['verdict']}</b></li>" for t in r["tests"]]
        if r.get("note"):
            out.append(f"<li>{e(r['note'])}</li>")
        out.append(f"</ul><p>Verdict: <b class='{r['verdict']}'>{r['verdict']}</b></p>")
        if r["id"] in pngs:
            out.append(img_tag(pngs[r["id"]], r["title"]))
    out += [f"<h2>Choices the paper does not state</h2><p>{e(meta['choices'])}</p>",
            "</body></html>"]
    return "\n".join(out)


def plot_row(row: dict[str, Any]) -> bytes | None:
    """Accuracy per arm with its 95 % interval (and, for T sweeps, against T)."""
    arms = [(role, a) for role, a in row["arms"].items() if a["acc"]["mean"] is not None]
    if not arms:
        return None

    def draw(fig: Any) -> None:
        ax = fig.subplots()
        means = [100 * a["acc"]["mean"] for _, a in arms]
        errs = [[100 * (a["acc"]["mean"] - a["acc"]["ci"][0]) if a["acc"]["ci"] else 0
                 for _, a in arms],
                [100 * (a["acc"]["ci"][1] - a["acc"]["mean"]) if a["acc"]["ci"] else 0
                 for _, a in arms]]
        ax.barh(range(len(arms)), means, xerr=errs, color="#7aa6d8", capsize=3)
        labels = []
        for role, a in arms:
            d = (a.get("drop_shuffled") or {}).get("mean")
            labels.append(role if d is None else f"{role} (shuffled: {-100 * d:+.1f} pts)")
        ax.set_yticks(range(len(arms)), labels, fontsize="small")
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel("test accuracy % (mean over seeds, 95% t interval; clipped to 0-100)")
        ax.set_title(row["title"], fontsize="medium")

    return figure_bytes(draw, figsize=(8, 1.2 + 0.35 * len(arms)))


def write_reports(out: Path, report: dict[str, Any], md_path: Path | None = None) -> list[Path]:
    """Write JSON, Markdown (plots as PNGs beside it) and HTML; each file whole or not at all.

    ``md_path`` puts the Markdown elsewhere (docs/reproduction.md), its plots in a folder named
    after it (docs/reproduction/)."""
    pngs = {r["id"]: png for r in report["rows"] if (png := plot_row(r)) is not None}
    md_path = md_path or out / MD
    img_dir = md_path.parent / (md_path.stem + "-plots" if md_path.name == MD else md_path.stem)
    plots = {}
    for rid, png in pngs.items():
        name = rid.replace("/", "-") + ".png"
        with atomic_path(img_dir / name) as tmp:
            tmp.write_bytes(png)
        plots[rid] = f"{img_dir.name}/{name}"
    write_json(out / JSON, report)
    write_text(md_path, render_markdown(report, plots))
    write_text(out / HTML, render_html(report, pngs))
    return [out / JSON, md_path, out / HTML]


def load_report(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())
