"""Studies and sweeps: the files, identical starts, skipped backends, the verdict, resumption."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from step.backend import Backend
from step.cli import main
from step.hookspecs import hookimpl
from step.registry import available_backends, register_plugin, unregister_plugin
from step.study import StudyConfig, run_study, write_study
from step.study import sweep as sweep_mod
from step.study.runner import run_one
from step.study.summary import spread_verdict
from step.study.sweep import LOG, SweepConfig, read_log, run_sweep
from step.support import Level, Support
from step.train import RunConfig

TINY = {"model": "spiking_mlp", "preset": "tiny", "dataset": "digits", "epochs": 1,
        "train_subset": 120, "eval_subset": 60, "batch_size": 32}


class _NoGradient(Backend):
    """A backend that can run neurons forward only: a study must skip it, never train it."""

    name = "nograd-test"
    description = "test backend without gradients"

    def neuron_support(self, spec):
        return Support(Level.NATIVE, Level.UNSUPPORTED, "test", "no gradients in this test")

    def _build_neuron(self, spec, support):
        raise AssertionError("a skipped backend must never be built")


class _Plugin:
    @hookimpl
    def step_backends(self):
        return [_NoGradient()]


@pytest.fixture
def nograd_backend():
    register_plugin(_Plugin(), "nograd-test-plugin")
    yield "nograd-test"
    unregister_plugin("nograd-test-plugin")


def second_backend() -> list[str]:
    """One adapter besides the reference, if any is installed and can train the MLP."""
    for name in ("snntorch", "norse", "spikingjelly", "braincog"):
        if name in available_backends():
            return [name]
    return []


def test_study_writes_json_markdown_and_html(tmp_path: Path, nograd_backend: str):
    backends = ["reference", *second_backend(), nograd_backend]
    cfg = StudyConfig(**TINY, backends=backends, seeds=2, isolate=False, out=str(tmp_path))
    study = run_study(cfg)
    paths = write_study(tmp_path, study)
    assert {p.name for p in paths.values()} == {"study.json", "study.md", "study.html"}
    rows = {r["backend"]: r for r in study["rows"]}
    assert list(rows) == backends
    skipped = rows[nograd_backend]
    assert skipped["status"] == "skipped" and "gradient unsupported" in skipped["reason"]
    ref = rows["reference"]
    assert ref["status"] == "ok" and ref["seeds"] == [42, 43]
    # The row's numbers are the runs' own numbers.
    run = json.loads((Path(ref["runs"][0]) / "result.json").read_text())
    assert ref["acc_per_seed"][0] == run["test"]["acc"]
    assert ref["support"]["neuron"]["forward"] == "native"
    assert study["same_initial_weights"]["identical_across_backends"] is True
    assert ref["energy_pj"] > 0 and "energy" not in (ref.get("reason") or "")
    assert study["spread"]["text"]
    html = (tmp_path / "study.html").read_text()
    assert html.count("data:image/png;base64,") == 2 and "src='http" not in html
    md = (tmp_path / "study.md").read_text()
    assert "| reference |" in md and "skipped" in md and "Verdict" in md
    saved = json.loads((tmp_path / "study.json").read_text())
    assert saved["rows"][0]["acc"] == ref["acc"]


def test_spread_verdict_by_hand():
    def row(name, accs):
        mean = sum(accs) / len(accs)
        return {"backend": name, "status": "ok", "acc_per_seed": accs,
                "acc": {"mean": mean, "min": min(accs), "max": max(accs)}}

    # means 0.85 and 0.855: backend range 0.005; seed ranges 0.1 and 0.01: mean 0.055.
    v = spread_verdict([row("a", [0.8, 0.9]), row("b", [0.85, 0.86])], n_seeds=2)
    assert v["backend_range"] == pytest.approx(0.005) and v["seed_range"] == pytest.approx(0.055)
    assert v["within"] is True
    # means 0.5 and 0.9: backend range 0.4 > seed ranges 0.02.
    v = spread_verdict([row("a", [0.49, 0.51]), row("b", [0.89, 0.91])], n_seeds=2)
    assert v["within"] is False and "larger than" in v["text"]
    v = spread_verdict([row("a", [0.5]), row("b", [0.6])], n_seeds=1)
    assert v["within"] is None and "one seed" in v["text"]
    assert spread_verdict([row("a", [0.5, 0.6])], n_seeds=2)["within"] is None


def test_isolated_worker_runs_and_reports_errors(tmp_path: Path):
    ok = run_one(RunConfig.parse({**TINY, "out": str(tmp_path / "ok")}), isolate=True)
    assert "error" not in ok and ok["memory"]["peak_delta_mb"] >= 0
    bad = run_one(RunConfig.parse({**TINY, "dataset": "nope", "out": str(tmp_path / "bad")}),
                  isolate=True)
    assert "unknown dataset 'nope'" in bad["error"] and "\n" not in bad["error"]


def test_study_cli_bad_input_is_one_line(tmp_path: Path, capsys):
    assert main(["study", "--backends", "nope", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown backend 'nope'" in err
    assert main(["study", "--dataset", "nope", "--out", str(tmp_path)]) == 2
    assert "unknown dataset" in capsys.readouterr().err
    assert not (tmp_path / "study.json").exists()


def test_sweep_appends_each_run_and_skips_done_ones(tmp_path: Path, monkeypatch,
                                                    nograd_backend: str):
    sw = SweepConfig(base={**TINY, "train_subset": 60}, out=str(tmp_path),
                     grid={"neuron": ["lif", "if"], "backend": ["reference", nograd_backend]})
    entries = run_sweep(sw)
    status = {(e["point"]["neuron"], e["point"]["backend"]): e["status"] for e in entries}
    assert status == {("lif", "reference"): "trained", ("if", "reference"): "trained",
                      ("lif", nograd_backend): "skipped", ("if", nograd_backend): "skipped"}
    log = tmp_path / LOG
    assert len(log.read_text().splitlines()) == 4
    # A torn last line (a crash while writing) is ignored; trained points are not rerun.
    with open(log, "a") as f:
        f.write('{"key": "torn')
    assert len(read_log(log)) == 4

    def must_not_train(run, isolate):
        raise AssertionError(f"{run.out} was done already")

    monkeypatch.setattr("step.study.runner.run_one", must_not_train)
    again = run_sweep(sw.model_copy(update={"grid": {"neuron": ["lif", "if"],
                                                     "backend": ["reference"]}}))
    assert all(e["status"] == "trained" and e["reused"] for e in again)


def test_sweep_axes_map_to_run_fields_and_model_overrides():
    sw = SweepConfig(base=dict(TINY), grid={"surrogate": ["sigmoid"], "lr": [0.02]})
    run = sweep_mod.point_config(sw, {"surrogate": "sigmoid", "lr": 0.02})
    assert run.lr == 0.02 and run.model_overrides == {"surrogate": {"kind": "sigmoid"}}


def test_sweep_cli_writes_summary_and_rejects_bad_files(tmp_path: Path, capsys):
    f = tmp_path / "sweep.yaml"
    f.write_text(f"base: {json.dumps({**TINY, 'train_subset': 60})}\n"
                 f"grid: {{surrogate: [atan]}}\nout: {tmp_path / 'out'}\n")
    assert main(["sweep", str(f), "--quiet"]) == 0
    assert (tmp_path / "out" / "sweep.md").is_file() and (tmp_path / "out" / "sweep.png").is_file()
    assert "atan" in (tmp_path / "out" / "sweep.md").read_text()
    capsys.readouterr()
    f.write_text("base: {}\ngrid: {neuron: [lif]}\nbogus: 1\n")
    assert main(["sweep", str(f)]) == 2
    assert "bogus: unknown key" in capsys.readouterr().err
