"""STEP's training recipe, built from timm's own parts: ``recipe: step-cifar``.

A recipe is a named set of run-config values (:data:`RECIPES`); it fills every field the run
does not set itself, so ``--recipe step-cifar --epochs 2`` is the recipe, shortened. The values
of ``step-cifar`` are the published STEP's ``cls/configs/spikformer/cifar10.yml`` (Fancyssc/STEP;
the other CIFAR configs there use the same): AdamW, lr 5e-4, weight decay 0.06, batch 128, label
smoothing 0.1, timm's cosine schedule stepped per epoch with 20 warm-up epochs from 1e-5 down to
1e-5, ``epochs: 400`` plus ``cooldown_epochs: 10`` (timm trains 410: here ``epochs`` counts every
epoch trained, so it is 410 with the last 10 held at the minimum), RandAugment
``rand-m9-n1-mstd0.4-inc1``, horizontal flip 0.5, random erasing 0.25 (``const``), mixup 0.5 in
``batch`` mode with probability 1 and no cutmix (``cutmix: 0.0``; cutmix is available, off as
in STEP), mixup switched off from epoch 200, bicubic interpolation, crop scale and ratio 1, CIFAR
mean and std. STEP also trains with fp16 autocast (``amp: True``): give ``--amp fp16`` on a GPU.

Every part is timm's: :func:`timm.data.create_transform` (train and eval pipelines),
:class:`timm.data.Mixup`, :class:`timm.loss.SoftTargetCrossEntropy`, and
:class:`timm.scheduler.CosineLRScheduler` via ``create_scheduler_v2`` (its per-epoch learning
rates are read through its public ``step`` and applied per optimiser step, so checkpoints keep
their form). The one difference from the published runs: STEP's loader uses timm's prefetcher,
which mixes uint8 pixels (rounded) before normalising and erases after mixing; timm without the
prefetcher (used here, a plain tensor pipeline) erases inside the per-image transform and mixes
normalised tensors.

Pillow 13 refuses to posterize to 0 bits, which timm (1.0.31) asks for when RandAugment's
magnitude reaches 10 (with ``mstd0.4`` around 9: one posterize in about 160); earlier Pillow, the
one STEP ran with, turned it into a black image. :func:`train_transform` gives timm's posterize
ops exactly that earlier behaviour (:func:`posterize_as_before_pillow13`) instead of crashing.

Determinism: every random draw of an image's augmentation (python ``random``, numpy, torch) is
seeded from (seed, epoch, sample index), and every mixup draw from (seed, epoch, batch, rank);
the outside random states are restored afterwards. An augmented epoch is therefore a function
of seed and epoch, as the data order is, and resuming replays it. Mixup needs an even batch:
like timm's training loader, a run that mixes drops the last incomplete batch of each epoch.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from step.errors import InputError
from step.specs import Spec

if TYPE_CHECKING:  # torch is imported where it is used: a run config must not need it
    import torch
    from torch import Tensor

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)


class AugmentSpec(Spec):
    """Image augmentation and mixing, in timm's terms (``create_transform`` and ``Mixup``)."""

    rand_augment: str | None = Field(None, description="timm RandAugment string, e.g. "
                                     "rand-m9-n1-mstd0.4-inc1; None: no RandAugment")
    hflip: float = Field(0.5, ge=0, le=1, description="horizontal flip probability")
    scale: tuple[float, float] = Field((1.0, 1.0), description="random-resized-crop area range")
    ratio: tuple[float, float] = Field((1.0, 1.0), description="random-resized-crop aspect range")
    interpolation: str = Field("bicubic", description="resize interpolation")
    crop_pct: float = Field(1.0, gt=0, le=1, description="centre-crop fraction at evaluation")
    mean: tuple[float, float, float] = Field(CIFAR_MEAN, description="normalisation mean")
    std: tuple[float, float, float] = Field(CIFAR_STD, description="normalisation std")
    random_erasing: float = Field(0.0, ge=0, le=1, description="random erasing probability")
    erasing_mode: Literal["const", "rand", "pixel"] = Field("const", description="erased value")
    mixup: float = Field(0.0, ge=0, description="mixup beta alpha (0: off)")
    cutmix: float = Field(0.0, ge=0, description="cutmix beta alpha (0: off)")
    mix_prob: float = Field(1.0, ge=0, le=1, description="probability of mixing a batch")
    switch_prob: float = Field(0.5, ge=0, le=1,
                               description="probability of cutmix instead of mixup when both on")
    mix_mode: Literal["batch", "pair", "elem"] = Field("batch", description="timm mixup mode")
    mix_off_epoch: int | None = Field(None, ge=0, description="no mixing from this epoch on "
                                      "(0-based, as timm's mixup_off_epoch)")

    @property
    def mixes(self) -> bool:
        return self.mixup > 0 or self.cutmix > 0


#: Named recipes: run-config values, and the datasets each one is made for.
RECIPES: dict[str, dict[str, Any]] = {
    "step-cifar": {
        "datasets": ("cifar10", "cifar100"),
        "values": {
            "epochs": 410, "cooldown_epochs": 10, "warmup_epochs": 20,
            "lr_schedule": "timm_cosine", "lr": 5e-4, "min_lr": 1e-5, "warmup_lr": 1e-5,
            "weight_decay": 0.06, "batch_size": 128, "eval_batch_size": 128,
            "label_smoothing": 0.1, "seed": 42,
            "augment": {"rand_augment": "rand-m9-n1-mstd0.4-inc1", "hflip": 0.5,
                        "scale": (1.0, 1.0), "ratio": (1.0, 1.0), "interpolation": "bicubic",
                        "crop_pct": 1.0, "mean": CIFAR_MEAN, "std": CIFAR_STD,
                        "random_erasing": 0.25, "erasing_mode": "const", "mixup": 0.5,
                        "cutmix": 0.0, "mix_prob": 1.0, "switch_prob": 0.5,
                        "mix_mode": "batch", "mix_off_epoch": 200},
        },
    },
}


def apply_recipe(data: dict[str, Any]) -> dict[str, Any]:
    """The run settings with the recipe's values under those given (which win)."""
    name = data.get("recipe")
    if name is None:
        return data
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}: choose one of {', '.join(RECIPES)}")
    recipe = RECIPES[name]
    dataset = data.get("dataset", "digits")
    if dataset not in recipe["datasets"]:
        raise ValueError(f"recipe {name} augments RGB images with CIFAR's mean and std and fits "
                         f"{' and '.join(recipe['datasets'])}, not dataset {dataset}: use "
                         f"--dataset {recipe['datasets'][0]}, or drop --recipe")
    return {**recipe["values"], **data}


def _timm() -> Any:
    try:
        import timm.data
        import timm.loss
        import timm.scheduler
    except ImportError:
        raise InputError("the training recipe needs timm: pip install 'step-snn[recipe]'"
                         ) from None
    return timm


# ---------------------------------------------------------------- images -----------------------

def train_transform(aug: AugmentSpec, input_size: tuple[int, int, int]) -> Callable:
    """timm's training pipeline for PIL images: crop, flip, RandAugment, normalise, erase."""
    timm = _timm()
    transform = timm.data.create_transform(
        input_size=input_size, is_training=True, scale=aug.scale, ratio=aug.ratio,
        hflip=aug.hflip, vflip=0.0, color_jitter=0.0, auto_augment=aug.rand_augment,
        interpolation=aug.interpolation, mean=aug.mean, std=aug.std,
        re_prob=aug.random_erasing, re_mode=aug.erasing_mode, re_count=1)
    for op in _augment_ops(transform):
        if op.name.startswith("Posterize"):
            op.aug_fn = posterize_as_before_pillow13
    return transform


def posterize_as_before_pillow13(img: Any, bits_to_keep: int, **kw: Any) -> Any:
    """timm's posterize, with 0 bits kept giving a black image as Pillow did before 13."""
    from timm.data.auto_augment import posterize

    if bits_to_keep <= 0:
        return img.point(lambda _: 0)  # Pillow < 13: mask ~(2**8 - 1) zeroes every value
    return posterize(img, bits_to_keep, **kw)


def _augment_ops(transform: Any) -> Iterator[Any]:
    """timm's AugmentOp objects inside a composed transform (RandAugment's ops)."""
    from timm.data.auto_augment import AugmentOp

    for t in getattr(transform, "transforms", [transform]):
        for op in getattr(t, "ops", []):
            if isinstance(op, AugmentOp):
                yield op


def eval_transform(aug: AugmentSpec, input_size: tuple[int, int, int]) -> Callable:
    """timm's evaluation pipeline: resize, centre crop (``crop_pct``), normalise."""
    timm = _timm()
    return timm.data.create_transform(input_size=input_size, is_training=False,
                                      interpolation=aug.interpolation, mean=aug.mean,
                                      std=aug.std, crop_pct=aug.crop_pct)


class PipelineImages:
    """uint8 RGB images ``[N, 3, H, W]`` run one by one through a PIL pipeline.

    ``seed`` set: each image's random draws are seeded from (seed, epoch, sample index), the
    epoch given by :meth:`set_epoch` (as torch's DistributedSampler is told its epoch).
    """

    def __init__(self, x: Tensor, y: Tensor, transform: Callable, seed: int | None) -> None:
        import torch

        if x.dtype != torch.uint8 or x.dim() != 4 or x.shape[1] != 3:
            raise InputError("image augmentation needs RGB images stored as bytes [N, 3, H, W] "
                             "(cifar10, cifar100): this dataset is not one")
        self.x, self.y, self.transform, self.seed = x, y.long(), transform, seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.y)

    @property
    def labels(self) -> Tensor:
        return self.y

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def get_batch(self, index: Tensor) -> tuple[Tensor, Tensor]:
        import torch
        from PIL import Image

        images = []
        with _restored_rngs():
            for i in index.tolist():
                if self.seed is not None:
                    _seed_all(mix_seed(self.seed, self.epoch, i))
                img = Image.fromarray(self.x[i].permute(1, 2, 0).numpy())
                images.append(self.transform(img))
        return torch.stack(images), self.y[index]

    def subset(self, index: Tensor) -> PipelineImages:
        return PipelineImages(self.x[index], self.y[index], self.transform, self.seed)


def augment_data(data: Any, aug: AugmentSpec, seed: int) -> Any:
    """The splits with training images augmented and every split normalised as timm does."""
    from step.data import DataSplits

    size = tuple(data.sample_shape)
    if data.layout != "static" or len(size) != 3:
        raise InputError(f"image augmentation needs static images; {data.name} is "
                         f"{data.layout} data")
    train = train_transform(aug, size)
    test = eval_transform(aug, size)

    def wrap(s: Any, transform: Callable, sample_seed: int | None) -> PipelineImages:
        if not hasattr(s, "x"):
            raise InputError(f"image augmentation needs images held in memory; {data.name} "
                             "reads files one by one")
        return PipelineImages(s.x, s.y, transform, sample_seed)

    return DataSplits(data.name, wrap(data.train, train, seed), wrap(data.val, test, None),
                      wrap(data.test, test, None), data.layout, data.num_classes,
                      data.sample_shape, data.description,
                      {**data.info, "augment": aug.model_dump(mode="json")})


# ---------------------------------------------------------------- mixing and loss --------------

class Mixer:
    """timm's Mixup on a training batch; draws seeded by (seed, epoch, batch, rank)."""

    def __init__(self, aug: AugmentSpec, num_classes: int, label_smoothing: float,
                 seed: int, rank: int) -> None:
        timm = _timm()
        self.mixup = timm.data.Mixup(
            mixup_alpha=aug.mixup, cutmix_alpha=aug.cutmix, prob=aug.mix_prob,
            switch_prob=aug.switch_prob, mode=aug.mix_mode, label_smoothing=label_smoothing,
            num_classes=num_classes)
        self.off_epoch, self.seed, self.rank = aug.mix_off_epoch, seed, rank

    def __call__(self, x: Tensor, y: Tensor, epoch: int, batch: int) -> tuple[Tensor, Tensor]:
        """Mixed inputs and soft targets (smoothed one-hot targets once mixing is off)."""
        self.mixup.mixup_enabled = self.off_epoch is None or epoch < self.off_epoch
        with _restored_rngs():
            _seed_all(mix_seed(self.seed, epoch, batch, self.rank, "mix"))
            return self.mixup(x, y)


def train_criterion(aug: AugmentSpec | None, label_smoothing: float) -> torch.nn.Module:
    """Soft-target cross-entropy when batches are mixed (timm's), else smoothed cross-entropy."""
    import torch

    if aug is not None and aug.mixes:
        return _timm().loss.SoftTargetCrossEntropy()
    return torch.nn.CrossEntropyLoss(label_smoothing=label_smoothing)


# ---------------------------------------------------------------- schedule ---------------------

def timm_cosine_lrs(*, lr: float, epochs: int, cooldown_epochs: int, warmup_epochs: int,
                    warmup_lr: float, min_lr: float) -> list[float]:
    """Learning rate of every epoch under timm's cosine scheduler, as STEP's train.py sets it.

    Built with ``create_scheduler_v2(sched="cosine", num_epochs=epochs - cooldown_epochs,
    ...)`` on a throw-away optimiser and read through its public ``step(epoch)``.
    """
    import torch

    timm = _timm()
    probe = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    sched, total = timm.scheduler.create_scheduler_v2(
        probe, sched="cosine", num_epochs=epochs - cooldown_epochs, min_lr=min_lr,
        warmup_lr=warmup_lr, warmup_epochs=warmup_epochs, cooldown_epochs=cooldown_epochs)
    lrs = []
    for epoch in range(epochs):
        sched.step(epoch)
        lrs.append(probe.param_groups[0]["lr"])
    return lrs


def epoch_lr_factor(lrs: list[float], lr: float, steps_per_epoch: int) -> Callable[[int], float]:
    """A LambdaLR factor that holds epoch e's rate for all its optimiser steps."""

    def factor(step: int) -> float:
        return lrs[min(step // steps_per_epoch, len(lrs) - 1)] / lr

    return factor


# ---------------------------------------------------------------- seeding ----------------------

def mix_seed(*parts: object) -> int:
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def _seed_all(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@contextmanager
def _restored_rngs() -> Iterator[None]:
    """Draw freely inside; python's, numpy's and torch's CPU random states are put back."""
    import numpy as np
    import torch

    py, nps = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        try:
            yield
        finally:
            random.setstate(py)
            np.random.set_state(nps)
