"""Encoders: spike times and bit planes worked out by hand; rate statistics and seeding."""

from __future__ import annotations

import pytest
import torch

from step.errors import InputError
from step.nn import Encoder


def test_direct_repeats() -> None:
    x = torch.tensor([[0.2, 0.7]])
    out = Encoder({"kind": "direct", "T": 3})(x)
    assert out.shape == (3, 1, 2)
    assert torch.equal(out, x.expand(3, 1, 2))


def test_latency_spike_times_by_hand() -> None:
    # T = 4, t* = floor((1 - x) * 4): x=1 -> 0, .9 -> floor(.4)=0, .74 -> floor(1.04)=1,
    # .5 -> 2, .3 -> floor(2.8)=2, .1 -> floor(3.6)=3, 0 -> 4 (no spike)
    x = torch.tensor([[1.0, 0.9, 0.74, 0.5, 0.3, 0.1, 0.0]], dtype=torch.float64)
    out = Encoder({"kind": "latency", "T": 4})(x)[:, 0]
    times = [int(out[:, i].nonzero()[0]) if out[:, i].any() else None for i in range(7)]
    assert times == [0, 0, 1, 2, 2, 3, None]
    assert out.sum(0).tolist() == [1, 1, 1, 1, 1, 1, 0]
    inverse = Encoder({"kind": "latency", "T": 4, "amplitude": "inverse"})(x)[:, 0]
    assert inverse.sum(0).tolist() == pytest.approx([1, 1, 0.5, 1 / 3, 1 / 3, 0.25, 0])


def test_phase_bits_by_hand() -> None:
    # 3 bits: x = .625 -> q = floor(.625 * 8) = 5 = 0b101, MSB first, cycling: 1, 0, 1, 1
    # x = 1.0 -> q clipped to 7 = 0b111; x = .2 -> q = 1 = 0b001
    x = torch.tensor([[0.625, 1.0, 0.2]])
    out = Encoder({"kind": "phase", "T": 4, "bits": 3})(x)[:, 0]
    assert out[:, 0].tolist() == [1, 0, 1, 1]
    assert out[:, 1].tolist() == [1, 1, 1, 1]
    assert out[:, 2].tolist() == [0, 0, 1, 0]
    weighted = Encoder({"kind": "phase", "T": 3, "bits": 3, "weighted": True})(x)[:, 0]
    assert weighted[:, 0].tolist() == [0.5, 0.0, 0.125]
    assert weighted[:, 0].sum().item() == 0.625  # the planes add back to the quantised value


def test_delta_by_hand() -> None:
    seq = torch.tensor([0.0, 0.5, 0.5, 0.2]).view(4, 1, 1)
    on = Encoder({"kind": "delta", "threshold": 0.1})(seq).flatten().tolist()
    assert on == [0, 1, 0, 0]
    both = Encoder({"kind": "delta", "threshold": 0.1, "off_spike": True})(seq).flatten().tolist()
    assert both == [0, 1, 0, -1]
    with pytest.raises(InputError, match=r"^the delta encoder takes a sequence \[T, B, \.\.\.\], "
                       r"got shape \(1,\)$"):
        Encoder({"kind": "delta"})(torch.tensor([0.3]))


def test_rate_statistics_and_clamping() -> None:
    x = torch.tensor([[0.0, 0.1, 0.5, 0.9, 1.0, -2.0, 3.0]])
    out = Encoder({"kind": "rate", "T": 20000, "seed": 1})(x)[:, 0]
    rates = out.mean(0)
    assert rates[0] == 0 and rates[4] == 1 and rates[5] == 0 and rates[6] == 1
    # binomial standard error at n = 20000 is at most 0.0036; allow 4 sigma
    assert rates[1:4].tolist() == pytest.approx([0.1, 0.5, 0.9], abs=0.015)


def test_rate_seeding_is_reproducible() -> None:
    x = torch.full((2, 16), 0.5)
    a = Encoder({"kind": "rate", "T": 8, "seed": 3})
    b = Encoder({"kind": "rate", "T": 8, "seed": 3})
    c = Encoder({"kind": "rate", "T": 8, "seed": 4})
    first = a(x)
    assert torch.equal(first, b(x))
    assert not torch.equal(first, c(x))
    second = a(x)
    assert not torch.equal(first, second)  # the generator moves on between batches
    a.reset()
    assert torch.equal(a(x), first)  # ... and restarts from its seed on reset


def test_static_encoders_keep_each_sample_of_a_batch_apart() -> None:
    # Two samples [B=2, N=3]: direct repeats each row; latency puts each pixel's one spike at
    # t* = floor((1 - x) T) of its own row (T = 4: 1 -> 0, .5 -> 2, .1 -> 3 / 0 -> 4, none).
    x = torch.tensor([[1.0, 0.5, 0.1], [0.0, 0.75, 1.0]], dtype=torch.float64)
    direct = Encoder({"kind": "direct", "T": 2})(x)
    assert direct.shape == (2, 2, 3) and torch.equal(direct[1], x)
    inverse = Encoder({"kind": "latency", "T": 4, "amplitude": "inverse"})(x)
    assert inverse.shape == (4, 2, 3)
    assert inverse[:, 0].T.tolist() == [[1, 0, 0, 0], [0, 0, 1 / 3, 0], [0, 0, 0, 0.25]]
    assert inverse[:, 1].T.tolist() == [[0, 0, 0, 0], [0, 0.5, 0, 0], [1, 0, 0, 0]]


def test_latency_clamps_above_one_to_the_first_step() -> None:
    # x = 1.5 is read as 1 (t* = 0); unclamped, floor((1 - 1.5) 4) = -2 would never fire
    out = Encoder({"kind": "latency", "T": 4})(torch.tensor([[1.5, 3.0]]))
    assert out[:, 0].T.tolist() == [[1, 0, 0, 0], [1, 0, 0, 0]]


def test_delta_is_strict_at_its_threshold_and_takes_a_two_axis_sequence() -> None:
    # [T=4, B=1]: rises 0, .5, 1, fall .5 with threshold .5: only the rise of 1 is an on-spike
    # (strictly above), and the fall of exactly .5 is no off-spike (strictly below -.5).
    seq = torch.tensor([[0.0], [0.5], [1.5], [1.0]])
    both = Encoder({"kind": "delta", "threshold": 0.5, "off_spike": True})(seq)
    assert both.shape == (4, 1) and both.flatten().tolist() == [0, 0, 1, 0]
