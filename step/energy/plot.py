"""Where the energy goes: stacked bars by term, per network and per SNN layer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from step._io import save_figure
from step.energy.model import NETWORKS, TERMS, EnergyReport

_COLORS = {"mac": "#d62728", "ac": "#ff7f0e", "weights": "#1f77b4", "state": "#9467bd",
           "outputs": "#8c564b", "movement": "#2ca02c"}


def _stack(ax: Any, labels: list[str], rows: list[dict[str, float]], scale: float) -> None:
    bottom = [0.0] * len(labels)
    for term in TERMS:
        heights = [row[term] / scale for row in rows]
        ax.bar(labels, heights, bottom=bottom, label=term, color=_COLORS[term])
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]


def plot_report(report: EnergyReport, path: str | Path, title: str = "") -> None:
    """Save a two-panel figure: every network's total by term, and the SNN per layer."""

    def draw(fig: Any) -> None:
        left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 2]})
        _stack(left, list(NETWORKS), [report.totals(n) for n in NETWORKS], 1e6)
        left.set_ylabel("energy per inference (µJ)")
        rate = report.break_even_rate
        be = "n/a" if rate is None else f"{100 * rate:.2f} %"
        left.set_title(f"{report.profile.name} v{report.profile.version}; "
                       f"SNN rate {100 * report.spike_rate:.1f} %, break-even {be}", fontsize=9)
        left.tick_params(axis="x", rotation=45)
        layers = [layer for layer in report.layers if layer.total() > 0]
        _stack(right, [layer.name for layer in layers], [layer.energy["snn"] for layer in layers],
               1e6)
        right.set_title(f"{title} SNN by layer".strip(), fontsize=9)
        right.tick_params(axis="x", rotation=60, labelsize=7)
        right.legend(fontsize=8)

    save_figure(path, draw, figsize=(11, 4.5))
