"""The report's figures, drawn to PNG bytes so the HTML page can embed them (no side files).

Three kinds: the capability matrix (backend x feature, one panel per dtype, each cell coloured
by its worst outcome and labelled with how many of its cases passed), one neuron's membrane and
spikes for a failing case (reference against backend at the neuron and run that diverged first,
the divergence marked, with the difference backend minus reference of the membrane and of the
input gradient over time), and sample cases with every backend overlaid on the reference.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from step._io import figure_bytes
from step.conformance.policy import Status, worst

if TYPE_CHECKING:
    from step.conformance.runner import CaseResult, SuiteReport

#: Outcome colours, shared by the matrix, the HTML badges and the legend.
COLOURS: dict[Status, str] = {
    Status.PASS: "#2e9e48",
    Status.EMULATED_PASS: "#8cc63f",
    Status.PASS_NOTED: "#e8c547",
    Status.UNSUPPORTED: "#b8b8b8",
    Status.FAIL: "#d2382f",
    Status.ERROR: "#7b2d8e",
}

PASSING = (Status.PASS, Status.PASS_NOTED, Status.EMULATED_PASS)


def figure_png(draw: Callable[[Any], None], top: float = 1.0, **fig_kw: Any) -> bytes:
    """A figure as PNG bytes for the HTML report (see :func:`step._io.figure_bytes`)."""
    return figure_bytes(draw, dpi=90, top=top, **fig_kw)


def matrix_cells(
    report: SuiteReport, dtype: str
) -> tuple[list[str], list[str], dict[tuple[str, str], list[Status]]]:
    """(backends, features, {(backend, feature): outcomes}) for one dtype, in catalogue order."""
    backends = [b for b in report.backends if report.backends[b].get("available")]
    features: list[str] = []
    for case in report.cases:
        if case.dtype == dtype and case.feature not in features:
            features.append(case.feature)
    cells: dict[tuple[str, str], list[Status]] = {}
    for r in report.results:
        if r.case.dtype == dtype:
            cells.setdefault((r.backend, r.case.feature), []).append(r.status)
    return backends, features, cells


def capability_matrix(report: SuiteReport) -> bytes:
    """The backend x feature grid, one panel per dtype, coloured by the worst outcome."""
    from matplotlib.patches import Patch

    panels = [(d, *matrix_cells(report, d)) for d in report.dtypes]
    n_feat = max((len(p[2]) for p in panels), default=1)
    n_back = max((len(p[1]) for p in panels), default=1)

    def draw(fig: Any) -> None:
        axes = fig.subplots(len(panels), 1, squeeze=False)[:, 0]
        for ax, (dtype, backends, features, cells) in zip(axes, panels, strict=True):
            for i, b in enumerate(backends):
                for j, f in enumerate(features):
                    outcomes = cells.get((b, f), [])
                    status = worst(outcomes)
                    colour = COLOURS[status] if status else "white"
                    ax.add_patch(_rect(j, i, colour))
                    if outcomes:
                        ok = sum(s in PASSING for s in outcomes)
                        ax.text(j + 0.5, i + 0.5, f"{ok}/{len(outcomes)}", ha="center",
                                va="center", fontsize=7)
            ax.set_xlim(0, max(len(features), 1))
            ax.set_ylim(len(backends), 0)
            ax.set_xticks([j + 0.5 for j in range(len(features))], features, rotation=40,
                          ha="right", fontsize=8)
            ax.set_yticks([i + 0.5 for i in range(len(backends))], backends, fontsize=8)
            ax.set_title(f"{dtype}: cases passed / run, colour = worst outcome", fontsize=9)
            ax.tick_params(length=0)
        handles = [Patch(color=c, label=s.value) for s, c in COLOURS.items()]
        fig.legend(handles=handles, loc="upper center", ncol=len(handles), fontsize=8,
                   frameon=False)

    height = 1.2 + len(panels) * (0.45 * n_back + 1.6)
    return figure_png(draw, top=1.0 - 0.35 / height,
                      figsize=(max(7.0, 0.55 * n_feat + 2.0), height))


def _rect(x: float, y: float, colour: str) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), 1, 1, facecolor=colour, edgecolor="white", linewidth=1.5)


def case_plot(result: CaseResult) -> bytes | None:
    """Membrane and spikes of one neuron, reference against the backend (None without data)."""
    tr = result.trace
    if not tr or tr.get("v_ref") is None:
        return None
    has_grad = tr.get("g_ref") is not None and tr.get("g_got") is not None
    div = result.divergence

    has_v = tr.get("v_got") is not None and len(tr["v_got"]) == len(tr["v_ref"])

    def draw(fig: Any) -> None:
        rows = 2 + has_v + has_grad
        axes = fig.subplots(rows, 1, sharex=True,
                            gridspec_kw={"height_ratios": [3, 1, 2, 2][:rows]})
        steps = list(range(len(tr["v_ref"])))
        ax = axes[0]
        ax.step(steps, tr["v_ref"], where="post", label="reference", color="black")
        if tr.get("v_got") is not None:
            ax.step(steps, tr["v_got"], where="post", label=result.backend, linestyle="--",
                    color=COLOURS.get(result.status, "C1"))
        ax.axhline(tr["v_threshold"], color="grey", linewidth=0.8, label="v_threshold")
        if div is not None and div.t is not None:
            for a in axes:
                a.axvline(div.t, color=COLOURS[Status.FAIL], linewidth=0.8, linestyle=":")
        ax.set_ylabel("membrane")
        ax.legend(fontsize=7, loc="best")
        ax.set_title(f"{result.backend} {result.case.id} ({tr['where']}, index "
                     f"{tr['index']}): {result.status.value}"
                     + (f", first divergence t={div.t}" if div and div.t is not None else ""),
                     fontsize=8)
        _raster(axes[1], [("reference", tr.get("s_ref")), (result.backend, tr.get("s_got"))])
        panel = 2
        if has_v:  # backend minus reference: the size and growth of the difference
            diff = [g - r for g, r in zip(tr["v_got"], tr["v_ref"], strict=True)]
            axes[panel].step(steps, diff, where="post", color=COLOURS[Status.FAIL])
            axes[panel].axhline(0.0, color="grey", linewidth=0.6)
            axes[panel].set_ylabel("v: backend\n- reference", fontsize=7)
            panel += 1
        if has_grad:
            diff = [g - r for g, r in zip(tr["g_got"], tr["g_ref"], strict=True)]
            axes[panel].plot(steps, diff, color=COLOURS[Status.FAIL])
            axes[panel].axhline(0.0, color="grey", linewidth=0.6)
            axes[panel].set_ylabel("dL/dx: backend\n- reference", fontsize=7)
        axes[-1].set_xlabel("time step")

    return figure_png(draw, figsize=(7.5, 3.0 + 1.2 * (has_v + has_grad)))


def sample_plot(case_id: str, results: Sequence[CaseResult]) -> bytes | None:
    """Every backend's membrane for one case overlaid on the reference."""
    traced = [r for r in results if r.trace and r.trace.get("v_got") is not None]
    if not traced:
        return None
    first = traced[0].trace
    assert first is not None

    def draw(fig: Any) -> None:
        ax_v, ax_s = fig.subplots(2, 1, sharex=True, gridspec_kw={
            "height_ratios": [3, max(1.0, 0.3 * (len(traced) + 1))]})
        steps = list(range(len(first["v_ref"])))
        ax_v.step(steps, first["v_ref"], where="post", color="black", linewidth=2.5,
                  alpha=0.35, label="expected (canonical equations)")
        styles = ["-", "--", ":", "-."]
        for i, r in enumerate(traced):
            assert r.trace is not None
            ax_v.step(steps, r.trace["v_got"], where="post", linestyle=styles[i % 4],
                      label=f"{r.backend} ({r.status.value})")
        ax_v.axhline(first["v_threshold"], color="grey", linewidth=0.8)
        ax_v.set_ylabel("membrane")
        ax_v.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        ax_v.set_title(f"{case_id}, index {first['index']}", fontsize=8)
        _raster(ax_s, [("expected", first.get("s_ref"))]
                + [(r.backend, r.trace.get("s_got")) for r in traced if r.trace])
        ax_s.set_xlabel("time step")

    return figure_png(draw, figsize=(8.5, 3.6 + 0.2 * len(traced)))


def _raster(ax: Any, rows: list[tuple[str, list[float] | None]]) -> None:
    for i, (_, spikes) in enumerate(rows):
        if spikes:
            ts = [t for t, s in enumerate(spikes) if s]
            ax.scatter(ts, [i] * len(ts), marker="|", s=40, color="black" if i == 0 else "C1")
    ax.set_yticks(range(len(rows)), [name for name, _ in rows], fontsize=7)
    ax.set_ylim(-0.7, len(rows) - 0.3)
