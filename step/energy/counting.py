"""Measuring a model on real data: what every synaptic layer and neuron received, per step.

Forward hooks sit on every ``nn.Linear``, ``nn.Conv1d``, ``nn.Conv2d`` and
:class:`step.nn.NeuronModule`, and a torch-function mode catches the matrix products between
activations (spiking attention), while the model runs over real batches. A layer is
*spike-driven* when every input it received was (graded) spikes, decided from the tensors
themselves, not from its position in the model: a first layer after a direct encoder, or one
fed membrane potentials, is dense and costs multiply-accumulates.

Time: inside :class:`step.nn.SeqWrap` a layer sees ``[T*B, ...]``; elsewhere a tensor whose
leading dimensions are ``(T, B)`` is time-major; anything else runs once per sample (static).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

from step.backend import NeuronModule
from step.energy import synops
from step.nn.layers import SeqWrap

_MATMULS = {torch.matmul, torch.Tensor.matmul, torch.Tensor.__matmul__, torch.bmm}


@dataclass
class SynapseCounts:
    """Totals over the evaluated samples for one weight layer or activation product."""

    name: str
    kind: str
    weights: int = 0
    biases: int = 0
    static: bool = False
    spike_valued: bool = True
    macs_per_step: float = 0.0  # dense MACs, summed over samples
    acs: Tensor | None = None  # [T] accumulates from measured events
    events: Tensor | None = None  # [T] sum |input| of the event operand(s)
    elements: float = 0.0  # input elements per step, summed over samples
    qnn_bitserial_acs: float = 0.0  # set bits of the quantised counts reaching synapses
    qnn_active_synapses: float = 0.0  # synapses reached by a nonzero count (weight reads)
    qnn_set_bits: float = 0.0
    qnn_bit_slots: float = 0.0

    def add_steps(self, acs: Tensor, events: Tensor) -> None:
        self.acs = acs if self.acs is None else self.acs + acs
        self.events = events if self.events is None else self.events + events


@dataclass
class NeuronCounts:
    """Totals over the evaluated samples for one spiking neuron module."""

    name: str
    neurons: float = 0.0  # neurons per step, summed over samples
    spikes: Tensor | None = None  # [T] output spikes (by value)


@dataclass
class Counts:
    """Everything measured on one evaluation: per layer, per step, summed over ``samples``."""

    T: int
    samples: int = 0
    synapses: dict[str, SynapseCounts] = field(default_factory=dict)
    neurons: dict[str, NeuronCounts] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # names in the order the forward met them


class _Recorder(TorchFunctionMode):
    """Hooks and a torch-function mode that fill a :class:`Counts` while the model runs."""

    def __init__(self, model: nn.Module, T: int) -> None:
        super().__init__()
        self.model, self.counts, self.T, self.B = model, Counts(T), T, 0
        self.busy = False
        self.stack: list[str] = []
        self.matmul_index: dict[str, int] = {}
        self.handles: list[Any] = []
        self.in_seq = {
            m.module for m in model.modules() if isinstance(m, SeqWrap)
        }

    def __enter__(self) -> _Recorder:
        for name, m in self.model.named_modules():
            self.handles.append(m.register_forward_pre_hook(self._enter_module(name)))
            self.handles.append(m.register_forward_hook(self._leave_module))
            if isinstance(m, nn.Linear | nn.Conv1d | nn.Conv2d):
                # a SeqWrap's inner layer is reported under the SeqWrap's own name
                shown = name.removesuffix(".module") if m in self.in_seq else name
                self.handles.append(m.register_forward_hook(self._weight_layer(shown)))
            elif isinstance(m, NeuronModule):
                self.handles.append(m.register_forward_hook(self._neuron(name)))
        return super().__enter__()

    def __exit__(self, *exc: Any) -> None:
        for h in self.handles:
            h.remove()
        super().__exit__(*exc)

    def _enter_module(self, name: str):
        def hook(module: nn.Module, args: Any) -> None:
            self.stack.append(name)
            self.matmul_index[name] = 0
        return hook

    def _leave_module(self, module: nn.Module, args: Any, out: Any) -> None:
        self.stack.pop()

    def time_major(self, x: Tensor, module: nn.Module | None) -> Tensor | None:
        """``x`` as ``[T, ...]``, or None if it carries no time dimension."""
        if module is not None and module in self.in_seq:
            return x.reshape(self.T, -1, *x.shape[1:])
        if x.dim() >= 3 and x.shape[0] == self.T and x.shape[1] == self.B:
            return x
        return None

    def _weight_layer(self, name: str):
        def hook(module: nn.Module, args: tuple, out: Tensor) -> None:
            if self.busy:
                return
            self.busy = True
            try:
                self._count_weight_layer(name, module, args[0].detach())
            finally:
                self.busy = False
        return hook

    def _count_weight_layer(self, name: str, module: nn.Module, x: Tensor) -> None:
        rec = self.counts.synapses.get(name)
        if rec is None:
            kind = "linear" if isinstance(module, nn.Linear) else "conv"
            bias = module.bias.numel() if module.bias is not None else 0
            rec = self.counts.synapses[name] = SynapseCounts(
                name, kind, module.weight.numel(), bias
            )
            self.counts.order.append(name)
        xt = self.time_major(x, module)
        rec.static = xt is None
        if xt is None:
            xt = x[None]
        ops = synops.linear_ops if isinstance(module, nn.Linear) else synops.conv_ops
        acs, macs = ops(xt, module)
        rec.spike_valued &= synops.is_spike_valued(xt)
        rec.macs_per_step += macs
        rec.elements += xt[0].numel()
        rec.add_steps(acs, synops.per_step(xt.abs()))
        counts = xt.sum(0, keepdim=True)
        bits = synops.activation_bits(self.T)
        pc = synops.popcount(counts, bits)
        rec.qnn_bitserial_acs += float(ops(pc, module)[0].sum())
        rec.qnn_active_synapses += float(ops((counts != 0).to(pc.dtype), module)[0].sum())
        rec.qnn_set_bits += float(pc.sum())
        rec.qnn_bit_slots += counts.numel() * bits

    def _neuron(self, name: str):
        def hook(module: nn.Module, args: tuple, out: Tensor) -> None:
            rec = self.counts.neurons.get(name)
            if rec is None:
                rec = self.counts.neurons[name] = NeuronCounts(name)
                self.counts.order.append(name)
            spikes = synops.per_step(out.detach().abs())
            rec.spikes = spikes if rec.spikes is None else rec.spikes + spikes
            rec.neurons += out[0].numel()
        return hook

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _MATMULS and not self.busy and len(args) == 2:
            self.busy = True
            try:
                self._count_matmul(args[0].detach(), args[1].detach())
            finally:
                self.busy = False
        return func(*args, **kwargs)

    def _count_matmul(self, a: Tensor, b: Tensor) -> None:
        owner = self.stack[-1] if self.stack else ""
        i = self.matmul_index.get(owner, 0)
        self.matmul_index[owner] = i + 1
        name = f"{owner}.matmul{i}" if owner else f"matmul{i}"
        rec = self.counts.synapses.get(name)
        if rec is None:
            rec = self.counts.synapses[name] = SynapseCounts(name, "matmul")
            self.counts.order.append(name)
        if a.dim() < 2 or b.dim() < 2:
            return
        at, bt = self.time_major(a, None), self.time_major(b, None)
        rec.static = at is None or bt is None
        if rec.static:
            at, bt = a[None], b[None]
        sa, sb = synops.is_spike_valued(at), synops.is_spike_valued(bt)
        rec.spike_valued &= sa or sb
        acs, macs = synops.matmul_ops(at, bt, sa, sb)
        rec.macs_per_step += macs
        rec.elements += at[0].numel() + bt[0].numel()
        events = synops.per_step(at.abs()) * sa + synops.per_step(bt.abs()) * sb
        rec.add_steps(acs, events)
        bits = synops.activation_bits(self.T)
        ca, cb = at.sum(0, keepdim=True), bt.sum(0, keepdim=True)
        pa, pb = synops.popcount(ca, bits), synops.popcount(cb, bits)
        first, second = (pa, cb) if sa else (ca, pb)
        rec.qnn_bitserial_acs += float(synops.matmul_ops(first, second, sa, sb)[0].sum())
        nz_a, nz_b = (ca != 0).double(), (cb != 0).double()
        rec.qnn_active_synapses += float(synops.matmul_ops(nz_a, nz_b, sa, sb)[0].sum())
        rec.qnn_set_bits += float(pa.sum() * sa + pb.sum() * sb)
        rec.qnn_bit_slots += (ca.numel() * sa + cb.numel() * sb) * bits


def count(
    model: nn.Module, batches: Iterable[Tensor], T: int | None = None,
    time_first: bool | None = None,
) -> Counts:
    """Run ``model`` in eval mode over ``batches`` (inputs only) and return what it counted.

    ``T`` defaults to ``model.config.T``. Batches are ``[B, ...]`` unless ``time_first`` (by
    default: the input has two more dimensions than the model's ``sample_dims``). Nothing of
    the model changes: hooks are removed and the training flag restored afterwards.
    """
    from step.errors import InputError

    T = T if T is not None else getattr(getattr(model, "config", None), "T", None)
    if T is None:
        raise InputError("energy counting needs T: pass T= or give the model a config.T")
    was_training = model.training
    model.eval()
    rec = _Recorder(model, int(T))
    sample_dims = getattr(model, "sample_dims", None)
    try:
        with torch.no_grad(), rec:
            for x in batches:
                tf = time_first
                if tf is None:
                    tf = sample_dims is not None and x.dim() == sample_dims + 2
                rec.B = x.shape[1] if tf else x.shape[0]
                model(x)
                rec.counts.samples += rec.B
    finally:
        model.train(was_training)
    if rec.counts.samples == 0:
        raise InputError("energy counting got no batches: give at least one")
    return rec.counts
