"""Data-parallel training on PyTorch's own engine: DistributedDataParallel under ``torchrun``.

``torchrun --nproc-per-node N -m step train ...`` (or ``step train --nproc N``, which launches
exactly that) starts N processes; each finds its rank in torchrun's environment variables
(``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``), joins the process group (gloo on CPU, nccl on
CUDA, one GPU per process) and wraps the model in :class:`~torch.nn.parallel.
DistributedDataParallel`. Without those variables, or with ``WORLD_SIZE=1``, nothing here does
anything and training is the one-process code path, bit for bit.

Why the result does not depend on the number of processes (for a deterministic model):

- ``batch_size`` is the *global* batch. Each epoch's order is still :func:`step.data.
  epoch_order` of (seed, epoch); every global batch of that order is cut into ``world_size``
  contiguous shards (sizes differ by at most one), rank r takes shard r. The data order is
  therefore a function of seed and epoch only, as in one process.
- DDP averages gradients over processes. Each rank scales its mean loss by
  ``n_local * world_size / n_global``, so that average is the gradient of the mean loss over
  the whole global batch, also when the last batch does not split evenly.
- Epoch metrics are sums of per-sample values, all-reduced (float64) over the processes.

What differs, and why: BatchNorm normalises with each process's own batch statistics (DDP
broadcasts rank 0's running statistics before every forward). ``sync_bn`` converts every
BatchNorm to :class:`~torch.nn.SyncBatchNorm`, which normalises with the global batch's
statistics, but torch implements it for GPUs only; it is off by default, as in the published
STEP's and timm's ``train.py`` (``--sync-bn``). Random draws (dropout, rate encoders) come from
per-process streams, re-seeded from (seed, epoch, rank) at every epoch under DDP: a run is
reproducible for a given number of processes, and equals the one-process run only for models
that draw nothing at random.

Rank 0 alone evaluates validation and test, writes checkpoints (atomically, as in one process)
and the result; the other ranks learn whether to stop from rank 0. A checkpoint holds the
unwrapped model, so ``--resume`` works with any number of processes.

Run by hand, ``torchrun ... -m step train ARGS`` passes every flag of ``step train`` through
except ``--log``: torchrun's argparse takes it for an abbreviation of its own ``--log-dir`` and
stops. Write ``log: tensorboard`` in the ``--config`` file there; ``step train --nproc N`` hands
all flags over untouched (:mod:`step.train._torchrun`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from step.errors import InputError


@dataclass(frozen=True)
class Distributed:
    """This process's place in the job: rank, world size, and the process group's backend."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def describe(self) -> dict[str, Any]:
        return {"world_size": self.world_size, "backend": self.backend,
                "engine": "torch.nn.parallel.DistributedDataParallel"}

    def wrap(self, model: nn.Module, *, device: str) -> nn.Module:
        """The module to train: the model itself in one process, DDP around it in several."""
        if not self.active:
            return model
        from torch.nn.parallel import DistributedDataParallel

        ids = [torch.cuda.current_device()] if device.startswith("cuda") else None
        # static_graph: the same parameters take part in every step; DDP then also copes with
        # a parameter no forward reaches (what find_unused_parameters does, without searching
        # the autograd graph at every step)
        return DistributedDataParallel(model, device_ids=ids, static_graph=True)

    def shards(self, order: Tensor, batch_size: int) -> Iterator[tuple[Tensor, int]]:
        """``(indices of this rank's shard, size of the global batch)`` for each global batch."""
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            if not self.active:
                yield chunk, len(chunk)
            else:
                yield chunk.tensor_split(self.world_size)[self.rank], len(chunk)

    def loss_weight(self, n_local: int, n_global: int) -> float:
        """Factor on a rank's mean loss so DDP's gradient average is the global batch's."""
        return n_local * self.world_size / n_global

    def sum(self, values: list[float]) -> list[float]:
        """Element-wise sum over all processes (float64); the values themselves in one."""
        if not self.active:
            return values
        import torch.distributed as dist

        t = torch.tensor(values, dtype=torch.float64, device=self._comm_device())
        dist.all_reduce(t)
        return t.tolist()

    def agree(self, flag: bool) -> bool:
        """Rank 0's ``flag`` on every rank (whether to stop: only rank 0 evaluates)."""
        if not self.active:
            return flag
        import torch.distributed as dist

        t = torch.tensor([1 if flag else 0], device=self._comm_device())
        dist.broadcast(t, src=0)
        return bool(t.item())

    def seed_epoch(self, model: nn.Module, seed: int, epoch: int) -> None:
        """Per-process random streams for this epoch (under DDP only; see the module doc)."""
        if not self.active:
            return
        from step.nn import Encoder

        torch.manual_seed(_mix(seed, epoch, self.rank, "torch"))
        for i, m in enumerate(x for x in model.modules() if isinstance(x, Encoder)):
            m.generator.manual_seed(_mix(seed, epoch, self.rank, f"encoder{i}"))

    def close(self) -> None:
        if self.active:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()

    def _comm_device(self) -> str:
        return "cuda" if self.backend == "nccl" else "cpu"


def from_env(device: str) -> Distributed:
    """Join torchrun's process group if this process was started by torchrun with N > 1."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Distributed()
    import torch.distributed as dist

    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    backend = "nccl" if device.startswith("cuda") else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(local)  # "cuda" now means this process's GPU everywhere
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, init_method="env://")
    return Distributed(rank=rank, world_size=world, local_rank=local, backend=backend)


def check_split(n_train: int, batch_size: int, world: int) -> None:
    """Every global batch must give each process at least one sample: else one line."""
    if world <= 1:
        return
    last = n_train % batch_size
    small = min(batch_size, n_train) if last == 0 else last
    if small < world:
        raise InputError(f"{world} processes need at least {world} samples in every batch, but "
                         f"a batch of this run holds {small} ({n_train} training samples in "
                         f"batches of {batch_size}): change --batch-size or --train-subset, or "
                         "use fewer processes")


def check_mix_batches(batch_size: int, world: int, mixes: bool) -> None:
    """timm's mixup pairs the images of a batch: each process's share must be even."""
    if mixes and batch_size % (2 * world):
        each = "" if world == 1 else f" over {world} processes"
        raise InputError(f"mixup pairs the images of a batch, so --batch-size {batch_size}"
                         f"{each} must split into even shares: use a multiple of {2 * world}")


def check_sync_bn(sync_bn: bool, device: str, world: int) -> None:
    """SyncBatchNorm is GPU-only in torch: say so before training, not at the first batch."""
    if sync_bn and world > 1 and not device.startswith("cuda"):
        raise InputError("sync_bn: torch's SyncBatchNorm runs on GPUs only; use --device cuda, "
                         "or train without sync_bn (each process normalises its own shard)")


def convert_sync_bn(model: nn.Module, sync_bn: bool, world: int) -> nn.Module:
    """Every BatchNorm as SyncBatchNorm when asked and running in several processes."""
    if sync_bn and world > 1:
        return nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return model


def _mix(seed: int, epoch: int, rank: int, what: str) -> int:
    digest = hashlib.sha256(f"{seed}/{epoch}/{rank}/{what}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def launch(argv: list[str], nproc: int, cfg: Any) -> int:
    """Run ``step <argv>`` under torchrun with ``nproc`` processes; its exit code.

    What can be checked without the data is checked here, once, before any process starts.
    ``--nproc`` is taken out of the arguments (the children are already distributed);
    torchrun runs with ``--standalone`` (a free port on this machine), see
    :mod:`step.train._torchrun`.
    """
    import json
    import subprocess
    import sys

    device = cfg.device
    check_sync_bn(cfg.sync_bn, device, nproc)
    check_mix_batches(cfg.batch_size, nproc, cfg.augment is not None and cfg.augment.mixes)
    if device.startswith("cuda"):
        count = torch.cuda.device_count()
        if count < nproc:
            raise InputError(f"--nproc {nproc} with --device {device} needs {nproc} GPUs (one "
                             f"per process), torch sees {count}: use --nproc {max(count, 1)}")
    cmd = [sys.executable, "-m", "step.train._torchrun", str(nproc),
           json.dumps(_without_nproc(argv))]
    env = dict(os.environ)
    # torchrun would set 1 thread per process and print a banner saying so; share the cores
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    return subprocess.call(cmd, env=env)


def _without_nproc(argv: list[str]) -> list[str]:
    out: list[str] = []
    skip = False
    for a in argv:
        if skip:
            skip = False
        elif a == "--nproc":
            skip = True
        elif not a.startswith("--nproc="):
            out.append(a)
    return out
