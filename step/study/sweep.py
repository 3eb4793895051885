"""Sweeps: STEP's ablations as a grid, one JSON line per finished run, resumable by design.

A sweep file holds a ``base`` run config and a ``grid`` of axes; the sweep runs their product::

    base: {model: spikformer, preset: tiny, dataset: digits, epochs: 3}
    grid:
      neuron: [lif, if]                 # model config override {"kind": ...}
      neuron.tau: [2.0, 4.0]            # dotted keys nest, as in --set neuron.tau=2
      surrogate: [atan, sigmoid]
      encoder: [direct, rate]
      attention: [ssa]                  # model config fields (spikformer: attention, embedding)
      backend: [reference, snntorch]    # run config fields (backend, seed, lr, ...)
    out: runs/sweep

An axis named like a run-config field (``backend``, ``seed``, ``lr``...) sets that field; any
other axis is a model-config override (``neuron``, ``surrogate`` and ``encoder`` given as a
string become ``{"kind": value}``; dotted axes are applied after them). The whole grid is
validated before the first run (:func:`plan`): a misspelt key, an unknown backend, neuron,
model or dataset is one error, not a failed line per run. Every finished run (trained, failed,
or skipped because the backend cannot compute the spec) is appended to ``OUT/runs.jsonl`` at
once, so a crash loses nothing; a rerun skips the points whose line says trained or skipped and
retries failures. Each line records the fully resolved run and model configs (every neuron
role's spec with all its fields), so two lines can be compared field by field.
``examples/sweeps/`` holds sweep files to start from; docs/run-config.md lists every key.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from contextlib import suppress
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from step.errors import StepError
from step.specs import Spec
from step.train.config import RunConfig

KIND_AXES = ("neuron", "surrogate", "encoder", "attn_neuron")
LOG = "runs.jsonl"


class SweepConfig(Spec):
    """A base run config and the grid of axes to vary over it."""

    base: dict[str, Any] = Field(
        default_factory=dict, description="run config keys shared by every run (table above)")
    grid: dict[str, list[Any]] = Field(
        description="axis -> list of values; the sweep runs their product. An axis is a run "
        "config key, or a model config key (neuron, surrogate, encoder, attention, ...; "
        "dotted keys such as neuron.tau nest)")
    out: str = Field("runs/sweep", description="output folder: runs.jsonl, sweep.md, "
                     "sweep.png, runs/KEY/")
    isolate: bool = Field(False, description="each run in its own process")
    executor: str = Field("local", description="local: the points one after another here; "
                          "ray: every point a Ray task (step.executor)")
    address: str | None = Field(None, description="Ray cluster to run on (executor ray)")
    retries: int = Field(0, ge=0, description="Ray retries of a point that raised or whose "
                         "worker died (executor ray)")

    @model_validator(mode="after")
    def _executor(self) -> SweepConfig:
        from step.executor import check_executor

        check_executor(self.executor, self.address, self.retries)
        return self

    def points(self) -> list[dict[str, Any]]:
        axes = list(self.grid)
        return [dict(zip(axes, combo, strict=True))
                for combo in itertools.product(*(self.grid[a] for a in axes))]


def point_config(sweep: SweepConfig, point: dict[str, Any]) -> RunConfig:
    """The run config of one grid point (validated; a bad value raises SpecError)."""
    from step.specs import set_dotted

    data = dict(sweep.base)
    overrides = dict(data.get("model_overrides") or {})
    for axis, value in sorted(point.items(), key=lambda kv: "." in kv[0]):  # dotted axes last
        if axis in RunConfig.model_fields:
            data[axis] = value
        elif axis in KIND_AXES and isinstance(value, str):
            overrides[axis] = {"kind": value}
        else:
            overrides = set_dotted(overrides, axis, value)
    data["model_overrides"] = overrides
    data["out"] = str(Path(sweep.out) / "runs" / run_key(data))
    data.setdefault("probe", False)
    return RunConfig.parse(data, what=f"sweep point {point}")


def plan(sweep: SweepConfig, what: str = "sweep") -> list[tuple[dict[str, Any], RunConfig]]:
    """Every grid point with its run config, checked before anything runs.

    Beyond the run config itself: the model and its overrides (an unknown axis such as
    ``colour`` or an unknown neuron kind), the dataset and the backend name must all exist.
    A backend that is known but not installed is not an error here: its runs fail with the
    install hint, the others still run. The first problem is raised as one
    :class:`~step.errors.SpecError` naming the point.
    """
    from step.data import dataset_entry
    from step.errors import BackendUnavailableError, SpecError
    from step.registry import get_backend
    from step.train.setup import model_config

    if not sweep.grid or any(not values for values in sweep.grid.values()):
        raise SpecError(f"{what}: grid needs at least one axis, each with at least one value")
    out = []
    checked: set[str] = set()
    for point in sweep.points():
        try:
            run = point_config(sweep, point)
            model_config(run)
            if run.dataset not in checked:
                dataset_entry(run.dataset)
            if run.backend not in checked:
                with suppress(BackendUnavailableError):  # known, not installed: runs say so
                    get_backend(run.backend)
        except StepError as err:
            raise SpecError(f"{what}: grid point {point}: {err}") from None
        checked.update((run.dataset, run.backend))
        out.append((point, run))
    return out


def run_key(data: dict[str, Any]) -> str:
    """A short stable name for a run: the hash of its config (without the output folder)."""
    body = json.dumps({k: v for k, v in data.items() if k != "out"}, sort_keys=True,
                      default=str)
    return hashlib.sha256(body.encode()).hexdigest()[:12]


def read_log(path: Path) -> dict[str, dict]:
    """Finished entries by key; a torn last line (a crash mid-write) is ignored."""
    done: dict[str, dict] = {}
    if not path.is_file():
        return done
    for line in path.read_text().splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict) and "key" in entry:
            done[entry["key"]] = entry
    return done


def repair_log(path: Path) -> bool:
    """Cut a torn last line (a crash mid-write) off ``path``; True if one was cut.

    Without this the next record would be appended to the torn one, and that line, whole
    record included, would stay unreadable for good.
    """
    if not path.is_file():
        return False
    data = path.read_bytes()
    if not data or data.endswith(b"\n"):
        return False
    with open(path, "r+b") as f:
        f.truncate(data.rfind(b"\n") + 1)
        f.flush()
        os.fsync(f.fileno())
    return True


def append_log(path: Path, entry: dict) -> None:
    """One line, flushed and synced before the next run starts."""
    from step._io import dumps

    path.parent.mkdir(parents=True, exist_ok=True)
    repair_log(path)
    with open(path, "a") as f:
        f.write(dumps(entry, indent=None) + "\n")
        f.flush()
        os.fsync(f.fileno())


def _support_skip(run: RunConfig) -> str | None:
    from step.study.config import StudyConfig
    from step.study.runner import role_specs, support_of

    study = StudyConfig(model=run.model, preset=run.preset, model_overrides=run.model_overrides)
    _, reason = support_of(run.backend, role_specs(study))
    return reason


def resolved_specs(run: RunConfig) -> dict[str, Any]:
    """The run and model configs with every default filled in, and each neuron role's spec."""
    from step.study.config import StudyConfig
    from step.study.runner import role_specs
    from step.train.setup import model_config

    study = StudyConfig(model=run.model, preset=run.preset, model_overrides=run.model_overrides)
    return {"run": run.model_dump(mode="json", exclude={"out"}),
            "model": model_config(run).model_dump(mode="json", serialize_as_any=True),
            "neurons": {role: spec.model_dump(mode="json")
                        for role, spec in role_specs(study).items()}}


def run_point(sweep: SweepConfig, point: dict[str, Any],
              run: RunConfig | None = None) -> dict[str, Any]:
    """Train one point and describe it as a log entry (never raises for a bad point)."""
    from step.study.runner import run_one

    entry: dict[str, Any] = {"point": point}
    try:
        run = run or point_config(sweep, point)
        entry["key"] = Path(run.out).name
        entry["specs"] = resolved_specs(run)
        reason = _support_skip(run)
    except StepError as err:
        entry.setdefault("key", run_key({**sweep.base, **point}))
        entry.update(status="failed", error=str(err))
        return entry
    if reason:
        entry.update(status="skipped", error=reason)
        return entry
    result = run_one(run, sweep.isolate)
    if "error" in result:
        entry.update(status="failed", error=result["error"])
        return entry
    entry.update(
        status="trained", test_acc=result["test"]["acc"], test_loss=result["test"]["loss"],
        val_acc=result["selection"]["val_acc"], firing_rate=result["firing_rates"]["mean"],
        time_per_epoch_s=result["time_per_epoch_s"],
        backend_version=result["environment"]["backend_version"], out=run.out,
    )
    if "diverged" in result:
        entry.update(status="failed", error=f"diverged: {result['diverged']['reason']}")
    return entry


def run_sweep(sweep: SweepConfig, progress: bool = False, what: str = "sweep") -> list[dict]:
    """Run every point not yet done; returns the log entries of all points, in grid order.

    The grid is validated first (:func:`plan`): a bad sweep raises before anything runs.
    """
    import sys

    from step._progress import track

    points = plan(sweep, what)
    log = Path(sweep.out) / LOG
    if repair_log(log):
        sys.stderr.write(f"{log}: dropped a torn last line (a run interrupted while writing "
                         "it); that point runs again\n")
    done = read_log(log)
    entries: list[dict | None] = []
    for _, run in points:
        old = done.get(Path(run.out).name)
        reuse = old is not None and old["status"] in ("trained", "skipped")
        entries.append({**old, "reused": True} if reuse else None)

    def finished(i: int, entry: dict) -> None:
        append_log(log, entry)
        entries[i] = entry
        if progress:
            acc = entry.get("test_acc")
            sys.stderr.write(f"{entry['point']}: {entry['status']}"
                             f"{f' test acc {acc:.4f}' if acc is not None else ''}\n")

    todo = [i for i, e in enumerate(entries) if e is None]
    if sweep.executor == "ray":
        _run_on_ray(sweep, [points[i] for i in todo],
                    lambda k, entry: finished(todo[k], entry))
    else:
        for i in track(todo, "sweep runs", total=len(todo), enabled=progress):
            point, run = points[i]
            finished(i, run_point(sweep, point, run))
    return [e for e in entries if e is not None]


def _run_on_ray(sweep: SweepConfig, points: list[tuple[dict[str, Any], RunConfig]],
                finished: Any) -> None:
    """Every point as one Ray task (one CPU, one GPU on cuda); ``finished(k, entry)`` records
    each as it ends. A task that failed after its retries is its point's failed entry."""
    from step.executor import RayPool, error_line, resources
    from step.study._ray_tasks import sweep_point

    body = sweep.model_dump_json(include={"base", "grid", "out"})
    calls = [(body, point, run.model_dump_json(), 1) for point, run in points]
    with RayPool(sweep.address, sweep.retries) as pool:
        for k, entry in pool.run(sweep_point, calls,
                                 [resources(run.device) for _, run in points]):
            if isinstance(entry, BaseException):
                point, run = points[k]
                entry = {"point": point, "key": Path(run.out).name, "status": "failed",
                         "error": error_line(entry)}
            finished(k, entry)
