"""Commands under bad input, kills and corrupt or hostile files (issue 14).

Every case: exit code 2, one line on stderr naming the problem, no traceback, nothing written;
a checkpoint carrying a pickle payload is refused before the payload can run.
"""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

import pytest
import torch

from step.cli import main
from step.cli.exit_codes import ExitCode
from step.hookspecs import hookimpl
from step.reference.backend import ReferenceBackend
from step.registry import register_plugin, unregister_plugin
from step.train import RunConfig, train
from step.train.checkpoint import BEST, CHECKPOINT

TRAIN = ["train", "--model", "spiking_mlp", "--preset", "tiny", "--epochs", "1",
         "--train-subset", "64", "--eval-subset", "32", "--batch-size", "32", "--quiet"]


def one_line_error(capsys: pytest.CaptureFixture[str], code: int, *needles: str) -> str:
    """Assert exit code 2 and a single stderr line holding every needle; return the line."""
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE_ERROR, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err
    return err


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 1-epoch spiking_mlp run (about a second); tests copy it before changing it."""
    out = tmp_path_factory.mktemp("runs") / "mlp"
    train(RunConfig.parse({"model": "spiking_mlp", "preset": "tiny", "epochs": 1,
                           "train_subset": 64, "eval_subset": 32, "batch_size": 32,
                           "out": str(out)}), stop_after=None)
    return out


def copy_run(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


class _Payload:
    """Creates ``marker`` when unpickled: harmless, and visible if it ever ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (open, (str(self.marker), "w"))


def _hostile(path: Path, marker: Path, **extra: object) -> None:
    torch.save({"model": _Payload(marker), "epoch": 1, **extra}, path)


def test_the_payload_would_run_if_loaded_unsafely(tmp_path: Path) -> None:
    # The check below is only meaningful if the payload is live: plain unpickling runs it.
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(_Payload(marker)))
    assert marker.exists()
    marker.unlink()
    _hostile(tmp_path / "x.pt", marker)
    torch.load(tmp_path / "x.pt", weights_only=False)
    assert marker.exists()


@pytest.mark.parametrize("where", ["probe", "resume", "energy"])
def test_a_pickle_payload_in_a_checkpoint_is_refused_not_run(
        where: str, finished_run: Path, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    run = copy_run(finished_run, tmp_path / "run")
    marker = tmp_path / "PAYLOAD_RAN"
    if where == "probe":
        _hostile(run / BEST, marker)
        code = main(["probe", str(run)])
    elif where == "resume":
        (run / "result.json").unlink()
        _hostile(run / CHECKPOINT, marker)
        code = main([*TRAIN, "--out", str(run), "--resume", "--epochs", "2"])
    else:
        _hostile(tmp_path / "w.pt", marker)
        code = main(["energy", "--model", "spiking_mlp", "--preset", "tiny",
                     "--checkpoint", str(tmp_path / "w.pt")])
    one_line_error(capsys, code, "not tensors or plain data", "refused")
    assert not marker.exists()


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
@pytest.mark.parametrize("where", ["probe", "resume", "energy"])
def test_a_corrupt_checkpoint_is_one_line(where: str, damage: str, finished_run: Path,
                                          tmp_path: Path, capsys) -> None:  # noqa: ANN001
    run = copy_run(finished_run, tmp_path / "run")
    name = CHECKPOINT if where == "resume" else BEST
    data = (run / name).read_bytes()
    broken = data[: len(data) // 2] if damage == "truncated" else b"not a checkpoint at all"
    (run / name).write_bytes(broken)
    before = sorted(p.name for p in run.iterdir())
    if where == "probe":
        code = main(["probe", str(run)])
    elif where == "resume":
        (run / "result.json").unlink()
        before.remove("result.json")
        code = main([*TRAIN, "--out", str(run), "--resume", "--epochs", "2"])
    else:
        code = main(["energy", "--model", "spiking_mlp", "--preset", "tiny",
                     "--checkpoint", str(run / name)])
    one_line_error(capsys, code, "could not be read", str(run / name))
    assert sorted(p.name for p in run.iterdir()) == before  # nothing written


@pytest.mark.parametrize("text", ["{\"config\": {", "[1, 2]", "\xff\xfe"])
def test_a_broken_result_json_is_one_line_for_probe(text: str, finished_run: Path,
                                                    tmp_path: Path, capsys) -> None:  # noqa: ANN001
    run = copy_run(finished_run, tmp_path / "run")
    (run / "result.json").write_bytes(text.encode("latin-1"))
    one_line_error(capsys, main(["probe", str(run)]), str(run / "result.json"))
    assert not (run / "probe.json").exists()


@pytest.fixture
def no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)


@pytest.mark.parametrize("command", [
    TRAIN, ["study", "--backends", "reference", "--seeds", "1", "--epochs", "1"],
])
def test_a_missing_gpu_stops_every_command_before_any_work(
        command: list[str], no_gpu: None, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    out = tmp_path / "out"
    code = main([*command, "--device", "cuda", "--out", str(out)])
    one_line_error(capsys, code, "'cuda' is not available", "--device cpu")
    assert not out.exists()


def test_a_missing_gpu_stops_a_sweep_before_its_first_run(no_gpu: None, tmp_path: Path,
                                                          capsys) -> None:  # noqa: ANN001
    sweep = tmp_path / "s.yaml"
    sweep.write_text(f"base: {{model: spiking_mlp, preset: tiny, device: cuda}}\n"
                     f"grid: {{seed: [1, 2]}}\nout: {tmp_path / 'out'}\n")
    one_line_error(capsys, main(["sweep", str(sweep)]), "'cuda' is not available")
    assert not (tmp_path / "out").exists()


def test_a_gpu_index_beyond_the_machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                        capsys) -> None:  # noqa: ANN001
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    code = main([*TRAIN, "--device", "cuda:3", "--out", str(tmp_path / "o")])
    one_line_error(capsys, code, "sees 1 CUDA GPU(s)", "cuda:0 to cuda:0")


def test_energy_plot_name_is_checked_before_any_work(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    code = main(["energy", "--model", "spiking_mlp", "--preset", "tiny",
                 "--plot", str(tmp_path / "e.txt")])
    one_line_error(capsys, code, "must end in .png")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("value", "needle"), [
    ("1,,2", "value 2 is empty"), ("nan,1", "value 1 is nan"), ("1,inf", "value 2 is inf"),
    (",", "value 1 is empty"),
])
def test_trace_input_empty_or_non_finite_items_are_errors(value: str, needle: str,
                                                          capsys) -> None:  # noqa: ANN001
    one_line_error(capsys, main(["trace", "--input", value]), needle)


@pytest.mark.parametrize("assignment", [
    "v_threshold=inf", "v_threshold=nan", "v_reset=nan", "v_reset=-inf", "tau=nan",
    "surrogate.alpha=inf",
])
def test_non_finite_spec_fields_are_refused(assignment: str, capsys) -> None:  # noqa: ANN001
    field = assignment.split("=")[0]
    code = main(["trace", "--input", "1", "--set", assignment])
    one_line_error(capsys, code, f"{field}: must be a finite number")


def test_every_float_field_of_every_neuron_refuses_nan_and_inf() -> None:
    from step.errors import SpecError
    from step.specs import NEURON_KINDS, parse_neuron

    checked = 0
    for kind, cls in NEURON_KINDS.items():
        for name, field in cls.model_fields.items():
            if field.annotation is not float:
                continue
            for bad in (float("nan"), float("inf"), float("-inf")):
                with pytest.raises(SpecError, match=f"{name}: must be a finite number"):
                    parse_neuron({"kind": kind, name: bad})
                checked += 1
    assert checked >= 3 * 2 * len(NEURON_KINDS)  # v_threshold and v_reset at least


def _strict_json(text: str) -> object:
    def refuse(name: str) -> None:
        raise ValueError(f"bare {name} in JSON")

    return json.loads(text, parse_constant=refuse)


def test_a_diverging_run_stops_early_writes_valid_json_and_exits_1(tmp_path: Path,
                                                                   capsys) -> None:  # noqa: ANN001
    out = tmp_path / "div"
    code = main([*TRAIN, "--epochs", "3", "--lr", "1e30", "--out", str(out), "--json"])
    captured = capsys.readouterr()
    assert code == ExitCode.CHECK_FAILED
    assert "diverged in epoch 1" in captured.err and "smaller --lr" in captured.err
    printed = _strict_json(captured.out)
    written = _strict_json((out / "result.json").read_text())
    assert printed == written
    assert written["diverged"]["epoch"] == 1 and len(written["history"]) == 1  # stopped early
    row = written["history"][0]
    assert None in (row["train_loss"], row.get("val_loss"))  # NaN written as null


def test_json_safe_replaces_every_non_finite_float() -> None:
    from step._io import dumps

    data = {"a": float("nan"), "b": [1.0, float("inf"), {"c": float("-inf")}], "d": (2.5,)}
    assert _strict_json(dumps(data)) == {"a": None, "b": [1.0, None, {"c": None}], "d": [2.5]}


def test_train_into_a_finished_run(finished_run: Path, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    run = copy_run(finished_run, tmp_path / "run")
    stamp = (run / BEST).stat().st_mtime_ns
    same = json.loads((run / "result.json").read_text())["config"]
    args = ["train", "--model", same["model"], "--preset", same["preset"],
            "--epochs", str(same["epochs"]), "--train-subset", str(same["train_subset"]),
            "--eval-subset", str(same["eval_subset"]), "--batch-size", str(same["batch_size"]),
            "--out", str(run), "--quiet"]
    # the same config: said, exit 0, nothing retrained
    assert main(args) == ExitCode.OK
    assert "already holds this run" in capsys.readouterr().out
    assert (run / BEST).stat().st_mtime_ns == stamp
    # another config: refused in one line, nothing touched
    one_line_error(capsys, main([*args, "--lr", "0.02"]), "different config", "--overwrite")
    assert (run / BEST).stat().st_mtime_ns == stamp
    # --overwrite trains again
    assert main([*args, "--lr", "0.02", "--overwrite", "--json"]) == ExitCode.OK
    assert json.loads(capsys.readouterr().out)["config"]["lr"] == 0.02
    # a result.json that is not a result: refused, not taken for a different config
    (run / "result.json").write_text("{\"config\": ")
    one_line_error(capsys, main(args), "not a readable step train result", "--overwrite")


def test_train_into_an_unfinished_run_needs_resume(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    out = tmp_path / "killed"
    args = [*TRAIN, "--epochs", "2", "--out", str(out)]
    assert main([*args, "--stop-after", "1"]) == ExitCode.OK
    capsys.readouterr()
    one_line_error(capsys, main(args), "unfinished run", "--resume")
    assert main([*args, "--resume"]) == ExitCode.OK
    assert "resuming after epoch 1 of 2" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["backends"], ["specs", "neurons"]])
def test_tables_are_whole_when_piped(command: list[str]) -> None:
    import subprocess

    out = subprocess.run([sys.executable, "-m", "step", *command], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "…" not in out.stdout and "..." not in out.stdout
    assert "\x1b[" not in out.stdout  # no colour codes in a pipe
    if command == ["backends"]:
        assert "spikingjelly" in out.stdout
    else:  # every kind's one-line summary arrives on one line, uncut
        from step.catalog import catalogue

        for entry in catalogue("neurons")["neurons"]:
            assert entry["summary"] in out.stdout, entry["summary"]


def test_probe_energy_and_trace_say_where_results_went(finished_run: Path, tmp_path: Path,
                                                       capsys) -> None:  # noqa: ANN001
    run = copy_run(finished_run, tmp_path / "run")
    assert main(["probe", str(run)]) == ExitCode.OK
    assert f"written: {run / 'probe.json'}" in capsys.readouterr().out
    png = tmp_path / "e.png"
    assert main(["energy", str(run), "--batches", "1", "--plot", str(png)]) == ExitCode.OK
    assert f"written: {png}" in capsys.readouterr().out and png.is_file()
    png = tmp_path / "t.png"
    assert main(["trace", "--input", "2,2", "--plot", str(png), "--json"]) == ExitCode.OK
    captured = capsys.readouterr()
    assert json.loads(captured.out)["reference"]["spikes"] == [0, 1]
    assert f"written: {png}" in captured.err


def test_energy_of_a_run_folder_uses_its_trained_weights(finished_run: Path,
                                                         capsys) -> None:  # noqa: ANN001
    assert main(["energy", str(finished_run), "--batches", "1", "--json"]) == ExitCode.OK
    report = json.loads(capsys.readouterr().out)
    assert report["run"] == str(finished_run) and report["trained"] is True
    assert report["model"] == "spiking_mlp" and report["preset"] == "tiny"
    assert main(["energy", "--model", "spiking_mlp", "--preset", "tiny", "--batches", "1"]) == 0
    assert "untrained weights" in capsys.readouterr().out
    assert main(["energy", str(finished_run), "--batches", "1"]) == 0
    assert "untrained weights" not in capsys.readouterr().out
    one_line_error(capsys, main(["energy"]), "give a model")
    one_line_error(capsys, main(["energy", str(finished_run), "--model", "spiking_mlp"]),
                   "not both")


def test_energy_takes_data_root(capsys, tmp_path: Path) -> None:  # noqa: ANN001
    code = main(["energy", "--model", "spiking_mlp", "--preset", "tiny", "--dataset", "cifar10",
                 "--data-root", str(tmp_path)])
    # the folder has no CIFAR: the loader names what it expected there, not a missing flag
    err = one_line_error(capsys, code)
    assert "needs --data-root" not in err and "cifar" in err.lower()


def test_unknown_option_names_the_subcommand_help(capsys) -> None:  # noqa: ANN001
    one_line_error(capsys, _exit_code(["train", "--epochz", "3"]),
                   "--epochz", "see step train --help")
    one_line_error(capsys, _exit_code(["energy", "--model", "x", "--foo"]),
                   "see step energy --help")
    one_line_error(capsys, _exit_code(["--bogus"]), "see step --help")


def _exit_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    return int(stop.value.code)


def test_step_specs_lists_every_kind_with_defaults(capsys) -> None:  # noqa: ANN001
    from step.specs import ENCODER_KINDS, NEURON_KINDS

    assert main(["specs", "--json"]) == ExitCode.OK
    data = json.loads(capsys.readouterr().out)
    assert [e["kind"] for e in data["neurons"]] == list(NEURON_KINDS)
    assert [e["kind"] for e in data["encoders"]] == list(ENCODER_KINDS)
    lif = {f["name"]: f["default"] for f in next(e for e in data["neurons"]
                                                  if e["kind"] == "lif")["fields"]}
    # the documented canonical defaults (docs/specs.md), written out by hand
    assert (lif["tau"], lif["v_threshold"], lif["v_reset"], lif["reset"]) == (2.0, 1.0, 0.0,
                                                                              "hard")
    assert lif["surrogate"] == {"kind": "atan", "alpha": 2.0}
    alphas = {e["kind"]: e["fields"][0]["default"] for e in data["surrogates"]}
    assert alphas["sigmoid"] == 4.0 and alphas["fast_sigmoid"] == 25.0 and len(alphas) == 7
    assert main(["specs", "surrogates"]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "fast_sigmoid" in out and "alpha = 25.0" in out and "lif" not in out.split("\n", 1)[1]


def test_neuron_takes_keyword_fields_and_says_what_it_is() -> None:
    import pydoc

    import step.nn
    from step.errors import InputError, SpecError

    lif = step.nn.Neuron("lif", tau=4.0, reset="soft")
    assert (lif.spec.kind, lif.spec.tau, lif.spec.reset) == ("lif", 4.0, "soft")
    assert step.nn.Neuron({"kind": "lif", "tau": 3.0}, v_threshold=0.5).spec.v_threshold == 0.5
    assert step.nn.Neuron(lif.spec, tau=8.0).spec.reset == "soft"
    with pytest.raises(SpecError, match="tauu: unknown key"):
        step.nn.Neuron("lif", tauu=3.0)
    doc = pydoc.render_doc(step.nn.Neuron, renderer=pydoc.plaintext)
    for words in ("lif", "plif", "[T, B, ...]", "starts from rest", "last_state", "step specs"):
        assert words in doc, words
    with pytest.raises(InputError, match="floating-point input current, got torch.int64"):
        lif(torch.full((3, 1), 2))


def test_models_create_uses_the_backend_in_force() -> None:
    import step
    import step.models

    assert step.models.create("spiking_mlp", "tiny").backend_name == "reference"

    built: list[str] = []

    class _Other(ReferenceBackend):
        name = "create-default-test"

        def _build_neuron(self, spec, support):  # noqa: ANN001, ANN202
            built.append(spec.kind)
            return super()._build_neuron(spec, support)

    class _Plugin:
        @hookimpl
        def step_backends(self):  # noqa: ANN202
            return [_Other()]

    register_plugin(_Plugin(), "create-default-plugin")
    try:
        with step.use_backend("create-default-test"):
            model = step.models.create("spiking_mlp", "tiny")
            assert step.models.create("spiking_mlp", "tiny",
                                      backend="reference").backend_name == "reference"
    finally:
        unregister_plugin("create-default-plugin")
    assert model.backend_name == "create-default-test"
    assert built == ["lif"]  # the MLP's one neuron layer, built by the backend in force


def test_the_readme_python_example_fires() -> None:
    import re

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    code = re.search(r"## In Python\n\n```python\n(.*?)```", readme, re.S)
    assert code is not None, "README lost its Python example"
    scope: dict = {}
    exec(compile(code.group(1), "README.md", "exec"), scope)  # noqa: S102
    spikes = scope["spikes"]
    assert spikes.shape == scope["x"].shape
    assert set(spikes.unique().tolist()) == {0.0, 1.0}  # binary, and some spikes


@pytest.mark.parametrize("terminal", [True, False])
def test_progress_shows_on_a_terminal_only(terminal: bool, capsys,  # noqa: ANN001
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from step._progress import status, track

    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal)
    with status("loading"):
        items = list(track(range(3), "counting operations", total=3))
    assert items == [0, 1, 2]
    err = capsys.readouterr().err
    assert ("counting operations" in err) is terminal  # a pipe gets no bar, errors stay 1 line
