"""The rows of the reproduction: each finding's paired tests on the arms' per-seed metrics.

``table`` maps arm name -> seed -> metrics (:func:`step.reproduce.runs.metrics`); a seed that
did not train is absent, and every test pairs only the seeds both of its sides have.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping
from typing import Any

from step.reproduce.paper import ENERGY_MARGIN, MARGIN, Finding
from step.reproduce.verdict import combine, judge
from step.study.stats import t_interval

Table = Mapping[str, Mapping[int, dict[str, Any]]]
Series = dict[int, float]

#: The time orders the probe rows read (input permuted; see step.train.evaluate).
SHUFFLED, REVERSED = "shuffled@input", "reversed@input"


def series(table: Table, arm: str, get: Callable[[dict[str, Any]], float | None]) -> Series:
    """seed -> value of one arm (seeds whose metric is missing are left out)."""
    out = {}
    for seed, m in table.get(arm, {}).items():
        value = get(m)
        if value is not None:
            out[seed] = float(value)
    return out


def minus(a: Series, b: Series) -> Series:
    return {s: a[s] - b[s] for s in sorted(set(a) & set(b))}


def acc(m: dict[str, Any]) -> float:
    return m["acc"]


def probe_drop(order: str) -> Callable[[dict[str, Any]], float | None]:
    """Accuracy lost when the test inputs' time steps are put in ``order``."""
    def get(m: dict[str, Any]) -> float | None:
        p = m.get("probe") or {}
        if "original" not in p or order not in p:
            return None
        return p["original"] - p[order]
    return get


def energy(network: str) -> Callable[[dict[str, Any]], float | None]:
    def get(m: dict[str, Any]) -> float | None:
        e = m.get("energy") or {}
        return (e.get("total_pj") or {}).get(network)
    return get


def log_energy_ratio(m: dict[str, Any]) -> float | None:
    """log(E_snn / E_qnn_bitserial) of one run."""
    snn, qnn = energy("snn")(m), energy("qnn_bitserial")(m)
    return math.log(snn / qnn) if snn and qnn else None


def summary(values: Series) -> dict[str, Any]:
    """Mean, standard deviation and 95 % t interval over seeds (unpaired, one arm)."""
    xs = [values[s] for s in sorted(values)]
    if not xs:
        return {"n": 0, "mean": None, "sd": None, "ci": None}
    ci = t_interval(xs)
    return {"n": len(xs), "mean": statistics.fmean(xs),
            "sd": statistics.stdev(xs) if len(xs) > 1 else None,
            "ci": list(ci) if ci else None}


def arm_summaries(f: Finding, table: Table) -> dict[str, dict[str, Any]]:
    out = {}
    for role, arm in f.arms.items():
        row: dict[str, Any] = {"arm": arm.name, "acc": summary(series(table, arm.name, acc)),
                               "rate": summary(series(table, arm.name, lambda m: m["rate"]))}
        if arm.energy:
            row["energy_snn_pj"] = summary(series(table, arm.name, energy("snn")))
            row["energy_qnn_bitserial_pj"] = summary(series(table, arm.name,
                                                            energy("qnn_bitserial")))
        if arm.probe:
            row["drop_shuffled"] = summary(series(table, arm.name, probe_drop(SHUFFLED)))
            row["drop_reversed"] = summary(series(table, arm.name, probe_drop(REVERSED)))
        out[role] = row
    return out


def _row(f: Finding, table: Table, tests: list[dict[str, Any]], *, suffix: str = "",
         verdict: str | None = None, note: str = "") -> dict[str, Any]:
    v = verdict or combine(tests)
    return {"id": f.id + (f"/{suffix}" if suffix else ""), "finding": f.id, "title": f.title
            + (f" ({suffix})" if suffix else ""), "claim": f.claim, "paper": f.paper,
            "issue": f.issue, "choices": f.choices, "arms": arm_summaries(f, table),
            "tests": tests, "verdict": v, "note": note}


def build_rows(fs: list[Finding], table: Table) -> list[dict[str, Any]]:
    """One row per finding (the temporal probe: one per dataset)."""
    rows = []
    for f in fs:
        rows += ROW_BUILDERS[f.id](f, table)
    return rows


def _a(f: Finding, table: Table, role: str, get: Callable = acc) -> Series:
    return series(table, f.arms[role].name, get)


def _components(f: Finding, t: Table) -> list[dict[str, Any]]:
    base = _a(f, t, "baseline")
    return [_row(f, t, [
        judge(_a(f, t, "frozen_qk"), base, "equivalent", margin=MARGIN,
              label="frozen Q/K - baseline"),
        judge(base, _a(f, t, "one_conv"), "greater", margin=MARGIN,
              label="baseline - one-conv SPS"),
    ])]


def _encoding(f: Finding, t: Table) -> list[dict[str, Any]]:
    direct = _a(f, t, "direct")
    return [_row(f, t, [judge(direct, _a(f, t, k), "greater", margin=MARGIN,
                              label=f"direct - {k}") for k in f.arms if k != "direct"])]


def _neurons(f: Finding, t: Table) -> list[dict[str, Any]]:
    tests = []
    for role in f.arms:
        model, kind = role.split()
        if kind != "lif":
            tests.append(judge(_a(f, t, role), _a(f, t, f"{model} lif"), "equivalent",
                               margin=MARGIN, label=f"{model}: {kind} - lif"))
    return [_row(f, t, tests)]


def _surrogates(f: Finding, t: Table) -> list[dict[str, Any]]:
    ref = _a(f, t, "sigmoid")
    return [_row(f, t, [judge(_a(f, t, s), ref, "equivalent", margin=MARGIN,
                              label=f"{s} - sigmoid(4)") for s in f.arms if s != "sigmoid"])]


def _time_steps(f: Finding, t: Table) -> list[dict[str, Any]]:
    roles = sorted(f.arms, key=lambda r: int(r.split("=")[1]))
    lo, hi = roles[0], roles[-1]

    def log_snn(m: dict[str, Any]) -> float | None:
        e = energy("snn")(m)
        return math.log(e) if e else None

    return [_row(f, t, [
        judge(_a(f, t, hi), _a(f, t, lo), "greater", margin=MARGIN, label=f"acc {hi} - {lo}"),
        judge(_a(f, t, hi, log_snn), _a(f, t, lo, log_snn), "greater", margin=ENERGY_MARGIN,
              label=f"log SNN energy {hi} - {lo}", unit="% (log ratio x 100)"),
    ])]


def _energy(f: Finding, t: Table) -> list[dict[str, Any]]:
    ratio = _a(f, t, "baseline", log_energy_ratio)
    zero = dict.fromkeys(ratio, 0.0)
    return [_row(f, t, [judge(ratio, zero, "greater", margin=ENERGY_MARGIN,
                              label="log(E_snn / E_qnn_bitserial)",
                              unit="% (log ratio x 100)")])]


def _temporal_probe(f: Finding, t: Table) -> list[dict[str, Any]]:
    rows = []
    for data in ("events", "digits_seq", "digits_pseq"):
        rnn = f"spiking_rnn {data}"
        if rnn not in f.arms:
            continue
        shuffled_rnn = _a(f, t, rnn, probe_drop(SHUFFLED))
        uses_order = judge(shuffled_rnn, dict.fromkeys(shuffled_rnn, 0.0), "greater",
                           margin=MARGIN, label="RNN: acc lost when shuffled")
        tests = [uses_order]
        for m in ("spikformer", "sdt"):
            tests.append(judge(shuffled_rnn, _a(f, t, f"{m} {data}", probe_drop(SHUFFLED)),
                               "greater", margin=MARGIN,
                               label=f"shuffled-order loss: RNN - {m}"))
        verdict, note = None, ""
        if uses_order["verdict"] != "agrees":
            verdict = "inconclusive"
            note = ("the recurrent baseline is not shown to lose accuracy to shuffled time on this "
                    "data, so the task cannot show whether a model uses order")
        rows.append(_row(f, t, tests, suffix=data, verdict=verdict, note=note))
    return rows


def _memory(f: Finding, t: Table) -> list[dict[str, Any]]:
    ts = sorted({int(r.split("=")[1]) for r in f.arms if not r.startswith("static")})
    statics = sorted((r for r in f.arms if r.startswith("static")),
                     key=lambda r: int(r.split("=")[1]))
    lo, hi = ts[0], ts[-1]

    def drop(m: str) -> Series:
        return minus(_a(f, t, f"{m} T={lo}"), _a(f, t, f"{m} T={hi}"))

    rnn = drop("spiking_rnn")
    static = minus(_a(f, t, statics[0]), _a(f, t, statics[-1]))
    tests = []
    for m in ("spikformer", "sdt"):
        tests.append(judge(drop(m), rnn, "greater", margin=MARGIN,
                           label=f"drop T={lo}->{hi}: {m} - RNN"))
        tests.append(judge(drop(m), static, "greater", margin=MARGIN,
                           label=f"drop T={lo}->{hi}: {m} on psMNIST-digits - spikformer "
                                 f"{statics[0]}->{statics[-1]} on static digits"))
    return [_row(f, t, tests)]


ROW_BUILDERS: dict[str, Callable[[Finding, Table], list[dict[str, Any]]]] = {
    "components": _components, "encoding": _encoding, "neurons": _neurons,
    "surrogates": _surrogates, "time_steps": _time_steps, "energy": _energy,
    "temporal_probe": _temporal_probe, "memory": _memory,
}
