"""The fast path of the reference backend: a whole IF / LIF / PLIF sequence as one autograd node.

:mod:`step.reference.functional` defines the equations step by step and lets autograd record
~10 nodes per time step. Here the same recursion runs once forward (3 tensor operations per
step), keeps only the charged membrane ``h`` and the membrane after reset ``v`` of every step,
and the backward pass (backpropagation through time, written out below) is one short loop over
time plus whole-sequence tensor operations. tests/test_reference_fused.py checks that it gives
the same spikes, membranes and gradients as the step-by-step definition.

All three kinds are the affine charge ``h[t] = a v[t-1] + b x[t] + c`` with ``k = 1/tau`` (the
forward evaluates it in the spec's operation order, ``v + (x - (v - v_r)) / tau``):
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


def _reset_from_h(spec: NeuronSpec, h: Tensor, fired: Tensor, thr: float | Tensor) -> Tensor:
    """The membrane after reset, recomputed from h and the spikes (whole sequences at once)."""
    if spec.reset == "hard":
        return torch.where(fired, torch.as_tensor(spec.v_reset, dtype=h.dtype, device=h.device), h)
    if spec.reset == "soft":
        return h - fired.to(h.dtype) * thr
    return h


def _leak(h: Tensor, tau: float, k: float | Tensor, tau_fixed: bool) -> None:
    """h /= tau in place for a fixed tau (the spec's order), else h *= k (PLIF's sigmoid(w))."""
    if tau_fixed:
        h.div_(tau)
    else:
        h.mul_(k)


def _fired(spec: NeuronSpec, h: Tensor, thr: float | Tensor) -> Tensor:
    """The spikes of the spec's fire rule as a boolean mask."""
    return h >= thr if spec.fire == "ge" else h > thr


class _Sequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, v0: Tensor, k: Tensor | None, th: Tensor | None,  # type: ignore[override]
                spec: NeuronSpec, th_value: float, keep_v: bool) -> tuple[Tensor, Tensor]:
        dtype = x.dtype
        kind, v_r = spec.kind, spec.v_reset
        thr = th.to(dtype) if th is not None else th_value
        kk = None if kind == "if" else (k.to(dtype) if k is not None else 1.0 / spec.tau)
        tau_fixed = kind == "lif" and k is None
        compare = torch.ge if spec.fire == "ge" else torch.gt
        T = x.shape[0]
        # Stored: h of every step (the backward recomputes spikes, surrogates and v from it),
        # the spikes, and v of every step only when it is asked for. No whole-sequence
        # temporaries: on long, wide sequences fresh allocations cost more than the arithmetic.
        h_seq = torch.empty_like(x)
        spikes = torch.empty_like(x)
        v_seq = torch.empty_like(x) if keep_v else None
        fired = torch.empty(x.shape[1:], dtype=torch.bool, device=x.device)
        v_reset = torch.full((), v_r, dtype=dtype, device=x.device)
        v = v0
        for t in range(T):
            h = h_seq[t]
            # The operation order of the spec (and SpikingJelly), not the algebraically equal
            # (1 - k) v + k x: one ulp of difference flips a spike at a threshold tie.
            if kk is None:  # IF: h = v + x
                torch.add(v, x[t], out=h)
            elif spec.decay_input:  # h = v + (x - (v - v_r)) / tau
                torch.sub(x[t], v - v_r if v_r != 0.0 else v, out=h)
                _leak(h, spec.tau, kk, tau_fixed)
                h.add_(v)
            else:  # h = v - (v - v_r) / tau + x
                torch.sub(v, v_r, out=h)
                _leak(h, spec.tau, kk, tau_fixed)
                torch.sub(v, h, out=h)
                h.add_(x[t])
            compare(h, thr, out=fired)
            spikes[t].copy_(fired)
            v_next = v_seq[t] if v_seq is not None else torch.empty_like(h)
            if spec.reset == "hard":
                torch.where(fired, v_reset, h, out=v_next)
            elif spec.reset == "soft":
                torch.sub(h, spikes[t] * thr, out=v_next)
            else:
                v_next.copy_(h)
            v = v_next
        ctx.set_materialize_grads(False)
        ctx.spec, ctx.th_value, ctx.keep_v = spec, th_value, keep_v
        needs_k = k is not None and k.requires_grad
        ctx.save_for_backward(h_seq, v0 if needs_k else None, x if needs_k else None, k, th)
        return spikes, (v_seq if keep_v else v)

    @staticmethod
    def backward(ctx, g_spikes: Tensor | None, g_v: Tensor | None):  # type: ignore[override]
        h_seq, v0, x, k, th = ctx.saved_tensors
        spec: NeuronSpec = ctx.spec
        dtype, v_r = h_seq.dtype, spec.v_reset
        thr = th.to(dtype) if th is not None else ctx.th_value
        attached = not spec.detach_reset
        kk = None if spec.kind == "if" else (k.to(dtype) if k is not None else 1.0 / spec.tau)
        a = 1.0 if kk is None else 1.0 - kk
        b = 1.0 if kk is None or not spec.decay_input else kk
        want_k = k is not None and ctx.needs_input_grad[2]
        want_th = th is not None and ctx.needs_input_grad[3]
        T = h_seq.shape[0]
        # One step at a time, newest first: per-step temporaries are small and reused, where
        # whole-sequence ones would each be as large as the input.
        g_x = torch.empty_like(h_seq)
        g_k = torch.zeros((), dtype=dtype, device=h_seq.device) if want_k else None
        g_th = torch.zeros((), dtype=dtype, device=h_seq.device) if want_th else None
        carry = torch.zeros_like(h_seq[0])
        for t in range(T - 1, -1, -1):
            h = h_seq[t]
            fired = _fired(spec, h, thr)
            g = surrogate_grad(spec.surrogate.kind, h - thr, spec.surrogate.alpha)
            if spec.reset == "hard":
                dv_dh = (~fired).to(dtype)
                if attached:
                    dv_dh = dv_dh + (v_r - h) * g
            elif spec.reset == "soft" and attached:
                dv_dh = 1 - thr * g
            else:
                dv_dh = None  # 1
            if g_v is None:
                gv = carry
            elif ctx.keep_v:
                gv = carry + g_v[t]
            else:  # only the last membrane was returned
                gv = carry + g_v if t == T - 1 else carry
            gh = gv * dv_dh if dv_dh is not None else gv
            if g_spikes is not None:
                gh = gh + g_spikes[t] * g
            torch.mul(gh, b, out=g_x[t])
            carry = gh * a
            if g_k is not None:  # dh/dk = x - v[t-1] + v_r (decay_input) or v_r - v[t-1]
                v_prev = v0 if t == 0 else _reset_from_h(spec, h_seq[t - 1],
                                                         _fired(spec, h_seq[t - 1], thr), thr)
                dh_dk = (x[t] - v_prev + v_r) if spec.decay_input else (v_r - v_prev)
                g_k += (gh * dh_dk).sum()
            if g_th is not None:
                # fire: ds/dth = -g; reset: hard (v_r - h)(-g) if attached; soft -s + th g
                if g_spikes is not None:
                    g_th -= (g_spikes[t] * g).sum()
                if spec.reset == "hard" and attached:
                    g_th -= (gv * (v_r - h) * g).sum()
                elif spec.reset == "soft":
                    dv_dth = -fired.to(dtype) + (thr * g if attached else 0.0)
                    g_th += (gv * dv_dth).sum()
        g_v0 = carry if ctx.needs_input_grad[1] else None
        return g_x, g_v0, g_k, g_th, None, None, None


def run_fused(
    spec: NeuronSpec, x: Tensor, v0: Tensor, k: Tensor | None, th: Tensor | None,
    keep_v: bool = True,
) -> tuple[Tensor, Tensor]:
    """(spikes, v_seq) of a whole sequence, or (spikes, last v) when ``keep_v`` is false;
    ``k`` (1/tau) and ``th`` are given when learnable."""
    return _Sequence.apply(x, v0, k, th, spec, spec.v_threshold, keep_v)
