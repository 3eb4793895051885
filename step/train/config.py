"""The run config: one pydantic model for ``step train`` flags and ``--config FILE.yaml``.

Unknown keys are errors (:class:`step.specs.Spec` forbids extras), so a misspelt YAML key never
silently leaves a default in place. Defaults follow the published STEP's recipe (AdamW, cosine
schedule with linear warm-up, label smoothing 0.1, seed 42), scaled down to runs of minutes.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from step.device import check_device
from step.specs import Spec, apply_assignments, load_mapping
from step.train.recipe import AugmentSpec, apply_recipe


class RunConfig(Spec):
    """Everything that decides a training run's result (``out``/``resume`` only say where/how)."""

    model: str = Field("spiking_mlp", description="registered model name (step.models)")
    preset: str | None = Field(None, description="model preset; None: the model's default")
    model_overrides: dict[str, Any] = Field(
        default_factory=dict, description="model config overrides passed to "
        "step.models.create, e.g. {neuron: {kind: lif, tau: 3}} (--set neuron.tau=3)"
    )
    backend: str = Field("reference", description="backend that builds every neuron")
    dataset: str = Field("digits", description="registered dataset name (step.data)")
    data_root: str | None = Field(None, description="folder of a real dataset")
    img_size: int | None = Field(None, ge=1, description="resize images; None: the model's")
    train_subset: int | None = Field(None, ge=1, description="use the first N training samples")
    eval_subset: int | None = Field(None, ge=1, description="use the first N val/test samples")
    epochs: int = Field(10, ge=1, description="training epochs")
    batch_size: int = Field(64, ge=1, description="training batch size (the global batch, "
                            "split over the processes of a DDP run)")
    eval_batch_size: int = Field(256, ge=1, description="batch size of val/test evaluation")
    lr: float = Field(5e-3, gt=0, description="peak learning rate (AdamW)")
    weight_decay: float = Field(0.01, ge=0, description="AdamW weight decay")
    warmup_epochs: float = Field(1.0, ge=0, description="linear warm-up length, in epochs")
    min_lr_ratio: float = Field(0.01, ge=0, le=1, description="final lr = lr * min_lr_ratio")
    label_smoothing: float = Field(0.1, ge=0, lt=1,
                                   description="cross-entropy label smoothing")
    seed: int = Field(42, ge=0, description="seed of weights, data order and dropout")
    device: str = Field("cpu", description="torch device (cpu, cuda)")
    recipe: str | None = Field(None, description="named training recipe (step-cifar: the "
                               "published STEP's); fills every field not set")
    lr_schedule: Literal["warmup_cosine", "timm_cosine"] = Field(
        "warmup_cosine", description="warmup_cosine: per step, linear warm-up from 0, cosine to "
        "the minimum; timm_cosine: timm's CosineLRScheduler per epoch (warm-up from warmup_lr, "
        "cosine over epochs - cooldown_epochs, then the minimum)")
    min_lr: float | None = Field(None, ge=0, description="final lr; None: lr * min_lr_ratio")
    warmup_lr: float = Field(0.0, ge=0, description="lr of the first warm-up epoch "
                             "(timm_cosine)")
    cooldown_epochs: int = Field(0, ge=0, description="last epochs held at the minimum lr "
                                 "(timm_cosine; counted in epochs)")
    augment: AugmentSpec | None = Field(None, description="image augmentation and mixup "
                                        "(timm's); None: none")
    amp: Literal["bf16", "fp16"] | None = Field(None, description="mixed precision: autocast "
                                                "to bf16 or fp16 (fp16 with a GradScaler)")
    sync_bn: bool = Field(False, description="BatchNorm statistics over all processes under "
                          "DDP (SyncBatchNorm, GPU only)")
    log: Literal["tensorboard"] | None = Field(None, description="also write TensorBoard "
                                               "scalars to OUT/tensorboard")
    probe: bool = Field(True, description="temporal probe (reversed/shuffled time) on test")
    out: str = Field("runs/train", description="output folder")

    @model_validator(mode="before")
    @classmethod
    def _recipe(cls, data: Any) -> Any:
        return apply_recipe(data) if isinstance(data, dict) else data

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        return check_device(v)

    @model_validator(mode="after")
    def _cooldown(self) -> RunConfig:
        if self.cooldown_epochs and self.cooldown_epochs >= self.epochs:
            raise ValueError(f"cooldown_epochs ({self.cooldown_epochs}) must be fewer than "
                             f"epochs ({self.epochs}), which count them: raise --epochs or set "
                             "cooldown_epochs lower in --config")
        return self

    def identity(self) -> dict[str, Any]:
        """The fields that decide the result (everything but where and how it is logged).

        Fields added with DDP, AMP and recipes count only when set: a run made before they
        existed keeps its identity (``--resume`` and the finished-run check still match it).
        """
        ident = self.model_dump(exclude={"out", "log"})
        for name in _LATER_FIELDS:
            if ident[name] == type(self).model_fields[name].default:
                del ident[name]
        return ident


_LATER_FIELDS = ("recipe", "lr_schedule", "min_lr", "warmup_lr", "cooldown_epochs", "augment",
                 "amp", "sync_bn")


def load_run_config(
    path: str | None, flags: dict[str, Any], sets: list[str] | None = None
) -> RunConfig:
    """Merge a YAML file (if any), command-line flags that were given, and ``--set`` overrides.

    Flags left at None do not override the file; ``--set neuron.tau=3`` edits
    ``model_overrides`` (values are converted by the model's own config validation).
    """
    data: dict[str, Any] = {}
    if path is not None:
        data.update(load_mapping(path, "run settings"))
    data.update({k: v for k, v in flags.items() if v is not None})
    if sets:
        data["model_overrides"] = apply_assignments(dict(data.get("model_overrides") or {}), sets)
    return RunConfig.parse(data, what=f"run config{f' {path}' if path else ''}")
