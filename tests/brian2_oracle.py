"""Brian2 as an independent simulator of the zoo's discrete updates (numpy code generation).

Each entry of :data:`SETS` is one neuron kind with one parameter set, simulated as a single
Brian2 network of ``N`` neurons (one Brian2 run per set: Brian2's start-up is slow). The
equations are those of the spec docstrings, integrated with ``method="euler"`` at the spec's
dt (1 ms per step for the step-indexed kinds), so Brian2 computes the same discrete update
as STEP's oracle; where a spec updates one variable from another's *new* value (Izhikevich's
u, a CUBA current, ALIF's adaptation), that update is a ``run_regularly`` operation placed in
Brian2's schedule where the spec puts it.

Run as a script (``python tests/brian2_oracle.py OUT.npz``, in an environment with Brian2) to
write the traces that ``tests/test_oracle_brian2.py`` compares with the oracle; the test also
runs Brian2 live when it can be imported. This module imports Brian2 only inside
:func:`simulate`, so the test can read :data:`SETS` without it.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

T_STEPS = 60
N_NEURONS = 16

#: name -> (spec fields, input mean, input spread, T)
SETS: dict[str, tuple[dict[str, Any], float, float, int]] = {
    "if": ({"kind": "if"}, 0.3, 0.5, T_STEPS),
    "lif": ({"kind": "lif", "tau": 5.0, "v_threshold": 0.5, "v_reset": -0.2}, 0.6, 1.0,
            T_STEPS),
    "li": ({"kind": "li", "tau": 3.0, "v_reset": 0.1}, 0.5, 1.0, T_STEPS),
    "cuba_lif": ({"kind": "cuba_lif", "tau": 2.0, "tau_syn": 3.0}, 0.4, 0.8, T_STEPS),
    "alif": ({"kind": "alif", "tau": 3.0, "tau_adapt": 5.0, "beta": 0.5}, 1.2, 1.0, T_STEPS),
    "eif": ({"kind": "eif"}, 0.9, 0.8, T_STEPS),
    "izhikevich": ({"kind": "izhikevich", "dt": 0.5}, 10.0, 5.0, 200),
    "hh": ({"kind": "hh", "dt": 0.05, "substeps": 10}, 10.0, 5.0, 40),
}

DEFAULTS: dict[str, dict[str, float]] = {
    "if": {"v_threshold": 1.0, "v_reset": 0.0},
    "lif": {"v_threshold": 1.0, "v_reset": 0.0, "tau": 2.0},
    "li": {"v_reset": 0.0, "tau": 2.0},
    "cuba_lif": {"v_threshold": 1.0, "v_reset": 0.0, "tau": 2.0, "tau_syn": 2.0},
    "alif": {"v_threshold": 1.0, "v_reset": 0.0, "tau": 2.0, "tau_adapt": 20.0, "beta": 1.8},
    "eif": {"v_threshold": 1.0, "v_reset": -0.1, "v_rest": 0.0, "tau": 2.0, "delta_t": 0.2,
            "theta_rh": 0.8},
    "izhikevich": {"v_threshold": 30.0, "v_reset": -65.0, "a": 0.02, "b": 0.2, "d": 8.0,
                   "dt": 1.0},
    "hh": {"v_threshold": 0.0, "v_reset": -65.0, "dt": 0.025, "substeps": 20, "c_m": 1.0,
           "g_na": 120.0, "g_k": 36.0, "g_l": 0.3, "e_na": 50.0, "e_k": -77.0,
           "e_l": -54.387},
}


def inputs(name: str) -> np.ndarray:
    """The input [T, N] of set ``name``: Gaussian, seeded by the set's position."""
    fields, mean, spread, T = SETS[name]
    rng = np.random.default_rng(list(SETS).index(name) + 2026)
    return mean + spread * rng.standard_normal((T, N_NEURONS))


def simulate(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Brian2's membrane after each step [T, N] and spikes [T, N] for set ``name``."""
    import brian2 as b2

    b2.prefs.codegen.target = "numpy"
    b2.start_scope()
    fields, _, _, T = SETS[name]
    kind = fields["kind"]
    p = {**DEFAULTS[kind], **{k: v for k, v in fields.items() if k != "kind"}}
    x = inputs(name)
    ms = b2.ms
    sub = int(p.get("substeps", 1))
    step_ms = p.get("dt", 1.0) * sub
    b2.defaultclock.dt = p.get("dt", 1.0) * ms
    drive = b2.TimedArray(x, dt=step_ms * ms)
    ns: dict[str, Any] = {"drive": drive, "ms": ms,
                          **{k: v for k, v in p.items() if k not in ("dt", "substeps")}}
    extra: list[tuple[str, str, int]] = []  # run_regularly (code, when, order)
    threshold = "v > v_threshold"
    reset = "v = v_reset"
    init: dict[str, Any] = {"v": p.get("v_reset", 0.0)}
    if kind == "if":
        eqs = "dv/dt = drive(t, i) / ms : 1"
    elif kind in ("lif", "li"):
        eqs = "dv/dt = (drive(t, i) - (v - v_reset)) / (tau * ms) : 1"
        if kind == "li":
            threshold = reset = None
    elif kind == "cuba_lif":
        eqs = "dv/dt = (I - (v - v_reset)) / (tau * ms) : 1\nI : 1"
        extra.append(("I = I * (1 - 1 / tau_syn) + drive(t, i)", "before_groups", 0))
    elif kind == "alif":
        eqs = "dv/dt = (drive(t, i) - (v - v_reset)) / (tau * ms) : 1\na : 1"
        threshold = "v > v_threshold + beta * a"
        reset = "v = v_reset\na += 1"
        extra.append(("a = a * (1 - 1 / tau_adapt)", "synapses", 0))  # after thresholds
    elif kind == "eif":
        eqs = ("dv/dt = (drive(t, i) - (v - v_rest) + delta_t * exp((v - theta_rh) / delta_t))"
               " / (tau * ms) : 1")
        init["v"] = p["v_rest"]
    elif kind == "izhikevich":
        eqs = "dv/dt = (0.04 * v**2 + 5 * v + 140 - u + drive(t, i)) / ms : 1\nu : 1"
        extra.append(("u = u + dt / ms * a * (b * v - u)", "groups", 1))  # from the new v
        reset = "v = v_reset\nu += d"
        init["u"] = p["b"] * p["v_reset"]
    elif kind == "hh":
        eqs = """
        dv/dt = (drive(t, i) - g_na * m**3 * h * (v - e_na) - g_k * n**4 * (v - e_k)
                 - g_l * (v - e_l)) / c_m / ms : 1
        dm/dt = (am * (1 - m) - bm * m) / ms : 1
        dh/dt = (ah * (1 - h) - bh * h) / ms : 1
        dn/dt = (an * (1 - n) - bn * n) / ms : 1
        am = 1 / exprel(-(v + 40) / 10) : 1
        bm = 4 * exp(-(v + 65) / 18) : 1
        ah = 0.07 * exp(-(v + 65) / 20) : 1
        bh = 1 / (1 + exp(-(v + 35) / 10)) : 1
        an = 0.1 / exprel(-(v + 55) / 10) : 1
        bn = 0.125 * exp(-(v + 65) / 80) : 1
        """
        threshold = reset = None
        v0 = p["v_reset"]
        am, bm, ah, bh, an, bn = _hh_rates(v0)
        init.update(m=am / (am + bm), h=ah / (ah + bh), n=an / (an + bn))
    else:
        raise ValueError(kind)
    group = b2.NeuronGroup(N_NEURONS, eqs, threshold=threshold, reset=reset, method="euler",
                           namespace=ns)
    for var, value in init.items():
        setattr(group, var, value)
    for code, when, order in extra:
        group.run_regularly(code, when=when, order=order)
    monitor = b2.StateMonitor(group, "v", record=True, when="end")  # every (sub-)step
    spikes = b2.SpikeMonitor(group) if threshold else None
    b2.run(T * step_ms * ms)
    v = np.asarray(monitor.v).T[sub - 1::sub][:T]  # after the last sub-step of each step
    s = np.zeros((T, N_NEURONS))
    if spikes is not None:
        steps = np.round(np.asarray(spikes.t / ms) / step_ms).astype(int)
        s[steps, np.asarray(spikes.i)] = 1.0
    return v, s


def _hh_rates(v: float) -> tuple[float, ...]:
    def ratio(y: float) -> float:
        return y / (1 - np.exp(-y / 10))

    return (0.1 * ratio(v + 40), 4 * np.exp(-(v + 65) / 18), 0.07 * np.exp(-(v + 65) / 20),
            1 / (1 + np.exp(-(v + 35) / 10)), 0.01 * ratio(v + 55),
            0.125 * np.exp(-(v + 65) / 80))


def main(out: str) -> None:
    arrays: dict[str, np.ndarray] = {}
    for name in SETS:
        v, s = simulate(name)
        arrays[f"{name}/x"], arrays[f"{name}/v"], arrays[f"{name}/s"] = inputs(name), v, s
    np.savez_compressed(out, **arrays)


if __name__ == "__main__":
    main(sys.argv[1])
