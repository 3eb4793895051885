"""Reproductions of published findings: the runs, the paired statistics and a verdict per row.

``step reproduce step-paper`` re-runs the ablations of the STEP paper (arXiv 2505.11151) on the
embedded digits with the knobs that reach the code here (its surrogate setting never reached
its neurons, and only direct encoding was reachable), and tests its temporal-modelling
conclusion. Each finding becomes a row: the claim as the paper states it, the paper's numbers,
ours (mean and paired confidence interval over seeds, from :mod:`step.study.stats`) and a
verdict: ``agrees``, ``disagrees`` or ``inconclusive`` at this many seeds.

Modules: :mod:`.paper` (budgets, arms and findings of the STEP paper), :mod:`.runs` (training
the arms through the sweep's resumable run log, reading their metrics), :mod:`.verdict` (paired
tests to verdicts), :mod:`.report` (JSON, Markdown, HTML and plots).
"""

from __future__ import annotations

from step.reproduce.verdict import VERDICTS

__all__ = ["VERDICTS"]
