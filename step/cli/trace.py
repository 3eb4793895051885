"""``step trace``: one neuron's response to an input sequence, on one backend or all of them."""

from __future__ import annotations

import argparse
from typing import Any

from step._io import dumps, say_written
from step.cli.exit_codes import ExitCode
from step.errors import InputError, StepError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "trace",
        help="show one neuron's spikes and membrane for an input sequence",
        description="Run one neuron (batch 1) over an input sequence and print, per time "
        "step, the input, the membrane after reset and the spike. Example: step trace "
        "--neuron lif --set tau=2 --set v_threshold=1 --set v_reset=0 --input 2,2,2",
    )
    p.add_argument("--neuron", default="lif", help="neuron kind (if, lif, plif, ...)")
    p.add_argument(
        "--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
        help="set a field of the neuron spec (repeatable): tau=2, reset=soft, "
        "decay_input=false, surrogate=atan, surrogate.alpha=3",
    )
    p.add_argument("--input", required=True, help="comma-separated input values, one per step")
    p.add_argument("--backend", default="reference", help="backend name, or 'all'")
    p.add_argument("--dtype", default="float64", choices=["float32", "float64"],
                   help="precision of the run (float64 shows exact hand-checkable values)")
    p.add_argument("--json", action="store_true", help="print JSON keyed by backend")
    p.add_argument("--plot", metavar="FILE.png", help="also draw membrane and spikes to FILE")
    p.set_defaults(run=run)


def parse_inputs(text: str) -> list[float]:
    """One finite number per step; an empty item (``1,,2``) or NaN is an error, not skipped."""
    import math

    items = [v.strip() for v in text.split(",")]
    if items == [""]:
        raise InputError("--input needs at least one value, e.g. --input 2,2,2")
    values = []
    for i, item in enumerate(items):
        try:
            value = float(item)
        except ValueError:
            what = "is empty" if not item else f"is {item!r}, not a number"
            raise InputError(f"--input must be comma-separated numbers: value {i + 1} {what} "
                             "(e.g. --input 2,0,2)") from None
        if not math.isfinite(value):
            raise InputError(f"--input must be finite numbers: value {i + 1} is {item}")
        values.append(value)
    return values


def collect(spec: Any, inputs: list[float], backend: str, dtype: str) -> dict[str, dict]:
    """{backend: {"spikes", "v", "support", ...}}; with 'all', failures become entries.

    A plugin that raises (in ``neuron_support`` or while building or running its neuron) is
    that backend's entry, ``support: "error"`` with the exception, never a traceback.
    """
    from step.registry import backend_statuses, get_backend

    if backend != "all":
        return {backend: _one(get_backend(backend), spec, inputs, dtype, single=True)}
    out: dict[str, dict] = {}
    for name, status in sorted(backend_statuses().items(), key=lambda kv: kv[0] != "reference"):
        if not status.available or status.backend is None:
            out[name] = {"spikes": None, "v": None, "support": "unavailable",
                         "reason": status.reason}
            continue
        out[name] = _one(status.backend, spec, inputs, dtype)
    return out


def _one(b: Any, spec: Any, inputs: list[float], dtype: str, single: bool = False) -> dict:
    """One backend's entry. Asked for by name (``single``), a refusal of step's own (an
    unsupported spec) stays the command's one-line error."""
    from step.registry import guarded_support
    from step.trace import trace

    support, error = guarded_support(b, spec)
    if support is None:
        return {"spikes": None, "v": None, "support": "error", "reason": error}
    try:
        return _entry(trace(spec, inputs, b.name, dtype), support)
    except StepError as err:
        if single:
            raise
        return {"spikes": None, "v": None, "support": support.forward.value,
                "reason": str(err)}
    except Exception as err:  # plugin code: its failure is its row
        return {"spikes": None, "v": None, "support": "error",
                "reason": f"{type(err).__name__}: {err}"}


def _entry(t: Any, support: Any) -> dict:
    return {"spikes": t.spikes, "v": t.v, "support": support.forward.value,
            "gradient_support": support.gradient.value, "reason": support.reason}


def run(args: argparse.Namespace) -> int:
    from step.specs import NEURON_KINDS, apply_assignments, parse_neuron

    inputs = parse_inputs(args.input)
    if args.plot:
        from step._io import check_figure_path

        check_figure_path(args.plot)
    data = apply_assignments({"kind": args.neuron}, args.sets)
    cls = NEURON_KINDS.get(args.neuron)
    if cls is not None and "T" in cls.model_fields and "T" not in data:
        data["T"] = len(inputs)  # PSN, GLIF: one learnt weight per step of this input
    spec = parse_neuron(data)
    results = collect(spec, inputs, args.backend, args.dtype)
    if args.plot:
        plot(args.plot, spec, inputs, results)
    failed = any(r["support"] == "error" for r in results.values())
    code = ExitCode.CHECK_FAILED if failed else ExitCode.OK  # a plugin raised: its row says so
    if args.json:
        print(dumps(results, indent=None))
    else:
        render(spec, inputs, results)
    if args.plot:
        say_written(args.plot, to_stderr=args.json)
    return code


def render(spec: Any, inputs: list[float], results: dict[str, dict]) -> None:
    from rich.table import Table

    from step.cli._console import console

    out = console()
    out.print(f"[bold]{spec.kind}[/] {spec.model_dump(exclude={'kind'})}")
    table = Table()
    table.add_column("t", justify="right")
    table.add_column("input", justify="right")
    ran = {k: r for k, r in results.items() if r["spikes"] is not None}
    for name in ran:
        table.add_column(f"{name} v", justify="right")
        table.add_column("s", justify="center")
    for t, x in enumerate(inputs):
        row = [str(t), f"{x:g}"]
        for r in ran.values():
            row += [f"{r['v'][t]:.6g}", _mark(r["spikes"][t])]
        table.add_row(*row)
    out.print(table)
    for name, r in results.items():
        if r["support"] != "native" or r["spikes"] is None:
            out.print(f"{name}: [yellow]{r['support']}[/] {r.get('reason', '')}")


def _mark(s: float) -> str:
    """'|' for a spike, '.' for none, the value for graded counts and readout membranes."""
    if s == 0:
        return "."
    return "|" if s == 1 else f"{s:.6g}"


def plot(path: str, spec: Any, inputs: list[float], results: dict[str, dict]) -> None:
    from step._io import save_figure

    ran = {k: r for k, r in results.items() if r["spikes"] is not None}
    steps = list(range(len(inputs)))

    def draw(fig: Any) -> None:
        ax_v, ax_s = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
        for i, (name, r) in enumerate(ran.items()):
            style = ["-", "--", ":", "-."][i % 4]
            ax_v.step(steps, r["v"], where="post", label=name, linestyle=style)
            ts = [t for t, s in zip(steps, r["spikes"], strict=True) if s]
            ax_s.scatter(ts, [i] * len(ts), marker="|", s=200)
        ax_v.axhline(spec.v_threshold, color="grey", linewidth=0.8, label="v_threshold")
        ax_v.set_ylabel("membrane after reset")
        ax_v.legend(fontsize="small")
        ax_s.set_yticks(range(len(ran)), list(ran))
        ax_s.set_xlabel("time step")
        ax_v.set_title(f"{spec.kind} trace")

    save_figure(path, draw, figsize=(7, 4.5))
