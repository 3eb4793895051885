"""Counting synaptic operations exactly from the tensors a layer actually received.

A synaptic operation (an accumulate, AC) is one input event reaching one synapse: the weight
it meets is added to the target's membrane. Counting them from a firing *rate* times a fan-out
is wrong at borders (a padded convolution reaches fewer outputs from an edge pixel) and for
strided or grouped convolutions, so STEP counts them from the real input: a linear layer's
events each reach ``out_features`` synapses; a convolution's count is the convolution of the
events with a kernel of ones, which adds, for every output position, the events its receptive
field saw. Graded spikes (small integers) count by value: a spike of 2 is two accumulates.

Every function here takes time-major tensors ``[T, ...]`` and returns one number per step,
summed over the batch.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: Largest integer an input may hold and still be read as (graded) spikes. Larger integers
#: (an attention score summed over 64 tokens) are ordinary values that need a multiply.
MAX_GRADED = 15


def is_spike_valued(x: Tensor) -> bool:
    """True if every value is an integer of magnitude at most :data:`MAX_GRADED`."""
    if x.dtype == torch.bool:
        return True
    if x.numel() == 0:
        return True
    if not torch.is_floating_point(x):
        return bool(x.abs().max() <= MAX_GRADED)
    return bool(torch.equal(x, x.round()) and x.abs().max() <= MAX_GRADED)


def activation_bits(T: int) -> int:
    """Bits of the quantised ANN that matches a ``T``-step rate code: ``ceil(log2(T + 1))``.

    A neuron fires 0..T times in T steps, T + 1 levels, so that many bits hold its count.
    """
    return max(1, math.ceil(math.log2(T + 1)))


def popcount(counts: Tensor, bits: int) -> Tensor:
    """Set bits of ``|counts|`` quantised to ``bits`` bits (saturating): the bit-serial work.

    A bit-serial QNN adds a shifted weight once per set bit of its input, so ``5 = 0b101``
    costs two accumulates where the SNN spends five (one per spike).
    """
    q = counts.abs().round().clamp(max=2**bits - 1).to(torch.int64)
    total = torch.zeros_like(q)
    for i in range(bits):
        total += (q >> i) & 1
    return total.to(counts.dtype if torch.is_floating_point(counts) else torch.float32)


def per_step(x: Tensor) -> Tensor:
    """Sum everything but the leading (time) dimension: ``[T, ...] -> [T]``."""
    return x.reshape(x.shape[0], -1).sum(1, dtype=torch.float64)


def linear_ops(x: Tensor, layer: nn.Linear) -> tuple[Tensor, int]:
    """(synaptic ops per step, dense MACs per step per row-set) for ``x [T, ..., in]``.

    Every input event reaches all ``out_features`` synapses it drives.
    """
    acs = per_step(x.abs()) * layer.out_features
    macs = x[0].numel() * layer.out_features
    return acs, macs


def conv_ops(x: Tensor, layer: nn.Conv1d | nn.Conv2d) -> tuple[Tensor, int]:
    """(synaptic ops per step, dense MACs per step) for ``x [T, N, C, *spatial]``.

    The events are convolved with a ones kernel of one output channel per group (same stride,
    padding, dilation), which counts, for every output position, the events in its receptive
    field; each group's count is shared by the ``out_channels / groups`` filters of the group.
    """
    T = x.shape[0]
    flat = x.reshape(-1, *x.shape[2:]).abs().to(torch.float64)
    g = layer.groups
    ones = torch.ones(g, layer.in_channels // g, *layer.kernel_size, dtype=torch.float64,
                      device=x.device)
    conv = F.conv1d if isinstance(layer, nn.Conv1d) else F.conv2d
    reach = conv(flat, ones, None, layer.stride, layer.padding, layer.dilation, g)
    acs = per_step(reach.reshape(T, -1)) * (layer.out_channels // g)
    out_positions = math.prod(reach.shape[2:]) * (reach.shape[0] // T)
    macs = out_positions * layer.out_channels * (layer.in_channels // g) * math.prod(
        layer.kernel_size
    )
    return acs, macs


def matmul_ops(a: Tensor, b: Tensor, a_spikes: bool, b_spikes: bool) -> tuple[Tensor, int]:
    """(accumulates per step, dense MACs per step) for ``a @ b`` with ``a [T, ..., n, k]``.

    Events in ``a`` select rows of ``b``: with ``b`` real-valued each event adds a whole row
    (``m`` accumulates); with ``b`` spikes too, only the nonzero entries of the row are added
    (the coincidences). With only ``b`` spiking the roles swap; with neither it is dense.
    """
    n, k = a.shape[-2:]
    m = b.shape[-1]
    batch = torch.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    macs = math.prod(batch[1:]) * n * k * m
    aa, bb = a.to(torch.float64), b.to(torch.float64)
    if a_spikes and b_spikes:
        acs = per_step((aa.abs() @ (bb != 0).to(torch.float64)).expand(*batch, n, m))
    elif a_spikes:
        acs = per_step(aa.abs().expand(*batch, n, k)) * m
    elif b_spikes:
        acs = per_step(bb.abs().expand(*batch, k, m)) * n
    else:
        acs = torch.zeros(batch[0], dtype=torch.float64, device=a.device)
    return acs, macs
