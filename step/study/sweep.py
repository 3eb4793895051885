"""Sweeps: STEP's ablations as a grid, one JSON line per finished run, resumable by design.

A sweep file holds a ``base`` run config and a ``grid`` of axes; the sweep runs their product::

    base: {model: spikformer, preset: tiny, dataset: digits, epochs: 3}
    grid:
      neuron: [lif, if]                 # model config override {"kind": ...}
      surrogate: [atan, sigmoid]
      encoder: [direct, rate]
      attention: [ssa]                  # model config fields (spikformer: attention, embedding)
      backend: [reference, snntorch]    # run config fields (backend, seed, lr, ...)
    out: runs/sweep

An axis named like a run-config field (``backend``, ``seed``, ``lr``...) sets that field; any
other axis is a model-config override (``neuron``, ``surrogate`` and ``encoder`` given as a
string become ``{"kind": value}``). Every finished run (trained, failed, or skipped because the
backend cannot compute the spec) is appended to ``OUT/runs.jsonl`` at once, so a crash loses
nothing; a rerun skips the points whose line says trained or skipped and retries failures.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from pathlib import Path
from typing import Any

from pydantic import Field

from step.errors import StepError
from step.specs import Spec
from step.train.config import RunConfig

KIND_AXES = ("neuron", "surrogate", "encoder", "attn_neuron")
LOG = "runs.jsonl"


class SweepConfig(Spec):
    """A base run config and the grid of axes to vary over it."""

    base: dict[str, Any] = Field(default_factory=dict, description="RunConfig fields")
    grid: dict[str, list[Any]] = Field(description="axis -> values; the sweep is the product")
    out: str = "runs/sweep"
    isolate: bool = Field(False, description="each run in its own process")

    def points(self) -> list[dict[str, Any]]:
        axes = list(self.grid)
        return [dict(zip(axes, combo, strict=True))
                for combo in itertools.product(*(self.grid[a] for a in axes))]


def point_config(sweep: SweepConfig, point: dict[str, Any]) -> RunConfig:
    """The run config of one grid point (validated; a bad value raises SpecError)."""
    data = dict(sweep.base)
    overrides = dict(data.get("model_overrides") or {})
    for axis, value in point.items():
        if axis in RunConfig.model_fields:
            data[axis] = value
        else:
            overrides[axis] = {"kind": value} if axis in KIND_AXES and isinstance(value, str) \
                else value
    data["model_overrides"] = overrides
    data["out"] = str(Path(sweep.out) / "runs" / run_key(data))
    data.setdefault("probe", False)
    return RunConfig.parse(data, what=f"sweep point {point}")


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
        done[entry["key"]] = entry
    return done


def append_log(path: Path, entry: dict) -> None:
    """One line, flushed and synced before the next run starts."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps(entry) + "\n")
        f.flush()
        os.fsync(f.fileno())


def _support_skip(run: RunConfig) -> str | None:
    from step.study.config import StudyConfig
    from step.study.runner import role_specs, support_of

    study = StudyConfig(model=run.model, preset=run.preset, model_overrides=run.model_overrides)
    _, reason = support_of(run.backend, role_specs(study))
    return reason


def resolved_config(run: RunConfig) -> dict[str, Any]:
    """The model config the point builds, every field resolved (JSON-ready): two entries'
    configs compared field by field show exactly what an axis changed."""
    from step.models import get_config

    config = get_config(run.model, run.preset, **run.model_overrides)
    return config.model_dump(mode="json", serialize_as_any=True)  # subclass fields too


def run_point(sweep: SweepConfig, point: dict[str, Any]) -> dict[str, Any]:
    """Train one point and describe it as a log entry (never raises for a bad point)."""
    from step.study.runner import run_one

    entry: dict[str, Any] = {"point": point}
    try:
        run = point_config(sweep, point)
        entry["key"] = Path(run.out).name
        entry["model_config"] = resolved_config(run)
        reason = _support_skip(run)
    except StepError as err:
        entry.update(key=run_key({**sweep.base, **point}), status="failed", error=str(err))
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
    return entry


def run_sweep(sweep: SweepConfig, progress: bool = False) -> list[dict]:
    """Run every point not yet done; returns the log entries of all points, in grid order."""
    log = Path(sweep.out) / LOG
    done = read_log(log)
    entries = []
    for point in sweep.points():
        try:
            key = Path(point_config(sweep, point).out).name
        except StepError:
            key = run_key({**sweep.base, **point})
        old = done.get(key)
        if old is not None and old["status"] in ("trained", "skipped"):
            entries.append({**old, "reused": True})
            continue
        entry = run_point(sweep, point)
        append_log(log, entry)
        entries.append(entry)
        if progress:
            import sys

            acc = entry.get("test_acc")
            sys.stderr.write(f"{point}: {entry['status']}"
                             f"{f' test acc {acc:.4f}' if acc is not None else ''}\n")
    return entries
