"""A failing case's plot shows the run and the neuron that diverged first, with the difference
backend minus reference over time."""

from __future__ import annotations

from faulty_backends import WrapFault, Wrapper, cached_expected, call_inner, registered

from step.conformance.cases import catalogue
from step.conformance.plots import case_plot
from step.conformance.policy import Status
from step.conformance.runner import run_case


def leaks_on_a_repeat(inner, x, state, record_v):
    """A stale cache: the same input twice in a row continues the last run's state, so only
    the second of two identical runs goes wrong (the first run matches the reference)."""
    last, seen = inner.last_state, getattr(inner, "seen_x", None)
    if state is None and last is not None and seen is not None and seen.shape == x.shape \
            and bool((seen == x).all()):
        state = last
    inner.seen_x = x.detach().clone()
    return call_inner(inner, x, state, record_v)


def test_a_state_reset_failure_plots_the_run_and_neuron_that_diverged() -> None:
    case = next(c for c in catalogue(["float32"], "lif-tau5/random/state-reset"))
    backend = WrapFault("faulty-leak-plot", lambda n: Wrapper(n, leaks_on_a_repeat))
    with registered(backend) as b:
        result = run_case(b, case, cached_expected(case))
    assert result.status is Status.FAIL
    div, trace = result.divergence, result.trace
    assert div is not None and trace is not None
    assert trace["where"] == div.where == "second run of the same input"
    assert trace["index"] == list(div.index) and trace["first_t"] == div.t
    differ = [t for t, (g, r) in enumerate(zip(trace["v_got"], trace["v_ref"], strict=True))
              if abs(g - r) > 1e-5]
    assert differ and differ[0] <= div.t  # the plotted neuron is the one that parted
    png = case_plot(result)
    assert png is not None and png[:4] == b"\x89PNG"


def test_an_input_gradient_failure_carries_both_gradients_for_the_difference_panel() -> None:
    case = next(c for c in catalogue(["float32"], "lif-tau5/random/input-grad"))

    def doubled_input_gradient(inner, x, state, record_v):
        x2 = x * 2 - x.detach()  # same values, twice the gradient
        return call_inner(inner, x2, state, record_v)

    backend = WrapFault("faulty-xgrad-plot", lambda n: Wrapper(n, doubled_input_gradient))
    with registered(backend) as b:
        result = run_case(b, case, cached_expected(case))
    assert result.status is Status.FAIL and result.trace is not None
    assert result.divergence.quantity == "gradient of x"
    assert result.trace["index"] == list(result.divergence.index)
    g_got, g_ref = result.trace["g_got"], result.trace["g_ref"]
    t = result.divergence.t
    assert abs(g_got[t] - 2 * g_ref[t]) < 1e-4 * max(1.0, abs(g_ref[t]))
    assert case_plot(result) is not None
