r"""Step's discrete neurons <-> NIR's continuous ones, at a time step ``dt``: one place.

NIR states its neurons as ODEs (``tau dv/dt = (v_leak - v) + r I``); STEP's neurons are the
forward-Euler step of such an ODE with the step as time unit (docs/nir.md derives each line):

- LIF, ``decay_input=True``: ``h = v + (x - (v - v_reset))/tau`` is Euler at ``dt`` with
  ``tau_nir = tau * dt``, ``r = 1``, ``v_leak = v_reset``; ``decay_input=False`` has ``r = tau``.
- IF: ``h = v + x`` is ``dv/dt = r I`` with ``r = 1/dt``.
- LI (the non-spiking readout): as the LIF, without threshold and reset.

Back from NIR, ``tau = tau_nir / dt`` and the input enters as ``x' = gain * x + offset`` in
front of the neuron wherever ``r`` and ``v_leak`` ask for it (:class:`InputMap`), so any
``r`` and any ``v_leak`` are the Euler step of the graph as written.

Fire rule: NIR fires on ``v > v_threshold`` (``gt``). A ``ge`` neuron is written with the
threshold one float32 ulp lower (``v >= th`` iff ``v > nextafter(th, -inf)`` in float32), and
its step spec rides along in the node's metadata so that STEP reads back the very spec.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from step.errors import InputError, SpecError
from step.specs import NeuronSpec, parse_neuron

#: Metadata key holding the step spec (JSON) of a neuron node written by step.
SPEC_KEY = "step_neuron"
#: Neuron kinds with a NIR primitive: step kind -> NIR class name.
EXPORTABLE = {"lif": "LIF", "if": "IF", "li": "LI"}


def _threshold(spec: NeuronSpec) -> float:
    """The NIR threshold (strict rule) that fires exactly as ``spec`` does on float32."""
    if spec.fire == "gt":
        return spec.v_threshold
    th = np.float32(spec.v_threshold)
    if np.float64(th) != spec.v_threshold:
        raise SpecError(f"v_threshold {spec.v_threshold} is not a float32 number: a 'ge' "
                        "neuron cannot be written as NIR's strict rule exactly")
    return float(np.nextafter(th, np.float32(-np.inf)))


def why_not_exportable(spec: NeuronSpec) -> str | None:
    """Why ``spec`` has no NIR primitive, or None when it has one."""
    if spec.kind == "plif":
        return ("plif learns 1/tau inside each backend's module; step.nir exports lif, if and "
                "li (a PLIF's learnt tau would be a LIF's: not read out yet)")
    if spec.kind not in EXPORTABLE:
        return (f"neuron kind {spec.kind!r} has no NIR primitive (NIR has LIF, IF, LI, "
                "CubaLIF; step exports lif, if and li)")
    if spec.kind != "li" and spec.reset != "hard":
        return (f"{spec.kind} neuron with reset={spec.reset!r}: NIR's {EXPORTABLE[spec.kind]} "
                "resets to v_reset (hard reset) only")
    if spec.learn_threshold:
        return "learn_threshold=true: a learnt threshold per layer is not exported"
    return None


def to_nir_node(spec: NeuronSpec, shape: tuple[int, ...], dt: float) -> Any:
    """The NIR node of a neuron layer of ``shape`` (one sample, no time or batch)."""
    import nir

    why = why_not_exportable(spec)
    if why:
        raise SpecError(why)

    def full(value: float) -> np.ndarray:
        return np.full(shape, value, dtype=np.float64)

    meta = {SPEC_KEY: spec.model_dump_json()}
    if spec.kind == "if":
        return nir.IF(r=full(1.0 / dt), v_threshold=full(_threshold(spec)),
                      v_reset=full(spec.v_reset), metadata=meta)
    r = full(1.0 if spec.decay_input else spec.tau)
    if spec.kind == "li":
        return nir.LI(tau=full(spec.tau * dt), r=r, v_leak=full(spec.v_reset), metadata=meta)
    return nir.LIF(tau=full(spec.tau * dt), r=r, v_leak=full(spec.v_reset),
                   v_threshold=full(_threshold(spec)), v_reset=full(spec.v_reset), metadata=meta)


class InputMap(nn.Module):
    """``x' = gain * x + offset`` per neuron, before a neuron whose NIR ``r`` or ``v_leak``
    has no field in the step spec (time-first ``[T, B, *shape]``)."""

    def __init__(self, gain: np.ndarray | None, offset: np.ndarray | None) -> None:
        super().__init__()
        self.register_buffer("gain", None if gain is None else torch.as_tensor(gain))
        self.register_buffer("offset", None if offset is None else torch.as_tensor(offset))

    def forward(self, x: Tensor) -> Tensor:
        if self.gain is not None:
            x = x * self.gain.to(x.dtype)
        if self.offset is not None:
            x = x + self.offset.to(x.dtype)
        return x


def _uniform(node_name: str, field: str, value: Any) -> float:
    arr = np.asarray(value, dtype=np.float64)
    if arr.size == 0 or not np.all(arr == arr.flat[0]):
        raise InputError(f"NIR node {node_name!r}: {field} differs between neurons; a step "
                         "neuron layer has one value per layer (split the layer, or make "
                         f"{field} uniform)")
    return float(arr.flat[0])


def _or_none(arr: np.ndarray, neutral: float) -> np.ndarray | None:
    """None where ``arr`` is ``neutral`` everywhere (no op needed), else float64 ``arr``."""
    arr = np.asarray(arr, dtype=np.float64)
    return None if np.all(arr == neutral) else arr


def from_nir_node(name: str, node: Any, dt: float) -> tuple[dict[str, Any], InputMap | None]:
    """Step spec (as a dict) of NIR neuron ``node`` at ``dt``, and the input map it needs."""
    kind = type(node).__name__
    fields: dict[str, Any]
    gain = offset = None
    if kind == "IF":
        v_reset = _uniform(name, "v_reset", node.v_reset)
        fields = {"kind": "if", "v_threshold": _uniform(name, "v_threshold", node.v_threshold),
                  "v_reset": v_reset}
        gain = _or_none(np.asarray(node.r) * dt, 1.0)
    elif kind in ("LIF", "LI"):
        tau = _uniform(name, "tau", node.tau) / dt
        if not tau > 1.0:
            raise InputError(f"NIR node {name!r}: tau / dt = {tau:g} is not > 1, so the "
                             "forward-Euler step overshoots; load with a smaller dt")
        v_reset = _uniform(name, "v_reset", node.v_reset) if kind == "LIF" else None
        rest = v_reset if v_reset is not None else _uniform(name, "v_leak", node.v_leak)
        r = np.asarray(node.r, dtype=np.float64)
        decay_input = bool(np.all(r == 1.0))
        scale = 1.0 if decay_input else tau
        gain = None if decay_input else _or_none(r / scale, 1.0)
        offset = _or_none((np.asarray(node.v_leak, dtype=np.float64) - rest) / scale, 0.0)
        fields = {"kind": kind.lower(), "tau": tau, "decay_input": decay_input, "v_reset": rest}
        if kind == "LIF":
            fields["v_threshold"] = _uniform(name, "v_threshold", node.v_threshold)
    else:
        raise InputError(f"NIR node {name!r} is a {kind}: no step neuron reads it")
    imap = None if gain is None and offset is None else InputMap(gain, offset)
    return _with_step_fields(node, fields, dt), imap


def _with_step_fields(node: Any, fields: dict[str, Any], dt: float) -> dict[str, Any]:
    """The spec step wrote for this node (fire rule, surrogate, detach), if the node's
    parameters are still what that spec writes; else ``fields`` with the strict rule."""
    raw = (getattr(node, "metadata", None) or {}).get(SPEC_KEY)
    if raw is None:
        return fields
    try:
        spec = parse_neuron(json.loads(raw.decode() if isinstance(raw, bytes) else raw))
        again = to_nir_node(spec, np.shape(node.v_leak if hasattr(node, "v_leak")
                                           else node.r), dt)
    except (ValueError, SpecError):
        return fields
    same = all(np.array_equal(np.asarray(getattr(again, f), dtype=np.float64),
                              np.asarray(getattr(node, f), dtype=np.float64))
               for f in ("tau", "r", "v_leak", "v_threshold", "v_reset") if hasattr(node, f))
    return spec.model_dump() if same else fields
