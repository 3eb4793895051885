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
    return f"{c['status']} ({counts} of {c['cases']} {'/'.join(c['kinds'])} cases)"


def table(study: dict) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the main table, as strings (shared by Markdown and HTML)."""
    head = ["backend", "version", "status", "test acc (mean ± std)", "per seed", "test loss",
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


def _notes(study: dict) -> list[str]:
    notes = [f"{r['backend']}: {r['reason']}" for r in study["rows"] if r.get("reason")]
    return notes


def _intro(study: dict) -> list[str]:
    c, env = study["config"], study["environment"]
    w = study["same_initial_weights"]
    return [
        f"Model {c['model']} (preset {c['preset']}), dataset {c['dataset']}, {c['epochs']} "
        f"epochs, seeds {c['seed']}..{c['seed'] + c['seeds'] - 1}, batch {c['batch_size']}, "
        f"lr {c['lr']}; "
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
    lines += ["", f"**Verdict:** {study['spread']['text']}", ""]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    lines += ["| " + " | ".join(c.replace("|", "/") for c in r) + " |" for r in rows]
    notes = _notes(study)
    if notes:
        lines += ["", "Notes:", *[f"- {n}" for n in notes]]
    lines += ["", f"![learning curves]({PLOTS['learning_curves']})",
              f"![firing rates per layer]({PLOTS['firing_rates']})", ""]
    return "\n".join(lines)


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
    parts.append(f"</ul><p class='v'><b>Verdict:</b> {esc(study['spread']['text'])}</p><table>")
    parts.append("<tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr>")
    parts += ["<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in rows]
    parts.append("</table>")
    notes = _notes(study)
    if notes:
        parts.append("<h3>Notes</h3><ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes)
                     + "</ul>")
    for name, data in images.items():
        parts.append(f"<h3>{esc(name.replace('_', ' '))}</h3>" + img_tag(data, name))
    parts.append("</body></html>")
    return "\n".join(parts)


def plot_curves(path: Path, study: dict) -> None:
    def draw(fig: Any) -> None:
        ax_a, ax_l = fig.subplots(1, 2)
        for i, (b, c) in enumerate(study["curves"].items()):
            style = ["-", "--", ":", "-."][i % 4]
            ax_a.plot(c["epoch"], c["val_acc"], style, marker="o", label=b)
            ax_l.plot(c["epoch"], c["train_loss"], style, marker="o", label=b)
        ax_a.set(xlabel="epoch", ylabel="validation accuracy (mean over seeds)")
        ax_l.set(xlabel="epoch", ylabel="training loss (mean over seeds)")
        ax_a.legend(fontsize="small")

    save_figure(path, draw, figsize=(10, 3.8))


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
