"""``step energy``: a model's energy per inference, counted on real data, SNN against QNNs.

Example: ``step energy --model spiking_mlp --preset tiny --profile neuromorphic-22nm
--batches 4 --plot energy.png`` prints per-layer operations and energy by term, the totals of
the SNN, the quantised ANNs and the ANN, and the spike rate below which the SNN wins.
``step energy runs/mlp`` does the same for a finished ``step train`` run: its model, dataset
and best checkpoint (untrained weights fire little, so their rates say little).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

from step._io import dumps, say_written
from step.cli.exit_codes import ExitCode
from step.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "energy",
        help="energy per inference of a model: SNN against quantised and full ANNs",
        description="Run a model over real data with counting hooks, price the measured "
        "operations and memory traffic with a hardware profile, and compare the SNN with "
        "quantised ANNs of ceil(log2(T+1))-bit activations and the full-precision ANN. "
        "Example: step energy --model spiking_mlp --preset tiny --profile 45nm; "
        "step energy runs/train (a finished step train run: its model, data and best.pt)",
    )
    p.add_argument("run_dir", nargs="?", metavar="RUN_DIR",
                   help="folder of a finished step train run (instead of --model)")
    p.add_argument("--model", help="model name (see step.models.list_models())")
    p.add_argument("--preset", default=None, help="model preset, e.g. tiny")
    p.add_argument("--checkpoint", metavar="FILE", help="state dict to load (trained weights)")
    p.add_argument("--dataset", help="dataset whose test split is used (default digits, shapes "
                   "for a point-cloud model, or the run's)")
    p.add_argument("--data-root", help="folder holding a real dataset (cifar10, nmnist, ...)")
    p.add_argument("--profile", default="45nm",
                   help="45nm, neuromorphic-22nm, or a profile FILE.yaml")
    p.add_argument("--batches", type=int, default=4, help="test batches to evaluate")
    p.add_argument("--batch-size", type=int, default=64, help="samples per batch")
    p.add_argument("--device", default=None,
                   help="torch device to run the model on (default cpu)")
    p.add_argument("--json", action="store_true", help="print JSON for machines")
    p.add_argument("--plot", metavar="FILE.png", help="also draw where the energy goes")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(run=run)


def load_checkpoint(model: Any, path: str) -> None:
    """Load a state dict (or a dict holding one under ``model``/``state_dict``) into ``model``."""
    from step.train.checkpoint import read

    state = read(path, "--checkpoint")
    if isinstance(state, dict):
        state = state.get("model", state.get("state_dict", state))
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError) as err:
        first = str(err).strip().splitlines()[0]
        raise InputError(f"checkpoint {path} does not fit the model: {first}") from None


def test_split(dataset: str, config: Any, root: str | None) -> Any:
    """The test split of ``dataset``, fitted to the model's size and T (DataSplits)."""
    from step.data import dataset_entry, load_dataset

    entry = dataset_entry(dataset)
    wanted = {"img_size": getattr(config, "img_size", None), "T": getattr(config, "T", None),
              "channels": getattr(config, "in_channels", None),
              "num_points": getattr(config, "num_points", None)}
    options = {k: v for k, v in wanted.items() if k in entry.accepts and v is not None}
    return load_dataset(dataset, root, **options)


def data_batches(splits: Any, batches: int, batch_size: int) -> Iterator[Any]:
    """The first ``batches`` test batches of ``splits``."""
    from step.data import batches as iterate

    for i, (x, _) in enumerate(iterate(splits.test, batch_size, time_first=splits.time_first)):
        if i == batches:
            break
        yield x


def _from_run(args: argparse.Namespace) -> tuple[Any, Any, str, tuple[str, str | None]]:
    """Model (best.pt loaded) and data of a finished ``step train`` run, and its title."""
    from pathlib import Path

    import step.models
    from step.cli.probe import read_result
    from step.train import RunConfig
    from step.train.checkpoint import BEST, load_best
    from step.train.setup import load_data

    run_dir = Path(args.run_dir)
    if args.model or args.checkpoint or args.preset:
        raise InputError("give RUN_DIR or --model/--preset/--checkpoint, not both")
    if not (run_dir / "result.json").is_file() or not (run_dir / BEST).is_file():
        raise InputError(f"{run_dir} is not a finished step train run (no result.json/best.pt)"
                         ": give a run folder, or --model NAME")
    result = read_result(run_dir)
    cfg = RunConfig.parse(result["config"], what=str(run_dir / "result.json"))
    if args.dataset or args.data_root:
        cfg = RunConfig.parse({**cfg.model_dump(), "dataset": args.dataset or cfg.dataset,
                               "data_root": args.data_root or cfg.data_root})
    data = load_data(cfg)
    model = step.models.create(cfg.model, cfg.preset, backend=cfg.backend,
                               **{**cfg.model_overrides, **result["model"]["data_overrides"]})
    if cfg.task != "classification":  # the dense network: backbone and head, all counted
        from step.tasks import get_task

        model = get_task(cfg.task).wrap(model, cfg, data)
    load_best(run_dir, model)
    title = f"{cfg.model}" + (f".{cfg.preset}" if cfg.preset else "") + f" ({run_dir})"
    if cfg.task != "classification":
        title += f" + {result['model']['head']} head"
    return model, data, title, (cfg.model, cfg.preset)


def run(args: argparse.Namespace) -> int:
    from step._progress import status, track
    from step.energy import NETWORKS, estimate, load_profile

    if args.batches < 1:
        raise InputError(f"--batches must be >= 1, got {args.batches}")
    from step.device import device_flag

    device = device_flag(args.device)
    if args.plot:
        from step._io import check_figure_path

        check_figure_path(args.plot)
    profile = load_profile(args.profile)  # fail on a bad profile before building anything
    show = not args.quiet
    if args.run_dir:
        with status(f"loading the run in {args.run_dir}", show):
            model, splits, title, (name, preset) = _from_run(args)
        trained = True
    else:
        import step.models

        if not args.model:
            raise InputError("give a model (--model NAME, see step models) or the folder of a "
                             "finished step train run (step energy RUN_DIR)")
        with status(f"building {args.model} and loading its data", show):
            model = step.models.create(args.model, args.preset)
            if args.checkpoint:
                load_checkpoint(model, args.checkpoint)
            # the embedded default of the model's input kind: point clouds or images
            default = "shapes" if hasattr(model.config, "num_points") else "digits"
            splits = test_split(args.dataset or default, model.config, args.data_root)
        trained = bool(args.checkpoint)
        name, preset = args.model, args.preset
        title = f"{args.model}" + (f".{args.preset}" if args.preset else "")
    total = min(args.batches, -(-len(splits.test) // args.batch_size))
    model.to(device or "cpu")
    xs = track((x.to(device or "cpu") for x in data_batches(splits, args.batches,
                                                            args.batch_size)),
               "counting operations", total=total, enabled=show)
    report = estimate(model, xs, profile, time_first=splits.time_first)
    hint = None if trained else ("untrained weights: their firing rates say little about a "
                                 "trained model; give --checkpoint FILE or a run folder "
                                 "(step energy RUN_DIR)")
    if args.plot:
        from step.energy.plot import plot_report

        plot_report(report, args.plot, title)
    if args.json:
        print(dumps({"model": name, "preset": preset,
                     "run": args.run_dir, "trained": trained, **report.to_dict()}))
    else:
        _render(report, title, NETWORKS, hint)
    if args.plot:
        say_written(args.plot, to_stderr=args.json)
    return ExitCode.OK


def _nj(pj: float) -> str:
    return f"{pj / 1e3:,.2f}"


def _render(report: Any, title: str, networks: tuple[str, ...], hint: str | None) -> None:
    from rich.table import Table

    from step.cli._console import console
    from step.energy import TERMS

    out = console()
    p = report.profile
    layers = Table(title=f"{title}: SNN per layer, per inference, energy in nJ ({p.name} "
                   f"v{p.version}, T={report.T}, {report.samples} samples)")
    for col in ("layer", "kind", "MACs", "ACs", "spikes", *TERMS, "total"):
        layers.add_column(col, justify="left" if col in ("layer", "kind") else "right")
    for layer in report.layers:
        c, e = layer.counts, layer.energy["snn"]
        steps = 1 if c.get("static") else report.T
        macs = c.get("dense_macs_per_step", 0) * steps if layer.kind == "dense" else 0
        spikes = c.get("spikes", c.get("input_events", 0))
        layers.add_row(layer.name, layer.kind, f"{macs:,.0f}", f"{c.get('acs', 0):,.0f}",
                       f"{spikes:,.1f}", *(_nj(e[t]) for t in TERMS), _nj(layer.total()))
    out.print(layers)
    compare = Table(title=f"SNN against ANNs, energy in nJ (QNN activations: "
                    f"{report.activation_bits} bits; SNN input spike rate "
                    f"{100 * report.spike_rate:.2f} %, neuron firing rate "
                    f"{100 * report.firing_rate:.2f} %)")
    for col in ("network", *TERMS, "total", "SNN wins below"):
        compare.add_column(col, justify="left" if col == "network" else "right")
    be = report.break_even
    for net in networks:
        totals = report.totals(net)
        rate = "" if net == "snn" else ("n/a" if be[net] is None else f"{100 * be[net]:.2f} %")
        compare.add_row(net, *(_nj(totals[t]) for t in TERMS), _nj(report.total(net)), rate)
    out.print(compare)
    if report.spike_rate == 0:
        out.print("[yellow]no spikes reached a spike-driven layer: the break-even rate "
                      "cannot be solved[/]")
    if hint:
        out.print(f"[yellow]{hint}[/]")
