"""The suite can fail: backends broken on purpose, one fault each, must each be caught.

Every faulty backend subclasses the reference backend and neuron and changes one thing, the way
an adapter goes wrong in practice. Each is registered through the plugin system exactly like a
third-party backend and removed afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
import torch
from faulty_backends import run_sequence
from torch import Tensor

from step import hookimpl
from step.conformance.cases import catalogue
from step.conformance.policy import Status
from step.conformance.runner import SuiteReport, run_suite
from step.reference import functional as F
from step.reference.backend import ReferenceBackend
from step.reference.neurons import ReferenceNeuron
from step.reference.surrogates import spike
from step.registry import get_backend, register_plugin, unregister_plugin
from step.specs import NeuronSpec


class FaultyNeuron(ReferenceNeuron):
    """The reference neuron with its step (and optionally its start state) replaced."""

    leak_state = False
    delay_input = False

    @staticmethod
    def fault_step(spec, x, v, v_th, inv_tau) -> tuple[Tensor, Tensor]:
        """The canonical step; a fault replaces it."""
        return F.neuron_step(spec, x, v, v_th, inv_tau)[:2]

    def inv_tau(self) -> float | Tensor | None:
        return self.fault_inv_tau() if hasattr(self, "fault_inv_tau") else super().inv_tau()

    def run(self, x: Tensor, state: dict | None, record_v: bool):
        last = self.last_state
        if self.leak_state and state is None and last is not None and last["v"].shape == x[0].shape:
            state = last  # the classic forgotten reset (re-zeroed on a shape change)
        if self.delay_input:  # off by one step: the input of t acts at t + 1
            x = torch.cat([torch.zeros_like(x[:1]), x[:-1]])
        v0 = state["v"] if state is not None else torch.full_like(x[0], self.spec.v_reset)
        inv_tau, v_th = self.inv_tau(), self.v_threshold
        fault = type(self).fault_step

        def step(xt: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
            return fault(self.spec, xt, v, v_th, inv_tau)

        spikes, v_seq, v_last = run_sequence(step, x, v0, record_v)
        return spikes, v_seq, {"v": v_last}


def _charge(spec: NeuronSpec, x: Tensor, v: Tensor, inv_tau: object) -> Tensor:
    if spec.kind == "if":
        return F.charge_if(x, v)
    return F.charge_lif(x, v, inv_tau, spec.v_reset, spec.decay_input)  # type: ignore[arg-type]


def soft_for_hard(spec, x, v, v_th, inv_tau):
    h = _charge(spec, x, v, inv_tau)
    s = F.fire(h, v_th, spec.surrogate)
    mode = "soft" if spec.reset == "hard" else spec.reset
    return s, F.reset(h, s, v_th, spec.v_reset, mode, spec.detach_reset)


def fires_at_equality(spec, x, v, v_th, inv_tau):
    h = _charge(spec, x, v, inv_tau)
    smooth = spike(h - v_th, spec.surrogate)
    s = (h >= v_th).to(h.dtype) + smooth - smooth.detach()  # `>=` forward, same surrogate
    return s, F.reset(h, s, v_th, spec.v_reset, spec.reset, spec.detach_reset)


def doubled_alpha(spec, x, v, v_th, inv_tau):
    sharper = spec.surrogate.model_copy(update={"alpha": 2 * spec.surrogate.alpha})
    return F.neuron_step(spec.model_copy(update={"surrogate": sharper}), x, v, v_th,
                         inv_tau)[:2]


def always_detached(spec, x, v, v_th, inv_tau):
    return F.neuron_step(spec.model_copy(update={"detach_reset": True}), x, v, v_th,
                         inv_tau)[:2]


def exponential_tau(self) -> float | Tensor | None:
    """beta = exp(-1/tau) taken for 1 - 1/tau: the commonest wrong tau mapping."""
    if self.spec.kind == "if":
        return None
    tau = 1.0 / torch.sigmoid(self.w) if self.spec.kind == "plif" else self.spec.tau
    return 1.0 - (torch.exp(-1.0 / tau) if isinstance(tau, Tensor) else math.exp(-1.0 / tau))


FAULTS: dict[str, dict[str, object]] = {
    "soft-for-hard": {"fault_step": staticmethod(soft_for_hard)},
    "fires-at-equality": {"fault_step": staticmethod(fires_at_equality)},
    "off-by-one-step": {"delay_input": True},
    "wrong-tau": {"fault_inv_tau": exponential_tau},
    "leaks-state": {"leak_state": True},
    "wrong-alpha": {"fault_step": staticmethod(doubled_alpha)},
    "detached-reset": {"fault_step": staticmethod(always_detached)},
}

#: Features in which each fault must show (a subset: the fault may show elsewhere too).
MUST_FAIL: dict[str, set[str]] = {
    "soft-for-hard": {"IF", "LIF", "PLIF"},
    "fires-at-equality": {"fire at threshold"},
    "off-by-one-step": {"IF", "LIF", "PLIF", "soft reset"},
    "wrong-tau": {"LIF", "PLIF"},
    "leaks-state": {"state reset"},
    "wrong-alpha": {"input gradient", "surrogate sigmoid", "surrogate triangle"},
    "detached-reset": {"input gradient"},
}


def faulty_plugin(fault: str) -> object:
    """A plugin object whose one backend, ``faulty-<fault>``, has that fault."""
    neuron_cls = type(f"Neuron_{fault}", (FaultyNeuron,), dict(FAULTS[fault]))

    class Faulty(ReferenceBackend):
        name = f"faulty-{fault}"
        description = f"the reference with one fault: {fault}"

        def _build_neuron(self, spec, support):
            return neuron_cls(spec)

    class Plugin:
        @hookimpl
        def step_backends(self) -> list[ReferenceBackend]:
            return [Faulty()]

    return Plugin()


@pytest.fixture(scope="module")
def faulty_reports() -> Iterator[dict[str, SuiteReport]]:
    """Each faulty backend's report on the float32 catalogue, computed once per fault.

    The faults are written into IF / LIF / PLIF steps, so only those kinds' cases are run (a
    zoo kind would meet a FaultyNeuron that cannot compute it).
    """
    cases = [c for c in catalogue(["float32"]) if c.spec.kind in ("if", "lif", "plif")]
    reports: dict[str, SuiteReport] = {}
    for fault in FAULTS:
        register_plugin(faulty_plugin(fault), f"faulty-plugin-{fault}")
        try:
            reports[fault] = run_suite([get_backend(f"faulty-{fault}")], cases)
        finally:
            unregister_plugin(f"faulty-plugin-{fault}")
    yield reports


def _failing_features(report: SuiteReport) -> set[str]:
    return {r.case.feature for r in report.results if r.status is Status.FAIL}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_each_fault_is_caught(fault: str, faulty_reports: dict[str, SuiteReport]) -> None:
    report = faulty_reports[fault]
    errors = [r.detail for r in report.results if r.status is Status.ERROR]
    assert not errors, errors[:3]
    missing = MUST_FAIL[fault] - _failing_features(report)
    assert not missing, f"{fault} not caught in {missing}"
    failure = next(r for r in report.results if r.status is Status.FAIL)
    assert failure.divergence is not None and failure.divergence.describe() in failure.detail
    assert report.failed


def test_a_fault_in_the_gradient_only_leaves_the_forward_passing(
    faulty_reports: dict[str, SuiteReport]
) -> None:
    """A wrong alpha or a detached reset changes no spike: only gradient cases fail."""
    for fault in ("wrong-alpha", "detached-reset"):
        report = faulty_reports[fault]
        forward = {r.status for r in report.results if r.case.aspect == "forward"}
        assert forward == {Status.PASS}, fault
        failed = [r for r in report.results if r.status is Status.FAIL]
        assert failed and all(r.divergence.quantity.startswith("gradient") for r in failed)


def test_a_state_leak_shows_only_where_a_module_is_called_twice(
    faulty_reports: dict[str, SuiteReport]
) -> None:
    report = faulty_reports["leaks-state"]
    assert {r.case.mode for r in report.results if r.status is Status.FAIL} == {"state-reset"}
    leak = next(r for r in report.results if r.status is Status.FAIL)
    assert leak.divergence is not None and leak.divergence.where == "after another sequence"


def test_the_reference_backend_passes_everything() -> None:
    report = run_suite([get_backend("reference")], catalogue())
    bad = [(r.case.id, r.status.value, r.detail) for r in report.results
           if r.status is not Status.PASS]
    assert not bad
    assert len(report.results) == len(catalogue())
