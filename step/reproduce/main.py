"""Run a reproduction end to end: arms, metrics, rows, reports.

:func:`reproduce` is what ``step reproduce step-paper`` calls. ``OUT/reproduce-config.json``
records the budget the runs were made with; a rerun under another budget (other epochs or
data) refuses to mix its runs into the folder, like a study (seeds may grow: each run is
matched by its own config).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from step.errors import InputError
from step.reproduce.paper import BUDGETS, Budget, all_arms, findings
from step.reproduce.rows import build_rows
from step.reproduce.runs import metrics, run_arms

#: The budget the runs of an output folder were made with.
CONFIG = "reproduce-config.json"
FIRST_SEED = 42

HOW_TO_READ = (
    "Each row tests one conclusion of the STEP paper on the embedded 8x8 digits. 'Ours' gives, "
    "for each paired test, the mean over seeds of the per-seed difference (accuracy in points, "
    "energy as 100 x log ratio) and its 95% t confidence interval; the same seed gives the same "
    "initial weights (where shapes agree) and data order to both sides. A 'greater' claim "
    "agrees when the paired t test rejects a zero difference in the claimed direction and "
    "disagrees when the difference is significant the other way or shown (TOST) to be smaller "
    "than the margin (1 point; 5% for energy); an 'equivalent' claim agrees when TOST shows the "
    "difference inside the margin and disagrees when it is significant and at least the "
    "margin. A row agrees when all its tests agree, disagrees when any disagrees, and is "
    "otherwise inconclusive at this many seeds."
)


def budget_of(name: str, seeds: int | None) -> Budget:
    """The named budget, with ``seeds`` overriding its number of seeds."""
    from dataclasses import replace

    b = BUDGETS[name]
    if seeds is not None:
        if seeds < 1:
            raise InputError(f"--seeds must be at least 1, got {seeds}")
        b = replace(b, seeds=seeds)
    return b


def check_out(out: Path, budget: Budget) -> None:
    """Resume a folder made under the same budget (any number of seeds); refuse another's."""
    settings = {k: v for k, v in budget.__dict__.items() if k not in ("seeds", "note")}
    settings = json.loads(json.dumps(settings))  # tuples -> lists, as read back
    path = out / CONFIG
    if path.is_file():
        saved = json.loads(path.read_text())
        if saved != settings:
            changed = sorted(k for k in set(saved) | set(settings)
                             if saved.get(k) != settings.get(k))
            raise InputError(
                f"--out {out} holds a reproduction made with another budget "
                f"({', '.join(changed)}): rerun with the same options to resume it, or choose "
                "another --out")
        return
    from step._io import write_json

    write_json(path, settings)


def reproduce(out: Path, budget: Budget, *, train: bool = True, progress: bool = False,
              command: str = "step reproduce step-paper",
              part: tuple[int, int] | None = None, jobs: int = 1) -> dict[str, Any]:
    """Train what is missing (unless ``train`` is false) and build the report dict.

    ``part`` (i, n) trains only every n-th arm starting at the i-th (1-based), so that n
    processes can share one output folder without training the same run twice; ``jobs`` > 1
    starts that many such processes (``--part i/jobs``) and waits for them.
    """
    from step import __version__
    from step.reproduce.paper import __doc__ as choices_doc

    check_out(out, budget)
    _threads()
    fs = findings(budget)
    arms = all_arms(fs)
    seeds = [FIRST_SEED + i for i in range(budget.seeds)]
    started = time.perf_counter()
    if part is not None and train:
        i, n = part
        run_arms(arms[i - 1::n], seeds, out, train=True, progress=progress)
    elif jobs > 1 and train:
        run_parts(out, budget, jobs, progress)
    entries = run_arms(arms, seeds, out, train=train and part is None and jobs == 1,
                       progress=progress)
    table: dict[str, dict[int, dict[str, Any]]] = {}
    missing = []
    for arm in arms:
        got = {}
        for seed, entry in entries[arm.name].items():
            m = metrics(entry, arm)
            if m is not None:
                got[seed] = m
        table[arm.name] = got
        if len(got) < len(seeds):
            lacking = sorted(set(seeds) - set(got))
            reasons = {e.get("status", "missing") + (f": {e['error']}" if e.get("error") else "")
                       for s, e in entries[arm.name].items() if s in lacking}
            missing.append(f"{arm.name}: {len(got)} of {len(seeds)} seeds "
                           f"({'; '.join(sorted(reasons))})")
    rows = build_rows(fs, table)
    trained = sum(len(v) for v in table.values())
    results = [Path(e["out"]) / "result.json" for arm in arms for e in entries[arm.name].values()
               if e.get("status") == "trained"]
    span = (max(p.stat().st_mtime for p in results) - (out / CONFIG).stat().st_mtime
            if results else 0.0)
    meta = {
        "title": "STEP paper (arXiv 2505.11151): ablations and temporal modelling",
        "command": command, "budget": budget.describe(), "budget_name": budget.name,
        "seeds": seeds, "runs_expected": len(arms) * len(seeds), "runs_trained": trained,
        "arms": [{"name": a.name, "config": a.config, "probe": a.probe, "energy": a.energy}
                 for a in arms],
        "missing": missing, "wall_s": time.perf_counter() - started,
        "campaign_s": span, "train_s": sum(m["time_per_epoch_s"] * budget.epochs
                                           for v in table.values() for m in v.values()),
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "step_version": __version__, "how_to_read": HOW_TO_READ,
        "choices": _choices(choices_doc or ""),
    }
    return {"meta": meta, "rows": rows}


def _choices(doc: str) -> str:
    """The list of unstated choices from :mod:`step.reproduce.paper`'s docstring."""
    import textwrap

    return textwrap.dedent(doc.split("in the report):", 1)[-1]).strip()


def _threads() -> None:
    """One torch thread unless ``STEP_TORCH_THREADS`` says otherwise: these models are so small
    that a step is all overhead, and two threads on two busy cores made a training step 30
    times slower (1.8 s instead of 0.05 s of CPU, measured); run ``--part`` processes side by
    side to use more cores."""
    import os

    import torch

    torch.set_num_threads(int(os.environ.get("STEP_TORCH_THREADS", "1")))


def run_parts(out: Path, budget: Budget, jobs: int, progress: bool) -> None:
    """Train the arms in ``jobs`` processes (``step reproduce ... --part i/jobs``), each with
    one torch thread; they share the run log, so a crash of any loses at most its run in
    progress. Ctrl-C or SIGTERM stops them all (the study's :class:`Workers`)."""
    import os
    import sys
    from concurrent.futures import ThreadPoolExecutor

    from step.study.workers import Workers, sigterm_as_interrupt, worker_command

    if budget.name not in BUDGETS or BUDGETS[budget.name].findings != budget.findings:
        raise InputError(f"--jobs needs a named budget ({', '.join(BUDGETS)}); use --jobs 1")
    flag = [] if budget.name == "full" else [f"--{budget.name}"]
    workers = Workers()

    def one(i: int) -> None:
        cmd = worker_command("step", "reproduce", "step-paper", "--out", str(out),
                             "--part", f"{i}/{jobs}", "--seeds", str(budget.seeds), "--quiet",
                             *flag)
        code, err = workers.run(cmd, dict(os.environ))
        if progress or code != 0:
            last = [ln for ln in err.strip().splitlines() if ln.strip()][-1:]
            sys.stderr.write(f"part {i}/{jobs} finished (exit {code})"
                             + (f": {last[0]}" if code and last else "") + "\n")

    with sigterm_as_interrupt(), ThreadPoolExecutor(jobs) as pool:
        try:
            list(pool.map(one, range(1, jobs + 1)))
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            workers.terminate_all()
            raise
