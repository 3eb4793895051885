"""``train_dense(cfg)``: one deterministic, resumable segmentation or detection run.

The recipe and its guarantees are classification's (:mod:`step.train.loop`): AdamW, the
run's learning-rate schedule (``lr_schedule``), weights copied from the reference build (head
included), data order from (seed, epoch), a checkpoint after every epoch, the best epoch
chosen on the validation split only (highest ``task.score``, then lowest validation loss where
the task has one, then earliest), the test split evaluated once on it. What differs is the
task's: network, loss and scores (:mod:`step.tasks.base`). Firing rates (heads included) and
the energy estimate are measured on the test split as for classification. One process only:
the classification loop's DDP, mixed precision, augmentation and TensorBoard are not wired in
(a run that asks for them is refused, see ``RunConfig``).
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from step._io import write_json
from step.data import batches, dataset_entry, epoch_order
from step.errors import InputError
from step.tasks.base import DenseTask, get_task
from step.train import checkpoint as ckpt
from step.train.config import RunConfig
from step.train.evaluate import FiringRates, fresh_encoders
from step.train.loop import (
    RESULT,
    _energy,
    _maxrss_mb,
    _mean,
    _non_finite,
    _Progress,
    _schedule,
    _warn,
)
from step.train.setup import build_model, data_overrides, environment, load_data, neuron_support


def check_task_data(cfg: RunConfig) -> None:
    """One line when the dataset's targets are not the task's (digits for segmentation)."""
    entry = dataset_entry(cfg.dataset)
    if entry.task != cfg.task:
        from step.data import list_datasets

        fits = [n for n in list_datasets() if dataset_entry(n).task == cfg.task]
        raise InputError(f"dataset {cfg.dataset!r} is for {entry.task}, not {cfg.task}: use "
                         f"--dataset {' / '.join(fits)}")


def _evaluate(task: DenseTask, model: nn.Module, data: Any, cfg: RunConfig, num_classes: int,
              rates: bool = False) -> dict[str, Any]:
    was_training = model.training
    model.eval()
    monitor = FiringRates(model) if rates else None
    try:
        with fresh_encoders(model):
            if monitor is None:
                return task.evaluate(model, data, cfg, num_classes)
            with monitor:
                out = task.evaluate(model, data, cfg, num_classes)
            return {**out, "firing_rates": monitor.summary()}
    finally:
        model.train(was_training)


def _better(task: DenseTask, val: dict, best: dict) -> bool:
    if best.get("epoch") is None:
        return True
    score, old = val[task.score], best[f"val_{task.score}"]
    score = -1.0 if score is None else score
    old = -1.0 if old is None else old
    if score != old:
        return score > old
    return "loss" in val and val["loss"] < best.get("val_loss", math.inf)


def train_dense(cfg: RunConfig, *, resume: bool = False, progress: bool = False,
                stop_after: int | None = None) -> dict[str, Any]:
    """Train a dense task; returns (and writes ``OUT/result.json``) the result, or
    ``{"status": "stopped", ...}`` after ``stop_after`` epochs (see :func:`step.train.train`)."""
    task = get_task(cfg.task)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise InputError(f"task {cfg.task} trains in one process, not under torchrun / --nproc")
    check_task_data(cfg)
    out = Path(cfg.out)
    data = load_data(cfg)
    overrides = data_overrides(cfg, data)
    model, init = build_model(cfg, overrides, wrap=lambda b: task.wrap(b, cfg, data))
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = math.ceil(len(data.train) / cfg.batch_size)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(cfg, steps))
    identity = cfg.identity()
    out.mkdir(parents=True, exist_ok=True)
    state: dict[str, Any] = {"epoch": 0, "history": [], "best": {"epoch": None}}
    if resume:
        state = ckpt.load_checkpoint(out, model=model, optimizer=optimizer, scheduler=scheduler,
                                     identity=identity)
        _warn(f"resuming after epoch {state['epoch']} of {cfg.epochs} "
              f"(from {out / ckpt.CHECKPOINT})")
    rss_before = _maxrss_mb()
    bar = _DenseProgress(progress, cfg, steps, task.score)
    done_now = 0
    with bar:
        for epoch in range(state["epoch"], cfg.epochs):
            if stop_after is not None and done_now >= stop_after:
                return {"status": "stopped", "epochs_done": epoch, "out": str(out)}
            row = _train_epoch(task, model, data, epoch, cfg, optimizer, scheduler, bar)
            val: dict[str, Any] = {}
            if math.isfinite(row["train_loss"]):
                val = _evaluate(task, model, data.val, cfg, data.num_classes)
                row.update({f"val_{k}": v for k, v in val.items()
                            if k in ("loss", task.score, "pixel_acc", "map_50")})
            state["history"].append(row)
            bad = _non_finite(row)
            if bad:
                state["epoch"] = epoch + 1
                state["diverged"] = {"epoch": epoch + 1, "reason": f"{bad} (learning rate "
                                     f"{cfg.lr:g} too large?)"}
                _warn(f"warning: {cfg.model} diverged in epoch {epoch + 1} ({bad}); stopped "
                      "early, try a smaller --lr")
                break
            if _better(task, val, state["best"]):
                state["best"] = {"epoch": epoch + 1, f"val_{task.score}": val[task.score],
                                 **({"val_loss": val["loss"]} if "loss" in val else {})}
                ckpt.save_best(out, model, epoch + 1)
            state["epoch"] = epoch + 1
            ckpt.save_checkpoint(out, model=model, optimizer=optimizer, scheduler=scheduler,
                                 epoch=epoch + 1, history=state["history"], best=state["best"],
                                 identity=identity)
            bar.epoch_done(row)
            done_now += 1
    memory = {"method": "resource.getrusage(RUSAGE_SELF).ru_maxrss delta (MB)",
              "before_mb": rss_before, "after_mb": _maxrss_mb(),
              "peak_delta_mb": _maxrss_mb() - rss_before}
    if state["best"]["epoch"] is None:
        ckpt.save_best(out, model, state["epoch"])
    best_epoch = ckpt.load_best(out, model)
    test = _evaluate(task, model, data.test, cfg, data.num_classes, rates=True)
    rates = test.pop("firing_rates")
    result = {
        "task": cfg.task,
        "config": cfg.model_dump(),
        "dataset": {"name": data.name, "layout": data.layout, "sizes": data.sizes(),
                    "sample_shape": list(data.sample_shape), "num_classes": data.num_classes,
                    "info": data.info},
        "model": {"name": cfg.model, "head": task.head(cfg),
                  "config": model.config.model_dump(mode="json", serialize_as_any=True),
                  "data_overrides": overrides,
                  "parameters": sum(p.numel() for p in model.parameters())},
        "environment": environment(cfg.backend, cfg.seed),
        "neuron_support": neuron_support(model, cfg.backend),
        "initial_weights": init,
        "selection": {"split": "val", "rule": f"highest val {task.score}, then lowest val "
                      "loss (if any), then earliest epoch", "best_epoch": best_epoch,
                      **state["best"]},
        "test": test,
        "firing_rates": rates,
        "history": state["history"],
        "time_per_epoch_s": _mean([r["train_time_s"] for r in state["history"]]),
        "memory": memory,
    }
    if "diverged" in state:
        result["diverged"] = state["diverged"]
    result["energy"] = _energy(model, data, cfg)
    write_json(out / RESULT, result)
    return result


def _train_epoch(task: DenseTask, model: nn.Module, data: Any, epoch: int, cfg: RunConfig,
                 optimizer: Any, scheduler: Any, bar: _Progress) -> dict[str, Any]:
    model.train()
    order = epoch_order(len(data.train), cfg.seed, epoch)
    loss_sum, n = 0.0, 0
    start = time.perf_counter()
    for x, y in batches(data.train, cfg.batch_size, time_first=False, order=order):
        x, y = x.to(cfg.device), task.targets_to(y, cfg.device)
        optimizer.zero_grad(set_to_none=True)
        loss = task.loss(model, x, y)
        loss.backward()
        optimizer.step()
        scheduler.step()
        loss_sum += float(loss.detach()) * len(x)
        n += len(x)
        bar.step()
        if not math.isfinite(loss_sum):
            break
    return {"epoch": epoch + 1, "train_loss": loss_sum / max(n, 1),
            "lr": optimizer.param_groups[0]["lr"], "train_time_s": time.perf_counter() - start}


class _DenseProgress(_Progress):
    """Classification's progress bar; the epoch line names the task's score."""

    def __init__(self, enabled: bool, cfg: RunConfig, steps: int, score: str) -> None:
        super().__init__(enabled, cfg, steps)
        self.score = score

    def epoch_done(self, row: dict) -> None:
        if self.progress is not None:
            val = row.get(f"val_{self.score}")
            shown = "n/a" if val is None else f"{val:.4f}"
            self.progress.console.print(
                f"epoch {row['epoch']}: train loss {row['train_loss']:.4f} | val "
                f"{self.score} {shown} | {row['train_time_s']:.1f} s")
