"""A step network -> a NIR graph: the layers in the order the network runs them.

The network runs once on a sample with forward hooks on its units (weight layers, pools,
neurons); consecutive units must pass the same tensor (or a flattened view of it, which becomes
a NIR ``Flatten``), so a residual sum, an attention product or any other computation between
units is caught, not dropped. BatchNorm after a Linear or Conv is folded into it (eval mode,
exact in real arithmetic; float32 results move by rounding only). The graph maps one time step
of ``[B, ...]`` inputs; the model's encoder and its readout (mean over time) stay outside and
are named in the graph's metadata.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from step.backend import NeuronModule
from step.errors import SpecError
from step.nir._neurons import to_nir_node, why_not_exportable
from step.nn.encoder import Encoder
from step.nn.layers import SeqWrap

#: Layers with a NIR primitive (the module inside a SeqWrap, or a bare one such as the head).
WEIGHTS = (nn.Linear, nn.Conv1d, nn.Conv2d)
NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)
POOLS = (nn.AvgPool2d,)
#: Modules that only hold others and run them in order, or that the export reads itself.
PASS_THROUGH = (nn.Sequential, nn.Identity, nn.Dropout, Encoder)


def _chain_classes() -> tuple[type, ...]:
    """Modules whose forward is a plain chain of their layers (the models then average over
    time); the recorded run checks the chain anyway."""
    from step.models.baselines import SpikingCNN, SpikingMLP
    from step.models.blocks import TokenMLP

    return (SpikingCNN, SpikingMLP, TokenMLP)


#: What the model-zoo blocks compute that NIR has no primitive for (by class name).
NO_PRIMITIVE = {
    "SpikingAttention": "spiking self-attention multiplies two activations (Q K^T V, K*V "
                        "column sums, or a token mask on K); NIR has no product of activations",
    "DSSA": "dual spike self-attention multiplies two activations and scales by firing rates; "
            "NIR has no product of activations",
    "TransformerBlock": "residual sums x + attn(x), x + mlp(x) (NIR could hold them as two "
                        "edges into one node; step.nir writes chains only)",
    "GWFFN": "membrane shortcuts (residual sums; step.nir writes chains only)",
    "SPS": "patch splitting with max-pooling and a residual position embedding",
    "FirstEmbedding": "a 3x3 path plus a 1x1 shortcut (residual sum)",
    "StageEmbedding": "two 3x3 convs and a max-pool plus a 1x1 shortcut (residual sum)",
    "SpikingViT": "averages the tokens before the head (a mean over an axis inside a time "
                  "step: no NIR primitive)",
    "QKFormer": "averages the tokens before the head (no NIR primitive)",
    "SpikingResformer": "averages over space before the head (no NIR primitive)",
    "SpikingRNN": "a recurrent layer run step by step (step.nir writes feed-forward chains)",
}


def _why(module: nn.Module) -> str:
    if isinstance(module, nn.MaxPool2d):
        return ("MaxPool2d: NIR has no max-pooling (only AvgPool2d and SumPool2d; "
                "spiking_cnn exports with pool=false)")
    if isinstance(module, NeuronModule):
        return why_not_exportable(module.spec) or ""
    name = type(module).__name__
    return f"{name}: " + NO_PRIMITIVE.get(name, "computes in its own forward; NIR has no "
                                                "primitive for it")


def unsupported_layers(model: nn.Module) -> list[tuple[str, str]]:
    """``(name, reason)`` of every layer of ``model`` that NIR cannot express.

    A module that computes in its own forward (attention, a residual block) is listed and
    its children are searched too, so every missing primitive is named, not only the first.
    """
    found: list[tuple[str, str]] = []
    containers = PASS_THROUGH + (nn.ModuleList, nn.ModuleDict, SeqWrap)

    def visit(name: str, m: nn.Module) -> None:
        inner = m.module if isinstance(m, SeqWrap) else m
        if isinstance(m, NeuronModule):
            if why_not_exportable(m.spec):
                found.append((name, _why(m)))
            return
        if isinstance(inner, WEIGHTS + NORMS + POOLS + (nn.Flatten,)):
            return
        if isinstance(m, SeqWrap) or not isinstance(m, containers + _chain_classes()):
            found.append((name or "<model>", _why(inner)))
            if isinstance(m, SeqWrap):
                return
        for child_name, child in m.named_children():
            visit(f"{name}.{child_name}" if name else child_name, child)

    visit("", model)
    return found


def describe(bad: list[tuple[str, str]]) -> str:
    """One line naming each missing primitive once, with where it first sits."""
    places: dict[str, list[str]] = {}
    for name, why in bad:
        places.setdefault(why, []).append(name)
    return "; ".join(f"{names[0]}" + (f" (and {len(names) - 1} more)" if len(names) > 1
                                       else "") + f": {why}" for why, names in places.items())


@dataclass
class _Call:
    name: str
    module: nn.Module
    x: Tensor
    y: Tensor


def _record(model: nn.Module, sample: Tensor) -> tuple[list[_Call], Tensor]:
    """Run ``model`` on ``sample``; the units it called, in order, and its output."""
    calls: list[_Call] = []
    handles = []

    def hook(name: str):
        def fn(module: nn.Module, args: tuple, out: Tensor) -> None:
            calls.append(_Call(name, module, args[0], out))  # the very tensors: `is` below
        return fn

    wrapped = {id(m.module) for m in model.modules() if isinstance(m, SeqWrap)}
    for name, m in model.named_modules():
        unit = isinstance(m, (NeuronModule, SeqWrap, *WEIGHTS, *NORMS, *POOLS, nn.Flatten))
        if unit and id(m) not in wrapped:
            handles.append(m.register_forward_hook(hook(name)))
    try:
        with torch.no_grad():
            out = model(sample)
    finally:
        for h in handles:
            h.remove()
    return calls, out


def _array(t: Tensor | None) -> np.ndarray | None:
    return None if t is None else t.detach().cpu().numpy().copy()


def _weight_node(layer: nn.Module, bn: nn.Module | None, in_shape: tuple[int, ...]) -> Any:
    import nir

    w = layer.weight.detach().double()
    b = layer.bias.detach().double() if layer.bias is not None else None
    if bn is not None:  # y = (Wx + b - mean) * g / sqrt(var + eps) + beta
        scale = bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)
        w = w * scale.reshape(-1, *([1] * (w.dim() - 1)))
        b = (b if b is not None else 0.0) - bn.running_mean.double()
        b = b * scale + bn.bias.detach().double()
    dtype = layer.weight.dtype
    w = w.to(dtype)
    b = b.to(dtype) if b is not None else None
    if isinstance(layer, nn.Linear):
        return nir.Linear(weight=_array(w)) if b is None else nir.Affine(weight=_array(w),
                                                                          bias=_array(b))
    bias = _array(b) if b is not None else np.zeros(w.shape[0], dtype=_array(w).dtype)
    cls = nir.Conv2d if isinstance(layer, nn.Conv2d) else nir.Conv1d
    if isinstance(layer.padding, str):
        raise SpecError(f"convolution with padding={layer.padding!r}: give the padding in "
                        "numbers to export to NIR")
    spatial = tuple(in_shape[1:]) if isinstance(layer, nn.Conv2d) else in_shape[1]
    return cls(input_shape=spatial, weight=_array(w), stride=layer.stride,
               padding=layer.padding, dilation=layer.dilation, groups=layer.groups, bias=bias)


def _flatten_node(flat: nn.Flatten, in_shape: tuple[int, ...], wrapped: bool) -> Any:
    """NIR dims count within one sample: a SeqWrap'd Flatten sees ``[T*B, ...]``, a bare one
    ``[T, B, ...]``."""
    import nir

    lead = 1 if wrapped else 2
    start, end = (d if d < 0 else d - lead for d in (flat.start_dim, flat.end_dim))
    if (flat.start_dim >= 0 and start < 0) or (flat.end_dim >= 0 and end < 0):
        raise SpecError("cannot export to NIR: a Flatten merges the time or batch axis")
    return nir.Flatten(input_type={"input": np.array(in_shape)}, start_dim=start, end_dim=end)


def _pool_node(pool: nn.AvgPool2d) -> Any:
    import nir

    if pool.ceil_mode or (pool.padding and not pool.count_include_pad) or pool.divisor_override:
        raise SpecError("AvgPool2d with ceil_mode, count_include_pad=False or divisor_override "
                        "has no NIR form: use the default options")

    def pair(v: Any) -> np.ndarray:
        return np.array(v if isinstance(v, tuple) else (v, v))

    return nir.AvgPool2d(kernel_size=pair(pool.kernel_size),
                         stride=pair(pool.stride or pool.kernel_size), padding=pair(pool.padding))


def graph_of(model: nn.Module, sample: Tensor, dt: float = 1.0) -> Any:
    """The NIR graph of ``model`` (eval mode) computing one time step of ``sample[t]``.

    ``sample`` is a time-first input ``[T, B, ...]``; the graph's input is one step of it.
    Raises :class:`~step.errors.SpecError` naming every layer NIR has no primitive for.
    """
    import nir

    bad = unsupported_layers(model)
    if bad:
        raise SpecError(f"cannot export to NIR: {describe(bad)}")
    was_training = model.training
    model.eval()
    try:
        calls, out = _record(model, sample)
    finally:
        model.train(was_training)
    nodes: dict[str, Any] = {"input": nir.Input(input_type=np.array(sample.shape[2:]))}
    order = ["input"]
    current, current_name = sample, "input"
    i = 0
    while i < len(calls):
        c = calls[i]
        inner = c.module.module if isinstance(c.module, SeqWrap) else c.module
        if c.x is not current:  # a view (flatten), a copy (dropout in eval), or a computation
            if current.dim() > 3 and c.x.dim() == 3 and torch.equal(
                    c.x, current.flatten(2)):
                flat = f"flatten_{len(order)}"
                nodes[flat] = nir.Flatten(input_type={"input": np.array(current.shape[2:])},
                                          start_dim=0)
                order.append(flat)
            elif not torch.equal(c.x, current):
                raise SpecError(f"cannot export to NIR: between {current_name} and {c.name} "
                                "the model computes something that is not a NIR layer")
        name = c.name.replace(".", "_") or type(inner).__name__.lower()
        in_shape = tuple(c.x.shape[2:])
        if isinstance(inner, WEIGHTS):
            bn = None
            nxt = calls[i + 1] if i + 1 < len(calls) else None
            if nxt is not None and isinstance(getattr(nxt.module, "module", None), NORMS) \
                    and nxt.x is c.y:
                bn, c = nxt.module.module, nxt
                i += 1
            nodes[name] = _weight_node(inner, bn, in_shape)
        elif isinstance(inner, NORMS):
            raise SpecError(f"cannot export to NIR: {c.name} is a BatchNorm that does not "
                            "follow a Linear or Conv (NIR has no normalisation primitive)")
        elif isinstance(inner, POOLS):
            nodes[name] = _pool_node(inner)
        elif isinstance(inner, nn.Flatten):
            nodes[name] = _flatten_node(inner, in_shape, wrapped=c.module is not inner)
        elif isinstance(inner, NeuronModule):
            nodes[name] = to_nir_node(inner.spec, tuple(c.y.shape[2:]), dt)
        order.append(name)
        current, current_name = c.y, c.name
        i += 1
    readout = _readout(model, out, current)
    nodes["output"] = nir.Output(output_type=np.array(current.shape[2:]))
    order.append("output")
    edges = list(zip(order[:-1], order[1:], strict=True))
    meta = {"producer": "step", "dt": float(dt), "time_step": "forward Euler, one step per dt",
            "readout": readout}
    encoder = getattr(model, "encoder", None)
    if isinstance(encoder, Encoder):
        meta["encoder"] = encoder.spec.model_dump_json()
    try:
        return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)
    except (ValueError, AssertionError) as err:  # nir validates shapes with both
        raise SpecError(f"NIR rejected the graph of this model: {err}") from None


def _readout(model: nn.Module, out: Tensor, last: Tensor) -> str:
    """What the model does with the graph's output: nothing, or the mean over time."""
    if out is last or (out.shape == last.shape and torch.equal(out, last)):
        return "none: the output of every time step"
    if out.shape == last.shape[1:] and torch.equal(out, last.mean(0)):
        return "mean over time of the output"
    raise SpecError("cannot export to NIR: the model's output is neither its last layer's "
                    "output nor its mean over time")


def sample_input(model: nn.Module, batch: int = 2, seed: int = 0) -> Tensor:
    """A time-first input ``[T, B, ...]`` that fits a step model's config (uniform [0, 1))."""
    cfg = getattr(model, "config", None)
    if cfg is None or not hasattr(cfg, "T"):
        raise SpecError("give a sample input [T, B, ...]: the model has no step config")
    g = torch.Generator().manual_seed(seed)
    features = getattr(cfg, "features_in", None)
    shape = (features,) if features is not None else (cfg.in_channels, cfg.img_size,
                                                      cfg.img_size)
    return torch.rand((cfg.T, batch, *shape), generator=g)

