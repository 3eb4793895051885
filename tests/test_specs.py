"""Spec validation: every message names the problem and the fix; YAML loads the same models."""

from __future__ import annotations

import pytest

from step.errors import SpecError
from step.specs import (
    DEFAULT_ALPHA,
    LIFSpec,
    SurrogateSpec,
    apply_assignments,
    parse_encoder,
    parse_neuron,
)


def test_parse_dict_from_issue() -> None:
    spec = parse_neuron({"kind": "lif", "tau": 2.0, "surrogate": {"kind": "sigmoid", "alpha": 4.0}})
    assert isinstance(spec, LIFSpec)
    assert spec.tau == 2.0 and spec.surrogate == SurrogateSpec(kind="sigmoid", alpha=4.0)
    assert spec.v_reset == 0.0 and spec.v_threshold == 1.0 and spec.reset == "hard"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "lif", "tau": 0.5}, "tau must be > 1"),
        ({"kind": "lif", "tau": 0.5}, "got 0.5"),
        ({"kind": "lif", "taux": 3}, "taux: unknown key"),
        ({"kind": "lif", "reset": "soft-ish"}, "reset: Input should be 'hard', 'soft' or 'none'"),
        ({"kind": "izh2003"}, "unknown neuron kind 'izh2003': choose one of"),
        ({"kind": "lif", "surrogate": {"kind": "atan", "alpha": -1}}, "alpha must be > 0"),
        ({"kind": "lif", "surrogate": "nope"}, "surrogate.kind"),
        ({"kind": "if", "tau": 2.0}, "tau: unknown key"),
        ({"kind": "lif", "tau": "abc"}, "tau: Input should be a valid number"),
        ("not-a-kind", "unknown neuron kind"),
        (3, "a neuron spec is a mapping"),
    ],
)
def test_neuron_validation_messages(data: object, message: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_neuron(data)
    text = str(info.value)
    assert message in text
    assert "\n" not in text


def test_surrogate_defaults_and_name_shortcut() -> None:
    for kind, alpha in DEFAULT_ALPHA.items():
        assert SurrogateSpec.parse(kind).alpha == alpha
    assert parse_neuron({"kind": "if", "surrogate": "triangle"}).surrogate.alpha == 1.0


def test_specs_are_frozen() -> None:
    spec = LIFSpec()
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises its own ValidationError
        spec.tau = 3.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "rate", "T": 0}, "T: Input should be greater than or equal to 1"),
        ({"kind": "phase", "bits": 0}, "bits"),
        ({"kind": "delta", "T": 4}, "T: unknown key"),
        ({"kind": "poisson"}, "unknown encoder kind 'poisson'"),
    ],
)
def test_encoder_validation_messages(data: dict, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse_encoder(data)


def test_yaml_loads_the_same_model(tmp_path) -> None:
    path = tmp_path / "lif.yaml"
    path.write_text("kind: lif\ntau: 3.0\nreset: soft\nsurrogate:\n  kind: gaussian\n")
    from step.specs import load_yaml

    spec = parse_neuron(load_yaml(path))
    assert spec == LIFSpec(tau=3.0, reset="soft", surrogate=SurrogateSpec(kind="gaussian"))
    assert LIFSpec.from_yaml(path) == spec


def test_yaml_errors(tmp_path) -> None:
    with pytest.raises(SpecError, match="does not exist"):
        LIFSpec.from_yaml(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: lif\ntau: [1, 2\n")
    with pytest.raises(SpecError, match="not valid YAML at line"):
        LIFSpec.from_yaml(bad)
    typo = tmp_path / "typo.yaml"
    typo.write_text("kind: lif\nthreshold: 1.0\n")
    with pytest.raises(SpecError, match=r"typo.yaml: threshold: unknown key"):
        LIFSpec.from_yaml(typo)


def test_assignments_nest_and_convert() -> None:
    data = apply_assignments(
        {"kind": "lif"},
        ["tau=2", "decay_input=false", "surrogate=atan", "surrogate.alpha=3", "reset=soft"],
    )
    spec = parse_neuron(data)
    assert spec == LIFSpec(
        tau=2.0, decay_input=False, reset="soft", surrogate=SurrogateSpec(kind="atan", alpha=3.0)
    )
    with pytest.raises(SpecError, match="KEY=VALUE"):
        apply_assignments({}, ["tau"])


def test_learnable_parameters_listed() -> None:
    assert parse_neuron("plif").learnable_parameters() == {"w": "1/tau = sigmoid(w)"}
    learnt = parse_neuron({"kind": "lif", "learn_threshold": True}).learnable_parameters()
    assert "v_threshold" in learnt
