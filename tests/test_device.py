"""Devices: ``--device`` checked before any work on every command that computes, and every
backend's neurons keep their state on the input's device.

Without a GPU the state check runs on PyTorch's ``meta`` device (shapes and devices, no data):
a tensor an adapter creates without ``device=`` lands on the CPU and shows up there. Libraries
that read values (``.item()``) cannot run on ``meta`` at all; those cases are skipped by name,
never counted as passing. On a GPU the same checks run on CUDA.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from step.cli import main
from step.registry import available_backends, get_backend
from step.specs import NEURON_KINDS
from step.support import Level

NO_GPU = not torch.cuda.is_available()

#: Errors that mean "this library reads tensor values", which the meta device cannot give.
CANNOT_RUN_ON_META = ("cannot be called on meta tensors", "Cannot copy out of meta tensor")


@pytest.mark.skipif(not NO_GPU, reason="this machine has a GPU")
@pytest.mark.parametrize("argv", [
    ["train", "--model", "spiking_mlp", "--preset", "tiny"],
    ["study", "--backends", "reference"],
    ["conformance", "--backends", "reference"],
    ["energy", "--model", "spiking_mlp", "--preset", "tiny"],
    ["probe", "RUN_DIR"],
])
def test_cuda_without_a_gpu_is_one_line_and_nothing_written(argv, tmp_path: Path, capsys):
    argv = [str(tmp_path / "run") if a == "RUN_DIR" else a for a in argv]
    out = [] if argv[0] in ("energy", "probe") else ["--out", str(tmp_path / "out")]
    assert main([*argv, *out, "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no CUDA GPU" in err and "--device cpu" in err
    assert not any(tmp_path.iterdir())


def test_a_bad_device_name_is_one_line(capsys):
    assert main(["energy", "--model", "spiking_mlp", "--device", "gpu0"]) == 2
    assert "not a torch device: 'gpu0'" in capsys.readouterr().err


def _device_cases():
    for name in available_backends():
        backend = get_backend(name)
        for _, cls in sorted(NEURON_KINDS.items()):
            spec = cls(T=3) if "T" in cls.model_fields else cls()
            if backend.neuron_support(spec).forward is not Level.UNSUPPORTED:
                yield name, spec


@pytest.mark.parametrize("device", ["meta", pytest.param("cuda", marks=pytest.mark.skipif(
    NO_GPU, reason="needs a CUDA GPU"))])
def test_every_neuron_keeps_its_state_on_the_inputs_device(device):
    checked, skipped = 0, []
    for name, spec in _device_cases():
        try:
            neuron = get_backend(name).build_neuron(spec).to(device)
        except Exception as err:  # noqa: BLE001 - a backend that cannot move says why
            pytest.fail(f"{name} {spec.kind}: cannot move to {device}: {err}")
        neuron.record_v = True
        try:
            with torch.no_grad():
                spikes = neuron(torch.ones(3, 2, 4, device=device))
        except (RuntimeError, NotImplementedError) as err:
            if device == "meta" and any(m in str(err) for m in CANNOT_RUN_ON_META):
                skipped.append(f"{name}/{spec.kind}")
                continue
            raise AssertionError(f"{name} {spec.kind} on {device}: {err}") from err
        tensors = [spikes, neuron.v_seq, *(neuron.last_state or {}).values()]
        where = {t.device.type for t in tensors if isinstance(t, torch.Tensor)}
        assert where == {torch.device(device).type}, f"{name} {spec.kind}: {where}"
        checked += 1
    assert checked >= 20, (checked, skipped)
