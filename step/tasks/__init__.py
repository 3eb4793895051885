"""Dense tasks beside classification: semantic segmentation and object detection.

A task says how a registered backbone becomes the network that trains (a head on its
:meth:`~step.models.blocks.SpikingModel.feature_maps`), what its loss is, and how a split is
scored (torchmetrics: mIoU and pixel accuracy; COCO mAP through pycocotools). The training run
itself (:func:`step.tasks.loop.train_dense`) keeps classification's recipe, determinism,
checkpoints and validation-only model selection; ``step train --task segmentation`` reaches
it through :func:`step.train.train`, which hands every task but classification over.
"""

from __future__ import annotations

from step.tasks.base import DenseTask, get_task

__all__ = ["DenseTask", "get_task"]
