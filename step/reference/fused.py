"""The fast path of the reference backend: a whole IF / LIF / PLIF sequence as one autograd node.

:mod:`step.reference.functional` defines the equations step by step and lets autograd record
~10 nodes per time step. Here the same recursion runs once forward (3 tensor operations per
step), keeps only the charged membrane ``h`` and the membrane after reset ``v`` of every step,
and the backward pass (backpropagation through time, written out below) is one short loop over
time plus whole-sequence tensor operations. tests/test_reference_fused.py checks that it gives
the same spikes, membranes and gradients as the step-by-step definition.

All three kinds are the affine charge ``h[t] = a v[t-1] + b x[t] + c`` with ``k = 1/tau``:
IF ``a = 1, b = 1, c = 0``; LIF/PLIF ``a = 1 - k, c = k v_reset`` and ``b = k`` (decay_input)
or ``b = 1``. With ``gv[t]`` the gradient reaching ``v[t]`` (from later steps and from the
recorded trace) and ``gs[t]`` the gradient of the spike:

    gh[t] = gs[t] g(h[t] - th) + gv[t] dv[t]/dh[t],   gv[t-1] += a gh[t],   gx[t] = b gh[t]

where ``dv/dh`` is ``(1 - s) + (v_reset - h) g`` (hard), ``1 - th g`` (soft), ``1`` (none), the
``g`` terms dropped when the reset is detached.
"""

from __future__ import annotations

import torch
from torch import Tensor

from step.reference.surrogates import surrogate_grad
from step.specs import NeuronSpec


class _Sequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, v0: Tensor, k: Tensor | None, th: Tensor | None,  # type: ignore[override]
                spec: NeuronSpec, th_value: float) -> tuple[Tensor, Tensor]:
        dtype = x.dtype
        kind, v_r = spec.kind, spec.v_reset
        thr = th.to(dtype) if th is not None else th_value
        if kind == "if":
            a, bx = 1.0, x
        else:
            kk = k.to(dtype) if k is not None else 1.0 / spec.tau
            a = 1.0 - kk
            bx = (x * kk if spec.decay_input else x) + kk * v_r
        h_seq = torch.empty_like(x)
        v_seq = torch.empty_like(x)
        v_reset = torch.full((), v_r, dtype=dtype, device=x.device)
        v = v0
        # each step writes straight into the stored sequences (no temporaries to copy)
        for t in range(x.shape[0]):
            h = h_seq[t]
            if isinstance(a, Tensor):
                torch.addcmul(bx[t], v, a, out=h)
            else:
                torch.add(bx[t], v, alpha=a, out=h)
            v = v_seq[t]
            if spec.reset == "hard":
                torch.where(h > thr, v_reset, h, out=v)
            elif spec.reset == "soft":
                torch.sub(h, (h > thr).to(dtype) * thr, out=v)
            else:
                v.copy_(h)
        spikes = (h_seq > thr).to(dtype)
        ctx.set_materialize_grads(False)
        ctx.spec, ctx.th_value = spec, th_value
        # only h is needed to recompute spikes and surrogates; v[t-1] and x only for d/dk
        needs_k = k is not None and k.requires_grad
        ctx.save_for_backward(h_seq, v_seq if needs_k else None, v0 if needs_k else None,
                              x if needs_k else None, k, th)
        return spikes, v_seq

    @staticmethod
    def backward(ctx, g_spikes: Tensor | None, g_v: Tensor | None):  # type: ignore[override]
        h_seq, v_seq, v0, x, k, th = ctx.saved_tensors
        spec: NeuronSpec = ctx.spec
        dtype, v_r = h_seq.dtype, spec.v_reset
        thr = th.to(dtype) if th is not None else ctx.th_value
        s = (h_seq > thr).to(dtype)
        g = surrogate_grad(spec.surrogate.kind, h_seq - thr, spec.surrogate.alpha)
        attached = not spec.detach_reset
        if spec.reset == "hard":
            dv_dh = (1 - s) + ((v_r - h_seq) * g if attached else 0.0)
        elif spec.reset == "soft":
            dv_dh = (1 - thr * g) if attached else torch.ones_like(h_seq)
        else:
            dv_dh = torch.ones_like(h_seq)
        if spec.kind == "if":
            a = 1.0
        else:
            kk = k.to(dtype) if k is not None else 1.0 / spec.tau
            a = 1.0 - kk
        gs_g = g_spikes * g if g_spikes is not None else torch.zeros_like(h_seq)
        g_h = torch.empty_like(h_seq)
        keep_gv = th is not None and ctx.needs_input_grad[3]
        g_vt = torch.empty_like(h_seq) if keep_gv else None  # total gradient reaching v[t]
        carry = torch.zeros_like(h_seq[0])
        for t in range(h_seq.shape[0] - 1, -1, -1):
            gv = carry if g_v is None else carry + g_v[t]
            if g_vt is not None:
                g_vt[t] = gv
            gh = g_h[t]
            torch.addcmul(gs_g[t], gv, dv_dh[t], out=gh)
            carry = gh * a
        g_x = g_h if spec.kind == "if" or not spec.decay_input else g_h * (
            k.to(dtype) if k is not None else 1.0 / spec.tau)
        g_v0 = carry if ctx.needs_input_grad[1] else None
        g_k = None
        if k is not None and ctx.needs_input_grad[2]:
            v_prev = torch.cat([v0.unsqueeze(0), v_seq[:-1]])
            dh_dk = (x - v_prev + v_r) if spec.decay_input else (v_r - v_prev)
            g_k = (g_h * dh_dk).sum()
        g_th = None
        if th is not None and ctx.needs_input_grad[3]:
            # fire: d s/d th = -g; reset: hard (v_r - h)(-g) if attached; soft -s - th(-g)
            total = -(gs_g.sum())
            if spec.reset == "hard" and attached:
                total = total - (g_vt * (v_r - h_seq) * g).sum()
            elif spec.reset == "soft":
                total = total + (g_vt * (-s + (thr * g if attached else 0.0))).sum()
            g_th = total
        return g_x, g_v0, g_k, g_th, None, None


def run_fused(
    spec: NeuronSpec, x: Tensor, v0: Tensor, k: Tensor | None, th: Tensor | None
) -> tuple[Tensor, Tensor]:
    """(spikes, v_seq) of a whole sequence; ``k`` (1/tau) and ``th`` given when learnable."""
    return _Sequence.apply(x, v0, k, th, spec, spec.v_threshold)
