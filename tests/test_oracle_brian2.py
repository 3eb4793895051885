"""Brian2 checks the oracle (and the reference) on the biophysical and adaptive kinds.

``tests/data/brian2_traces.npz`` holds Brian2 2.9's traces of the sets in
``tests/brian2_oracle.py`` (numpy code generation, Euler, the spec's dt), written by running
that file as a script. The oracle of the conformance suite and the reference backend are
each compared with them trace for trace in float64. When Brian2 can be imported here, it is
also run live and must reproduce the stored traces.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from adapter_helpers import float64_reference
from brian2_oracle import SETS, inputs

from step.conformance.oracle import oracle_parameters, oracle_run
from step.specs import parse_neuron

GOLDEN = Path(__file__).parent / "data" / "brian2_traces.npz"


@pytest.fixture(scope="module")
def golden() -> dict[str, np.ndarray]:
    with np.load(GOLDEN) as data:
        return {k: data[k] for k in data.files}


def _spikes_of(name: str, v: np.ndarray, s: np.ndarray) -> np.ndarray:
    """HH has no threshold in Brian2: its spike is the upward crossing of v_threshold (0 mV)
    from one step to the next, as the spec defines it."""
    if name != "hh":
        return s
    before = np.concatenate([np.full((1, v.shape[1]), -65.0), v[:-1]])
    return ((before <= 0.0) & (v > 0.0)).astype(float)


def _run(name: str, how: str) -> tuple[np.ndarray, np.ndarray]:
    spec = parse_neuron(SETS[name][0])
    x = torch.tensor(inputs(name), dtype=torch.float64).unsqueeze(1)  # [T, 1, N]
    if how == "oracle":
        s, v, _, _ = oracle_run(spec, x, oracle_parameters(spec, torch.float64))
    else:  # the reference backend's module, as any backend is built
        neuron = float64_reference(spec)
        with torch.no_grad():
            s, v = neuron(x), neuron.v_seq
    return s.squeeze(1).detach().numpy(), v.squeeze(1).detach().numpy()


@pytest.mark.parametrize("how", ["oracle", "reference"])
@pytest.mark.parametrize("name", sorted(SETS))
def test_matches_brian2_trace_for_trace(name: str, how: str,
                                        golden: dict[str, np.ndarray]) -> None:
    v_b, s_b = golden[f"{name}/v"], golden[f"{name}/s"]
    np.testing.assert_array_equal(golden[f"{name}/x"], inputs(name))
    s, v = _run(name, how)
    scale = 1.0 + np.abs(v_b)
    worst = float(np.max(np.abs(v - v_b) / scale))
    assert worst < 1e-9, f"{name}: {how} parts from Brian2 by {worst:.3g} (relative)"
    if name == "li":  # a leaky integrator outputs its membrane
        np.testing.assert_allclose(s, v_b, rtol=1e-9, atol=1e-9)
        return
    expected = _spikes_of(name, v_b, s_b)
    np.testing.assert_array_equal(s, expected)
    assert expected.sum() > 0, f"{name}: the set never fires; pick a stronger input"


def test_brian2_live_reproduces_the_stored_traces(golden: dict[str, np.ndarray]) -> None:
    try:
        from brian2_oracle import simulate as brian2_simulate

        v, s = brian2_simulate("lif")
    except (ImportError, AttributeError) as err:  # Brian2 2.9 needs numpy < 2.4 (ndarray.ptp)
        pytest.skip(f"Brian2 cannot run here: {type(err).__name__}: {err}")
    np.testing.assert_allclose(v, golden["lif/v"], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(s, golden["lif/s"])
