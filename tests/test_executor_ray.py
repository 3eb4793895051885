"""Studies and sweeps on Ray (``--executor ray``): the same results as local, failures as rows.

Runs on a local Ray instance of two CPUs (``ray.init(num_cpus=2)``); skipped without Ray
(``pip install 'step-snn[ray]'``). What needs no Ray (the one-line refusals) is tested always.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from step.cli import main
from step.executor import check_executor, error_line
from step.study import StudyConfig, run_study
from step.study.sweep import LOG, SweepConfig, read_log, run_sweep

TINY = {"model": "spiking_mlp", "preset": "tiny", "dataset": "digits", "epochs": 1,
        "train_subset": 96, "eval_subset": 48, "batch_size": 32}


def test_local_refuses_ray_only_options_in_one_line(tmp_path: Path, capsys):
    assert main(["study", "--retries", "2", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--retries applies to Ray tasks" in err
    assert main(["study", "--address", "10.0.0.1:6379", "--out", str(tmp_path)]) == 2
    assert "add --executor ray" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_executor_ray_without_ray_is_one_line(tmp_path: Path, capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "ray" else real(name, *a))
    with pytest.raises(Exception, match=r"pip install 'step-snn\[ray\]'"):
        check_executor("ray")
    assert main(["study", "--executor", "ray", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs Ray, which is not installed" in err
    assert main(["sweep", "nofile.yaml", "--executor", "ray"]) == 2
    assert "needs Ray" in capsys.readouterr().err


def test_error_line_unwraps_the_task_exception():
    class Wrapped(Exception):
        cause = ValueError("bad value\n  with a second line")

    assert error_line(Wrapped()) == "ValueError: bad value with a second line"


ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


def _rows(study: dict) -> dict[str, dict]:
    keep = ("status", "seeds", "acc_per_seed", "loss", "firing_rate", "reason")
    return {r["backend"]: {k: r.get(k) for k in keep} for r in study["rows"]}


@pytest.mark.slow
def test_study_on_ray_equals_local(tmp_path: Path, local_ray):
    base = {**TINY, "backends": ["reference"], "seeds": 2, "conformance": False}
    local = run_study(StudyConfig(**base, isolate=False, out=str(tmp_path / "local")))
    on_ray = run_study(StudyConfig(**base, executor="ray", out=str(tmp_path / "ray")))
    assert _rows(on_ray) == _rows(local)
    assert on_ray["rows"][0]["status"] == "ok" and len(on_ray["rows"][0]["acc_per_seed"]) == 2
    # the same crash-safe files: one runs.jsonl line per run, and each run's result.json
    lines = read_log(tmp_path / "ray" / LOG)
    assert sorted(e["point"]["seed"] for e in lines.values()) == [42, 43]
    assert all(e["status"] == "trained" for e in lines.values())
    for seed, acc in zip((42, 43), on_ray["rows"][0]["acc_per_seed"], strict=True):
        saved = json.loads((tmp_path / "ray" / "runs" / "reference" / f"seed{seed}" /
                            "result.json").read_text())
        assert saved["test"]["acc"] == acc
    # a rerun reuses every run: nothing is submitted to Ray
    again = run_study(StudyConfig(**base, executor="ray", out=str(tmp_path / "ray")))
    assert all(r.get("reused_seeds") == [42, 43] for r in again["rows"])


@pytest.mark.slow
def test_sweep_on_ray_equals_local(tmp_path: Path, local_ray):
    grid = {"lr": [0.01]}
    local = run_sweep(SweepConfig(base=dict(TINY), grid=grid, out=str(tmp_path / "local")))
    on_ray = run_sweep(SweepConfig(base=dict(TINY), grid=grid, out=str(tmp_path / "ray"),
                                   executor="ray"))
    keep = ("point", "key", "status", "test_acc", "test_loss", "val_acc", "firing_rate")
    assert [{k: e[k] for k in keep} for e in on_ray] == [{k: e[k] for k in keep}
                                                         for e in local]
    assert len((tmp_path / "ray" / LOG).read_text().splitlines()) == 1


def _fails_first_time(marker: str) -> str:
    """Raises on its first call for ``marker``, succeeds after (a transient failure)."""
    path = Path(marker)
    if not path.exists():
        path.write_text("tried")
        raise RuntimeError("first attempt fails")
    return "ok"


def test_a_failed_task_is_retried_then_one_error_line(tmp_path: Path, local_ray):
    import sys

    from step.executor import RayPool, resources

    # this test module is not importable in Ray's workers: send the function by value
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    with RayPool(retries=1) as pool:
        assert list(pool.run(_fails_first_time, [(str(tmp_path / "a"),)],
                             [resources("cpu")])) == [(0, "ok")]
    with RayPool(retries=0) as pool:
        [(index, err)] = list(pool.run(_fails_first_time, [(str(tmp_path / "b"),)],
                                       [resources("cpu")]))
    assert index == 0 and error_line(err) == "RuntimeError: first attempt fails"


def test_conformance_on_ray_equals_local(tmp_path: Path, local_ray):
    from step.conformance.cases import catalogue
    from step.conformance.runner import run_suite
    from step.executor import RayPool
    from step.registry import available_backends, get_backend

    names = ["reference", *[n for n in ("snntorch",) if n in available_backends()]]
    backends = [get_backend(n) for n in names]
    cases = catalogue(["float32"], "lif-tau5/random")
    local = run_suite(backends, cases)
    with RayPool() as pool:
        on_ray = run_suite(backends, cases, ray=pool)

    def rows(report):
        return [(r.backend, r.case.id, r.status, r.detail) for r in report.results]

    assert rows(on_ray) == rows(local) and len(rows(local)) == len(names) * len(cases)
