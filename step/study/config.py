"""The study config: one model, one dataset, several backends and seeds, identical conditions.

The defaults are the README's main job: a tiny Spikformer on the embedded digits, every
installed backend, two seeds, a few epochs; on two CPU cores it finishes in minutes.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from step.specs import Spec
from step.train.config import RunConfig, check_device


class StudyConfig(Spec):
    """What a fairness study runs; each (backend, seed) becomes one :class:`RunConfig`."""

    model: str = "spikformer"
    preset: str | None = "tiny"
    model_overrides: dict[str, Any] = Field(default_factory=dict)
    dataset: str = "digits"
    data_root: str | None = None
    img_size: int | None = None
    train_subset: int | None = Field(None, ge=1)
    eval_subset: int | None = Field(None, ge=1)
    backends: list[str] | str = Field("all", description="'all' or a list of backend names")
    seeds: int = Field(2, ge=1, description="seeds seed, seed+1, ...")
    seed: int = Field(42, ge=0, description="first seed")
    epochs: int = Field(10, ge=1)
    batch_size: int = Field(64, ge=1)
    lr: float = Field(1e-2, gt=0)
    device: str = "cpu"
    conformance: bool = Field(True, description="run the conformance cases of the model's "
                              "neuron kinds on each backend and show the verdict in its row")
    isolate: bool = Field(True, description="run every (backend, seed) in its own process")
    jobs: int = Field(2, ge=1, description="runs at once (isolated runs only); each gets "
                      "cpu_count // jobs torch threads")
    out: str = "runs/study"

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        return check_device(v)  # before any run starts, not in each of them

    def seed_list(self) -> list[int]:
        return [self.seed + i for i in range(self.seeds)]

    def run_config(self, backend: str, seed: int, out: str) -> RunConfig:
        """The training run of one (backend, seed): everything else is the same for all."""
        return RunConfig.parse({
            "model": self.model, "preset": self.preset, "model_overrides": self.model_overrides,
            "dataset": self.dataset, "data_root": self.data_root, "img_size": self.img_size,
            "train_subset": self.train_subset, "eval_subset": self.eval_subset,
            "backend": backend, "seed": seed, "epochs": self.epochs,
            "batch_size": self.batch_size, "lr": self.lr, "device": self.device,
            "probe": False, "out": out,
        })
