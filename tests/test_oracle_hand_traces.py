"""Hand traces for every kind, run on the oracle and on the reference backend.

Forward: the three-step traces worked by hand in the spec docstrings (written out again
here, so a change of a docstring cannot change the test). Gradients: the loss is the sum of
the outputs over the three steps, the surrogate is atan with alpha = 2,
``g(u) = 1 / (1 + (pi u)^2)`` at ``u = h - v_th``, and each derivative below is the chain rule
written out step by step (the adjoint of the last step first).
"""

from __future__ import annotations

import math

import pytest
import torch
from adapter_helpers import float64_reference

from step.conformance.oracle import oracle_parameters, oracle_run
from step.specs import (
    ALIFSpec,
    CLIFSpec,
    CUBALIFSpec,
    EIFSpec,
    GLIFSpec,
    HDLIFSpec,
    HHSpec,
    IFSpec,
    ILIFSpec,
    IzhikevichSpec,
    KLIFSpec,
    LIFSpec,
    LISpec,
    NeuronSpec,
    NILIFSpec,
    PLIFSpec,
    PSNSpec,
)

PI = math.pi


def g(u: float) -> float:
    """atan surrogate, alpha = 2."""
    return 1.0 / (1.0 + (PI * u) ** 2)


def sig(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def dsig(z: float) -> float:
    return sig(z) * (1.0 - sig(z))


def run(spec: NeuronSpec, xs: list[float], how: str, grad: bool = False):
    """(outputs, v, dL/dx, {parameter: dL/dp}) with L = sum of the outputs."""
    x = torch.tensor(xs, dtype=torch.float64).view(-1, 1, 1).requires_grad_(grad)
    if how == "oracle":
        params = {k: v.requires_grad_(grad) for k, v in
                  oracle_parameters(spec, torch.float64).items()}
        out, v, _, _ = oracle_run(spec, x, params)
    else:
        neuron = float64_reference(spec)
        params = dict(neuron.named_parameters())
        out, v = neuron(x), neuron.v_seq
    grads: dict[str, list[float]] = {}
    dx: list[float] = []
    if grad:
        names = list(params)
        values = torch.autograd.grad(out.sum(), [x, *params.values()], allow_unused=True)
        dx = values[0].flatten().tolist()
        grads = {n: (t.flatten().tolist() if t is not None else None)
                 for n, t in zip(names, values[1:], strict=True)}
    return out.detach().flatten().tolist(), v.detach().flatten().tolist(), dx, grads


#: (spec, input, outputs, membrane after reset) worked by hand (see the spec docstrings)
FORWARD = [
    (IFSpec(), [0.75, 0.75, 0.75], [0, 1, 0], [0.75, 0.0, 0.75]),
    (IFSpec(reset="soft"), [0.75, 0.75, 0.75], [0, 1, 1], [0.75, 0.5, 0.25]),
    (LIFSpec(tau=2.0), [2.0, 2.0, 2.0], [0, 1, 0], [1.0, 0.0, 1.0]),
    (LIFSpec(tau=2.0, decay_input=False), [0.5, 0.5, 0.5], [0, 0, 0], [0.5, 0.75, 0.875]),
    (LIFSpec(tau=2.0, reset="soft"), [2.0, 2.0, 2.0], [0, 1, 1], [1.0, 0.5, 0.25]),
    (PLIFSpec(tau=2.0), [2.0, 2.0, 2.0], [0, 1, 0], [1.0, 0.0, 1.0]),
    (EIFSpec(), [1.5, 1.5, 1.5], [0, 1, 0], [0.751832, -0.1, 0.701111]),
    (KLIFSpec(), [-1.0, 2.0, 2.0], [0, 0, 1], [0.0, 1.0, 0.0]),
    (ALIFSpec(tau_adapt=2.0, beta=1.0), [4.0, 4.0, 4.0], [1, 0, 1], [0.0, 2.0, 0.0]),
    (CUBALIFSpec(), [3.0, 0.0, 0.0], [1, 0, 0], [0.0, 0.75, 0.75]),
    (LISpec(), [2.0, 2.0, 0.0], [1.0, 1.5, 0.75], [1.0, 1.5, 0.75]),
    (ILIFSpec(tau=2.0), [2.75, 1.0, 0.25], [3, 1, 0], [-0.25, -0.125, 0.1875]),
    (NILIFSpec(tau=2.0), [2.75, 1.0, 0.25], [0.75, 0.25, 0], [-0.25, -0.125, 0.1875]),
    (CLIFSpec(), [1.5, 0.0, 0.0], [1, 0, 0], [-0.231059, -0.115529, -0.057765]),
    (GLIFSpec(T=3), [0.5, 0.5, 0.5], [0, 1, 0], [0.333333, 0.541667, 0.252604]),
    (HDLIFSpec(), [1.0, 1.0, 1.0], [0, 1, 0], [0.625458, 0.0, 0.625458]),
    (PSNSpec(T=3), [0.5, 2.0, 1.0], [0, 1, 0], [-0.5, 1.0, 0.0]),
    # Izhikevich RS, I = 100: h = -65 + (169 - 325 + 140 + 13 + 100) = 32 > 30 fires, v = -65,
    # u = -13 + 0.02 (0.2 * 32 + 13) + 8 = -4.612; h = -65 + (169 - 325 + 140 + 4.612 + 100)
    # = 23.612; then h = 23.612 + (22.300 + 118.06 + 140 - u + 100) > 30 fires again
    (IzhikevichSpec(), [100.0, 100.0, 100.0], [1, 0, 1], [-65.0, 23.612, -65.0]),
    # HH, one Euler step of 0.05 ms from rest with 10 uA/cm^2: dv = 0.05 * 10 (the ionic
    # currents cancel at rest) = +0.5 mV -> -64.5; then the resting conductance 0.677 mS/cm^2
    # times 0.5 mV: -64.5 + 0.05 (10 - 0.339) = -64.02; then -63.55
    (HHSpec(dt=0.05, substeps=1), [10.0, 10.0, 10.0], [0, 0, 0], [-64.5, -64.02, -63.55]),
]


@pytest.mark.parametrize("how", ["oracle", "reference"])
@pytest.mark.parametrize("spec,xs,out,v", FORWARD, ids=[f[0].kind + str(i)
                                                        for i, f in enumerate(FORWARD)])
def test_forward_hand_trace(spec, xs, out, v, how) -> None:
    got_out, got_v, _, _ = run(spec, xs, how)
    places = 2 if spec.kind == "hh" else 6
    assert got_out == pytest.approx(out, abs=1e-6)
    assert [round(a, places) for a in got_v] == pytest.approx(v, abs=10.0 ** -places)


# -- gradients, worked by hand --------------------------------------------------------------------
def psn() -> tuple[list[float], dict[str, list[float]]]:
    """H = I x - 1 = (-0.5, 1, 0); dL/dx_j = g(H_j); dL/dW_tj = g(H_t) x_j; dL/db_t = g(H_t)."""
    x, h = [0.5, 2.0, 1.0], [-0.5, 1.0, 0.0]
    weight = [g(h[t]) * x[j] for t in range(3) for j in range(3)]
    return [g(u) for u in h], {"weight": weight, "bias": [g(u) for u in h]}


def klif() -> tuple[list[float], dict[str, list[float]]]:
    """c = (-0.5, 1, 1.5), h = ReLU(k c) = (0, 1, 1.5), s = (0, 0, 1), v = (0, 1, 0).
    dL/dh3 = G3 = g(0.5); dL/dv2 = G3 k/2; dL/ds2 = 1 + dL/dv2 (v_r - h2) = 1 - G3/2;
    dL/dh2 = dL/ds2 g(0) + dL/dv2 (1 - s2) = 1; step 1 is cut by the ReLU (k c1 < 0).
    dL/dx = (0, dL/dh2 k/2, G3 k/2); dL/dk = dL/dh2 c2 + G3 c3."""
    g3 = g(0.5)
    dh2 = (1 - g3 / 2) * g(0.0) + g3 / 2
    return [0.0, dh2 / 2, g3 / 2], {"k": [dh2 * 1.0 + g3 * 1.5]}


def ilif(detach: bool, scale: float = 1.0) -> list[float]:
    """h = (2.75, 0.875, 0.1875), all within [0, D v_th]: dC/dh = 1. v = h - C v_th, so
    dv/dh = 1 - dC/dh = 0 (or 1 with the reset detached); h[t+1] = v/2 + x:
    dL/dh3 = 1, dL/dh2 = 1 + dv/dh / 2 dL/dh3, dL/dh1 = 1 + dv/dh / 2 dL/dh2 (times 1/D for
    NILIF's output C / D)."""
    keep = 1.0 if detach else 0.0
    d3 = 1.0
    d2 = 1.0 + keep * 0.5 * d3
    d1 = 1.0 + keep * 0.5 * d2
    return [scale * d for d in (d1, d2, d3)]


def clif() -> list[float]:
    """h1 = 1.5 fires, m1 = 1, v1 = h1 - (1 + sig(m1)); h2 = v1/2, m2 = m1 sig(h2/2), v2 = h2;
    h3 = v2/2. Adjoints (G_t = g(h_t - 1)): dL/dh3 = G3; dL/dv2 = G3/2; dL/dm2 = 0 (s2 = 0);
    dL/ds2 = 1 - dL/dv2 (1 + sig(m2)); dL/dh2 = dL/ds2 G2 + dL/dv2; dL/dv1 = dL/dh2 / 2;
    dL/dm1 = dL/dv1 (-sig'(m1)); dL/ds1 = 1 - dL/dv1 (1 + sig(m1)) + dL/dm1; dL/dh1 =
    dL/ds1 G1 + dL/dv1 (m0 = 0 cuts sig(h1/2)); dh/dx = 1."""
    h1, m1 = 1.5, 1.0
    v1 = h1 - (1 + sig(m1))
    h2 = v1 / 2
    m2 = m1 * sig(h2 / 2)
    h3 = h2 / 2
    d_h3 = g(h3 - 1)
    d_v2 = d_h3 / 2
    d_s2 = 1 - d_v2 * (1 + sig(m2))
    d_h2 = d_s2 * g(h2 - 1) + d_v2
    d_v1 = d_h2 / 2
    d_m1 = d_v1 * -dsig(m1)
    d_s1 = 1 - d_v1 * (1 + sig(m1)) + d_m1
    d_h1 = d_s1 * g(h1 - 1) + d_v1
    return [d_h1, d_h2, d_h3]


def glif() -> list[float]:
    """Gates at 0.5, tau 0.25, v_th 0.5, l = 1/12, r = 0.5, g_t = 0.5: lambda = 0.625, input
    gain 0.75. U = (1/3, 0.541667, 0.252604), s = (0, 1, 0). U3 = lambda U2 (1 - gamma s2)
    - 1/24 + 0.75 x3 - (1 - gamma) r s2: dU3/dU2 = 0.3125, dU3/ds2 = -lambda gamma U2 -
    (1 - gamma) r. dL/dU3 = G3; dL/ds2 = 1 + G3 dU3/ds2; dL/dU2 = dL/ds2 G2 + 0.3125 G3;
    dL/ds1 = 1 + dL/dU2 (-lambda gamma U1 - (1 - gamma) r); dL/dU1 = dL/ds1 G1 +
    0.625 dL/dU2 (s1 = 0); dL/dx = 0.75 dL/dU."""
    lam, gam, r = 0.625, 0.5, 0.5
    u1 = 0.375 - 1 / 24
    u2 = lam * u1 - 1 / 24 + 0.375
    u3 = lam * u2 * (1 - gam) - 1 / 24 + 0.375 - (1 - gam) * r
    d_u3 = g(u3 - 0.5)
    d_s2 = 1 + d_u3 * (-lam * gam * u2 - (1 - gam) * r)
    d_u2 = d_s2 * g(u2 - 0.5) + d_u3 * lam * (1 - gam)
    d_s1 = 1 + d_u2 * (-lam * gam * u1 - (1 - gam) * r)
    d_u1 = d_s1 * g(u1 - 0.5) + d_u2 * lam
    return [0.75 * d for d in (d_u1, d_u2, d_u3)]


def hdlif() -> tuple[list[float], dict[str, list[float]]]:
    """Uniform gate (a = c = 0: pi = 1/4, dpi/dx = 0). dh/dx = (1 + 1/2 + 1/2 + 1/2)/4;
    dh/dv = (1 + 1/2 + 1/2 + 1/2 + E(v)/2)/4 with E(v) = exp((v - 0.8)/0.2) (the EIF
    expert); dh/dw = (1/4)(x - v) sig'(w0) with sig(w0) = 1/2. h = (0.625458, 1.026357,
    0.625458), s = (0, 1, 0), v = (h1, 0, h3). dL/dh3 = G3; dL/dv2 = G3 dh/dv(v2);
    dL/ds2 = 1 - h2 dL/dv2 (hard reset to 0); dL/dh2 = dL/ds2 G2 (1 - s2 = 0);
    dL/dv1 = dL/dh2 dh/dv(v1); dL/dh1 = (1 - h1 dL/dv1) G1 + dL/dv1."""
    def e(v: float) -> float:
        return math.exp((v - 0.8) / 0.2)

    def dhdv(v: float) -> float:
        return (2.5 + 0.5 * e(v)) / 4

    def charge(v: float, x: float) -> float:
        eif = v + (x - v + 0.2 * e(v)) / 2
        return (v + x + 2 * (v + (x - v) / 2) + eif) / 4

    h1 = charge(0.0, 1.0)
    h2 = charge(h1, 1.0)
    h3 = charge(0.0, 1.0)
    d_h3 = g(h3 - 1)
    d_v2 = d_h3 * dhdv(0.0)
    d_h2 = (1 - h2 * d_v2) * g(h2 - 1)
    d_v1 = d_h2 * dhdv(h1)
    d_h1 = (1 - h1 * d_v1) * g(h1 - 1) + d_v1
    dw = sum(d * 0.25 * (1.0 - v) * 0.25 for d, v in ((d_h1, 0.0), (d_h2, h1), (d_h3, 0.0)))
    return [0.625 * d for d in (d_h1, d_h2, d_h3)], {"w": [dw]}


GRADIENTS = [
    ("psn", PSNSpec(T=3), [0.5, 2.0, 1.0], *psn()),
    ("klif", KLIFSpec(), [-1.0, 2.0, 2.0], *klif()),
    ("ilif", ILIFSpec(tau=2.0), [2.75, 1.0, 0.25], ilif(False), {}),
    ("ilif-detach", ILIFSpec(tau=2.0, detach_reset=True), [2.75, 1.0, 0.25], ilif(True), {}),
    ("nilif", NILIFSpec(tau=2.0), [2.75, 1.0, 0.25], ilif(False, 0.25), {}),
    ("nilif-detach", NILIFSpec(tau=2.0, detach_reset=True), [2.75, 1.0, 0.25],
     ilif(True, 0.25), {}),
    ("clif", CLIFSpec(), [1.5, 0.0, 0.0], clif(), {}),
    ("glif", GLIFSpec(T=3), [0.5, 0.5, 0.5], glif(), {}),
    ("hdlif", HDLIFSpec(), [1.0, 1.0, 1.0], *hdlif()),
]


@pytest.mark.parametrize("how", ["oracle", "reference"])
@pytest.mark.parametrize("name,spec,xs,dx,dparams", GRADIENTS, ids=[g[0] for g in GRADIENTS])
def test_gradient_hand_trace(name, spec, xs, dx, dparams, how) -> None:
    _, _, got_dx, got = run(spec, xs, how, grad=True)
    assert got_dx == pytest.approx(dx, rel=1e-9, abs=1e-12)
    for param, value in dparams.items():
        assert got[param] == pytest.approx(value, rel=1e-9, abs=1e-12), param
