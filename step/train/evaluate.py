"""Evaluation: loss, accuracy, firing rates per layer and time step, and the temporal probe.

Firing rates are measured with forward hooks on every :class:`step.nn.NeuronModule` (all
backends' neurons are one), over the whole evaluation set: rate[layer][t] = spikes at step t /
(samples x neurons of the layer). The model's mean rate is total spikes / total neuron-steps,
so a wide layer weighs more than a narrow one (that is what an energy estimate needs).

Evaluation starts the encoders' random generators from their seeds and puts back their training
state afterwards: the same checkpoint always gives the same numbers, and evaluating never
changes the random draws training sees next.

The temporal probe feeds the same test set with the time axis reversed or shuffled (one fixed
permutation) at two points: the input (event frames, sequences, or the encoder's output) and
the spikes of the first neuron layer. A model that ignores temporal order loses nothing.
Direct encoding repeats one image T times, so permuting its input cannot change anything: the
probe says so instead of reporting a meaningless zero.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn

from step.data import SampleSet, batches


class FiringRates:
    """Forward hooks that count spikes per neuron layer and time step."""

    def __init__(self, model: nn.Module) -> None:
        from step.nn import NeuronModule

        self.layers = [(n, m) for n, m in model.named_modules() if isinstance(m, NeuronModule)]
        self.spikes: dict[str, Tensor] = {}
        self.count: dict[str, int] = {}
        self.width: dict[str, int] = {}
        self._handles: list[Any] = []

    def __enter__(self) -> FiringRates:
        for name, module in self.layers:
            self._handles.append(module.register_forward_hook(self._hook(name)))
        return self

    def __exit__(self, *exc: object) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def _hook(self, name: str):
        def hook(module: nn.Module, inputs: Any, out: Tensor) -> None:
            s = out.detach().float()
            T, B = s.shape[:2]
            per_t = s.reshape(T, B, -1).sum(dim=(1, 2)).cpu().double()
            self.spikes[name] = self.spikes.get(name, torch.zeros(T, dtype=torch.float64)) + per_t
            self.count[name] = self.count.get(name, 0) + B
            self.width[name] = s[0, 0].numel()

        return hook

    def summary(self) -> dict[str, Any]:
        """Per-layer rate per time step and overall; the model's neuron-weighted mean rate."""
        layers: dict[str, Any] = {}
        total_spikes, total_steps = 0.0, 0
        for name, _ in self.layers:
            if name not in self.spikes:
                continue
            denom = self.count[name] * self.width[name]
            per_t = (self.spikes[name] / denom).tolist()
            layers[name] = {"per_step": per_t, "mean": sum(per_t) / len(per_t),
                            "neurons": self.width[name]}
            total_spikes += float(self.spikes[name].sum())
            total_steps += denom * len(per_t)
        return {"layers": layers, "mean": total_spikes / total_steps if total_steps else None}


@contextmanager
def fresh_encoders(model: nn.Module) -> Iterator[None]:
    """Encoders start from their seeds inside; their generator states are restored after."""
    from step.nn import Encoder

    encoders = [m for m in model.modules() if isinstance(m, Encoder)]
    saved = [e.generator.get_state() for e in encoders]
    for e in encoders:
        e.reset()
    try:
        yield
    finally:
        for e, state in zip(encoders, saved, strict=True):
            e.generator.set_state(state)


@torch.no_grad()
def evaluate(model: nn.Module, data: SampleSet, *, batch_size: int, time_first: bool,
             criterion: nn.Module, device: str = "cpu", rates: bool = False,
             predictions: bool = False, amp: str | None = None) -> dict[str, Any]:
    """Mean loss and accuracy over ``data`` (and firing rates if ``rates``), in eval mode.

    ``amp`` (bf16, fp16) runs the forward under torch.autocast, as training did.

    ``predictions`` also returns the predicted and true label of every sample, in the data's
    order: two runs on the same test set can then be compared sample by sample (McNemar).
    """
    from step.train.precision import autocast

    was_training = model.training
    model.eval()
    loss_sum, correct, n = 0.0, 0, 0
    predicted: list[int] = []
    labels: list[int] = []
    monitor = FiringRates(model) if rates else None
    try:
        with fresh_encoders(model), (monitor or _null()):
            for x, y in batches(data, batch_size, time_first=time_first):
                x, y = x.to(device), y.to(device)
                with autocast(device, amp):
                    logits = model(x)
                    loss = criterion(logits, y)
                loss_sum += float(loss) * len(y)
                correct += int((logits.argmax(1) == y).sum())
                n += len(y)
                if predictions:
                    predicted += logits.argmax(1).tolist()
                    labels += y.tolist()
    finally:
        model.train(was_training)
    out: dict[str, Any] = {"loss": loss_sum / max(n, 1), "acc": correct / max(n, 1), "n": n}
    if monitor is not None:
        out["firing_rates"] = monitor.summary()
    if predictions:
        out.update(predictions=predicted, labels=labels)
    return out


@contextmanager
def _null() -> Iterator[None]:
    yield


def time_encoders(model: nn.Module) -> list[nn.Module]:
    """The modules that turn a static input into time steps: step's encoders, and a model's
    own encoder that says so with ``encodes_time = True`` (SPT's Q-SDE, whose steps hold
    different points of a cloud)."""
    from step.nn import Encoder

    return [m for m in model.modules()
            if isinstance(m, Encoder) or getattr(m, "encodes_time", False)]


def time_permutations(T: int, seed: int = 0) -> dict[str, Tensor]:
    """``reversed`` and one fixed ``shuffled`` order of T steps (never the identity if T > 2)."""
    g = torch.Generator().manual_seed(seed)
    shuffled = torch.randperm(T, generator=g)
    while T > 2 and torch.equal(shuffled, torch.arange(T)):
        shuffled = torch.randperm(T, generator=g)
    return {"reversed": torch.arange(T - 1, -1, -1), "shuffled": shuffled}


@contextmanager
def permute_time(model: nn.Module, order: Tensor, point: str) -> Iterator[None]:
    """Reorder the time axis of the encoder output (``input``) or first neurons' spikes."""
    from step.nn import NeuronModule

    if point == "input":
        targets = time_encoders(model)
    else:
        targets = [m for m in model.modules() if isinstance(m, NeuronModule)][:1]

    def hook(module: nn.Module, inputs: Any, out: Tensor) -> Tensor:
        return out[order.to(out.device)]

    handles = [m.register_forward_hook(hook) for m in targets]
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def temporal_probe(model: nn.Module, data: SampleSet, *, batch_size: int, time_first: bool,
                   criterion: nn.Module, T: int, device: str = "cpu",
                   input_T: int | None = None, amp: str | None = None) -> dict[str, Any]:
    """Accuracy with time reversed / shuffled at the input and after the first neuron layer.

    ``T`` is the model's number of steps; ``input_T`` the length of a time-first input when it
    differs (a model that reads a whole sequence as one input, repeated over its own T)."""
    kw = {"batch_size": batch_size, "time_first": time_first, "criterion": criterion,
          "device": device, "amp": amp}
    base = evaluate(model, data, **kw)
    out: dict[str, Any] = {"T": T, "original": {"acc": base["acc"], "loss": base["loss"]},
                           "input_varies_in_time": _input_varies(model, data, time_first, device)}
    if input_T is not None and input_T != T:
        out["input_T"] = input_T
    if T < 2:
        out["note"] = "T = 1: there is no temporal order to probe"
        return out
    input_orders = time_permutations(input_T or T)
    for name, order in time_permutations(T).items():
        for point in ("input", "first_layer"):
            if point == "input" and time_first:
                res = evaluate(_Permuted(model, input_orders[name]), data, **kw)
            else:
                with permute_time(model, order, point):
                    res = evaluate(model, data, **kw)
            out[f"{name}@{point}"] = {"acc": res["acc"], "loss": res["loss"],
                                      "acc_drop": base["acc"] - res["acc"]}
    if not out["input_varies_in_time"]:
        out["note"] = ("the input is identical at every step (e.g. direct encoding): "
                       "permuting it cannot change the output; see first_layer")
    return out


class _Permuted(nn.Module):
    """A model whose time-first input is reordered along time before it runs."""

    def __init__(self, model: nn.Module, order: Tensor) -> None:
        super().__init__()
        self.model = model
        self.order = order

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x[self.order.to(x.device)])


@torch.no_grad()
def _input_varies(model: nn.Module, data: SampleSet, time_first: bool, device: str) -> bool:
    """Whether the time-first input of the first batch differs between time steps."""
    x, _ = next(batches(data, 16, time_first=time_first))
    x = x.to(device)
    if not time_first:
        encoders = time_encoders(model)
        if not encoders:
            return False
        with fresh_encoders(model):
            x = encoders[0](x)
    return bool((x != x[:1]).any())
