"""Training the arms through the sweep's run log, and reading each run's metrics back.

Every (arm, seed) is one point of a one-axis sweep (``grid: {seed: [...]}``) whose base is the
arm's run config, all in one output folder: :func:`step.study.sweep.run_sweep` appends each
finished run to ``OUT/runs.jsonl`` under the hash of its run config at once, so a crash loses
at most the run in progress, a rerun skips every run already trained, and an arm two findings
share (the baseline) trains once.

Energy per network is not part of a training result (the run records only the SNN's total):
for the arms that need it, it is measured once from the run's best checkpoint on the test split
and kept beside the run as ``energy.json``, so a rerun reads it back.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from step.reproduce.paper import Arm
from step.study.sweep import LOG, SweepConfig, point_config, read_log, run_sweep

#: The energy measurement beside each run that needs one.
ENERGY = "energy.json"


def arm_sweep(arm: Arm, seeds: list[int], out: Path) -> SweepConfig:
    """The arm as a sweep over seeds, writing into the shared run log of ``out``."""
    return SweepConfig(base={**arm.config, "probe": arm.probe}, grid={"seed": seeds},
                       out=str(out))


def run_arms(arms: list[Arm], seeds: list[int], out: Path, *, train: bool = True,
             progress: bool = False) -> dict[str, dict[int, dict[str, Any]]]:
    """Train what is missing (unless ``train`` is false) and return arm name -> seed -> log
    entry (only runs that finished training; failures are returned with their error)."""
    done = read_log(out / LOG)
    table: dict[str, dict[int, dict[str, Any]]] = {}
    for i, arm in enumerate(arms):
        sweep = arm_sweep(arm, seeds, out)
        if train:
            if progress:
                sys.stderr.write(f"[{i + 1}/{len(arms)}] {arm.name}\n")
            entries = run_sweep(sweep, progress=progress)
        else:
            entries = [done.get(Path(point_config(sweep, p).out).name, {"point": p,
                                                                         "status": "missing"})
                       for p in sweep.points()]
        table[arm.name] = {int(e["point"]["seed"]): e for e in entries}
    return table


def metrics(entry: dict[str, Any], arm: Arm) -> dict[str, Any] | None:
    """What the findings read from one finished run (None if it did not train)."""
    if entry.get("status") != "trained":
        return None
    run_dir = Path(entry["out"])
    result = json.loads((run_dir / "result.json").read_text())
    m: dict[str, Any] = {"acc": result["test"]["acc"], "rate": result["firing_rates"]["mean"],
                         "val_acc": result["selection"]["val_acc"],
                         "time_per_epoch_s": result["time_per_epoch_s"],
                         "T": result["model"]["config"].get("T")}
    probe = result.get("temporal_probe")
    if probe:
        m["probe"] = {k: v["acc"] for k, v in probe.items()
                      if isinstance(v, dict) and "acc" in v}
    if arm.energy:
        m["energy"] = energy_of(run_dir)
    return m


def energy_of(run_dir: Path) -> dict[str, Any]:
    """pJ per inference of every network of :mod:`step.energy` for the run's best checkpoint
    on its test split (45 nm profile), measured once and cached in ``RUN_DIR/energy.json``."""
    cached = run_dir / ENERGY
    if cached.is_file():
        return json.loads(cached.read_text())
    import torch

    from step._io import write_json
    from step.data import batches
    from step.energy import estimate
    from step.train import RunConfig
    from step.train.checkpoint import load_best
    from step.train.evaluate import fresh_encoders
    from step.train.setup import build_model, load_data

    result = json.loads((run_dir / "result.json").read_text())
    cfg = RunConfig.parse(result["config"], what=str(run_dir / "result.json"))
    data = load_data(cfg)
    model, _ = build_model(cfg, result["model"]["data_overrides"])
    load_best(run_dir, model)
    model.eval()
    with torch.no_grad(), fresh_encoders(model):
        xs = (x for x, _ in batches(data.test, cfg.eval_batch_size, time_first=data.time_first))
        report = estimate(model, xs, "45nm", time_first=data.time_first)
    d = report.to_dict()
    out = {"profile": "45nm", "total_pj": d["total_pj"], "spike_rate": report.spike_rate,
           "break_even_rate": d["break_even_rate"]}
    write_json(cached, out)
    return out
