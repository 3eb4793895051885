"""The energy model: hand-counted layers, invariants, profiles, and SpikingJelly's counter."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

import step.energy
import step.nn as snn
from step.energy import synops
from step.errors import SpecError


def _linear_3_2() -> nn.Module:
    layer = snn.Linear(3, 2)  # 6 weights, 2 biases
    return nn.Sequential(layer)


# Spikes into Linear(3 -> 2) over T=2, one sample: step 0 fires inputs 0 and 2, step 1 input 1.
SPIKES = torch.tensor([[[1.0, 0.0, 1.0]], [[0.0, 1.0, 0.0]]])  # [T=2, B=1, 3]


def test_hand_counted_linear_45nm():
    r = step.energy.estimate(_linear_3_2(), [SPIKES], "45nm", T=2, time_first=True)
    (layer,) = r.layers
    assert layer.kind == "spike"
    # ACs: each spike reaches 2 synapses: step 0: 2 * 2 = 4, step 1: 1 * 2 = 2, total 6.
    assert layer.counts["acs"] == 6 and layer.counts["acs_per_step"] == [4.0, 2.0]
    snn_e = r.totals("snn")
    assert snn_e["ac"] == pytest.approx(6 * 0.9)  # 5.4 pJ
    # weights and biases read every step: (6 + 2) * 32 bits * 2 steps = 512 bits * 3.12
    assert snn_e["weights"] == pytest.approx(512 * 3.12)  # 1597.44 pJ
    # 3 spikes moved, 1 bit each, 3.12 pJ per bit
    assert snn_e["movement"] == pytest.approx(3 * 3.12)  # 9.36 pJ
    assert r.total_pj == pytest.approx(5.4 + 1597.44 + 9.36)
    # QNN: ceil(log2(3)) = 2-bit counts [1, 1, 1]: one set bit each -> 3 * 2 = 6 accumulates
    q = r.totals("qnn_bitserial")
    assert r.activation_bits == 2
    assert q["ac"] == pytest.approx(5.4)
    assert q["weights"] == pytest.approx(8 * 32 * 3.12)  # weights once: 798.72 pJ
    assert q["movement"] == pytest.approx(3 * 2 * 3.12)  # 3 activations of 2 bits: 18.72 pJ
    assert r.totals("qnn_dense")["mac"] == pytest.approx(6 * 4.6)  # 27.6 pJ
    assert r.total("ann") == pytest.approx(6 * 4.6 + 8 * 32 * 3.12 + 3 * 32 * 3.12)
    # the SNN reads its weights twice: it loses to the QNN even without spikes
    assert r.break_even_rate == 0.0


def test_hand_counted_linear_neuromorphic_break_even():
    r = step.energy.estimate(_linear_3_2(), [SPIKES], "neuromorphic-22nm", T=2,
                             time_first=True)
    # per synapse delivery: 6 one-bit events at 3.0 pJ, 6 accumulates at 0.05448 pJ; the
    # weights sit by the accumulator (0 pJ/bit). Input rate: 3 spikes / (3 inputs * 2 steps).
    assert r.spike_rate == 0.5
    assert r.totals("snn")["movement"] == pytest.approx(18.0)
    assert r.total_pj == pytest.approx(18.0 + 6 * 0.05448)
    # all-bits QNN: 6 synapses * 2 bits accumulates + 6 * 2 bits moved densely at 0.25 pJ
    qnn = 6 * 2 * 0.05448 + 6 * 2 * 0.25
    assert r.total("qnn_allbits") == pytest.approx(qnn)
    assert r.break_even["qnn_allbits"] == pytest.approx(0.5 * qnn / (18.0 + 6 * 0.05448))


def test_conv_counts_reach_of_each_spike():
    conv = nn.Conv2d(1, 2, 3, padding=1)
    x = torch.zeros(1, 1, 1, 3, 3)  # [T, B, C, H, W]
    x[0, 0, 0, 0, 0] = 1.0  # a corner spike reaches 2 x 2 output positions, 2 channels
    assert synops.conv_ops(x, conv)[0].item() == 8
    x[0, 0, 0, 1, 1] = 1.0  # the centre reaches all 3 x 3
    acs, macs = synops.conv_ops(x, conv)
    assert acs.item() == 8 + 18 and macs == 9 * 2 * 9


def test_real_valued_input_is_dense_every_step():
    x = torch.full((2, 1, 3), 0.5)
    r = step.energy.estimate(_linear_3_2(), [x], "45nm", T=2, time_first=True)
    assert r.layers[0].kind == "dense"
    assert r.totals("snn")["mac"] == pytest.approx(2 * 6 * 4.6)  # 6 MACs per step, 2 steps
    assert r.totals("snn")["ac"] == 0


def test_neuron_membrane_read_and_written_every_step():
    model = nn.Sequential(snn.Neuron("if"))
    r = step.energy.estimate(model, [torch.zeros(3, 2, 5)], "45nm", T=3, time_first=True)
    # 5 neurons, 3 steps, read + write of 32 bits at 3.12 pJ per bit
    assert r.totals("snn")["state"] == pytest.approx(5 * 3 * 2 * 32 * 3.12)


def test_activation_bits_and_popcount():
    assert [synops.activation_bits(T) for T in (1, 2, 3, 4, 5, 7, 8)] == [1, 2, 2, 3, 3, 3, 4]
    counts = torch.tensor([0.0, 1.0, 3.0, 5.0, 9.0])
    # 9 saturates to 7 = 0b111 at 3 bits
    assert synops.popcount(counts, 3).tolist() == [0, 1, 2, 2, 3]


def test_matmul_of_spikes_counts_coincidences():
    a = torch.tensor([[[[1.0, 1.0], [0.0, 1.0]]]])  # [T=1, B=1, 2, 2]
    b = torch.tensor([[[[1.0, 0.0], [1.0, 1.0]]]])
    acs, macs = synops.matmul_ops(a, b, True, True)
    # row 0 of a (1, 1) meets rows (1, 0) and (1, 1): 3; row 1 (0, 1) meets (1, 1): 2
    assert acs.item() == (a @ b).sum().item() == 5 and macs == 8
    acs, _ = synops.matmul_ops(a, b * 0.3, True, False)  # real b: each event adds a row of 2
    assert acs.item() == 3 * 2


spike_patterns = st.integers(0, 2**31 - 1).map(
    lambda seed: (torch.rand(3, 2, 6, generator=torch.Generator().manual_seed(seed)) < 0.3)
    .float()
)


@given(spike_patterns)
def test_no_spikes_no_accumulate_energy(x):
    r = step.energy.estimate(_linear_3_6(), [torch.zeros_like(x)], "45nm", T=3, time_first=True)
    assert r.totals("snn")["ac"] == 0 and r.snn_at_rate(0.0) == pytest.approx(r.total_pj)


@given(spike_patterns)
def test_twice_the_spikes_twice_the_accumulates(x):
    model = _linear_3_6()
    x2 = torch.cat([x, torch.roll(x, 1, dims=2) * (1 - x)], dim=1)  # add disjoint spikes
    r1 = step.energy.estimate(model, [x], "45nm", T=3, time_first=True)
    graded = step.energy.estimate(model, [2 * x], "45nm", T=3, time_first=True)
    assert graded.layers[0].counts["acs"] == pytest.approx(2 * r1.layers[0].counts["acs"])
    r2 = step.energy.estimate(model, [x2], "45nm", T=3, time_first=True)
    assert r2.samples == 2 * r1.samples
    fixed = r1.snn_at_rate(0.0)
    if r1.spike_rate > 0:
        assert r1.snn_at_rate(2 * r1.spike_rate) - fixed == pytest.approx(2 * (r1.total_pj - fixed))


@given(spike_patterns, spike_patterns)
def test_conv_accumulates_add_over_disjoint_spikes(x, y):
    conv = nn.Conv1d(2, 4, 3, padding=1)
    a, b = x.reshape(3, 2, 2, 3), (y * (1 - x)).reshape(3, 2, 2, 3)
    total = synops.conv_ops(a + b, conv)[0]
    assert torch.allclose(total, synops.conv_ops(a, conv)[0] + synops.conv_ops(b, conv)[0])


def _linear_3_6() -> nn.Module:
    return nn.Sequential(snn.Linear(6, 4))


def test_builtin_profiles_load_with_versions():
    assert {"45nm", "neuromorphic-22nm"} <= set(step.energy.list_profiles())
    p = step.energy.load_profile("45nm")
    assert (p.e_mac_pj, p.e_ac_pj, p.e_mem_pj_per_bit, p.version) == (4.6, 0.9, 3.12, "1")
    assert step.energy.load_profile("neuromorphic-22nm").e_ac_pj == 0.05448


def test_user_profile_and_bad_key(tmp_path):
    text = (step.energy.profiles.PROFILE_DIR / "45nm.yaml").read_text()
    good = tmp_path / "mine.yaml"
    good.write_text(text.replace("name: 45nm", "name: mine"))
    assert step.energy.load_profile(str(good)).name == "mine"
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("e_ac_pj:", "e_acc_pj:"))
    with pytest.raises(SpecError) as err:
        step.energy.load_profile(str(bad))
    assert "e_acc_pj: unknown key" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(SpecError, match="unknown energy profile"):
        step.energy.load_profile("7nm")


def test_same_counts_as_spikingjelly_op_counter():
    op_counter = pytest.importorskip("spikingjelly.activation_based.op_counter")
    import step.models

    torch.manual_seed(0)
    x = torch.rand(16, 1, 8, 8)
    for name in ("spiking_mlp", "spiking_cnn"):
        model = step.models.create(name, "tiny")
        for m in model.modules():  # give BatchNorm statistics so that neurons fire
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.momentum = None
        with torch.no_grad():
            model.train()(x)
        model.eval()
        ignore = [nn.BatchNorm1d, nn.BatchNorm2d]  # SpikingJelly also counts BN's affine MACs
        mac = op_counter.MACCounter(extra_ignore_modules=ignore)
        syn = op_counter.SynOpCounter(extra_ignore_modules=ignore)
        with torch.no_grad(), op_counter.DispatchCounterMode([mac, syn]):
            model(x)
        r = step.energy.estimate(model, [x], "45nm")
        acs = sum(layer.counts.get("acs", 0) for layer in r.layers) * r.samples
        macs = sum(layer.counts["dense_macs_per_step"] * r.T for layer in r.layers
                   if layer.kind == "dense") * r.samples
        assert acs > 0
        assert (macs, acs) == (mac.get_total(), syn.get_total())
