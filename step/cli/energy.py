"""``step energy``: a model's energy per inference, counted on real data, SNN against QNNs.

Example: ``step energy --model spiking_mlp --preset tiny --profile neuromorphic-22nm
--batches 4 --plot energy.png`` prints per-layer operations and energy by term, the totals of
the SNN, the quantised ANNs and the ANN, and the spike rate below which the SNN wins.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from typing import Any

from step.cli.exit_codes import ExitCode
from step.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "energy",
        help="energy per inference of a model: SNN against quantised and full ANNs",
        description="Run a model over real data with counting hooks, price the measured "
        "operations and memory traffic with a hardware profile, and compare the SNN with "
        "quantised ANNs of ceil(log2(T+1))-bit activations and the full-precision ANN. "
        "Example: step energy --model spiking_mlp --preset tiny --profile 45nm",
    )
    p.add_argument("--model", required=True, help="model name (see step.models.list_models())")
    p.add_argument("--preset", default=None, help="model preset, e.g. tiny")
    p.add_argument("--checkpoint", metavar="FILE", help="state dict to load (trained weights)")
    p.add_argument("--dataset", default="digits", help="dataset whose test split is used")
    p.add_argument("--profile", default="45nm",
                   help="45nm, neuromorphic-22nm, or a profile FILE.yaml")
    p.add_argument("--batches", type=int, default=4, help="test batches to evaluate")
    p.add_argument("--batch-size", type=int, default=64, help="samples per batch")
    p.add_argument("--json", action="store_true", help="print JSON for machines")
    p.add_argument("--plot", metavar="FILE.png", help="also draw where the energy goes")
    p.set_defaults(run=run)


def load_checkpoint(model: Any, path: str) -> None:
    """Load a state dict (or a dict holding one under ``model``/``state_dict``) into ``model``."""
    from pathlib import Path

    import torch

    if not Path(path).is_file():
        raise InputError(f"checkpoint {path} does not exist: check the path")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a corrupt or foreign file: say so in one line
        raise InputError(f"checkpoint {path} could not be read: {err}") from None
    if isinstance(state, dict):
        state = state.get("model", state.get("state_dict", state))
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError) as err:
        first = str(err).strip().splitlines()[0]
        raise InputError(f"checkpoint {path} does not fit the model: {first}") from None


def data_batches(dataset: str, config: Any, batches: int, batch_size: int) -> Iterator[Any]:
    """The first ``batches`` test batches of ``dataset``, fitted to the model's size and T."""
    from step.data import batches as iterate
    from step.data import dataset_entry, load_dataset

    if batches < 1:
        raise InputError(f"--batches must be >= 1, got {batches}")
    entry = dataset_entry(dataset)
    wanted = {"img_size": getattr(config, "img_size", None), "T": getattr(config, "T", None),
              "channels": getattr(config, "in_channels", None)}
    options = {k: v for k, v in wanted.items() if k in entry.accepts and v is not None}
    splits = load_dataset(dataset, **options)
    for i, (x, _) in enumerate(iterate(splits.test, batch_size, time_first=splits.time_first)):
        if i == batches:
            break
        yield x


def run(args: argparse.Namespace) -> int:
    import step.models
    from step.energy import NETWORKS, estimate, load_profile

    profile = load_profile(args.profile)  # fail on a bad profile before building anything
    model = step.models.create(args.model, args.preset)
    if args.checkpoint:
        load_checkpoint(model, args.checkpoint)
    report = estimate(model, data_batches(args.dataset, model.config, args.batches,
                                          args.batch_size), profile)
    title = f"{args.model}" + (f".{args.preset}" if args.preset else "")
    if args.plot:
        from step.energy.plot import plot_report

        plot_report(report, args.plot, title)
    if args.json:
        print(json.dumps({"model": args.model, "preset": args.preset, **report.to_dict()},
                         indent=2))
        return ExitCode.OK
    _render(report, title, NETWORKS)
    return ExitCode.OK


def _nj(pj: float) -> str:
    return f"{pj / 1e3:,.2f}"


def _render(report: Any, title: str, networks: tuple[str, ...]) -> None:
    from rich.console import Console
    from rich.table import Table

    from step.energy import TERMS

    console = Console(width=max(Console().width, 150))  # wide tables: do not squeeze in pipes
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
    console.print(layers)
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
    console.print(compare)
    if report.spike_rate == 0:
        console.print("[yellow]no spikes reached a spike-driven layer (untrained weights? give "
                      "--checkpoint): the break-even rate cannot be solved[/]")
