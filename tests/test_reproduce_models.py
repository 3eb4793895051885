"""The model pieces the STEP-paper reproduction needs: frozen Q/K, the recurrent spiking
baseline, sequences read in T steps, and sequences fed to a spiking transformer."""

from __future__ import annotations

import math

import pytest
import torch

import step.models
from step.data import load_dataset
from step.data.digits_seq import chunk_steps
from step.errors import InputError


def test_freeze_qk_keeps_q_and_k_at_their_initial_values_while_v_trains() -> None:
    torch.manual_seed(0)
    model = step.models.create("spikformer", "tiny", freeze_qk=True, T=2)
    attn = model.blocks[0].attn
    before = {n: p.detach().clone() for n, p in attn.named_parameters()}
    opt = torch.optim.AdamW(model.parameters(), lr=0.1, weight_decay=0.1)
    x = torch.rand(16, 1, 8, 8) * 4  # drive strong enough to make every layer fire
    for _ in range(3):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), torch.arange(16) % 10).backward()
        opt.step()
    after = dict(attn.named_parameters())
    for name, value in before.items():
        moved = not torch.equal(value, after[name].detach())
        assert moved == (not name.startswith(("q.", "k."))), name


def test_freeze_qk_is_off_by_default() -> None:
    model = step.models.create("spikformer", "tiny")
    assert all(p.requires_grad for p in model.parameters())


def _lif(x: torch.Tensor, tau: float) -> torch.Tensor:
    """Hand LIF: h = v + (x - v)/tau, spike if h > 1, hard reset to 0."""
    v, out = torch.zeros_like(x[0]), []
    for xt in x:
        h = v + (xt - v) / tau
        s = (h > 1.0).float()
        v = h * (1 - s)
        out.append(s)
    return torch.stack(out)


def test_spiking_rnn_equals_a_hand_written_lsnn() -> None:
    """The recurrent layer, written out from the ALIF equations (theta = 1 + beta a; fire on
    h > theta; soft reset by theta; a decays by 1 - 1/tau_a and gains each spike)."""
    torch.manual_seed(3)
    model = step.models.create("spiking_rnn", "seq", T=6, in_features=3).eval()
    with torch.no_grad():
        model.rec.weight.mul_(20)  # strong recurrence, so that it shapes the spikes
        model.ff.weight.mul_(20)
    x = torch.rand(6, 5, 3) * 3
    spec = model.config.rec_neuron
    with torch.no_grad():
        bn = model.bn_in.module
        s_in = _lif(x @ model.fc_in.module.weight.T / math.sqrt(1 + bn.eps), 2.0)
        drive = s_in @ model.ff.weight.T + model.ff.bias
        v = torch.zeros(5, 64)
        a = torch.zeros(5, 64)
        s = torch.zeros(5, 64)
        outs = []
        for t in range(6):
            i = drive[t] + s @ model.rec.weight.T
            theta = 1.0 + spec.beta * a
            h = v + (i - v) / spec.tau
            s = (h > theta).float()
            v = h - s * theta
            a = a * (1 - 1 / spec.tau_adapt) + s
            outs.append(s)
        expected = model.head(torch.stack(outs)).mean(0)
        got = model(x)
    assert torch.stack(outs).sum() > 0  # the check is not about a silent layer
    torch.testing.assert_close(got, expected)


def test_spiking_rnn_output_depends_on_time_order() -> None:
    torch.manual_seed(1)
    model = step.models.create("spiking_rnn", "seq", T=8, in_features=2).eval()
    with torch.no_grad():
        model.rec.weight.mul_(20)
        model.ff.weight.mul_(20)
    x = torch.rand(8, 4, 2) * 3
    assert not torch.allclose(model(x), model(x.flip(0)))


def test_chunk_steps_joins_consecutive_steps() -> None:
    seq = torch.arange(1.0, 7.0).reshape(1, 6, 1)  # pixels 1..6
    assert chunk_steps(seq, 2).tolist() == [[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]]
    assert chunk_steps(seq, 6).tolist() == [[[1.0], [2.0], [3.0], [4.0], [5.0], [6.0]]]
    with pytest.raises(InputError, match="T must divide the sequence length 6"):
        chunk_steps(seq, 4)


def test_sequential_digits_in_t_steps_keep_the_pixel_order() -> None:
    whole = load_dataset("digits_pseq")
    eight = load_dataset("digits_pseq", T=8)
    assert eight.sample_shape == (8, 8)
    assert torch.equal(eight.test.x.reshape(len(eight.test.x), -1),
                       whole.test.x.reshape(len(whole.test.x), -1))


def test_spikformer_reads_a_sequence_as_one_token_per_step() -> None:
    torch.manual_seed(0)
    model = step.models.create("spikformer", "tiny", img_size=1, patch_size=1,
                               in_channels=4, T=5).eval()
    seq = torch.rand(5, 3, 4)
    torch.testing.assert_close(model(seq), model(seq[..., None, None]))
