"""Writing a study: ``study.json`` for machines, ``study.md`` and ``study.html`` for people.

The HTML page is self-contained (plots embedded as base64 PNG), so it can be mailed or
attached to an issue as one file. Every file is written whole or not at all.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from step._io import img_tag, save_figure, write_json, write_text

PLOTS = {"learning_curves": "learning_curves.png", "firing_rates": "firing_rates.png"}


def _f(x: float | None, fmt: str = ".4f") -> str:
    return "n/a" if x is None else format(x, fmt)


def _support(row: dict) -> str:
    parts = []
    for role, s in row["support"].items():
        level = s["forward"] if s["forward"] == s["gradient"] else (
            f"{s['forward']}/{s['gradient']} grad")
        parts.append(f"{role}: {level}")
    return ", ".join(parts)


def _conformance(row: dict) -> str:
    c = row.get("conformance")
    if c is None:
        return "not run (see support)"
    if c.get("error"):
        return f"error: {c['error']}"
    counts = ", ".join(f"{n} {k}" for k, n in c.get("counts", {}).items())
    on = "/".join(c["roles"]) if "roles" in c else "/".join(c["kinds"])
    return f"{c['status']} ({counts} of {c['cases']} cases on the run's {on} specs)"


def metric_name(study: dict, classification: str = "accuracy") -> str:
    """What the study's accuracy columns hold: accuracy, or a dense task's score (mIoU,
    mAP: docs/dense.md)."""
    return study.get("metric", {}).get("name", classification)


def table(study: dict) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the main table, as strings (shared by Markdown and HTML)."""
    head = ["backend", "version", "status", f"test {metric_name(study, 'acc')} (mean ± std)",
            "per seed", "test loss",
            "firing rate", "s / epoch", "peak mem MB", "support", "conformance",
            "energy / inference (nJ, 45nm)"]
    rows = []
    for r in study["rows"]:
        if r["status"] == "skipped" or r["status"] == "failed":
            cells = [r["backend"], str(r["version"]), r["status"], "", "", "", "", "", "",
                     _support(r), _conformance(r)]
        else:
            acc = r["acc"]
            cells = [r["backend"], str(r["version"]), r["status"],
                     f"{_f(acc['mean'])} ± {_f(acc['std'])}",
                     " ".join(_f(a) for a in r["acc_per_seed"]), _f(r["loss"]),
                     _f(r["firing_rate"]), _f(r["time_per_epoch_s"], ".2f"),
                     _f(r["peak_memory_mb"], ".1f"), _support(r), _conformance(r)]
        e = r.get("energy_pj")
        cells.append("n/a" if e is None else f"{e / 1000:.2f}")
        rows.append(cells)
    return head, rows


def pairs_table(study: dict) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the paired comparison (one row per pair of trained backends)."""
    paired = study.get("paired") or {"pairs": []}
    head = ["pair", "seeds", "mean diff (points)", "95% CI (points)", "TOST p", "paired t p",
            "min detectable (points)", "McNemar p per seed", "verdict"]
    rows = []
    for q in paired["pairs"]:
        ci = q.get("ci")
        mc = q.get("mcnemar") or {}
        rows.append([
            f"{q['a']} - {q['b']}", str(q["n"]), _pts(q.get("mean_diff"), "+.2f"),
            "n/a" if not ci else f"[{100 * ci[0]:+.2f}, {100 * ci[1]:+.2f}]",
            _f(q.get("p_equivalent"), ".3g"), _f(q.get("p_different"), ".3g"),
            _pts(q.get("min_detectable"), ".2f"),
            " ".join(f"{s}: {m['pvalue']:.3g} ({m['only_a']}/{m['only_b']})"
                     for s, m in mc.items()) or "n/a",
            q["verdict"] + (f" ({q['seeds_needed']} seeds)" if q.get("seeds_needed") else ""),
        ])
    return head, rows


def attribution_table(study: dict) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the quirk attribution (``--as-shipped``): one row per variant."""
    head = ["backend", "quirk(s) left in", "what the library does", "seeds",
            "accuracy diff (points)", "95% CI (points)", "firing-rate diff", "McNemar p per seed",
            "verdict"]
    rows = []
    for a in study.get("attribution") or []:
        ci, mc = a.get("ci"), a.get("mcnemar") or {}
        rate = a.get("firing_rate_diff")
        verdict = a.get("verdict") or "n/a"
        rows.append([
            a["backend"], ", ".join(a["quirks"]), "; ".join(a["what"]), str(a.get("n", 0)),
            _pts(a.get("mean_diff"), "+.2f"),
            "n/a" if not ci else f"[{100 * ci[0]:+.2f}, {100 * ci[1]:+.2f}]",
            "n/a" if rate is None else f"{rate:+.4f}",
            " ".join(f"{s}: {m['pvalue']:.3g}" for s, m in mc.items()) or "n/a",
            verdict + (f" ({a['seeds_needed']} seeds)" if a.get("seeds_needed") else ""),
        ])
    return head, rows


ATTRIBUTION_NOTE = ("Quirk attribution (--as-shipped): each library run with one of its quirks "
                    "left in (NAME+QUIRK; NAME+as-shipped: all of them) against the same "
                    "library normalised, paired by seed; accuracy difference is variant minus "
                    "canonical; 'different' means beyond seed noise (paired t), 'equivalent' "
                    "within --margin (TOST). Variants are not part of the verdict above.")


def _pts(x: float | None, fmt: str) -> str:
    return "n/a" if x is None else format(100 * x, fmt)


def verdict_text(study: dict) -> str:
    """The paired verdict (studies written before it existed: the spread comparison)."""
    return (study.get("paired") or study["spread"])["text"]


def _statistics(study: dict) -> list[str]:
    """How to read the pairs table, and the unpaired spread kept for comparison."""
    p = study.get("paired")
    lines = []
    if p:
        lines.append(f"Paired by seed (same initial weights and data order per seed): mean of "
                     f"the per-seed differences of test {metric_name(study)} (row's first "
                     f"backend minus second), its {100 * (1 - p['alpha']):.0f}% t interval, "
                     f"TOST against ±{100 * p['margin']:g} points (--margin), paired t test, "
                     f"the difference a paired t test finds with power {p['power']:g} at this "
                     "number of seeds, and McNemar's exact test on the test predictions of each "
                     "seed (p, then samples only the first / only the second got right).")
    lines.append(f"Unpaired spread (not the verdict): {study['spread']['text']}.")
    d = study.get("row_differences") or {}
    if d.get("baseline"):
        diffs = {b: v["text"] for b, v in d["rows"].items() if v["text"] != "identical"}
        lines.append(
            f"Resolved model config (every neuron role, every field) against "
            f"{d['baseline']}'s: " + ("identical on every row." if not diffs else
                                      "; ".join(f"{b}: {t}" for b, t in diffs.items())))
    return lines


def _notes(study: dict) -> list[str]:
    notes = [f"{r['backend']}: {r['reason']}" for r in study["rows"] if r.get("reason")]
    return notes


def _intro(study: dict) -> list[str]:
    c, env = study["config"], study["environment"]
    w = study["same_initial_weights"]
    over = ", ".join(f"{k}={v}" for k, v in (c.get("model_overrides") or {}).items())
    warm = f", {c['warmup_epochs']:g} epochs warm-up then cosine" if "warmup_epochs" in c else ""
    return [
        f"Model {c['model']} (preset {c['preset']}{f'; {over}' if over else ''}), dataset "
        f"{c['dataset']}, {c['epochs']} epochs, seeds {c['seed']}..{c['seed'] + c['seeds'] - 1}, "
        f"batch {c['batch_size']}, lr {c['lr']}{warm}; "
        + (f"{c['jobs']} runs at a time, each in its own process." if c["isolate"]
           else "all runs in one process."),
        f"Same initial weights on every backend (per seed): "
        f"{'yes' if w['identical_across_backends'] else 'NO'}; same data order: yes "
        "(drawn from seed and epoch only).",
        "Accuracy: test split at the checkpoint chosen on the validation split.",
        f"Peak memory: {study['memory_method']}.",
        f"torch {env.get('torch')}, python {env.get('python')}, step {env.get('step')}, "
        f"{env.get('platform')}; study took {study['elapsed_s']:.0f} s.",
    ]


def markdown(study: dict) -> str:
    head, rows = table(study)
    lines = [f"# Fairness study: {study['config']['model']} on {study['config']['dataset']}", ""]
    lines += [f"- {s}" for s in _intro(study)]
    lines += ["", f"**Verdict:** {verdict_text(study)}", ""]
    lines += _md_table(head, rows)
    p_head, p_rows = pairs_table(study)
    if p_rows:
        lines += ["", "Paired comparison:", "", *_md_table(p_head, p_rows)]
    a_head, a_rows = attribution_table(study)
    if a_rows:
        lines += ["", ATTRIBUTION_NOTE, "", *_md_table(a_head, a_rows)]
    lines += ["", *[f"- {s}" for s in _statistics(study)]]
    notes = _notes(study)
    if notes:
        lines += ["", "Notes:", *[f"- {n}" for n in notes]]
    lines += ["", f"![learning curves]({PLOTS['learning_curves']})",
              f"![firing rates per layer]({PLOTS['firing_rates']})", ""]
    return "\n".join(lines)


def _md_table(head: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head),
            *["| " + " | ".join(c.replace("|", "/") for c in r) + " |" for r in rows]]


def _html_table(head: list[str], rows: list[list[str]]) -> str:
    esc = html.escape
    return ("<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr>"
            + "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in rows)
            + "</table>")


def html_page(study: dict, images: dict[str, bytes]) -> str:
    head, rows = table(study)
    esc = html.escape
    parts = ["<!doctype html><html><head><meta charset='utf-8'>",
             f"<title>STEP study: {esc(study['config']['model'])}</title>",
             "<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;"
             "font-size:13px}th{background:#eee}.v{padding:8px;background:#f4f4ff}</style>",
             "</head><body>",
             f"<h1>Fairness study: {esc(study['config']['model'])} on "
             f"{esc(study['config']['dataset'])}</h1><ul>"]
    parts += [f"<li>{esc(s)}</li>" for s in _intro(study)]
    parts.append(f"</ul><p class='v'><b>Verdict:</b> {esc(verdict_text(study))}</p>")
    parts.append(_html_table(head, rows))
    p_head, p_rows = pairs_table(study)
    if p_rows:
        parts.append("<h3>Paired comparison</h3>" + _html_table(p_head, p_rows))
    a_head, a_rows = attribution_table(study)
    if a_rows:
        parts.append(f"<h3>Quirk attribution</h3><p>{esc(ATTRIBUTION_NOTE)}</p>"
                     + _html_table(a_head, a_rows))
    parts.append("<ul>" + "".join(f"<li>{esc(s)}</li>" for s in _statistics(study)) + "</ul>")
    notes = _notes(study)
    if notes:
        parts.append("<h3>Notes</h3><ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes)
                     + "</ul>")
    for name, data in images.items():
        parts.append(f"<h3>{esc(name.replace('_', ' '))}</h3>" + img_tag(data, name))
    parts.append("</body></html>")
    return "\n".join(parts)


#: One marker per backend, drawn hollow and smaller for each later backend, so that curves
#: that coincide (backends computing the same model) stay visible as concentric rings.
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def curve_labels(curves: dict[str, dict]) -> dict[str, str]:
    """Legend labels; a backend whose curves equal an earlier one's says which."""
    labels, seen = {}, {}
    for b, c in curves.items():
        key = (tuple(c["val_acc"]), tuple(c["train_loss"]))
        labels[b] = b if key not in seen else f"{b} (= {seen[key]})"
        seen.setdefault(key, b)
    return labels


def draw_curves(fig: Any, curves: dict[str, dict], score: str = "accuracy") -> None:
    """Validation accuracy and training loss per epoch, one line per backend, whole-epoch
    ticks."""
    from matplotlib.ticker import MaxNLocator

    ax_a, ax_l = fig.subplots(1, 2)
    labels = curve_labels(curves)
    n = len(curves)
    for i, (b, c) in enumerate(curves.items()):
        style = {"linestyle": ["-", "--", ":", "-."][i % 4], "marker": MARKERS[i % 8],
                 "markersize": 4 + 2.5 * (n - 1 - i), "markerfacecolor": "none",
                 "label": labels[b]}
        ax_a.plot(c["epoch"], c["val_acc"], **style)
        ax_l.plot(c["epoch"], c["train_loss"], **style)
    ax_a.set(xlabel="epoch", ylabel=f"validation {score} (mean over seeds)")
    ax_l.set(xlabel="epoch", ylabel="training loss (mean over seeds)")
    for ax in (ax_a, ax_l):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if curves:
        ax_a.legend(fontsize="small")
    else:
        ax_a.text(0.5, 0.5, "no backend trained", ha="center", transform=ax_a.transAxes)


def plot_curves(path: Path, study: dict) -> None:
    save_figure(path, lambda fig: draw_curves(fig, study["curves"], metric_name(study)),
                figsize=(10, 3.8))


def plot_rates(path: Path, study: dict) -> None:
    rates = study["layer_rates"]

    def draw(fig: Any) -> None:
        ax = fig.subplots()
        if not rates:
            ax.text(0.5, 0.5, "no backend trained", ha="center")
            return
        layers = list(next(iter(rates.values())))
        width = 0.8 / len(rates)
        for i, (b, per_layer) in enumerate(rates.items()):
            xs = [k + i * width for k in range(len(layers))]
            ax.bar(xs, [per_layer[name]["mean"] for name in layers], width, label=b)
        ax.set_xticks([k + 0.4 - width / 2 for k in range(len(layers))], layers, rotation=60,
                      ha="right", fontsize="small")
        ax.set_ylabel("firing rate (test set, mean over seeds)")
        ax.legend(fontsize="small", ncols=len(rates), loc="lower center",
                  bbox_to_anchor=(0.5, 1.0))

    save_figure(path, draw, figsize=(10, 4.5))


def write_study(out: Path, study: dict) -> dict[str, Path]:
    """Write the plots, study.json, study.md and study.html into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    plot_curves(out / PLOTS["learning_curves"], study)
    plot_rates(out / PLOTS["firing_rates"], study)
    images = {k: (out / v).read_bytes() for k, v in PLOTS.items()}
    paths = {"json": out / "study.json", "md": out / "study.md", "html": out / "study.html"}
    write_json(paths["json"], study)
    write_text(paths["md"], markdown(study))
    write_text(paths["html"], html_page(study, images))
    return paths
