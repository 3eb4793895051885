"""The step command: exit codes, one-line errors, JSON shapes, and what it imports."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from step.cli import main
from step.cli.exit_codes import ExitCode

HEAVY = ("torch", "spikingjelly", "snntorch", "norse", "braincog", "matplotlib", "timm")


def run_step(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "step", *args], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("args", [["--help"], ["backends"], ["backends", "--json"]])
def test_fast_commands_import_no_backend_library(args: list[str]) -> None:
    code = (
        "import sys; from step.cli import main\n"
        f"try:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
        f"print('LOADED', [m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "LOADED []", out.stdout + out.stderr


def test_version_and_help() -> None:
    out = run_step("--version")
    assert out.returncode == 0 and out.stdout.startswith("step ")
    out = run_step("--help")
    assert out.returncode == 0 and "trace" in out.stdout and "backends" in out.stdout


def test_backends_json_lists_reference(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backends", "--json"]) == ExitCode.OK
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)["backends"]}
    ref = rows["reference"]
    assert ref["available"] is True and ref["version"]
    for part in ("forward", "gradient"):
        assert ref["support"][part]["unsupported"] == 0 and ref["support"][part]["native"] > 0


def test_trace_json_from_issue(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["trace", "--neuron", "lif", "--set", "tau=2", "--set", "v_threshold=1",
                 "--set", "v_reset=0", "--input", "2,2,2", "--backend", "reference", "--json"])
    assert code == ExitCode.OK
    result = json.loads(capsys.readouterr().out)
    assert result["reference"]["spikes"] == [0, 1, 0]
    assert result["reference"]["v"] == [1.0, 0.0, 1.0]
    assert result["reference"]["support"] == "native"


def test_trace_table_and_plot(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: ANN001
    png = tmp_path / "trace.png"
    code = main(["trace", "--neuron", "if", "--set", "reset=soft", "--input", "0.75,0.75,0.75",
                 "--plot", str(png)])
    assert code == ExitCode.OK
    out = capsys.readouterr().out
    assert "reference v" in out and "0.25" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["trace.png"]  # no temporary left behind


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["trace", "--input", "2,x"], "--input must be comma-separated numbers"),
        (["trace", "--input", "2", "--set", "tau=0.5"], "tau must be > 1"),
        (["trace", "--input", "2", "--neuron", "lifx"], "unknown neuron kind 'lifx'"),
        (["trace", "--input", "2", "--backend", "snntorc"], "unknown backend 'snntorc'"),
        (["trace", "--input", "2", "--set", "tauu=3"], "tauu: unknown key"),
        (["trace"], "the following arguments are required: --input"),
        (["nosuchcommand"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    out = run_step(*args)
    assert out.returncode == ExitCode.USAGE_ERROR
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert message in lines[0]
    assert "Traceback" not in out.stderr


def test_bad_plot_path_writes_nothing(tmp_path) -> None:  # noqa: ANN001
    target = tmp_path / "trace.png"
    out = run_step("trace", "--input", "2", "--plot", str(target), "--set", "tau=0")
    assert out.returncode == 2 and not target.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["models", "zz*"], "no model matches 'zz*'"),
        (["trace", "--input", "2", "--plot", "x.pdfx"], "must end in .png"),
        (["trace", "--input", "2", "--plot", "{file}/x.png"], "is a file, not a folder"),
        (["conformance", "--out", "{file}"], "--out {file} is a file, not a folder"),
        (["train", "--out", "{file}", "--epochs", "1"], "is a file, not a folder"),
        (["study", "--config", "{list}"], "must hold a mapping of study settings, got a list"),
        (["train", "--config", "{binary}"], "is not a text file"),
        (["sweep", "{list}"], "must hold a mapping"),
    ],
)
def test_bad_paths_are_one_line(tmp_path, args: list[str], message: str) -> None:  # noqa: ANN001
    paths = {"file": tmp_path / "a-file", "list": tmp_path / "list.yaml",
             "binary": tmp_path / "bin.yaml"}
    paths["file"].write_text("x")
    paths["list"].write_text("- [1, 2]\n")
    paths["binary"].write_bytes(bytes(range(256)))
    args = [a.format(**paths) for a in args]
    out = run_step(*args)
    assert out.returncode == ExitCode.USAGE_ERROR, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message.format(**paths) in lines[0], out.stderr
