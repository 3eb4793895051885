"""``step energy``: tables, JSON, plot, and one-line errors with exit code 2."""

from __future__ import annotations

import json

import pytest

import step.models
from step.cli import main
from step.energy import NETWORKS, TERMS

TINY = [name for name in step.models.list_models() if "tiny" in step.models.list_presets(name)]


def _json(capsys, *args: str) -> dict:
    assert main(["energy", *args, "--batches", "1", "--batch-size", "16", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("profile", ["45nm", "neuromorphic-22nm"])
@pytest.mark.parametrize("name", TINY)
def test_every_tiny_model_under_both_profiles(capsys, name, profile):
    out = _json(capsys, "--model", name, "--preset", "tiny", "--profile", profile)
    assert out["profile"]["name"] == profile and out["profile"]["version"] == "1"
    assert set(out["total_pj"]) == set(NETWORKS)
    assert set(out["break_even_rate"]) == set(NETWORKS) - {"snn"}
    assert all(set(t) == set(TERMS) for t in out["totals_by_term_pj"].values())
    assert out["samples"] == 16 and out["total_pj"]["snn"] > 0
    kinds = {layer["kind"] for layer in out["layers"]}
    assert {"dense", "neuron"} <= kinds  # the first layer takes real pixels


def test_table_and_plot(capsys, tmp_path):
    png = tmp_path / "energy.png"
    code = main(["energy", "--model", "spiking_mlp", "--preset", "tiny", "--batches", "1",
                 "--plot", str(png)])
    assert code == 0 and png.stat().st_size > 0
    out = capsys.readouterr().out
    assert "qnn_bitserial" in out and "SNN wins below" in out


@pytest.mark.parametrize("args, message", [
    (["--profile", "7nm"], "unknown energy profile '7nm'"),
    (["--profile", "missing.yaml"], "does not exist"),
    (["--checkpoint", "missing.pt"], "checkpoint missing.pt does not exist"),
    (["--batches", "0"], "--batches must be >= 1"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, args, message):
    assert main(["energy", "--model", "spiking_mlp", "--preset", "tiny", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_bad_profile_key_in_file(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nversion: '1'\nwatts: 3\n")
    assert main(["energy", "--model", "spiking_mlp", "--profile", str(bad)]) == 2
    assert "watts: unknown key" in capsys.readouterr().err


def test_a_cifar_preset_runs_on_the_embedded_digits(capsys) -> None:  # noqa: ANN001
    """No CIFAR on the machine: the digits, resized and repeated to RGB, stand in."""
    from step.cli import main

    code = main(["energy", "--model", "spiking_cnn", "--preset", "cifar10", "--batches", "1",
                 "--batch-size", "2", "--json"])
    assert code == 0
    import json

    report = json.loads(capsys.readouterr().out)
    assert report["preset"] == "cifar10" and report["samples"] == 2
    assert report["total_pj"]["snn"] > 0 and report["layers"]
