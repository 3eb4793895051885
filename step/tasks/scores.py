"""Which test score stands for a run of each task (light: no torch, the study reads it).

Classification keeps ``acc``; segmentation is compared on mIoU, detection on COCO mAP
(IoU 0.50:0.95). Study tables, paired statistics and curves use the task's score where a
classification study uses accuracy; the JSON keys (``acc``, ``acc_per_seed``) stay, and the
study records which score they hold (``metric``).
"""

from __future__ import annotations

from typing import Any

#: task -> (key in result["test"] and in the history as val_<key>, name for people)
SCORES: dict[str, tuple[str, str]] = {
    "classification": ("acc", "accuracy"),
    "segmentation": ("miou", "mIoU"),
    "detection": ("map", "mAP"),
}


def score_key(task: str) -> str:
    return SCORES[task][0]


def score_name(task: str) -> str:
    return SCORES[task][1]


def run_score(result: dict[str, Any]) -> float:
    """The run's test score. A detection mAP is undefined (None) only on a test split without
    any ground-truth box; it counts as 0 there."""
    value = result["test"][score_key(result.get("task", "classification"))]
    return 0.0 if value is None else float(value)


def val_score(result: dict[str, Any], row: dict[str, Any]) -> float:
    """The validation score of one epoch's history row of ``result``."""
    value = row.get(f"val_{score_key(result.get('task', 'classification'))}")
    return 0.0 if value is None else float(value)
