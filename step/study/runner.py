"""Running a study: the same runs on every backend, each in its own process.

Before training, each backend is asked how it computes the model's neuron specs (every role:
``neuron``, ``attn_neuron``...). A backend whose forward or gradient is unsupported for one of
them is skipped with that reason in the report; nothing is ever computed by the reference in
its place. Every (backend, seed) run then trains from identical initial weights (copied from
the reference build, see :mod:`step.train.setup`) on the identical data order.

Each run happens in a process of its own (``isolate``), forked from a warm fork server
(:mod:`step.study.workers`): its peak resident memory is then its
own (a process's ``ru_maxrss`` is a high-water mark that never goes down, so backends run one
after another in one process would hide each other's peaks), and a backend that crashes the
interpreter fails its own row, not the study.

A study is resumable with the sweep's machinery (:mod:`step.study.sweep`): every finished run
is appended to ``OUT/runs.jsonl`` under the hash of its run config, and a rerun reuses each
run whose line says trained and whose ``result.json`` is there. ``OUT/study-config.json``
holds the settings the runs were made with; a rerun with other settings refuses to mix them
(:func:`check_out`) unless told to start over.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from step._io import write_json
from step.errors import InputError
from step.study.config import StudyConfig
from step.study.sweep import LOG, append_log, read_log, run_key
from step.study.workers import Workers
from step.train.config import RunConfig

#: The settings a study's runs were made with (see :func:`check_out`).
STUDY_CONFIG = "study-config.json"
#: What a run's process printed (warnings, a crash's last words), in the run's folder.
WORKER_LOG = "worker.log"


def resolve_backends(cfg: StudyConfig) -> list[str]:
    """'all' -> every available backend (reference first); a list is checked name by name.

    A name given twice runs once: a duplicate row would count as a second backend in the
    paired verdict, comparing a backend with itself.
    """
    from step.registry import available_backends, get_backend

    if cfg.backends == "all":
        names = available_backends()
    else:
        names = cfg.backends if isinstance(cfg.backends, list) else cfg.backends.split(",")
        names = list(dict.fromkeys(n.strip() for n in names if n.strip()))  # each once, in order
        if not names:
            raise InputError("--backends needs 'all' or a comma-separated list of backend names")
        for n in names:
            get_backend(n)  # one clear line for an unknown or unavailable backend
    return with_quirk_variants(cfg, names) if cfg.as_shipped else names


def with_quirk_variants(cfg: StudyConfig, names: list[str]) -> list[str]:
    """``names`` plus, after each backend, one variant per library quirk that changes the
    model's neurons (``NAME+QUIRK``), and ``NAME+as-shipped`` when several do."""
    from step.quirks import AS_SHIPPED, applicable, split_name

    specs = list(role_specs(cfg).values())
    out: list[str] = []
    for name in names:
        out.append(name)
        base, quirks = split_name(name)
        if quirks:
            continue
        found = applicable(base, specs)
        out += [f"{base}+{q}" for q in found]
        if len(found) > 1:
            out.append(f"{base}+{AS_SHIPPED}")
    return list(dict.fromkeys(out))


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


def check_out(cfg: StudyConfig, overwrite: bool = False) -> None:
    """Make ``cfg.out`` ready: resume a study with the same settings, refuse another's.

    Settings that only choose which runs exist or how the report reads (backends, number of
    seeds, jobs, margin, conformance) may change between resumptions: each run is matched by
    the hash of its own config. Any other difference means the folder's runs are not this
    study's: one line, exit 2, nothing touched, unless ``overwrite`` (its runs are removed).
    """
    out = Path(cfg.out)
    saved = _saved_settings(out)
    if saved is not None and saved != cfg.run_settings() and not overwrite:
        changed = sorted(k for k in set(saved) | set(cfg.run_settings())
                         if saved.get(k) != cfg.run_settings().get(k))
        raise InputError(
            f"--out {out} holds a study made with other settings ({', '.join(changed)}): rerun "
            "with the same settings to resume it, choose another --out, or pass --overwrite")
    if overwrite:
        for name in (LOG, STUDY_CONFIG, "study.json", "study.md", "study.html"):
            (out / name).unlink(missing_ok=True)
        shutil.rmtree(out / "runs", ignore_errors=True)
    write_json(out / STUDY_CONFIG, cfg.run_settings())


def _saved_settings(out: Path) -> dict[str, Any] | None:
    """The run settings of the study already in ``out`` (None: there is none)."""
    if (out / STUDY_CONFIG).is_file():
        return json.loads((out / STUDY_CONFIG).read_text())
    if (out / "study.json").is_file():  # written before study-config.json existed
        from step.errors import StepError

        try:
            config = json.loads((out / "study.json").read_text()).get("config", {})
            return StudyConfig.parse(config).run_settings()
        except (StepError, ValueError, AttributeError):
            return {"unknown": "a study.json this version cannot read"}
    if (out / LOG).is_file() or (out / "runs").is_dir():
        return {"unknown": "a study whose settings were not recorded"}
    return None


def run_one(run: RunConfig, isolate: bool, threads: int | None = None,
            workers: Workers | None = None) -> dict[str, Any]:
    """Train one run; returns its result, or ``{"error": ...}`` if it failed.

    ``threads`` sets the worker's torch threads, so parallel workers do not oversubscribe;
    ``workers`` tracks the process so that a stopped study can end it.
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
    code, error = (workers or Workers()).run_forked(
        "step.study._worker:train_json", run.model_dump_json(), Path(run.out) / WORKER_LOG,
        threads)
    result_path = Path(run.out) / "result.json"
    if code != 0 or not result_path.is_file():
        return {"error": error or f"worker exited with {code}"}
    return json.loads(result_path.read_text())


def run_study(cfg: StudyConfig, progress: bool = False,
              overwrite: bool = False) -> dict[str, Any]:
    """Train every (backend, seed) not done yet, then summarise; returns the study dict (not
    yet written). ``overwrite`` discards a study with other settings in ``cfg.out``."""
    from step.data import dataset_entry
    from step.study.summary import summarise

    dataset_entry(cfg.dataset)  # a bad name is one line before anything trains
    backends = resolve_backends(cfg)
    specs = role_specs(cfg)
    check_out(cfg, overwrite)
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

    log = Path(cfg.out) / LOG
    done, log_lock, workers = read_log(log), threading.Lock(), Workers()

    def job_run(job: tuple[str, int]) -> RunConfig:
        b, seed = job
        return cfg.run_config(b, seed, str(Path(cfg.out) / "runs" / b / f"seed{seed}"))

    def reused(job: tuple[str, int]) -> dict[str, Any] | None:
        """The result of a run finished before (resumption), or None."""
        run = job_run(job)
        old = done.get(run_key(run.identity()))
        result_path = Path(run.out) / "result.json"
        if old is None or old["status"] != "trained" or not result_path.is_file():
            return None
        result = json.loads(result_path.read_text())
        result.update(wall_s=old["wall_s"], seed=job[1], reused=True)
        return result

    def finished(job: tuple[str, int], result: dict[str, Any], wall_s: float) -> None:
        """Record a run that just ended: its line in runs.jsonl, its line on the bar."""
        b, seed = job
        run = job_run(job)
        result.update(wall_s=wall_s, seed=seed)
        with log_lock:
            append_log(log, {"key": run_key(run.identity()), "point": {"backend": b,
                             "seed": seed}, "status": "failed" if "error" in result
                             else "trained", "error": result.get("error"), "out": run.out,
                             "wall_s": wall_s})
        bar.done(b, seed, result)

    def one(job: tuple[str, int]) -> dict[str, Any]:
        result = reused(job)
        if result is None:
            t0 = time.perf_counter()
            result = run_one(job_run(job), cfg.isolate, threads, workers)
            if workers.closing:  # a run cut short by a stop is not a finding
                result.update(wall_s=time.perf_counter() - t0, seed=job[1])
                return result
            finished(job, result, time.perf_counter() - t0)
        else:
            bar.done(job[0], job[1], result)
        return result

    with _JobBar(progress, len(jobs)) as bar:
        if cfg.executor == "ray":
            results = _run_on_ray(cfg, jobs, job_run, reused, finished, bar)
        else:
            with ThreadPoolExecutor(jobs_at_once) as pool:
                try:
                    results = list(pool.map(one, jobs))
                except BaseException:  # Ctrl-C, SIGTERM (workers.sigterm_as_interrupt), a bug
                    pool.shutdown(wait=False, cancel_futures=True)
                    workers.terminate_all()
                    raise
        for (b, _), result in zip(jobs, results, strict=True):
            runs[b].append(result)
    return summarise(cfg, backends, specs, support, skipped, runs,
                     time.perf_counter() - started)


def _run_on_ray(cfg: StudyConfig, jobs: list[tuple[str, int]], job_run: Any, reused: Any,
                finished: Any, bar: _JobBar) -> list[dict[str, Any]]:
    """Every run not done before as one Ray task (one CPU, one GPU on cuda); each result is
    recorded as its task ends. A task fresh from its own worker process (``max_calls=1``)
    keeps the peak-memory column a measure of that run alone, as a forked local run's is."""
    from step._io import write_json
    from step.executor import RayPool, error_line, resources
    from step.study._ray_tasks import train_run

    results: list[dict[str, Any] | None] = [reused(job) for job in jobs]
    for job, result in zip(jobs, results, strict=True):
        if result is not None:
            bar.done(job[0], job[1], result)
    todo = [i for i, r in enumerate(results) if r is None]
    started = time.perf_counter()
    with RayPool(cfg.address, cfg.retries) as pool:
        calls = [(job_run(jobs[i]).model_dump_json(), 1) for i in todo]
        for k, result in pool.run(train_run, calls, [resources(cfg.device)] * len(todo),
                                  {"max_calls": 1}):
            i = todo[k]
            if isinstance(result, BaseException):  # failed after its retries
                result, wall_s = {"error": error_line(result)}, time.perf_counter() - started
            else:
                result, wall_s = result
            run = job_run(jobs[i])
            if "error" not in result and not (Path(run.out) / "result.json").is_file():
                write_json(Path(run.out) / "result.json", result)  # trained on another node
            finished(jobs[i], result, wall_s)
            results[i] = result
    return [r for r in results if r is not None]


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
            done = "done before" if result.get("reused") else f"{result['wall_s']:.0f} s"
            line = f"{backend} seed {seed}: test acc {result['test']['acc']:.4f} ({done})"
        self.progress.console.print(line)
        self.progress.advance(self.task)
