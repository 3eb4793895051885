"""``step train``: one deterministic, resumable training run.

Example::

    step train --model spiking_mlp --preset tiny --dataset digits --epochs 5 --out runs/mlp
    step train --config run.yaml --resume          # continue a killed run where it stopped
    step train --nproc 2 --model spiking_mlp ...   # DistributedDataParallel, via torchrun
    step train --recipe step-cifar --dataset cifar10 --data-root DATA --amp fp16 --device cuda

Writes ``OUT/result.json`` (metrics, environment, support levels, firing rates, temporal probe,
learning curve), ``OUT/learning_curve.png``, ``OUT/checkpoint.pt`` (each epoch) and
``OUT/best.pt`` (best on validation).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from step._io import dumps
from step.cli.exit_codes import ExitCode
from step.errors import InputError, StepError

#: Flags that map one to one onto RunConfig fields (None = not given, the file/default wins).
RUN_FLAGS = ("model", "preset", "dataset", "backend", "epochs", "seed", "batch_size", "lr",
             "out", "data_root", "img_size", "train_subset", "eval_subset", "device", "recipe",
             "amp", "log", "sync_bn")


def add_run_flags(p: argparse.ArgumentParser, *, with_backend: bool = True) -> None:
    """The run-config flags shared by train, study and probe."""
    p.add_argument("--model", help="model name (see step.models.list_models())")
    p.add_argument("--preset", help="model preset (default: the model's default)")
    p.add_argument("--dataset", help="dataset name: digits, digits_events, digits_seq, "
                   "digits_pseq, cifar10, cifar10_seq, cifar100, mnist_seq, mnist_pseq, "
                   "nmnist, cifar10dvs, dvsgesture")
    if with_backend:
        p.add_argument("--backend", help="backend that builds the neurons (default reference)")
    p.add_argument("--epochs", type=int, help="training epochs (default 10)")
    p.add_argument("--batch-size", type=int, help="training batch size (default 64)")
    p.add_argument("--lr", type=float, help="peak learning rate (AdamW)")
    p.add_argument("--data-root", help="folder holding a real dataset")
    p.add_argument("--img-size", type=int, help="resize images (default: the model's size)")
    p.add_argument("--train-subset", type=int, help="use only the first N training samples")
    p.add_argument("--eval-subset", type=int, help="use only the first N val/test samples")
    p.add_argument("--device", help="torch device (default cpu)")
    p.add_argument("--config", metavar="FILE.yaml", help="run config file (flags override it)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="model config override (repeatable): neuron.tau=3, surrogate=sigmoid")


def flags_of(args: argparse.Namespace, names: tuple[str, ...] = RUN_FLAGS) -> dict[str, Any]:
    return {n: getattr(args, n, None) for n in names}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train one model on one backend (deterministic, resumable)",
        description="Train a model with AdamW, warm-up + cosine schedule and label smoothing; "
        "pick the checkpoint on the validation split, test once, write OUT/result.json. "
        "Example: step train --model spiking_mlp --preset tiny --dataset digits --epochs 5",
    )
    add_run_flags(p)
    p.add_argument("--seed", type=int, help="seed of weights, data order, dropout (default 42)")
    p.add_argument("--out", help="output folder (default runs/train)")
    p.add_argument("--resume", action="store_true",
                   help="continue from OUT/checkpoint.pt (same config required)")
    p.add_argument("--overwrite", action="store_true",
                   help="train again into an OUT that already holds a run")
    p.add_argument("--stop-after", type=int, metavar="N",
                   help="stop after N epochs of this call, as if killed (to test --resume)")
    p.add_argument("--recipe", help="training recipe: step-cifar (the published STEP's: "
                   "timm RandAugment, mixup, random erasing, warm-up + cosine, 410 epochs); "
                   "flags and the config file override its values")
    p.add_argument("--amp", choices=("bf16", "fp16"),
                   help="mixed precision via torch.autocast (fp16 with a gradient scaler)")
    p.add_argument("--log", choices=("tensorboard",),
                   help="also write TensorBoard scalars to OUT/tensorboard")
    p.add_argument("--nproc", type=int, metavar="N",
                   help="train with N processes (DistributedDataParallel, launched with "
                   "torchrun; gloo on CPU, nccl and one GPU each on CUDA); --batch-size stays "
                   "the global batch")
    p.add_argument("--sync-bn", action="store_true", default=None,
                   help="with --nproc on GPUs: BatchNorm statistics over all processes")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print result.json to stdout")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from step._io import output_dir
    from step.train import load_run_config, train
    from step.train.logging import check_tensorboard

    cfg = load_run_config(args.config, flags_of(args), args.sets)
    output_dir(cfg.out)
    check_tensorboard(cfg.log)
    if args.resume and args.overwrite:
        raise InputError("--resume continues the run in --out, --overwrite starts it again: "
                         "give one of them")
    finished = None if args.overwrite else previous_run(cfg, resume=args.resume)
    if finished is not None:
        print(f"{cfg.out} already holds this run, finished (test acc "
              f"{finished['test']['acc']:.4f}): nothing to do (--overwrite trains it again)",
              file=sys.stderr if args.json else sys.stdout)
        result = finished
    elif launches(args):  # checked above, in this one process; torchrun runs the rest
        from step.train.distributed import launch

        return launch(getattr(args, "argv", None) or [], args.nproc, cfg)
    else:
        result = train(cfg, resume=args.resume, progress=not args.quiet,
                       stop_after=args.stop_after)
    if result.get("status") == "worker" or result.get("rank", 0) != 0:
        return ExitCode.OK  # another DDP process: rank 0 reports
    if result.get("status") == "stopped":
        print(f"stopped after {result['epochs_done']} epochs; continue with --resume "
              f"(checkpoint in {result['out']})")
        return ExitCode.OK
    if args.json:
        print(dumps(result))
    else:
        render(result, cfg.out)
    return ExitCode.CHECK_FAILED if "diverged" in result else ExitCode.OK


def launches(args: argparse.Namespace) -> bool:
    """Whether this call starts torchrun (``--nproc N > 1``, not already under torchrun)."""
    import os

    if args.nproc is None:
        return False
    if args.nproc < 1:
        raise InputError(f"--nproc must be at least 1, got {args.nproc}")
    return args.nproc > 1 and "WORLD_SIZE" not in os.environ


def previous_run(cfg: Any, *, resume: bool) -> dict[str, Any] | None:
    """The result already in ``cfg.out`` if it is this very run, finished; else None.

    A finished run with another config, or an unfinished one without ``--resume``, is an
    :class:`InputError`: training would silently replace it.
    """
    from pathlib import Path

    from step.train import RunConfig
    from step.train.checkpoint import CHECKPOINT
    from step.train.loop import RESULT

    out = Path(cfg.out)
    if (out / RESULT).is_file():
        try:
            old = json.loads((out / RESULT).read_text())
            same = RunConfig.parse(old["config"]).identity() == cfg.identity()
        except (ValueError, KeyError, TypeError, StepError):  # broken or foreign result.json
            raise InputError(f"--out {out} holds a {RESULT} that is not a readable step train "
                             "result: choose another --out, or add --overwrite to replace "
                             "it") from None
        if not same:
            raise InputError(f"--out {out} already holds a finished run with a different "
                             "config: choose another --out, or add --overwrite to replace it")
        return old
    if (out / CHECKPOINT).is_file() and not resume:
        raise InputError(f"--out {out} holds an unfinished run: continue it with --resume, or "
                         "add --overwrite to start again")
    return None


def render(result: dict, out: str) -> None:
    from step.cli._console import console

    c = console()
    sel, test, env = result["selection"], result["test"], result["environment"]
    c.print(f"[bold]{result['config']['model']}[/] on [bold]{env['backend']}[/] "
            f"({env['backend_library'] or 'step'} {env['backend_version']}), "
            f"{result['dataset']['name']}, seed {env['seed']}")
    c.print(f"best epoch {sel['best_epoch']} (val acc {sel['val_acc']:.4f}) -> "
            f"test acc [bold]{test['acc']:.4f}[/], loss {test['loss']:.4f}")
    rate = result["firing_rates"]["mean"]
    c.print(f"mean firing rate {rate:.4f}" if rate is not None else "no neuron layers")
    probe = result.get("temporal_probe")
    if probe and "reversed@first_layer" in probe:
        drops = {k: v["acc_drop"] for k, v in probe.items() if isinstance(v, dict) and
                 "acc_drop" in v}
        c.print("temporal probe (accuracy drop): " +
                ", ".join(f"{k} {v:+.4f}" for k, v in drops.items()))
    c.print(f"written to {out}/result.json")
