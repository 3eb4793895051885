"""``step probe RUN_DIR``: how much a trained model relies on the order of its time steps.

Example::

    step train --model spiking_cnn --dataset digits_events --out runs/ev
    step probe runs/ev            # accuracy with time reversed / shuffled -> runs/ev/probe.json

The model is rebuilt from RUN_DIR/result.json, loaded from RUN_DIR/best.pt (the checkpoint
chosen on validation) and evaluated with its time axis reversed or shuffled at the input and
after the first neuron layer (see step.train.evaluate).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from step.cli.exit_codes import ExitCode


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "probe", help="temporal probe of a trained run (time reversed / shuffled)",
        description="Evaluate a finished 'step train' run with its time steps reversed or "
        "shuffled, to measure how much it relies on temporal order. Writes RUN_DIR/probe.json. "
        "Example: step probe runs/train",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="folder of a finished step train run")
    p.add_argument("--split", default="test", choices=["val", "test"],
                   help="split to probe (default test)")
    p.add_argument("--device", help="torch device to evaluate on (default: the run's own; "
                   "--device cpu probes a GPU-trained run on a machine without one)")
    p.add_argument("--json", action="store_true", help="print the probe as JSON")
    p.set_defaults(run=run)


def read_result(run_dir: Path) -> dict[str, Any]:
    """RUN_DIR/result.json, or one line saying why it cannot be used."""
    from step.errors import InputError

    path = run_dir / "result.json"
    try:
        result = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{path} is not valid JSON ({err}): the run was cut short or the "
                         "file was edited; train the run again") from None
    ok = (isinstance(result, dict) and isinstance(result.get("config"), dict)
          and isinstance(result.get("model"), dict) and "data_overrides" in result["model"])
    if not ok:
        raise InputError(f"{path} is not a step train result (no config or model.data_overrides)"
                         ": train the run again")
    return result


def probe_run(run_dir: Path, split: str = "test", device: str | None = None) -> dict[str, Any]:
    """Rebuild the run's model and data, load best.pt, run the temporal probe on ``split``
    (on ``device``; None: the run's own)."""
    from torch import nn

    from step.errors import InputError
    from step.train import RunConfig, temporal_probe
    from step.train.checkpoint import BEST, load_best
    from step.train.setup import build_model, load_data

    result_path = run_dir / "result.json"
    if not result_path.is_file() or not (run_dir / BEST).is_file():
        raise InputError(f"{run_dir} is not a finished step train run (no result.json/best.pt)")
    result = read_result(run_dir)
    config = {**result["config"], **({"device": device} if device else {})}
    cfg = RunConfig.parse(config, what=str(result_path))
    data = load_data(cfg)
    model, _ = build_model(cfg, result["model"]["data_overrides"])
    epoch = load_best(run_dir, model)
    criterion = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    out = temporal_probe(model, data.split(split), batch_size=cfg.eval_batch_size,
                         time_first=data.time_first, criterion=criterion,
                         T=int(getattr(model.config, "T", 1)), device=cfg.device)
    return {"run": str(run_dir), "split": split, "checkpoint_epoch": epoch, **out}


def run(args: argparse.Namespace) -> int:
    from step._io import dumps, say_written, write_json
    from step._progress import status
    from step.device import device_flag

    device_flag(args.device)
    run_dir = Path(args.run_dir)
    with status(f"probing {run_dir} on the {args.split} split (original, reversed, shuffled)",
                not args.json):
        probe = probe_run(run_dir, args.split, args.device)
    write_json(run_dir / "probe.json", probe)
    if args.json:
        print(dumps(probe))
        say_written(run_dir / "probe.json", to_stderr=True)
        return ExitCode.OK
    from rich.table import Table

    from step.cli._console import console

    t = Table(title=f"temporal probe, {args.split} split (T = {probe['T']})")
    for h in ("time order", "accuracy", "drop"):
        t.add_column(h)
    t.add_row("original", f"{probe['original']['acc']:.4f}", "")
    for k, v in probe.items():
        if isinstance(v, dict) and "acc_drop" in v:
            t.add_row(k, f"{v['acc']:.4f}", f"{v['acc_drop']:+.4f}")
    c = console()
    c.print(t)
    if probe.get("note"):
        c.print(probe["note"])
    say_written(run_dir / "probe.json")
    return ExitCode.OK
