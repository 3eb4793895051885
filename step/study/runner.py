"""Running a study: the same runs on every backend, each in its own process.

Before training, each backend is asked how it computes the model's neuron specs (every role:
``neuron``, ``attn_neuron``...). A backend whose forward or gradient is unsupported for one of
them is skipped with that reason in the report; nothing is ever computed by the reference in
its place. Every (backend, seed) run then trains from identical initial weights (copied from
the reference build, see :mod:`step.train.setup`) on the identical data order.

Each run happens in a fresh Python process (``isolate``): its peak resident memory is then its
own (a process's ``ru_maxrss`` is a high-water mark that never goes down, so backends run one
after another in one process would hide each other's peaks), and a backend that crashes the
interpreter fails its own row, not the study.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from step.errors import InputError
from step.study.config import StudyConfig
from step.train.config import RunConfig


def resolve_backends(cfg: StudyConfig) -> list[str]:
    """'all' -> every available backend (reference first); a list is checked name by name."""
    from step.registry import available_backends, get_backend

    if cfg.backends == "all":
        return available_backends()
    names = cfg.backends if isinstance(cfg.backends, list) else cfg.backends.split(",")
    names = [n.strip() for n in names if n.strip()]
    if not names:
        raise InputError("--backends needs 'all' or a comma-separated list of backend names")
    for n in names:
        get_backend(n)  # one clear line for an unknown or unavailable backend
    return names


def role_specs(cfg: StudyConfig) -> dict[str, Any]:
    """The model's neuron spec of every role, from its config (no model is built)."""
    from step.models import get_config

    mcfg = get_config(cfg.model, cfg.preset, **cfg.model_overrides)
    roles = getattr(type(mcfg), "neuron_roles", ("neuron",))
    return {role: mcfg.spec(role) for role in roles}


def support_of(backend: str, specs: dict[str, Any]) -> tuple[dict[str, dict], str | None]:
    """Each role's support on ``backend``, and the reason to skip it (None: it can train)."""
    from step.registry import get_backend, guarded_support
    from step.support import Level

    b = get_backend(backend)
    table, reasons = {}, []
    for role, spec in specs.items():
        s, error = guarded_support(b, spec)
        if s is None:  # a raising plugin: this backend's row says why, the study goes on
            table[role] = {"forward": "error", "gradient": "error", "reason": error}
            reasons.append(f"{role}: {error}")
            continue
        table[role] = s.to_dict()
        if s.forward is Level.UNSUPPORTED:
            reasons.append(f"{role}: forward unsupported ({s.forward_how})")
        elif s.gradient is Level.UNSUPPORTED:
            reasons.append(f"{role}: gradient unsupported ({s.gradient_how})")
    return table, "; ".join(reasons) or None


def conformance_status(backend: str, kinds: list[str]) -> dict[str, Any] | None:
    """The conformance suite's cases for the model's neuron kinds, run on ``backend``.

    Returns the worst outcome (the suite's own severity order) and the counts per outcome;
    A suite that breaks is reported, not raised: it must not cost the study its training
    results.
    """
    from step.conformance.cases import cases_for_kind
    from step.conformance.policy import SEVERITY
    from step.conformance.runner import run_suite
    from step.registry import get_backend

    try:
        cases = [c for k in kinds for c in cases_for_kind(k)]
        report = run_suite([get_backend(backend)], cases)
        counts = {k: v for k, v in report.counts().get(backend, {}).items() if v}
    except Exception as err:
        return {"status": "error", "error": f"{type(err).__name__}: {err}"}
    worst = next((s.value for s in SEVERITY if counts.get(s.value)), None)
    return {"status": worst, "counts": counts, "cases": len(cases), "kinds": kinds}


def run_one(run: RunConfig, isolate: bool, threads: int | None = None) -> dict[str, Any]:
    """Train one run; returns its result, or ``{"error": ...}`` if it failed.

    ``threads`` sets the worker's torch threads, so parallel workers do not oversubscribe.
    """
    if not isolate:
        from step.errors import StepError
        from step.train import train

        try:
            return train(run)
        except StepError as err:
            return {"error": str(err)}
        except Exception as err:  # one backend's crash must not end the others' runs
            return {"error": f"{type(err).__name__}: {err}"}
    cmd = [sys.executable, "-m", "step.study._worker", run.model_dump_json()]
    env = dict(os.environ)
    if threads is not None:
        env["OMP_NUM_THREADS"] = env["STEP_TORCH_THREADS"] = str(threads)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    result_path = Path(run.out) / "result.json"
    if proc.returncode != 0 or not result_path.is_file():
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        return {"error": lines[-1] if lines else f"worker exited with {proc.returncode}"}
    return json.loads(result_path.read_text())


def run_study(cfg: StudyConfig, progress: bool = False) -> dict[str, Any]:
    """Train every (backend, seed), then summarise; returns the study dict (not yet written)."""
    from step.data import dataset_entry
    from step.study.summary import summarise

    dataset_entry(cfg.dataset)  # a bad name is one line before anything trains
    backends = resolve_backends(cfg)
    specs = role_specs(cfg)
    jobs, skipped = [], {}
    support: dict[str, dict] = {}
    for b in backends:
        support[b], reason = support_of(b, specs)
        if reason:
            skipped[b] = reason
        else:
            jobs += [(b, s) for s in cfg.seed_list()]
    runs: dict[str, list[dict]] = {b: [] for b in backends}
    jobs_at_once = max(1, min(cfg.jobs, len(jobs))) if cfg.isolate else 1
    threads = max(1, (os.cpu_count() or 1) // jobs_at_once) if cfg.isolate else None
    started = time.perf_counter()

    def one(job: tuple[str, int]) -> dict[str, Any]:
        b, seed = job
        out = str(Path(cfg.out) / "runs" / b / f"seed{seed}")
        t0 = time.perf_counter()
        result = run_one(cfg.run_config(b, seed, out), cfg.isolate, threads)
        result.update(wall_s=time.perf_counter() - t0, seed=seed)
        bar.done(b, seed, result)
        return result

    with _JobBar(progress, len(jobs)) as bar, ThreadPoolExecutor(jobs_at_once) as pool:
        for (b, _), result in zip(jobs, pool.map(one, jobs), strict=True):
            runs[b].append(result)
    return summarise(cfg, backends, specs, support, skipped, runs,
                     time.perf_counter() - started)


class _JobBar:
    """One rich progress bar over the study's runs, on stderr."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled, self.total, self.progress = enabled, total, None

    def __enter__(self) -> _JobBar:
        if self.enabled:
            from rich.console import Console
            from rich.progress import Progress

            self.progress = Progress(console=Console(stderr=True))
            self.progress.start()
            self.task = self.progress.add_task("study runs", total=self.total)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def done(self, backend: str, seed: int, result: dict) -> None:
        if self.progress is None:
            return
        if "error" in result:
            line = f"{backend} seed {seed}: [red]failed[/] {result['error']}"
        else:
            line = (f"{backend} seed {seed}: test acc {result['test']['acc']:.4f} "
                    f"({result['wall_s']:.0f} s)")
        self.progress.console.print(line)
        self.progress.advance(self.task)
