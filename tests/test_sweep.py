"""Sweep files: validated whole before the first run, crash-safe log, shipped examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from step.cli import main
from step.cli.exit_codes import ExitCode
from step.errors import SpecError
from step.study import sweep as sweep_mod
from step.study.sweep import LOG, SweepConfig, plan, point_config, repair_log, run_sweep

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples" / "sweeps").glob("*.yaml"))
TINY = {"model": "spiking_mlp", "preset": "tiny", "epochs": 1, "train_subset": 48,
        "eval_subset": 24, "batch_size": 24}


def write_sweep(path: Path, base: dict, grid: dict, out: Path) -> Path:
    path.write_text(json.dumps({"base": base, "grid": grid, "out": str(out)}))  # JSON is YAML
    return path


@pytest.mark.parametrize(("base", "grid", "needle"), [
    ({}, {"colour": ["red"]}, "colour: unknown key"),
    ({"epochz": 3}, {"seed": [1]}, "epochz: unknown key"),
    ({}, {"backend": ["reference", "snntorc"]}, "unknown backend 'snntorc'"),
    ({}, {"neuron": ["lif", "lifx"]}, "unknown neuron kind 'lifx'"),
    ({}, {"neuron.tauu": [3]}, "tauu: unknown key"),
    ({}, {"model": ["nosuchmodel"]}, "nosuchmodel"),
    ({}, {"dataset": ["nope"]}, "unknown dataset 'nope'"),
    ({}, {"lr": [0.01, float("nan")]}, "lr: must be a finite number"),
    ({}, {"seed": []}, "at least one value"),
])
def test_a_bad_grid_is_one_line_before_any_run(base: dict, grid: dict, needle: str,
                                               tmp_path: Path, capsys,  # noqa: ANN001
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_run(*args: object) -> None:
        raise AssertionError("no run may start before the whole grid is valid")

    monkeypatch.setattr(sweep_mod, "run_point", must_not_run)
    f = write_sweep(tmp_path / "s.yaml", {**TINY, **base}, grid, tmp_path / "out")
    code = main(["sweep", str(f)])
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE_ERROR and err.count("\n") == 1, err
    assert needle in err and str(f) in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_dotted_grid_keys_nest_like_set() -> None:
    sw = SweepConfig(base=TINY, grid={"neuron.tau": [3.0], "neuron": ["lif"],
                                      "surrogate.alpha": [4.0]})
    run = point_config(sw, sw.points()[0])
    # the kind axis applies first, the dotted ones on top of it, whatever the grid order
    assert run.model_overrides == {"neuron": {"kind": "lif", "tau": 3.0},
                                   "surrogate": {"alpha": 4.0}}
    from step.study.sweep import resolved_specs

    specs = resolved_specs(run)
    assert specs["neurons"]["neuron"]["tau"] == 3.0
    assert specs["model"]["neuron"]["tau"] == 3.0  # the model config keeps subclass fields


def test_a_torn_last_line_is_cut_before_the_next_record(tmp_path: Path) -> None:
    log = tmp_path / LOG
    whole = json.dumps({"key": "a", "status": "trained"}) + "\n"
    log.write_text(whole + '{"key": "b", "sta')
    assert repair_log(log) is True
    assert log.read_text() == whole
    assert repair_log(log) is False  # a whole file is left alone
    sweep_mod.append_log(log, {"key": "c", "status": "failed"})
    assert [json.loads(line)["key"] for line in log.read_text().splitlines()] == ["a", "c"]
    log.write_text('{"key": "only-torn"')  # no newline at all: nothing whole to keep
    sweep_mod.append_log(log, {"key": "d"})
    assert log.read_text() == '{"key": "d"}\n'


def test_rows_record_resolved_specs_and_failures_exit_1(tmp_path: Path, capsys,  # noqa: ANN001
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from step.study import runner

    real = runner.run_one

    def fail_tau_3(run, isolate):  # noqa: ANN001, ANN202
        if run.model_overrides["neuron"]["tau"] == 3.0:
            return {"error": "RuntimeError: broken on purpose"}
        return real(run, isolate)

    monkeypatch.setattr(runner, "run_one", fail_tau_3)
    f = write_sweep(tmp_path / "s.yaml", TINY, {"neuron.tau": [2.0, 3.0]}, tmp_path / "out")
    assert main(["sweep", str(f), "--quiet"]) == ExitCode.CHECK_FAILED
    captured = capsys.readouterr()
    assert "1 of 2 runs failed" in captured.err
    assert f"written: {tmp_path / 'out' / LOG}" in captured.out
    rows = [json.loads(line) for line in (tmp_path / "out" / LOG).read_text().splitlines()]
    assert [r["status"] for r in rows] == ["trained", "failed"]
    a, b = (r["specs"] for r in rows)
    differ = {k for k in a["neurons"]["neuron"] if a["neurons"]["neuron"][k] !=
              b["neurons"]["neuron"][k]}
    assert differ == {"tau"}  # full specs: two rows compare field by field
    assert {"v_threshold", "reset", "surrogate", "decay_input"} <= set(a["neurons"]["neuron"])
    assert a["run"]["lr"] == 0.005 and "out" not in a["run"]


def test_run_sweep_validates_before_running(tmp_path: Path) -> None:
    sw = SweepConfig(base=TINY, grid={"backend": ["nope"]}, out=str(tmp_path))
    with pytest.raises(SpecError, match="unknown backend 'nope'"):
        run_sweep(sw)
    assert plan(SweepConfig(base=TINY, grid={"seed": [1, 2]}))[1][1].seed == 2


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_shipped_example_sweeps_run(example: Path, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    import yaml

    data = yaml.safe_load(example.read_text())
    runs = len(SweepConfig.parse(data).points())
    assert 2 <= runs <= 4 and data["base"]["epochs"] == 1  # quick, as the examples promise
    assert main(["sweep", str(example), "--out", str(tmp_path), "--quiet"]) == ExitCode.OK
    rows = [json.loads(line) for line in (tmp_path / LOG).read_text().splitlines()]
    assert len(rows) == runs and all(r["status"] == "trained" for r in rows)


def test_examples_exist() -> None:
    assert len(EXAMPLES) >= 2
