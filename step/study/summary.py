"""Turning a study's runs into rows, curves and one verdict on the spread.

Accuracy is each run's test accuracy at its validation-selected checkpoint. Spread over seeds
is the sample standard deviation (n - 1) and the range. The verdict compares two ranges a
person can recompute from the table: the backend-to-backend spread (max minus min of the
backends' mean accuracies) and the seed-to-seed spread (the mean over backends of max minus
min over their seeds). Within: backends differ no more than reruns of one backend do.
"""

from __future__ import annotations

import statistics
from typing import Any

from step.study.config import StudyConfig
from step.study.runner import conformance_status

MEMORY_METHOD = ("resource.getrusage(RUSAGE_SELF).ru_maxrss after training minus before, in "
                 "a fresh process per run: torch's tensors live outside Python's allocator, so "
                 "tracemalloc would not see them; ru_maxrss does (resident high-water mark)")


def _stats(xs: list[float]) -> dict[str, float | None]:
    if not xs:
        return {"mean": None, "std": None, "min": None, "max": None}
    return {"mean": statistics.fmean(xs), "std": statistics.stdev(xs) if len(xs) > 1 else None,
            "min": min(xs), "max": max(xs)}


def _mean(xs: list[float | None]) -> float | None:
    vals = [x for x in xs if x is not None]
    return statistics.fmean(vals) if vals else None


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
    failed = [r for r in runs if "error" in r]
    row["status"] = "ok" if ok and not failed else ("failed" if not ok else "partial")
    if failed:
        row["reason"] = "; ".join(f"seed {r['seed']}: {r['error']}" for r in failed)
    acc = [r["test"]["acc"] for r in ok]
    row.update(
        seeds=[r["seed"] for r in ok], acc_per_seed=acc, acc=_stats(acc),
        loss=_mean([r["test"]["loss"] for r in ok]),
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
    """Is the backend-to-backend spread within the seed-to-seed spread?"""
    ok = [r for r in rows if r["status"] == "ok"]
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
            "val_acc": [statistics.fmean(r["history"][e]["val_acc"] for r in ok) for e in range(n)],
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
    kinds = sorted({s.kind for s in specs.values()})
    conf = {b: conformance_status(b, kinds) if cfg.conformance else None for b in backends}
    rows = [backend_row(b, runs[b], support[b], skipped.get(b), conf[b]) for b in backends]
    by_seed: dict[int, set[str]] = {}
    for r in rows:
        for seed, fp in zip(r.get("seeds", []), r.get("initial_weights", []), strict=True):
            by_seed.setdefault(seed, set()).add(fp)
    first = next((r for rs in runs.values() for r in rs if "error" not in r), None)
    return {
        "config": cfg.model_dump(),
        "neuron_specs": {role: s.model_dump() for role, s in specs.items()},
        "model": first["model"] if first else None,
        "dataset": first["dataset"] if first else None,
        "environment": {k: v for k, v in (first or {}).get("environment", {}).items()
                        if not k.startswith("backend")},
        "rows": rows,
        "spread": spread_verdict(rows, cfg.seeds),
        "same_initial_weights": {
            "identical_across_backends": all(len(v) == 1 for v in by_seed.values()),
            "fingerprints": {str(k): sorted(v) for k, v in sorted(by_seed.items())},
        },
        "curves": curves(runs),
        "layer_rates": layer_rates(runs),
        "memory_method": MEMORY_METHOD,
        "elapsed_s": elapsed,
    }
