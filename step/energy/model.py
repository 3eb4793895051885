"""From measured counts to picojoules: the SNN, three quantised ANNs and the full ANN.

All networks share the architecture and the profile's constants; they differ in what they do.

- ``snn``: T steps; spike-driven layers accumulate per event, dense layers multiply every step;
  every neuron reads and writes its membrane every step; spikes are written and moved.
- ``qnn_dense``: one pass with ``b = ceil(log2(T+1))``-bit activations (a neuron's spike
  count over T), one multiply-accumulate per synapse.
- ``qnn_allbits``: bit-serial, every one of the b bit-planes added: b accumulates per synapse
  (Yan et al.'s QNN without bit sparsity).
- ``qnn_bitserial``: bit-serial skipping zero bits: one accumulate per set bit of the
  quantised count reaching a synapse (bit-level sparsity measured, not assumed).
- ``ann``: one pass, multiply-accumulates, ``ann_bits`` weights and activations.

Energy terms: ``mac``, ``ac`` (compute), ``weights`` (weight and bias reads), ``state``
(membranes), ``outputs`` (neuron outputs written), ``movement`` (activations or events moved
to the next layer). The SNN's energy is affine in its spike rate: every term that counts events
(accumulates, event-driven weight reads, written and moved spikes) scales with it, the rest
does not, so the break-even rate against any other network is solved exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from step.energy.counting import Counts, NeuronCounts, SynapseCounts
from step.energy.profiles import HardwareProfile
from step.energy.synops import activation_bits

TERMS = ("mac", "ac", "weights", "state", "outputs", "movement")
NETWORKS = ("snn", "qnn_dense", "qnn_allbits", "qnn_bitserial", "ann")

Energy = dict[str, float]


def _zero() -> Energy:
    return dict.fromkeys(TERMS, 0.0)


@dataclass
class LayerEnergy:
    """One layer's counts (per sample) and energy per network and term (pJ per sample)."""

    name: str
    kind: str  # "dense", "spike" or "neuron"
    counts: dict[str, Any]
    energy: dict[str, Energy] = field(default_factory=lambda: {n: _zero() for n in NETWORKS})
    #: the part of the SNN energy that scales with the spike rate
    snn_rate_part: Energy = field(default_factory=_zero)

    def total(self, network: str = "snn") -> float:
        return sum(self.energy[network].values())


def _synapse_energy(rec: SynapseCounts, n: int, T: int, p: HardwareProfile) -> LayerEnergy:
    b = activation_bits(T)
    steps = 1 if rec.static else T
    macs = rec.macs_per_step / n  # per step
    acs = float(rec.acs.sum()) / n if rec.acs is not None else 0.0
    events = float(rec.events.sum()) / n if rec.events is not None else 0.0
    elements = rec.elements / n
    spike = rec.spike_valued
    bits_in = b if spike else p.input_bits
    counts = {
        "kind": rec.kind, "static": rec.static, "weights": rec.weights, "biases": rec.biases,
        "dense_macs_per_step": macs, "acs": acs if spike else 0.0, "input_events": events,
        "input_elements_per_step": elements,
        "acs_per_step": [float(v) / n for v in rec.acs] if spike and rec.acs is not None else [],
        "qnn_set_bits": rec.qnn_set_bits / n, "qnn_bit_slots": rec.qnn_bit_slots / n,
    }
    le = LayerEnergy(rec.name, "spike" if spike else "dense", counts)
    e, r = le.energy, le.snn_rate_part
    wb, params = p.weight_bits, rec.weights + rec.biases
    move_sparse = p.e_move_sparse_pj_per_bit * p.hops
    move_dense = p.e_move_dense_pj_per_bit * p.hops
    # SNN, over T steps (static layers run once)
    if spike:
        r["ac"] = acs * p.e_ac_pj
        moved = acs if p.delivery == "per_synapse" else events
        r["movement"] = moved * p.spike_bits * move_sparse
    else:
        e["snn"]["mac"] = macs * steps * p.e_mac_pj
        moved = macs if p.delivery == "per_synapse" else elements
        e["snn"]["movement"] = moved * steps * p.input_bits * move_dense
    if p.weight_fetch == "per_step":
        e["snn"]["weights"] = params * wb * steps * p.e_weight_pj_per_bit
    else:
        bias_reads = rec.biases * steps * wb * p.e_weight_pj_per_bit
        if spike:
            r["weights"] = acs * wb * p.e_weight_pj_per_bit
            e["snn"]["weights"] = bias_reads
        else:
            e["snn"]["weights"] = macs * steps * wb * p.e_weight_pj_per_bit + bias_reads
    for term, value in r.items():
        e["snn"][term] += value
    # quantised ANNs and the ANN, one pass
    per_synapse = p.delivery == "per_synapse"
    q_moved = (macs if per_synapse else elements) * bits_in * move_dense
    a_moved = (macs if per_synapse else elements) * p.ann_bits * move_dense
    bitserial_weights = rec.qnn_active_synapses / n if spike else macs
    for net, compute, reads in (
        ("qnn_dense", {"mac": macs * p.e_mac_pj}, macs),
        ("qnn_allbits", {"ac": macs * b * p.e_ac_pj} if spike else {"mac": macs * p.e_mac_pj},
         macs),
        ("qnn_bitserial",
         {"ac": rec.qnn_bitserial_acs / n * p.e_ac_pj} if spike else {"mac": macs * p.e_mac_pj},
         bitserial_weights),
    ):
        e[net].update(compute)
        e[net]["movement"] = q_moved
        if p.weight_fetch == "per_step":
            e[net]["weights"] = params * wb * p.e_weight_pj_per_bit
        else:
            e[net]["weights"] = (reads + rec.biases) * wb * p.e_weight_pj_per_bit
    e["ann"]["mac"] = macs * p.e_mac_pj
    e["ann"]["movement"] = a_moved
    ann_reads = params if p.weight_fetch == "per_step" else macs + rec.biases
    e["ann"]["weights"] = ann_reads * p.ann_bits * p.e_weight_pj_per_bit
    return le


def _neuron_energy(rec: NeuronCounts, n: int, T: int, p: HardwareProfile) -> LayerEnergy:
    neurons = rec.neurons / n
    spikes = float(rec.spikes.sum()) / n if rec.spikes is not None else 0.0
    counts = {
        "neurons": neurons, "spikes": spikes,
        "spikes_per_step": [float(v) / n for v in rec.spikes] if rec.spikes is not None else [],
        "firing_rate": spikes / (neurons * T) if neurons else 0.0,
    }
    le = LayerEnergy(rec.name, "neuron", counts)
    le.energy["snn"]["state"] = 2 * p.membrane_bits * neurons * T * p.e_mem_pj_per_bit
    le.snn_rate_part["outputs"] = spikes * p.spike_bits * p.e_mem_pj_per_bit
    le.energy["snn"]["outputs"] = le.snn_rate_part["outputs"]
    for net in ("qnn_dense", "qnn_allbits", "qnn_bitserial"):
        le.energy[net]["outputs"] = neurons * activation_bits(T) * p.e_mem_pj_per_bit
    le.energy["ann"]["outputs"] = neurons * p.ann_bits * p.e_mem_pj_per_bit
    return le


@dataclass
class EnergyReport:
    """Energy per inference (one sample), per layer and term, for every network.

    ``break_even`` maps each other network to the SNN spike rate at which the SNN would spend
    exactly as much as it (``None`` when the SNN's energy does not depend on its rate, 0.0 when
    the SNN loses even without a spike); ``break_even_rate`` is the one against the bit-serial
    QNN, the strongest quantised rival.
    """

    profile: HardwareProfile
    T: int
    samples: int
    layers: list[LayerEnergy]
    spike_rate: float  # events per input per step, over the spike-driven layers' inputs
    firing_rate: float  # mean firing rate of the model's neurons

    @property
    def activation_bits(self) -> int:
        return activation_bits(self.T)

    def totals(self, network: str = "snn") -> Energy:
        out = _zero()
        for layer in self.layers:
            for term, value in layer.energy[network].items():
                out[term] += value
        return out

    def total(self, network: str = "snn") -> float:
        return sum(self.totals(network).values())

    @property
    def total_pj(self) -> float:
        """The SNN's energy per inference in pJ."""
        return self.total("snn")

    def snn_at_rate(self, rate: float) -> float:
        """The SNN's energy if every spike count were scaled to mean input rate ``rate``."""
        rate_part = sum(sum(layer.snn_rate_part.values()) for layer in self.layers)
        if self.spike_rate == 0:
            return self.total_pj
        return self.total_pj - rate_part + rate_part * rate / self.spike_rate

    @property
    def break_even(self) -> dict[str, float | None]:
        rate_part = sum(sum(layer.snn_rate_part.values()) for layer in self.layers)
        fixed = self.total_pj - rate_part
        out: dict[str, float | None] = {}
        for net in NETWORKS[1:]:
            if rate_part == 0 or self.spike_rate == 0:
                out[net] = None
            else:
                out[net] = max(0.0, self.spike_rate * (self.total(net) - fixed) / rate_part)
        return out

    @property
    def break_even_rate(self) -> float | None:
        return self.break_even["qnn_bitserial"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": {"name": self.profile.name, "version": self.profile.version},
            "T": self.T, "activation_bits": self.activation_bits, "samples": self.samples,
            "spike_rate": self.spike_rate, "firing_rate": self.firing_rate,
            "total_pj": {net: self.total(net) for net in NETWORKS},
            "totals_by_term_pj": {net: self.totals(net) for net in NETWORKS},
            "break_even_rate": self.break_even,
            "layers": [
                {"name": layer.name, "kind": layer.kind, "counts": layer.counts,
                 "energy_pj": layer.energy} for layer in self.layers
            ],
        }


def energy_report(counts: Counts, profile: HardwareProfile) -> EnergyReport:
    """Price ``counts`` with ``profile`` (everything per sample)."""
    n, T = counts.samples, counts.T
    layers = [
        _synapse_energy(counts.synapses[name], n, T, profile) if name in counts.synapses
        else _neuron_energy(counts.neurons[name], n, T, profile)
        for name in counts.order
    ]
    spiking = [layer for layer in layers if layer.kind == "spike"]
    events = sum(layer.counts["input_events"] for layer in spiking)
    slots = sum(
        layer.counts["input_elements_per_step"] * (1 if layer.counts["static"] else T)
        for layer in spiking
    )
    neurons = [layer.counts for layer in layers if layer.kind == "neuron"]
    fired = sum(c["spikes"] for c in neurons)
    capacity = sum(c["neurons"] * T for c in neurons)
    return EnergyReport(
        profile, T, n, layers, events / slots if slots else 0.0,
        fired / capacity if capacity else 0.0,
    )
