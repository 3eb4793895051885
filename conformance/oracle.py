"""The conformance oracle: every neuron kind written again, step by step, from its spec.

Why a second implementation: the expectation of a case must not come from the code under
test. The reference backend (:mod:`step.reference`) is a backend like the others, so if the
suite's expected values came from its own ``simulate()``, a wrong equation there (HH's input
current halved) would be expected too and pass. This module is written from the spec
docstrings (:mod:`step.specs`) alone and imports nothing from :mod:`step.reference`: plain
loops over time, the spike function and the surrogate formulas of its own, autograd for the
gradients. It is itself checked against Brian2, published behaviour and hand traces in
``tests/test_oracle_*.py``.

Where the spec leaves the order of floating-point operations open, this module follows the
formula as the docstring writes it; the reference may round differently by one ulp, which
the policy's threshold band (:mod:`.policy`) covers.

:func:`oracle_run` returns ``(output, membrane per step, h - threshold per step, final
membrane)``; :func:`oracle_parameters` the learnable parameters at their documented initial
values.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from step.specs import NeuronSpec, SurrogateSpec

Params = dict[str, Tensor]
Result = tuple[Tensor, Tensor, Tensor, Tensor]


# -- spike and surrogates (docs: step/specs/surrogate.py, DESIGN.md) ---------------------------
def surrogate_derivative(kind: str, alpha: float, x: Tensor) -> Tensor:
    """g(x) of the canonical surrogate families, x = h - v_th."""
    a = alpha
    formulas: dict[str, Callable[[], Tensor]] = {
        "atan": lambda: a / 2 / (1 + (math.pi * a * x / 2) ** 2),
        "sigmoid": lambda: a * torch.sigmoid(a * x) * torch.sigmoid(-a * x),
        "fast_sigmoid": lambda: (1 + a * x.abs()) ** -2,
        "triangle": lambda: a * (1 - a * x.abs()).clamp(min=0),
        "rectangle": lambda: torch.where(x.abs() < 0.5 / a, a, 0.0).to(x.dtype),
        "gaussian": lambda: a * torch.exp(-(a * x) ** 2) / math.sqrt(math.pi),
        "straight_through": lambda: torch.ones_like(x),
    }
    return formulas[kind]()


class _Heaviside(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, kind: str, alpha: float, rule: str) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.kind, ctx.alpha = kind, alpha
        return (x >= 0 if rule == "ge" else x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return grad * surrogate_derivative(ctx.kind, ctx.alpha, x), None, None, None


def fire_rule(spec: NeuronSpec) -> str:
    """``gt`` (fire on h > v_th) or ``ge`` (h >= v_th): the spec's ``fire`` field."""
    return spec.fire


def heaviside(x: Tensor, surrogate: SurrogateSpec, rule: str) -> Tensor:
    """s = 1 where x > 0 (``gt``) or x >= 0 (``ge``); backward the surrogate's g(x)."""
    return _Heaviside.apply(x, surrogate.kind, float(surrogate.alpha), rule)


def _after_reset(spec: NeuronSpec, h: Tensor, s: Tensor, th: float | Tensor) -> Tensor:
    """hard: v_reset where it fired; soft: minus the threshold; none: h."""
    s = s.detach() if spec.detach_reset else s
    if spec.reset == "hard":
        return h * (1 - s) + spec.v_reset * s
    if spec.reset == "soft":
        return h - th * s
    return h


def _leaky_charge(spec: NeuronSpec, x: Tensor, v: Tensor, tau: float | Tensor,
                  rest: float) -> Tensor:
    """h = v + (x - (v - rest))/tau, or v - (v - rest)/tau + x without decay_input."""
    if spec.decay_input:
        return v + (x - (v - rest)) / tau
    return v - (v - rest) / tau + x


def _threshold(spec: NeuronSpec, p: Params) -> float | Tensor:
    return p["v_threshold"] if spec.learn_threshold else spec.v_threshold


# -- parameters at their documented initial values ---------------------------------------------
def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def oracle_parameters(spec: NeuronSpec, dtype: torch.dtype) -> Params:
    """Each learnable parameter of ``spec`` at its initial value, as the spec documents it."""
    def scalar(value: float) -> Tensor:
        return torch.tensor(value, dtype=dtype)

    p: Params = {}
    if spec.kind in ("plif", "hdlif"):
        p["w"] = scalar(-math.log(spec.tau - 1))
    if spec.kind == "klif":
        p["k"] = scalar(1.0)
    if spec.kind == "hdlif":
        p["gate_bias"] = torch.zeros(4, dtype=dtype)
        p["gate_weight"] = torch.zeros(4, dtype=dtype)
    if spec.kind == "psn":
        if spec.init_weight != "identity":
            raise ValueError("psn with a randomly drawn W has no fixed expectation: the "
                             "conformance cases use init_weight='identity'")
        p["weight"] = torch.eye(spec.T, dtype=dtype)
        p["bias"] = -spec.v_threshold * torch.ones(spec.T, dtype=dtype)
    if spec.kind == "glif":
        linear = spec.init_linear_decay
        sub = spec.init_v_subreset
        gates = spec.init_gate if isinstance(spec.init_gate, tuple) else (spec.init_gate,) * 3
        raw = {"alpha": gates[0], "beta": gates[1], "gamma": gates[2],
               "tau": spec.init_tau, "v_threshold": spec.v_threshold,
               "linear_decay": spec.v_threshold / (2 * spec.T) if linear is None else linear,
               "v_subreset": spec.v_threshold if sub is None else sub}
        p.update({k: scalar(_logit(v)) for k, v in raw.items()})
        p["conduct"] = _logit(spec.init_conduct) * torch.ones(spec.T, dtype=dtype)
    if spec.learn_threshold and spec.kind != "glif":
        p["v_threshold"] = scalar(spec.v_threshold)
    return p


# -- one step per kind: (state, x, params) -> (output, new state, margin) ----------------------
State = dict[str, Tensor]
Step = Callable[[NeuronSpec, Tensor, State, Params], tuple[Tensor, State, Tensor]]


def _spiking(spec: NeuronSpec, h: Tensor, th: float | Tensor, state: State
             ) -> tuple[Tensor, State, Tensor]:
    s = heaviside(h - th, spec.surrogate, fire_rule(spec))
    return s, {**state, "v": _after_reset(spec, h, s, th)}, h - th


def _if(spec, x, st, p):
    return _spiking(spec, st["v"] + x, _threshold(spec, p), st)


def _lif(spec, x, st, p):
    return _spiking(spec, _leaky_charge(spec, x, st["v"], spec.tau, spec.v_reset),
                    _threshold(spec, p), st)


def _plif_charge(spec, x, v, w):
    """1/tau = sigmoid(w), multiplied: the spec defines 1/tau itself, not tau."""
    k = torch.sigmoid(w)
    return v + (x - (v - spec.v_reset)) * k if spec.decay_input else v - (v - spec.v_reset) * k + x


def _plif(spec, x, st, p):
    return _spiking(spec, _plif_charge(spec, x, st["v"], p["w"]), _threshold(spec, p), st)


def _eif_charge(spec, x, v, rest):
    exp_term = spec.delta_t * torch.exp((v - spec.theta_rh) / spec.delta_t)
    if spec.decay_input:
        return v + (x - (v - rest) + exp_term) / spec.tau
    return v + (exp_term - (v - rest)) / spec.tau + x


def _eif(spec, x, st, p):
    return _spiking(spec, _eif_charge(spec, x, st["v"], spec.v_rest), _threshold(spec, p), st)


def _klif(spec, x, st, p):
    h = torch.relu(p["k"] * _leaky_charge(spec, x, st["v"], spec.tau, spec.v_reset))
    return _spiking(spec, h, _threshold(spec, p), st)


def _alif(spec, x, st, p):
    theta = _threshold(spec, p) + spec.beta * st["a"]
    s, out, margin = _spiking(spec, _leaky_charge(spec, x, st["v"], spec.tau, spec.v_reset),
                              theta, st)
    out["a"] = (1 - 1 / spec.tau_adapt) * st["a"] + s
    return s, out, margin


def _cuba(spec, x, st, p):
    i = (1 - 1 / spec.tau_syn) * st["i"] + x
    s, out, margin = _spiking(spec, _leaky_charge(spec, i, st["v"], spec.tau, spec.v_reset),
                              _threshold(spec, p), st)
    out["i"] = i
    return s, out, margin


def _li(spec, x, st, p):
    v = _leaky_charge(spec, x, st["v"], spec.tau, spec.v_reset)
    return v, {"v": v}, torch.full_like(v, math.inf)


class _Count(torch.autograd.Function):
    """C = #{k in 1..D: u > k - 1/2} (``ge``: >=; ``even``: a level exactly on its boundary
    counts when it makes C even); backward 1 on 0 <= u <= D."""

    @staticmethod
    def forward(ctx, u: Tensor, levels: int, rule: str) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(u)
        ctx.levels = levels
        count = torch.zeros_like(u)
        for k in range(1, levels + 1):
            edge = k - 0.5
            at = u == edge
            if rule == "even":
                above = (u > edge) | (at & (k % 2 == 0))
            else:
                above = (u >= edge) if rule == "ge" else (u > edge)
            count = count + above.to(u.dtype)
        return count

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        (u,) = ctx.saved_tensors
        return grad * ((u >= 0) & (u <= ctx.levels)).to(grad.dtype), None, None


def _integer(spec, x, st, p):
    th = _threshold(spec, p)
    h = _leaky_charge(spec, x, st["v"], spec.tau, spec.v_reset)
    rule = "even" if getattr(spec, "round_ties", "fire") == "even" else fire_rule(spec)
    c = _Count.apply(h / th, spec.max_spikes, rule)
    c_reset = c.detach() if spec.detach_reset else c
    edges = torch.arange(1, spec.max_spikes + 1, dtype=h.dtype) - 0.5
    gaps = h.detach().unsqueeze(-1) / th - edges  # distance to every level boundary
    nearest = gaps.abs().argmin(-1, keepdim=True)
    margin = gaps.gather(-1, nearest).squeeze(-1) * th
    out = c / spec.max_spikes if spec.kind == "nilif" else c
    return out, {"v": h - c_reset * th}, margin


def _clif(spec, x, st, p):
    th = _threshold(spec, p)
    v = st["v"]
    h = v - (v - spec.v_reset) / spec.tau + x
    s = heaviside(h - th, spec.surrogate, fire_rule(spec))
    sr = s.detach() if spec.detach_reset else s
    m = st["m"] * torch.sigmoid(h / spec.tau) + sr
    return s, {"v": h - sr * (th + torch.sigmoid(m)), "m": m}, h - th


def _glif(spec, x, st, p):
    g = {k: torch.sigmoid(p[k]) for k in ("alpha", "beta", "gamma", "tau", "v_threshold",
                                          "linear_decay", "v_subreset")}
    t = int(st["t"])
    conduct = torch.sigmoid(p["conduct"][t])
    s_prev = st["s"].detach() if spec.detach_reset else st["s"]
    lam = 1 - g["alpha"] * (1 - g["tau"])
    u = (lam * st["v"] * (1 - g["gamma"] * s_prev) - (1 - g["alpha"]) * g["linear_decay"]
         + (1 - g["beta"] * (1 - conduct)) * x - (1 - g["gamma"]) * g["v_subreset"] * s_prev)
    s = heaviside(u - g["v_threshold"], spec.surrogate, fire_rule(spec))
    return s, {"v": u, "s": s, "t": st["t"] + 1}, u - g["v_threshold"]


def _hdlif(spec, x, st, p):
    v = st["v"]
    experts = [v + x, _leaky_charge(spec, x, v, spec.tau, spec.v_reset)]
    experts.append(_plif_charge(spec, x, v, p["w"]))
    experts.append(_eif_charge(spec, x, v, spec.v_reset))
    logits = p["gate_bias"] + p["gate_weight"] * x.unsqueeze(-1)
    h = (torch.softmax(logits, -1) * torch.stack(experts, -1)).sum(-1)
    return _spiking(spec, h, _threshold(spec, p), st)


def _izhikevich(spec, x, st, p):
    th = _threshold(spec, p)
    v, u = st["v"], st["u"]
    h = v + spec.dt * (0.04 * v ** 2 + 5 * v + 140 - u + x)
    u_h = u + spec.dt * spec.a * (spec.b * h - u)
    s = heaviside(h - th, spec.surrogate, fire_rule(spec))
    sr = s.detach() if spec.detach_reset else s
    return s, {"v": h * (1 - sr) + spec.v_reset * sr, "u": u_h + spec.d * sr}, h - th


def _hh_rates(v: Tensor) -> tuple[Tensor, ...]:
    """Hodgkin-Huxley rates (1/ms, v in mV, rest -65 mV); x/(1 - e^-x/k) -> k at x = 0."""
    def ratio(y: Tensor, k: float) -> Tensor:
        tiny = y.abs() < 1e-4 * k  # 1 - e^-y/k cancels: expm1, and the series near 0
        safe = torch.where(tiny, torch.full_like(y, k), y)
        return torch.where(tiny, k + y / 2 + y * y / (12 * k), safe / -torch.expm1(-safe / k))

    return (0.1 * ratio(v + 40, 10.0), 4 * torch.exp(-(v + 65) / 18),
            0.07 * torch.exp(-(v + 65) / 20), 1 / (1 + torch.exp(-(v + 35) / 10)),
            0.01 * ratio(v + 55, 10.0), 0.125 * torch.exp(-(v + 65) / 80))


def _hh(spec, x, st, p):
    """Euler sub-steps; a spike when any sub-step crosses v_th upwards (the first crossing's
    v - v_th carries the surrogate; without a crossing, the step's end, gated by a start
    below v_th); margin: the sub-step potential nearest v_th."""
    th = spec.v_threshold
    ge = fire_rule(spec) == "ge"

    def is_below(v: Tensor) -> Tensor:
        return v < th if ge else v <= th

    v, m, hg, n = st["v"], st["m"], st["h"], st["n"]
    start_below = is_below(v)
    below, crossed = start_below, torch.zeros_like(start_below)
    first = v - th
    nearest = (v - th).detach()
    for _ in range(spec.substeps):
        am, bm, ah, bh, an, bn = _hh_rates(v)
        i_ion = (spec.g_na * m ** 3 * hg * (v - spec.e_na) + spec.g_k * n ** 4 * (v - spec.e_k)
                 + spec.g_l * (v - spec.e_l))
        v, m, hg, n = (v + spec.dt * (x - i_ion) / spec.c_m,
                       m + spec.dt * (am * (1 - m) - bm * m),
                       hg + spec.dt * (ah * (1 - hg) - bh * hg),
                       n + spec.dt * (an * (1 - n) - bn * n))
        now = below & ~is_below(v) & ~crossed
        first = torch.where(now, v - th, first)
        crossed = crossed | now
        below = is_below(v)
        d = (v - th).detach()
        nearest = torch.where(d.abs() < nearest.abs(), d, nearest)
    z = torch.where(crossed, first, v - th)
    s = heaviside(z, spec.surrogate, fire_rule(spec)) * (crossed | start_below).to(x.dtype)
    return s, {"v": v, "m": m, "h": hg, "n": n}, nearest


def _rest(spec: NeuronSpec, like: Tensor) -> State:
    """The documented state at rest for one step of input."""
    def full(value: float) -> Tensor:
        return torch.full_like(like, value)

    kind = spec.kind
    if kind == "eif":
        return {"v": full(spec.v_rest)}
    if kind == "alif":
        return {"v": full(spec.v_reset), "a": full(0.0)}
    if kind == "cuba_lif":
        return {"v": full(spec.v_reset), "i": full(0.0)}
    if kind == "clif":
        return {"v": full(spec.v_reset), "m": full(0.0)}
    if kind == "glif":
        return {"v": full(0.0), "s": full(0.0), "t": torch.tensor(0)}
    if kind == "izhikevich":  # v_init when given, else c; u = b v
        v0 = spec.v_reset if spec.v_init is None else spec.v_init
        return {"v": full(v0), "u": full(spec.b * v0)}
    if kind == "hh":
        v = full(spec.v_reset)
        am, bm, ah, bh, an, bn = _hh_rates(v)
        return {"v": v, "m": am / (am + bm), "h": ah / (ah + bh), "n": an / (an + bn)}
    return {"v": full(spec.v_reset)}


#: kind -> its step, written from the spec docstrings. PSN (no recursion) is separate.
STEPS: dict[str, Step] = {
    "if": _if, "lif": _lif, "plif": _plif, "eif": _eif, "klif": _klif, "alif": _alif,
    "cuba_lif": _cuba, "li": _li, "ilif": _integer, "nilif": _integer, "clif": _clif,
    "glif": _glif, "hdlif": _hdlif, "izhikevich": _izhikevich, "hh": _hh,
}


def covers(kind: str) -> bool:
    """Whether the oracle knows ``kind`` (every kind of :data:`step.specs.NEURON_KINDS`)."""
    return kind in STEPS or kind == "psn"


def oracle_run(spec: NeuronSpec, x: Tensor, params: Params) -> Result:
    """Run ``spec`` over ``x`` [T, B, ...] from rest: (output, v per step, margin, final v)."""
    if spec.kind == "psn":
        T = x.shape[0]
        h = (p := params)["weight"] @ x.reshape(T, -1) + p["bias"][:, None]
        h = h.reshape(x.shape)
        return heaviside(h, spec.surrogate, fire_rule(spec)), h, h.detach(), h[-1]
    step = STEPS[spec.kind]
    state = _rest(spec, x[0])
    outs, vs, margins = [], [], []
    for t in range(x.shape[0]):
        out, state, margin = step(spec, x[t], state, params)
        outs.append(out)
        vs.append(state["v"])
        margins.append(margin.detach())
    return torch.stack(outs), torch.stack(vs), torch.stack(margins), state["v"]
