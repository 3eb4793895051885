"""Turning a study's runs into rows, curves and one verdict.

Accuracy is each run's test accuracy at its validation-selected checkpoint. Spread over seeds
is the sample standard deviation (n - 1) and the range. The verdict is paired
(:mod:`step.study.stats`): runs of one seed share initial weights and data order on every
backend, so each pair of backends is judged on its per-seed differences (t interval, paired t
test, TOST against the study's margin) and per-sample predictions (McNemar per seed).

The older unpaired comparison is kept beside it as ``spread`` (a person can recompute it from
the table): the range of the backends' mean accuracies against the mean range over seeds. At
few seeds it calls almost any gap "within" the seed spread, which is why it is not the verdict.
"""

from __future__ import annotations

import statistics
from typing import Any

from step.study.config import StudyConfig
from step.tasks.scores import run_score, score_key, score_name, val_score

MEMORY_METHOD = ("resource.getrusage(RUSAGE_SELF).ru_maxrss after training minus before, in "
                 "a process of its own per run (forked from a server that holds torch and step, "
                 "so 'before' counts them): torch's tensors live outside Python's allocator, so "
                 "tracemalloc would not see them; ru_maxrss does (resident high-water mark)")


def _stats(xs: list[float]) -> dict[str, float | None]:
    if not xs:
        return {"mean": None, "std": None, "min": None, "max": None}
    return {"mean": statistics.fmean(xs), "std": statistics.stdev(xs) if len(xs) > 1 else None,
            "min": min(xs), "max": max(xs)}


def _mean(xs: list[float | None]) -> float | None:
    vals = [x for x in xs if x is not None]
    return statistics.fmean(vals) if vals else None


def conformance_cases(specs: dict[str, Any]) -> list[Any]:
    """The conformance cases of exactly the specs a run uses, one group per distinct spec.

    Every forward drive and mode, the input gradient (and learnable parameters'), and the
    fire-at-threshold case: the suite's standard grid, applied to the run's own specs rather
    than to its kinds' other variants (a backend without soft reset is no less conformant on a
    model that only uses hard reset).
    """
    from step.conformance.cases import gradient_cases, standard_cases, threshold_case

    cases, seen = [], []
    for role, spec in specs.items():
        if spec in seen:
            continue
        seen.append(spec)
        name = f"{role}-{spec.kind}"
        cases += [*standard_cases(name, spec, role), *gradient_cases(name, spec),
                  threshold_case(name, spec)]
    return cases


def conformance_status(backend: str, specs: dict[str, Any]) -> dict[str, Any] | None:
    """The conformance suite on the run's neuron specs (every role), run on ``backend``.

    Returns the worst outcome (the suite's own severity order) and the counts per outcome.
    A suite that breaks is reported, not raised: it must not cost the study its training
    results.
    """
    from step.conformance.policy import SEVERITY
    from step.conformance.runner import run_suite
    from step.registry import get_backend

    try:
        cases = conformance_cases(specs)
        report = run_suite([get_backend(backend)], cases)
        counts = {k: v for k, v in report.counts().get(backend, {}).items() if v}
    except Exception as err:
        return {"status": "error", "error": f"{type(err).__name__}: {err}"}
    worst = next((s.value for s in SEVERITY if counts.get(s.value)), None)
    return {"status": worst, "counts": counts, "cases": len(cases), "roles": list(specs),
            "kinds": sorted({s.kind for s in specs.values()})}


def backend_row(name: str, runs: list[dict], support: dict, skipped: str | None,
                conformance: dict | None = None) -> dict:
    """One table row: status, support, accuracy over seeds, loss, rate, time, memory."""
    from step.registry import backend_statuses

    status = backend_statuses().get(name)
    row: dict[str, Any] = {
        "backend": name, "library": status.library if status else None,
        "version": status.version if status else None, "support": support,
        "conformance": conformance,
    }
    if skipped:
        return {**row, "status": "skipped", "reason": skipped}
    ok = [r for r in runs if "error" not in r]
    if ok:  # the resolved config the runs built (all seeds build the same one)
        row["model_config"] = ok[0]["model"]["config"]
    failed = [r for r in runs if "error" in r]
    row["status"] = "ok" if ok and not failed else ("failed" if not ok else "partial")
    if failed:
        row["reason"] = "; ".join(f"seed {r['seed']}: {r['error']}" for r in failed)
    acc = [run_score(r) for r in ok]  # accuracy, or a dense task's score (tasks.scores)
    row.update(
        seeds=[r["seed"] for r in ok], acc_per_seed=acc, acc=_stats(acc),
        reused_seeds=[r["seed"] for r in ok if r.get("reused")],
        loss=_mean([r["test"].get("loss") for r in ok]),
        firing_rate=_mean([r["firing_rates"]["mean"] for r in ok]),
        time_per_epoch_s=_mean([r["time_per_epoch_s"] for r in ok]),
        peak_memory_mb=_mean([r["memory"]["peak_delta_mb"] for r in ok]),
        best_epochs=[r["selection"]["best_epoch"] for r in ok],
        initial_weights=[r["initial_weights"]["fingerprint"] for r in ok],
        runs=[r["config"]["out"] for r in ok],
    )
    pj = [r["energy"]["total_pj"] for r in ok if "total_pj" in r.get("energy", {})]
    row["energy_pj"] = _mean(pj)
    errors = [r["energy"]["error"] for r in ok if "error" in r.get("energy", {})]
    if errors:
        row["reason"] = "; ".join([*filter(None, [row.get("reason")]), "energy: " + errors[0]])
    return row


def spread_verdict(rows: list[dict], n_seeds: int) -> dict[str, Any]:
    """Is the backend-to-backend spread within the seed-to-seed spread? (Quirk variants,
    ``NAME+QUIRK``, are not backends of their own and are left out.)"""
    ok = [r for r in rows if r["status"] == "ok" and "+" not in r["backend"]]
    means = [r["acc"]["mean"] for r in ok]
    out: dict[str, Any] = {"backends_compared": [r["backend"] for r in ok]}
    if len(ok) < 2:
        out.update(within=None, text="fewer than two backends trained: nothing to compare")
        return out
    backend_range = max(means) - min(means)
    out["backend_range"] = backend_range
    out["identical"] = all(r["acc_per_seed"] == ok[0]["acc_per_seed"] for r in ok)
    if n_seeds < 2:
        out.update(within=None, seed_range=None,
                   text=f"backend-to-backend spread {backend_range:.4f}; with one seed the "
                        "seed-to-seed spread is unknown (use --seeds 2 or more)")
        return out
    seed_range = statistics.fmean(r["acc"]["max"] - r["acc"]["min"] for r in ok)
    within = backend_range <= seed_range
    out.update(seed_range=seed_range, within=within)
    head = "identical on every seed: " if out["identical"] else ""
    rel = "within" if within else "larger than"
    tail = ("the backends are indistinguishable at this number of seeds" if within
            else "the backends differ by more than reruns of one backend do")
    out["text"] = (f"{head}backend-to-backend spread {backend_range:.4f} (range of backend "
                   f"means) is {rel} the seed-to-seed spread {seed_range:.4f} (mean range over "
                   f"seeds): {tail}")
    return out


def paired_verdict(cfg: StudyConfig, rows: list[dict],
                   runs: dict[str, list[dict]]) -> dict[str, Any]:
    """Every pair of trained backends compared seed by seed, and one verdict with its reason."""
    from step.study.stats import pairwise

    # quirk variants (NAME+QUIRK) are not backends of their own: the attribution compares them
    trained = [r["backend"] for r in rows if r["status"] in ("ok", "partial")
               and "+" not in r["backend"]]
    ok = {b: [r for r in runs[b] if "error" not in r] for b in trained}
    acc = {b: {r["seed"]: run_score(r) for r in rs} for b, rs in ok.items()}
    predictions = {b: {r["seed"]: r["test"]["predictions"] for r in rs
                       if "predictions" in r["test"]} for b, rs in ok.items()}
    labels = {r["seed"]: r["test"]["labels"] for rs in ok.values() for r in rs
              if "labels" in r["test"]}
    out = pairwise(acc, margin=cfg.margin / 100, predictions=predictions, labels=labels)
    out["text"] = _paired_text(out, len(trained))
    return out


def quirk_attribution(cfg: StudyConfig, rows: list[dict],
                      runs: dict[str, list[dict]]) -> list[dict[str, Any]]:
    """Each quirk variant (``NAME+QUIRK``) against its canonical backend, paired by seed: what
    leaving that library quirk in does to accuracy and firing rate, and whether it is beyond
    seed noise (the paired verdict: different, equivalent within --margin, or inconclusive)."""
    from step.quirks import split_name
    from step.registry import get_backend
    from step.study.stats import compare_paired

    by_name = {r["backend"]: r for r in rows}
    out = []
    for row in rows:
        base, quirks = split_name(row["backend"])
        if not quirks:
            continue
        entry: dict[str, Any] = {"variant": row["backend"], "backend": base,
                                 "quirks": list(get_backend(row["backend"]).active_quirks)}
        entry["what"] = [get_backend(base).quirks[q].what for q in entry["quirks"]]
        canon = by_name.get(base)
        trained = {"ok", "partial"}
        if canon is None or canon["status"] not in trained or row["status"] not in trained:
            entry.update(verdict=None, text=f"no trained {base if canon is None else 'pair'} "
                         "in this study to compare with")
            out.append(entry)
            continue

        def by_seed(name: str) -> dict[int, dict]:
            return {r["seed"]: r for r in runs[name] if "error" not in r}

        v, c = by_seed(row["backend"]), by_seed(base)
        preds = {s: (v[s]["test"]["predictions"], c[s]["test"]["predictions"],
                     c[s]["test"]["labels"]) for s in set(v) & set(c)
                 if "predictions" in v[s]["test"] and "predictions" in c[s]["test"]}
        cmp = compare_paired({s: run_score(r) for s, r in v.items()},
                             {s: run_score(r) for s, r in c.items()},
                             margin=cfg.margin / 100, predictions=preds or None)
        entry.update(cmp)
        entry["firing_rate"] = row.get("firing_rate")
        entry["firing_rate_canonical"] = canon.get("firing_rate")
        if row.get("firing_rate") is not None and canon.get("firing_rate") is not None:
            entry["firing_rate_diff"] = row["firing_rate"] - canon["firing_rate"]
        out.append(entry)
    return out


def _paired_text(p: dict[str, Any], n_backends: int) -> str:
    margin = f"±{100 * p['margin']:g} points"
    if p["verdict"] is None:
        return "fewer than two backends trained: nothing to compare"
    if p["verdict"] == "equivalent":
        return (f"equivalent: every pair of the {n_backends} backends is within {margin} "
                f"(paired by seed, TOST at alpha {p['alpha']:g})")
    if p["verdict"] == "different":
        bad = [f"{q['a']} vs {q['b']}: {q['text']}" for q in p["pairs"]
               if q["verdict"] == "different"]
        return "different: " + "; ".join(bad)
    from step.study.stats import MAX_SEEDS

    undecided = [q for q in p["pairs"] if q["verdict"] == "inconclusive"]
    open_pairs = [f"{q['a']} vs {q['b']}" for q in undecided]
    known = [q["seeds_needed"] for q in undecided if q["seeds_needed"]]
    hopeless = [f"{q['a']} vs {q['b']}" for q in undecided if not q["seeds_needed"]]
    if not hopeless:
        settle = f"about {max(known)} seeds would settle it (--seeds)"
    else:
        settle = (f"{', '.join(hopeless)} would need more than {MAX_SEEDS} seeds (a difference "
                  "this close to the margin)"
                  + (f", the others about {max(known)} (--seeds)" if known else ""))
    return (f"inconclusive at margin {margin}: {', '.join(open_pairs)} neither equivalent nor "
            f"shown different; {settle}")


def row_differences(rows: list[dict]) -> dict[str, Any]:
    """Each trained row's resolved model config against the first trained row's, field by
    field: in a study only the backend may differ, so anything listed here is a finding."""
    from step.study.diff import config_diff, describe

    trained = [r for r in rows if r.get("model_config") is not None]
    if not trained:
        return {"baseline": None, "rows": {}}
    base = trained[0]
    diffs = {r["backend"]: config_diff(base["model_config"], r["model_config"])
             for r in trained[1:]}
    return {"baseline": base["backend"],
            "rows": {b: {"fields": {k: list(v) for k, v in d.items()}, "text": describe(d)}
                     for b, d in diffs.items()}}


def curves(runs: dict[str, list[dict]]) -> dict[str, dict[str, list[float]]]:
    """Per backend, the mean over seeds of validation accuracy and training loss per epoch."""
    out = {}
    for b, rs in runs.items():
        ok = [r for r in rs if "error" not in r]
        if not ok:
            continue
        n = min(len(r["history"]) for r in ok)
        out[b] = {
            "epoch": list(range(1, n + 1)),
            "val_acc": [statistics.fmean(val_score(r, r["history"][e]) for r in ok)
                        for e in range(n)],
            "train_loss": [statistics.fmean(r["history"][e]["train_loss"] for r in ok)
                           for e in range(n)],
        }
    return out


def layer_rates(runs: dict[str, list[dict]]) -> dict[str, dict[str, Any]]:
    """Per backend and layer: mean rate and per-time-step rates, averaged over seeds."""
    out: dict[str, dict[str, Any]] = {}
    for b, rs in runs.items():
        ok = [r for r in rs if "error" not in r]
        if not ok:
            continue
        layers = ok[0]["firing_rates"]["layers"]
        out[b] = {
            name: {"mean": statistics.fmean(r["firing_rates"]["layers"][name]["mean"] for r in ok),
                   "per_step": [statistics.fmean(r["firing_rates"]["layers"][name]["per_step"][t]
                                                 for r in ok)
                                for t in range(len(layers[name]["per_step"]))]}
            for name in layers
        }
    return out


def summarise(cfg: StudyConfig, backends: list[str], specs: dict, support: dict,
              skipped: dict[str, str], runs: dict[str, list[dict]], elapsed: float) -> dict:
    """The whole study as one JSON-ready dict."""
    conf = {b: conformance_status(b, specs) if cfg.conformance else None for b in backends}
    rows = [backend_row(b, runs[b], support[b], skipped.get(b), conf[b]) for b in backends]
    for r in rows:
        r["neuron_specs"] = {role: (r.get("model_config") or {}).get(role)
                             or specs[role].model_dump(mode="json", serialize_as_any=True)
                             for role in specs}
    by_seed: dict[int, set[str]] = {}
    for r in rows:
        for seed, fp in zip(r.get("seeds", []), r.get("initial_weights", []), strict=True):
            by_seed.setdefault(seed, set()).add(fp)
    first = next((r for rs in runs.values() for r in rs if "error" not in r), None)
    metric = ({} if cfg.task == "classification" else  # the acc columns hold the task's score
              {"metric": {"task": cfg.task, "key": score_key(cfg.task),
                          "name": score_name(cfg.task)}})
    return {
        **metric,
        "config": cfg.model_dump(),
        "neuron_specs": {role: s.model_dump() for role, s in specs.items()},
        "model": first["model"] if first else None,
        "dataset": first["dataset"] if first else None,
        "environment": {k: v for k, v in (first or {}).get("environment", {}).items()
                        if not k.startswith("backend")},
        "rows": rows,
        "paired": paired_verdict(cfg, rows, runs),
        "attribution": quirk_attribution(cfg, rows, runs),
        "spread": spread_verdict(rows, cfg.seeds),
        "same_initial_weights": {
            "identical_across_backends": all(len(v) == 1 for v in by_seed.values()),
            "fingerprints": {str(k): sorted(v) for k, v in sorted(by_seed.items())},
        },
        "row_differences": row_differences(rows),
        "curves": curves(runs),
        "layer_rates": layer_rates(runs),
        "memory_method": MEMORY_METHOD,
        "elapsed_s": elapsed,
    }
