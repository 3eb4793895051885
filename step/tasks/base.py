"""The two dense tasks: how each builds its network, computes its loss and scores a split."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from step.data import DataSplits, SampleSet, batches
from step.errors import InputError
from step.tasks.scores import score_key
from step.train.config import TASK_HEADS, RunConfig


class DenseTask(ABC):
    """What differs between dense tasks; the run (:mod:`step.tasks.loop`) is shared.

    ``score`` names the metric that selects the checkpoint on validation (higher is better).
    """

    name: str = ""
    score: str = ""

    def head(self, cfg: RunConfig) -> str:
        return cfg.head or TASK_HEADS[self.name][0]

    @abstractmethod
    def wrap(self, backbone: nn.Module, cfg: RunConfig, data: DataSplits) -> nn.Module:
        """The task's network: the backbone with its head."""

    @abstractmethod
    def loss(self, model: nn.Module, x: Tensor, y: Any) -> Tensor:
        """The training loss of one batch."""

    def targets_to(self, y: Any, device: str) -> Any:
        return y.to(device)

    @abstractmethod
    def evaluate(self, model: nn.Module, data: SampleSet, cfg: RunConfig,
                 num_classes: int) -> dict[str, Any]:
        """The task's scores (and loss, where it has one) over a whole split."""


class Segmentation(DenseTask):
    """A class per pixel: cross-entropy over pixels (label 255 ignored, no label smoothing,
    as mmsegmentation's ``CrossEntropyLoss``); mIoU (classes present in the prediction or the
    labels of the split, averaged) and pixel accuracy from torchmetrics, over the whole split."""

    name, score = "segmentation", score_key("segmentation")

    def wrap(self, backbone: nn.Module, cfg: RunConfig, data: DataSplits) -> nn.Module:
        from step.models.heads import segmentation_net

        return segmentation_net(backbone, self.head(cfg), cfg.head_channels, data.num_classes)

    def loss(self, model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
        from step.data.dense import IGNORE_INDEX

        return F.cross_entropy(model(x), y, ignore_index=IGNORE_INDEX)

    @torch.no_grad()
    def evaluate(self, model: nn.Module, data: SampleSet, cfg: RunConfig,
                 num_classes: int) -> dict[str, Any]:
        from torchmetrics.classification import MulticlassAccuracy, MulticlassJaccardIndex

        from step.data.dense import IGNORE_INDEX

        kw = {"num_classes": num_classes, "ignore_index": IGNORE_INDEX}
        miou = MulticlassJaccardIndex(average="macro", **kw).to(cfg.device)
        per_class = MulticlassJaccardIndex(average="none", **kw).to(cfg.device)
        acc = MulticlassAccuracy(average="micro", **kw).to(cfg.device)
        loss_sum, pixels, n = 0.0, 0, 0
        for x, y in batches(data, cfg.eval_batch_size, time_first=False):
            x, y = x.to(cfg.device), y.to(cfg.device)
            logits = model(x)
            valid = int((y != IGNORE_INDEX).sum())
            loss_sum += float(F.cross_entropy(logits, y, ignore_index=IGNORE_INDEX,
                                              reduction="sum"))
            pixels += valid
            n += len(x)
            pred = logits.argmax(1)
            for metric in (miou, per_class, acc):
                metric.update(pred, y)
        return {"loss": loss_sum / max(pixels, 1), "miou": float(miou.compute()),
                "pixel_acc": float(acc.compute()),
                "iou_per_class": [float(v) for v in per_class.compute()], "n": n}


class Detection(DenseTask):
    """Boxes: torchvision's Faster R-CNN losses (RPN objectness and box regression, classifier,
    box regression), summed; COCO mAP over IoU 0.50:0.95 (and at 0.50) from torchmetrics'
    ``MeanAveragePrecision`` on pycocotools."""

    name, score = "detection", score_key("detection")

    def wrap(self, backbone: nn.Module, cfg: RunConfig, data: DataSplits) -> nn.Module:
        from step.models.heads import faster_rcnn

        return faster_rcnn(backbone, data.num_classes, cfg.head_channels)

    def targets_to(self, y: Any, device: str) -> Any:
        return [{k: v.to(device) for k, v in t.items()} for t in y]

    def loss(self, model: nn.Module, x: Tensor, y: list[dict[str, Tensor]]) -> Tensor:
        losses = model(list(x), y)
        return sum(losses.values())

    @torch.no_grad()
    def evaluate(self, model: nn.Module, data: SampleSet, cfg: RunConfig,
                 num_classes: int) -> dict[str, Any]:
        from torchmetrics.detection import MeanAveragePrecision

        metric = MeanAveragePrecision(box_format="xyxy", iou_type="bbox",
                                      backend="pycocotools")
        n = 0
        for x, y in batches(data, cfg.eval_batch_size, time_first=False):
            out = model(list(x.to(cfg.device)))
            metric.update([{k: v.cpu() for k, v in o.items()} for o in out], y)
            n += len(x)
        res = metric.compute()
        pick = ("map", "map_50", "map_75", "mar_100")
        scores = {k: float(res[k]) for k in pick}
        # torchmetrics reports -1 where a score is undefined (no boxes at all): None here
        return {**{k: (v if math.isfinite(v) and v >= 0 else None) for k, v in scores.items()},
                "n": n}


TASKS: dict[str, DenseTask] = {"segmentation": Segmentation(), "detection": Detection()}


def get_task(name: str) -> DenseTask:
    """The dense task called ``name`` (classification is :func:`step.train.train`'s own)."""
    if name not in TASKS:
        raise InputError(f"unknown dense task {name!r}: choose one of {', '.join(TASKS)}")
    return TASKS[name]
