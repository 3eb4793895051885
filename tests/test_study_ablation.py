"""An ablation axis changes exactly what it names: resolved configs compared field by field."""

from __future__ import annotations

import json
from pathlib import Path

from step.cli import main
from step.models import get_config
from step.study.diff import ABSENT, config_diff, describe
from step.study.summary import row_differences
from step.study.sweep import SweepConfig, point_config, resolved_specs

# Every original transformer's LIF (SpikingJelly MultiStepLIFNode(tau=2, detach_reset=True),
# Sigmoid(4)), written out by hand; the fire rule is whatever the preset says on both sides.
PRESET_LIF = {"kind": "lif", "v_threshold": 1.0, "v_reset": 0.0, "reset": "hard",
              "detach_reset": True, "surrogate": {"kind": "sigmoid", "alpha": 4.0},
              "learn_threshold": False, "tau": 2.0, "decay_input": True}


def _spec(config, role: str = "neuron") -> dict:
    return config.model_dump(mode="json", serialize_as_any=True)[role]


def test_kind_change_keeps_every_shared_setting():
    preset = _spec(get_config("spikformer", "tiny"))
    assert {k: preset[k] for k in PRESET_LIF} == PRESET_LIF
    if_spec = _spec(get_config("spikformer", "tiny", neuron={"kind": "if"}))
    # Field by field: only the kind changed, and LIF's tau and decay_input are gone.
    assert config_diff(preset, if_spec) == {"kind": ("lif", "if"), "tau": (2.0, ABSENT),
                                            "decay_input": (True, ABSENT)}
    # The attention neuron was not named: untouched.
    assert _spec(get_config("spikformer", "tiny", neuron={"kind": "if"}), "attn_neuron") == \
        _spec(get_config("spikformer", "tiny"), "attn_neuron")


def test_kind_change_takes_the_new_kinds_scale_where_a_field_means_something_else():
    izh = _spec(get_config("spikformer", "tiny", neuron={"kind": "izhikevich"}))
    # Izhikevich's v_threshold is a 30 mV spike peak and v_reset its c = -65 mV, not LIF's 1/0;
    # the surrogate and the reset detaching still carry over.
    assert (izh["v_threshold"], izh["v_reset"]) == (30.0, -65.0)
    assert izh["surrogate"] == {"kind": "sigmoid", "alpha": 4.0} and izh["detach_reset"] is True


def test_surrogate_family_change_takes_the_familys_alpha():
    atan = _spec(get_config("spikformer", "tiny", neuron={"surrogate": {"kind": "atan"}}))
    assert atan["surrogate"] == {"kind": "atan", "alpha": 2.0}
    sharper = _spec(get_config("spikformer", "tiny", neuron={"surrogate": {"alpha": 8.0}}))
    assert sharper["surrogate"] == {"kind": "sigmoid", "alpha": 8.0}


def test_sweep_axes_change_exactly_what_they_name():
    sw = SweepConfig(base={"model": "spikformer", "preset": "tiny"},
                     grid={"neuron": ["lif", "if"], "surrogate": ["sigmoid", "atan"]})
    configs = {(p["neuron"], p["surrogate"]): resolved_specs(point_config(sw, p))["model"]
               for p in sw.points()}
    base = configs["lif", "sigmoid"]
    assert config_diff(base, configs["if", "sigmoid"]) == {
        "neuron.kind": ("lif", "if"), "neuron.tau": (2.0, ABSENT),
        "neuron.decay_input": (True, ABSENT)}
    # The surrogate axis sets the model-level surrogate: every role's, and nothing else.
    assert config_diff(base, configs["lif", "atan"]) == {
        "surrogate.kind": ("sigmoid", "atan"), "surrogate.alpha": (4.0, 2.0),
        "neuron.surrogate.kind": ("sigmoid", "atan"), "neuron.surrogate.alpha": (4.0, 2.0),
        "attn_neuron.surrogate.kind": ("sigmoid", "atan"),
        "attn_neuron.surrogate.alpha": (4.0, 2.0)}


def test_describe_and_row_differences():
    a = {"neuron": {"kind": "lif", "tau": 2.0}, "T": 4}
    b = {"neuron": {"kind": "if"}, "T": 4}
    assert describe(config_diff(a, b)) == "neuron.kind: lif -> if; neuron.tau: 2.0 -> (absent)"
    assert describe(config_diff(a, a)) == "identical"
    rows = [{"backend": "x", "model_config": a}, {"backend": "y", "model_config": a},
            {"backend": "z", "model_config": b}, {"backend": "w", "status": "skipped"}]
    d = row_differences(rows)
    assert d["baseline"] == "x" and list(d["rows"]) == ["y", "z"]
    assert d["rows"]["y"]["text"] == "identical"
    assert d["rows"]["z"]["fields"] == {"neuron.kind": ["lif", "if"],
                                        "neuron.tau": [2.0, ABSENT]}


def test_sweep_json_and_summary_show_what_each_row_changed(tmp_path: Path, capsys):
    f = tmp_path / "sweep.yaml"
    base = {"model": "spiking_mlp", "preset": "tiny", "dataset": "digits", "epochs": 1,
            "train_subset": 60, "eval_subset": 60, "batch_size": 32}
    f.write_text(f"base: {json.dumps(base)}\ngrid: {{neuron: [lif, if]}}\n"
                 f"out: {tmp_path / 'out'}\n")
    assert main(["sweep", str(f), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [e["point"]["neuron"] for e in out["entries"]] == ["lif", "if"]
    assert [e["status"] for e in out["entries"]] == ["trained", "trained"]
    lif, if_ = (e["specs"]["model"]["neuron"] for e in out["entries"])
    assert config_diff(lif, if_) == {"kind": ("lif", "if"), "tau": (2.0, ABSENT),
                                     "decay_input": (True, ABSENT)}
    md = (tmp_path / "out" / "sweep.md").read_text()
    assert "neuron.kind: lif -> if; neuron.tau: 2.0 -> (absent); neuron.decay_input: True -> " \
           "(absent)" in md
