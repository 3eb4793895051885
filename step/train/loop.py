"""``train(cfg)``: one deterministic, resumable training run, written to ``cfg.out``.

Recipe (the published STEP's, scaled down): AdamW, learning rate warmed up linearly for
``warmup_epochs`` then cosine-decayed to ``lr * min_lr_ratio`` per step, cross-entropy with label
smoothing. Determinism: the model is built under the seed (weights copied from the reference
build, see :mod:`step.train.setup`), torch's RNG is re-seeded before training, and each epoch's
data order is drawn from (seed, epoch); the same config gives bit-identical results.

Model selection uses the validation split only: after every epoch the model is evaluated on
validation, and the best (highest accuracy, then lowest loss, then earliest) is kept. The test
split is evaluated once, at the end, on that checkpoint; it never influences which one.

Peak memory is ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (the process's resident-set high
water mark) after training minus before it. tracemalloc would be cleaner but sees only Python's
own allocator, not torch's tensor memory, so it would report almost nothing. A high-water mark
is per process: compare runs made in separate processes (``step study`` does).
"""

from __future__ import annotations

import math
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from step._io import write_json
from step.data import batches, epoch_order
from step.errors import InputError
from step.train import checkpoint as ckpt
from step.train import distributed, recipe
from step.train.config import RunConfig
from step.train.distributed import Distributed
from step.train.evaluate import evaluate, temporal_probe
from step.train.logging import Scalars, check_tensorboard
from step.train.precision import autocast, grad_scaler
from step.train.setup import (
    build_model,
    data_overrides,
    environment,
    load_data,
    neuron_support,
)

RESULT = "result.json"


def warmup_cosine(total_steps: int, warmup_steps: int, min_ratio: float):
    """lr factor at step k: linear warm-up to 1, then cosine down to ``min_ratio``."""

    def factor(step: int) -> float:
        if warmup_steps and step < warmup_steps:
            return (step + 1) / warmup_steps
        span = max(total_steps - warmup_steps, 1)
        progress = min((step - warmup_steps) / span, 1.0)
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def _better(val: dict, best: dict) -> bool:
    if best.get("epoch") is None:
        return True
    if val["acc"] != best["val_acc"]:
        return val["acc"] > best["val_acc"]
    return val["loss"] < best["val_loss"]


def _maxrss_mb() -> float:
    # Linux reports kilobytes, macOS bytes.
    scale = 1 / 1024 if sys.platform != "darwin" else 1 / 1024**2
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def train(cfg: RunConfig, *, resume: bool = False, progress: bool = False,
          stop_after: int | None = None) -> dict[str, Any]:
    """Train, select on validation, test once; returns (and writes) the result.

    ``stop_after=k`` ends this call after k epochs as if the process were killed (the
    checkpoint is there; ``resume=True`` continues). Its return value is then
    ``{"status": "stopped", "epochs_done": ...}`` and no result.json is written.

    Started by torchrun with several processes, it trains with DistributedDataParallel
    (:mod:`step.train.distributed`); rank 0 returns the result, the others
    ``{"status": "worker", "rank": r}``.
    """
    dist = distributed.from_env(cfg.device)
    try:
        return _train(cfg, dist, resume=resume, progress=progress, stop_after=stop_after)
    finally:
        dist.close()


@dataclass
class _Kit:
    """What one optimiser step needs beyond model and optimiser (DDP, mixing, AMP)."""

    dist: Distributed
    criterion: nn.Module
    mixer: recipe.Mixer | None
    scaler: Any
    drop_last: bool


def _schedule(cfg: RunConfig, steps: int):
    """The LambdaLR factor of the run's learning-rate schedule (``lr_schedule``)."""
    if cfg.lr_schedule == "timm_cosine":
        lrs = recipe.timm_cosine_lrs(
            lr=cfg.lr, epochs=cfg.epochs, cooldown_epochs=cfg.cooldown_epochs,
            warmup_epochs=cfg.warmup_epochs, warmup_lr=cfg.warmup_lr,
            min_lr=cfg.min_lr if cfg.min_lr is not None else cfg.lr * cfg.min_lr_ratio)
        return recipe.epoch_lr_factor(lrs, cfg.lr, steps)
    ratio = cfg.min_lr_ratio if cfg.min_lr is None else cfg.min_lr / cfg.lr
    return warmup_cosine(cfg.epochs * steps, round(cfg.warmup_epochs * steps), ratio)


def _train(cfg: RunConfig, dist: Distributed, *, resume: bool, progress: bool,
           stop_after: int | None) -> dict[str, Any]:
    out = Path(cfg.out)
    check_tensorboard(cfg.log)
    data = load_data(cfg)
    if cfg.augment is not None:
        data = recipe.augment_data(data, cfg.augment, cfg.seed)
    overrides = data_overrides(cfg, data)
    distributed.check_sync_bn(cfg.sync_bn, cfg.device, dist.world_size)
    distributed.check_split(len(data.train), cfg.batch_size, dist.world_size)
    distributed.check_mix_batches(cfg.batch_size, dist.world_size,
                                  cfg.augment is not None and cfg.augment.mixes)
    model, init = build_model(cfg, overrides)
    model = distributed.convert_sync_bn(model, cfg.sync_bn, dist.world_size)
    net = dist.wrap(model, device=cfg.device)
    criterion = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    mixes = cfg.augment is not None and cfg.augment.mixes
    kit = _Kit(dist, recipe.train_criterion(cfg.augment, cfg.label_smoothing),
               recipe.Mixer(cfg.augment, data.num_classes, cfg.label_smoothing, cfg.seed,
                            dist.rank) if mixes else None,
               grad_scaler(cfg.device, cfg.amp), drop_last=mixes)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = (len(data.train) // cfg.batch_size if kit.drop_last
             else math.ceil(len(data.train) / cfg.batch_size))
    if steps == 0:
        raise InputError(f"mixing needs a whole batch: {len(data.train)} training samples do "
                         f"not fill one batch of {cfg.batch_size}; lower --batch-size")
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(cfg, steps))
    identity = cfg.identity()
    out.mkdir(parents=True, exist_ok=True)  # only now: bad input leaves no folder behind
    state: dict[str, Any] = {"epoch": 0, "history": [], "best": {"epoch": None}}
    if resume:
        state = ckpt.load_checkpoint(out, model=model, optimizer=optimizer, scheduler=scheduler,
                                     identity=identity, scaler=kit.scaler)
        if dist.is_main:
            _warn(f"resuming after epoch {state['epoch']} of {cfg.epochs} "
                  f"(from {out / ckpt.CHECKPOINT})")
    eval_kw = {"batch_size": cfg.eval_batch_size, "time_first": data.time_first,
               "criterion": criterion, "device": cfg.device, "amp": cfg.amp}
    rss_before = _maxrss_mb()
    bar = _Progress(progress and dist.is_main, cfg, steps)
    scalars = Scalars(cfg.log, out, enabled=dist.is_main)
    done_now = 0
    with bar:
        for epoch in range(state["epoch"], cfg.epochs):
            if stop_after is not None and done_now >= stop_after:
                return {"status": "stopped", "epochs_done": epoch, "out": str(out),
                        "rank": dist.rank}
            dist.seed_epoch(model, cfg.seed, epoch)
            row = _train_epoch(net, data, epoch, cfg, optimizer, scheduler, bar, kit)
            if math.isfinite(row["train_loss"]) and dist.is_main:
                val = evaluate(model, data.val, **eval_kw)
                row.update(val_loss=val["loss"], val_acc=val["acc"])
            state["history"].append(row)
            bad = _non_finite(row)
            if dist.agree(bad is not None):  # diverged: later epochs cannot recover, stop
                state["epoch"] = epoch + 1
                state["diverged"] = {"epoch": epoch + 1, "reason": f"{bad} (learning rate "
                                     f"{cfg.lr:g} too large?)"}
                if dist.is_main:
                    _warn(f"warning: {cfg.model} diverged in epoch {epoch + 1} ({bad}); "
                          "stopped early, try a smaller --lr")
                break
            if dist.is_main:  # one writer; checkpoints hold the unwrapped model
                if _better(val, state["best"]):
                    state["best"] = {"epoch": epoch + 1, "val_acc": val["acc"],
                                     "val_loss": val["loss"]}
                    ckpt.save_best(out, model, epoch + 1)
                ckpt.save_checkpoint(out, model=model, optimizer=optimizer,
                                     scheduler=scheduler, epoch=epoch + 1,
                                     history=state["history"], best=state["best"],
                                     identity=identity, scaler=kit.scaler)
            state["epoch"] = epoch + 1
            scalars.epoch(row)
            bar.epoch_done(row)
            done_now += 1
    if not dist.is_main:
        return {"status": "worker", "rank": dist.rank}
    memory = {"method": "resource.getrusage(RUSAGE_SELF).ru_maxrss delta (MB)",
              "before_mb": rss_before, "after_mb": _maxrss_mb(),
              "peak_delta_mb": _maxrss_mb() - rss_before}
    if cfg.device.startswith("cuda"):
        memory["cuda_peak_allocated_mb"] = torch.cuda.max_memory_allocated() / 1024**2
    if state["best"]["epoch"] is None:  # diverged in the first epoch: test what it became
        ckpt.save_best(out, model, state["epoch"])
    best_epoch = ckpt.load_best(out, model)
    test = evaluate(model, data.test, rates=True, predictions=True, **eval_kw)
    result = {
        "config": cfg.model_dump(),
        "dataset": {"name": data.name, "layout": data.layout, "sizes": data.sizes(),
                    "sample_shape": list(data.sample_shape), "info": data.info},
        "model": {"name": cfg.model,
                  # serialize_as_any: a neuron field typed NeuronSpec keeps its kind's fields
                  "config": model.config.model_dump(mode="json", serialize_as_any=True),
                  "data_overrides": overrides,
                  "parameters": sum(p.numel() for p in model.parameters())},
        "environment": environment(cfg.backend, cfg.seed),
        "neuron_support": neuron_support(model, cfg.backend),
        "initial_weights": init,
        "selection": {"split": "val", "rule": "highest val acc, then lowest val loss, then "
                      "earliest epoch", "best_epoch": best_epoch, **state["best"]},
        "test": {"acc": test["acc"], "loss": test["loss"], "n": test["n"],
                 "predictions": test["predictions"], "labels": test["labels"]},
        "firing_rates": test["firing_rates"],
        "history": state["history"],
        "time_per_epoch_s": _mean([r["train_time_s"] for r in state["history"]]),
        "memory": memory,
    }
    if "diverged" in state:
        result["diverged"] = state["diverged"]
    if dist.active:
        result["distributed"] = dist.describe()
    result["energy"] = _energy(model, data, cfg)
    if cfg.probe:
        result["temporal_probe"] = temporal_probe(
            model, data.test, T=int(getattr(model.config, "T", 1)),
            input_T=data.sample_shape[0] if data.time_first else None, **eval_kw)
    write_json(out / RESULT, result)
    scalars.test(result["test"], best_epoch)
    scalars.close()
    _plot_curve(out / "learning_curve.png", state["history"], cfg)
    return result


def _train_epoch(net: nn.Module, data: Any, epoch: int, cfg: RunConfig, optimizer: Any,
                 scheduler: Any, bar: _Progress, kit: _Kit) -> dict[str, Any]:
    """One epoch over this process's shard of every global batch (all of it in one process)."""
    net.train()
    order = epoch_order(len(data.train), cfg.seed, epoch)
    if kit.drop_last:  # timm's training loader drops the incomplete last batch when mixing
        order = order[:len(order) // cfg.batch_size * cfg.batch_size]
    if hasattr(data.train, "set_epoch"):  # augmentation draws are a function of the epoch
        data.train.set_epoch(epoch)
    loss_sum, correct, n = 0.0, 0, 0
    start = time.perf_counter()
    for k, (index, n_global) in enumerate(kit.dist.shards(order, cfg.batch_size)):
        x, y = next(batches(data.train, len(index), time_first=data.time_first, order=index))
        x, y = x.to(cfg.device), y.to(cfg.device)
        if kit.mixer is not None:  # mixed images, soft targets; accuracy stays on y
            x, target = kit.mixer(x, y, epoch, k)
        else:
            target = y
        optimizer.zero_grad(set_to_none=True)
        with autocast(cfg.device, cfg.amp):
            logits = net(x)
            loss = kit.criterion(logits, target)
        weight = kit.dist.loss_weight(len(y), n_global)
        scaled = loss if weight == 1 else loss * weight  # DDP's average = the global batch's
        if kit.scaler is not None:
            kit.scaler.scale(scaled).backward()
            kit.scaler.step(optimizer)
            kit.scaler.update()
        else:
            scaled.backward()
            optimizer.step()
        scheduler.step()
        loss_sum += float(loss.detach()) * len(y)
        correct += int((logits.argmax(1) == y).sum())
        n += len(y)
        bar.step()
        if not math.isfinite(loss_sum) and not kit.dist.active:
            break  # diverged: the caller stops the run (under DDP every rank goes on together)
    loss_sum, correct, n = kit.dist.sum([loss_sum, correct, n])
    return {"epoch": epoch + 1, "train_loss": loss_sum / n, "train_acc": correct / n,
            "lr": optimizer.param_groups[0]["lr"], "train_time_s": time.perf_counter() - start}


def _energy(model: nn.Module, data: Any, cfg: RunConfig) -> dict[str, Any]:
    """step.energy's estimate on the test split.

    A failure of the estimate is recorded as ``{"error": ...}``: it must not cost the run.
    """
    from step.energy import estimate
    from step.train.evaluate import fresh_encoders

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), fresh_encoders(model):
            xs = (x.to(cfg.device) for x, _ in batches(data.test, cfg.eval_batch_size,
                                                      time_first=data.time_first))
            report = estimate(model, xs, "45nm", time_first=data.time_first)
        return {"profile": "45nm", "total_pj": report.total_pj,
                "break_even_rate": report.break_even_rate, "split": "test"}
    except Exception as err:  # the energy model is another component; report, don't crash
        return {"error": f"{type(err).__name__}: {err}"}
    finally:
        model.train(was_training)


def _non_finite(row: dict[str, Any]) -> str | None:
    """Which loss of an epoch's row is NaN or infinite, in words (None if both are finite)."""
    for key in ("train_loss", "val_loss"):
        if key in row and not math.isfinite(row[key]):
            return f"{key.replace('_', ' ')} {row[key]}"
    return None


def _warn(text: str) -> None:
    sys.stderr.write(text + "\n")


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


class _Progress:
    """A rich progress bar on stderr (one task per run), or nothing."""

    def __init__(self, enabled: bool, cfg: RunConfig, steps: int) -> None:
        self.enabled = enabled
        self.total = cfg.epochs * steps
        self.label = f"{cfg.model} on {cfg.backend} (seed {cfg.seed})"
        self.progress: Any = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import Progress

            self.progress = Progress(console=Console(stderr=True), transient=False)
            self.progress.start()
            self.task = self.progress.add_task(self.label, total=self.total)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def step(self) -> None:
        if self.progress is not None:
            self.progress.advance(self.task)

    def epoch_done(self, row: dict) -> None:
        if self.progress is not None:
            self.progress.console.print(
                f"epoch {row['epoch']}: train loss {row['train_loss']:.4f} "
                f"acc {row['train_acc']:.3f} | val loss {row['val_loss']:.4f} "
                f"acc {row['val_acc']:.3f} | {row['train_time_s']:.1f} s")


def _plot_curve(path: Path, history: list[dict], cfg: RunConfig) -> None:
    from step._io import save_figure

    def draw(fig: Any) -> None:
        ax_l, ax_a = fig.subplots(1, 2)
        ep = [r["epoch"] for r in history]
        ax_l.plot(ep, [r["train_loss"] for r in history], label="train")
        ax_l.plot(ep, [r.get("val_loss", math.nan) for r in history], label="val")
        ax_a.plot(ep, [r["train_acc"] for r in history], label="train")
        ax_a.plot(ep, [r.get("val_acc", math.nan) for r in history], label="val")
        ax_l.set(xlabel="epoch", ylabel="loss")
        ax_a.set(xlabel="epoch", ylabel="accuracy")
        ax_a.legend()
        fig.suptitle(f"{cfg.model} / {cfg.dataset} / {cfg.backend} / seed {cfg.seed}")

    save_figure(path, draw, figsize=(8, 3.2))
