"""The temporal rows read beside the paper's claim, in words built from the numbers.

The STEP abstract concludes that spiking transformers "rely heavily on convolutional frontends
and lack strong temporal modeling". This paragraph says, from the rows alone, whether the data
here supports each half, and what would change the answer; it is generated so that it can never
drift from the table it sits under.
"""

from __future__ import annotations

from typing import Any


def _mean_ci(s: dict[str, Any] | None) -> str:
    if not s or s.get("mean") is None:
        return "not measured"
    if not s.get("ci"):
        return f"{100 * s['mean']:+.1f} points (one seed)"
    lo, hi = s["ci"]
    return f"{100 * s['mean']:+.1f} points [95% CI {100 * lo:+.1f}, {100 * hi:+.1f}]"


def temporal_discussion(rows: list[dict[str, Any]]) -> str:
    """Markdown paragraphs on the temporal rows (empty if the report has none)."""
    by_id = {r["id"]: r for r in rows}
    probe = [r for r in rows if r["finding"] == "temporal_probe"]
    parts = []
    if "components" in by_id:
        c = by_id["components"]
        parts.append(
            f"**Convolutional front end.** The component row ({c['verdict']}): "
            + "; ".join(t["text"] for t in c["tests"])
            + ". The paper's 'rely heavily on convolutional frontends' is this pair of tests: "
            "cutting the front end must cost far more than untrained attention.")
    for r in probe:
        data = r["id"].split("/", 1)[1]
        arms = {k: a for k, a in r["arms"].items() if k.split()[-1] == data}  # this data's
        rnn = next((a for k, a in arms.items() if k.startswith("spiking_rnn")), None)
        tfs = {k.split()[0]: a for k, a in arms.items() if not k.startswith("spiking_rnn")}
        text = (f"**{data}.** Accuracy lost when the test inputs' time steps are shuffled: "
                f"recurrent baseline {_mean_ci((rnn or {}).get('drop_shuffled'))}; "
                + "; ".join(f"{m} {_mean_ci(a.get('drop_shuffled'))}" for m, a in tfs.items())
                + f" (reversed: recurrent {_mean_ci((rnn or {}).get('drop_reversed'))}; "
                + "; ".join(f"{m} {_mean_ci(a.get('drop_reversed'))}" for m, a in tfs.items())
                + f"). Verdict: **{r['verdict']}**.")
        if r.get("note"):
            text += f" {r['note'][0].upper()}{r['note'][1:]}."
        parts.append(text)
    if "memory" in by_id:
        m = by_id["memory"]
        parts.append(f"**Memory (accuracy vs. T on permuted sequential digits).** Verdict: "
                     f"**{m['verdict']}**. " + "; ".join(t["text"] for t in m["tests"]) + ".")
    if not parts:
        return ""
    verdicts = [r["verdict"] for r in probe] + ([by_id["memory"]["verdict"]]
                                                 if "memory" in by_id else [])
    if verdicts and all(v == "agrees" for v in verdicts):
        overall = ("On this data the paper's conclusion holds: the recurrent baseline depends "
                   "on the order of its time steps and the spiking transformers do not, or much "
                   "less.")
    elif "disagrees" in verdicts:
        overall = ("On this data the paper's conclusion does not hold everywhere: at least one "
                   "temporal row shows a spiking transformer using time order as much as the "
                   "recurrent baseline, or the baseline not using it more (see the rows marked "
                   "disagrees).")
    else:
        overall = ("On this data the temporal half of the paper's conclusion is not settled at "
                   "this many seeds: the rows above are inconclusive, not contrary.")
    what = ("What would change the answer: more seeds where a row is inconclusive (each test "
            "states its minimum detectable difference in reproduce.json); longer training (the "
            "models here are small and briefly trained, and a transformer that has not yet "
            "learnt to use its membranes over time looks order-blind); a longer sequence per "
            "step count (T) or a task whose label depends on order alone; and a spiking "
            "transformer with explicit temporal mixing (e.g. TIM's temporal interaction module), "
            "which the paper lists but this project does not implement.")
    return "\n\n".join(["## Temporal modelling: the paper's claim against these rows",
                        *parts, overall, what])
