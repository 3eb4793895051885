"""Checkpoints that let a killed run finish with the result an uninterrupted run would give.

A checkpoint holds everything the next epoch depends on: model (with BatchNorm statistics),
optimizer, scheduler, torch's global RNG, every encoder's generator, the epochs done, the
history and the best-so-far. The data order needs nothing: it is a function of (seed, epoch).
It is written whole or not at all (temporary file, then rename), so a kill during the write
leaves the previous checkpoint intact. The run config is stored too, and resuming with a
different config is refused: that would silently mix two experiments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from step._io import atomic_path
from step.errors import InputError

CHECKPOINT = "checkpoint.pt"
BEST = "best.pt"


def encoder_states(model: nn.Module) -> list[torch.Tensor]:
    from step.nn import Encoder

    return [m.generator.get_state() for m in model.modules() if isinstance(m, Encoder)]


def set_encoder_states(model: nn.Module, states: list[torch.Tensor]) -> None:
    from step.nn import Encoder

    encoders = [m for m in model.modules() if isinstance(m, Encoder)]
    if len(encoders) != len(states):
        raise InputError("checkpoint does not match the model (different number of encoders)")
    for m, s in zip(encoders, states, strict=True):
        m.generator.set_state(s)


def save(path: Path, **payload: Any) -> None:
    """``torch.save`` through a temporary file and a rename."""
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def save_checkpoint(out: Path, *, model: nn.Module, optimizer: Any, scheduler: Any,
                    epoch: int, history: list[dict], best: dict, identity: dict,
                    scaler: Any = None) -> None:
    """The state after ``epoch`` completed epochs (and fp16's gradient scale, if scaled)."""
    save(out / CHECKPOINT, model=model.state_dict(), optimizer=optimizer.state_dict(),
         scheduler=scheduler.state_dict(), torch_rng=torch.get_rng_state(),
         encoders=encoder_states(model), epoch=epoch, history=history, best=best,
         identity=identity, scaler=scaler.state_dict() if scaler is not None else None)


def load_checkpoint(out: Path, *, model: nn.Module, optimizer: Any, scheduler: Any,
                    identity: dict, scaler: Any = None) -> dict[str, Any]:
    """Restore everything in place; returns ``{"epoch", "history", "best"}``."""
    path = out / CHECKPOINT
    if not path.is_file():
        raise InputError(f"--resume: no checkpoint at {path} (run without --resume to start)")
    state = read(path, "--resume: the checkpoint", keys=_CHECKPOINT_KEYS)
    if state.get("identity") != identity:
        diff = sorted(k for k in identity if state.get("identity", {}).get(k) != identity[k])
        raise InputError(f"--resume: the checkpoint at {path} was made with a different config "
                         f"({', '.join(diff)} differ); use another --out or the same settings")
    _load_weights(model, state["model"], path)
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    set_encoder_states(model, state["encoders"])
    if scaler is not None and state.get("scaler"):
        scaler.load_state_dict(state["scaler"])
    return {"epoch": state["epoch"], "history": state["history"], "best": state["best"]}


def save_best(out: Path, model: nn.Module, epoch: int) -> None:
    save(out / BEST, model=model.state_dict(), epoch=epoch)


def load_best(out: Path, model: nn.Module) -> int:
    state = read(out / BEST, "the best checkpoint", keys=("model", "epoch"))
    _load_weights(model, state["model"], out / BEST)
    return int(state["epoch"])


_CHECKPOINT_KEYS = ("model", "optimizer", "scheduler", "torch_rng", "encoders", "epoch",
                    "history", "best", "identity")


def read(path: str | Path, what: str, keys: tuple[str, ...] = ()) -> Any:
    """``torch.load`` with ``weights_only=True``: tensors and plain data, never code.

    A checkpoint is a pickle, and a pickle can run anything when it is loaded; a run folder
    someone sent you must not be able to. ``weights_only`` refuses every object that is not a
    tensor or plain data before it is built. A truncated, foreign or refused file is one line
    (an :class:`InputError`), as is a dict that lacks the ``keys`` this reader needs.
    """
    import pickle
    import re

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{what} {p} does not exist: check the path")
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        found = re.search(r"GLOBAL ([\w.]+)", str(err))  # a class or function: refused
        if found is None:  # not refused, unreadable: garbage or another kind of pickle
            raise InputError(f"{what} {p} could not be read, it is truncated or not a torch "
                             f"checkpoint ({_first_line(err)}): train again or give another "
                             "file") from None
        raise InputError(f"{what} {p} holds objects that are not tensors or plain data "
                         f"({found.group(1)}), refused unloaded: use only checkpoints written "
                         "by step") from None
    except Exception as err:  # truncated, garbage, not a torch file: one line, not a dump
        raise InputError(f"{what} {p} could not be read, it is truncated or not a torch "
                         f"checkpoint ({_first_line(err)}): train again or give another "
                         "file") from None
    missing = [k for k in keys if not isinstance(state, dict) or k not in state]
    if missing:
        raise InputError(f"{what} {p} is not a step checkpoint (no {', '.join(missing)}): "
                         "train again or give another file")
    return state


def _load_weights(model: nn.Module, weights: dict, path: Path) -> None:
    """Load a state dict; a mismatch (the model code changed since) is one line, not a dump."""
    try:
        model.load_state_dict(weights)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0]
        raise InputError(f"{path} does not fit the model as built now (was the model code or "
                         f"config changed since the run?): {first}") from None


def _first_line(err: Exception) -> str:
    first = (str(err).strip().splitlines() or [""])[0].split(". ")[0][:100]
    return f"{type(err).__name__}: {first}"
