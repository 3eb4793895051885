"""The run config: one pydantic model for ``step train`` flags and ``--config FILE.yaml``.

Unknown keys are errors (:class:`step.specs.Spec` forbids extras), so a misspelt YAML key never
silently leaves a default in place. Defaults follow the published STEP's recipe (AdamW, cosine
schedule with linear warm-up, label smoothing 0.1, seed 42), scaled down to runs of minutes.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_serializer, model_validator

from step.specs import Spec, apply_assignments, load_mapping

#: The heads each task can put on a backbone (the first is the default).
TASK_HEADS: dict[str, tuple[str, ...]] = {
    "classification": (), "segmentation": ("fcn", "fpn"), "detection": ("faster_rcnn",)}

#: The run-config fields of the dense tasks (left out of a classification config's dump).
DENSE_FIELDS = ("task", "head", "head_channels")


def without_dense(data: dict[str, Any], task: str) -> dict[str, Any]:
    """``data`` without :data:`DENSE_FIELDS` when ``task`` is classification."""
    if task != "classification":
        return data
    return {k: v for k, v in data.items() if k not in DENSE_FIELDS}


class RunConfig(Spec):
    """Everything that decides a training run's result (``out``/``resume`` only say where/how)."""

    model: str = Field("spiking_mlp", description="registered model name (step.models)")
    preset: str | None = Field(None, description="model preset; None: the model's default")
    model_overrides: dict[str, Any] = Field(
        default_factory=dict, description="model config overrides passed to "
        "step.models.create, e.g. {neuron: {kind: lif, tau: 3}} (--set neuron.tau=3)"
    )
    task: Literal["classification", "segmentation", "detection"] = Field(
        "classification", description="what the model learns: a label per sample, a class "
        "per pixel (a head on the backbone's feature maps) or boxes (torchvision Faster R-CNN)")
    head: str | None = Field(None, description="dense head: fcn or fpn (segmentation), "
                             "faster_rcnn (detection); None: fcn / faster_rcnn")
    head_channels: int = Field(256, ge=1, description="channels of the fpn head and of the "
                               "detector's FPN (the fcn head, STEP's, has no hidden convs)")
    backend: str = Field("reference", description="backend that builds every neuron")
    dataset: str = Field("digits", description="registered dataset name (step.data)")
    data_root: str | None = Field(None, description="folder of a real dataset")
    img_size: int | None = Field(None, ge=1, description="resize images; None: the model's")
    train_subset: int | None = Field(None, ge=1, description="use the first N training samples")
    eval_subset: int | None = Field(None, ge=1, description="use the first N val/test samples")
    epochs: int = Field(10, ge=1, description="training epochs")
    batch_size: int = Field(64, ge=1, description="training batch size")
    eval_batch_size: int = Field(256, ge=1, description="batch size of val/test evaluation")
    lr: float = Field(5e-3, gt=0, description="peak learning rate (AdamW)")
    weight_decay: float = Field(0.01, ge=0, description="AdamW weight decay")
    warmup_epochs: float = Field(1.0, ge=0, description="linear warm-up length, in epochs")
    min_lr_ratio: float = Field(0.01, ge=0, le=1, description="final lr = lr * min_lr_ratio")
    label_smoothing: float = Field(0.1, ge=0, lt=1,
                                   description="cross-entropy label smoothing")
    seed: int = Field(42, ge=0, description="seed of weights, data order and dropout")
    device: str = Field("cpu", description="torch device (cpu, cuda)")
    probe: bool = Field(True, description="temporal probe (reversed/shuffled time) on test")
    out: str = Field("runs/train", description="output folder")

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        return check_device(v)

    @model_validator(mode="after")
    def _head_fits_task(self) -> RunConfig:
        heads = TASK_HEADS[self.task]
        if self.head is not None and self.head not in heads:
            fix = f"choose one of {', '.join(heads)}" if heads else "leave head unset"
            raise ValueError(f"head {self.head!r} does not fit task {self.task}: {fix}")
        return self

    @model_serializer(mode="wrap")
    def _classification_as_before(self, handler: Any) -> dict[str, Any]:
        # A classification config serialises without the dense-task fields: they decide
        # nothing there, and result.json, run hashes, resumed checkpoints and finished runs
        # from before they existed stay exactly as they were.
        return without_dense(handler(self), self.task)

    def identity(self) -> dict[str, Any]:
        """The fields that decide the result (everything but where it is written)."""
        return self.model_dump(exclude={"out"})


def check_device(name: str) -> str:
    """``name`` if torch can run on it here, else a ValueError naming the fix.

    Checked when a config is parsed, so a run asking for a GPU the machine lacks stops before
    loading data or starting any run, not at the first tensor moved.
    """
    import torch

    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"not a torch device: {name!r} (use cpu or cuda)") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(f"{name!r} is not available: torch sees no CUDA GPU on this "
                             "machine (use --device cpu)")
        if device.index is not None and device.index >= count:
            raise ValueError(f"{name!r} is not available: torch sees {count} CUDA GPU(s), "
                             f"cuda:0 to cuda:{count - 1}")
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"{name!r} is not available on this machine (use --device cpu)")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"{name!r}: step runs on cpu, cuda or mps")
    return name


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
