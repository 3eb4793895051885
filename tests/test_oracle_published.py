"""Published behaviour: the oracle's Izhikevich and Hodgkin-Huxley do what the papers report.

Izhikevich (2003, IEEE TNN 14:1569, Fig. 2) with I = 10: regular spiking adapts, intrinsically
bursting fires one burst then tonic spikes, chattering fires repeated bursts, fast spiking
fires at high frequency without adapting. Hodgkin-Huxley (1952) with the standard squid
parameters (rest -65 mV, 6.3 C): a step current from rest first gives a spike at a rheobase
of about 2.24 uA/cm^2; repetitive firing starts near 6.2 uA/cm^2 at about 52 Hz; 68 Hz at 10
and 86 Hz at 20 uA/cm^2 (independent measurements at fine dt). Izhikevich runs on both the
oracle and the reference backend; HH (costlier) on the oracle, which the conformance suite
holds the reference to.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from adapter_helpers import float64_reference

from step.conformance.oracle import oracle_run
from step.specs import HHSpec, IzhikevichSpec

DT = 0.25  # ms: Izhikevich's own listing integrates v in two half steps of 0.5 ms

#: name -> (a, b, c, d), Izhikevich (2003) Fig. 2
IZHIKEVICH = {"RS": (0.02, 0.2, -65.0, 8.0), "IB": (0.02, 0.2, -55.0, 4.0),
              "CH": (0.02, 0.2, -50.0, 2.0), "FS": (0.1, 0.2, -65.0, 2.0)}


def _spike_times(spikes: torch.Tensor, dt: float) -> np.ndarray:
    return spikes.flatten().nonzero().flatten().numpy() * dt


def _izhikevich(name: str, how: str, ms: float = 1000.0) -> np.ndarray:
    a, b, c, d = IZHIKEVICH[name]
    spec = IzhikevichSpec(a=a, b=b, v_reset=c, d=d, dt=DT)
    x = torch.full((int(ms / DT), 1, 1), 10.0, dtype=torch.float64)
    if how == "oracle":
        s = oracle_run(spec, x, {})[0]
    else:
        neuron = float64_reference(spec)
        with torch.no_grad():
            s = neuron(x)
    return _spike_times(s, DT)


@pytest.mark.parametrize("how", ["oracle", "reference"])
def test_izhikevich_firing_patterns(how: str) -> None:
    isi = {n: np.diff(_izhikevich(n, how)) for n in IZHIKEVICH}
    rs, ib, ch, fs = isi["RS"], isi["IB"], isi["CH"], isi["FS"]
    # regular spiking: no burst, adapts (the first interval well below the steady one)
    assert rs.min() > 10 and rs[-1] / rs[0] > 1.5 and 15 <= len(rs) + 1 <= 40
    # intrinsically bursting: a burst at onset (short first interval), then tonic only
    assert ib[0] < 10 and (ib[1:] > 20).all()
    # chattering: bursts of short intervals separated by long pauses, again and again
    short, long_ = ch < 10, ch > 30
    assert short.mean() > 0.5 and long_.sum() >= 5
    # fast spiking: high rate, no pause, steady intervals (no adaptation past the onset)
    assert len(fs) + 1 > 80 and fs.max() < 15
    steady = fs[len(fs) // 2:]
    assert steady.max() / steady.min() < 1.2
    # and the four differ as the paper's figure shows: FS fastest, RS slowest
    assert len(fs) > len(ch) > len(rs) and len(ib) > len(rs)


def _hh_rates(currents: list[float], ms: float, since: float) -> tuple[list[int], list[float]]:
    """Spike count of each constant current from rest, and its rate (Hz) after ``since``."""
    spec = HHSpec()  # dt 0.025 ms, 20 sub-steps: 0.5 ms per step
    step_ms = spec.dt * spec.substeps
    x = torch.tensor(currents, dtype=torch.float64).view(1, 1, -1).expand(
        int(ms / step_ms), 1, -1).clone()
    s = oracle_run(spec, x, {})[0][:, 0]
    counts, rates = [], []
    for k in range(len(currents)):
        t = _spike_times(s[:, k], step_ms)
        counts.append(len(t))
        late = t[t >= since]
        rates.append(1000.0 / float(np.diff(late).mean()) if len(late) > 2 else 0.0)
    return counts, rates


def test_hodgkin_huxley_rheobase_and_f_i_curve() -> None:
    currents = [2.2, 2.26, 6.1, 6.3, 10.0, 20.0]
    counts, rates = _hh_rates(currents, ms=350.0, since=100.0)
    assert counts[0] == 0 and counts[1] >= 1  # rheobase between 2.2 and 2.26 (lit. 2.24)
    assert rates[2] == 0.0 and counts[2] <= 3  # 6.1: a few spikes, then silence
    assert 47 <= rates[3] <= 57  # onset of repetitive firing near 6.2 at ~52 Hz
    assert abs(rates[4] - 68) <= 4 and abs(rates[5] - 86) <= 4
