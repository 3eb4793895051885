"""A study killed mid-way resumes without retraining, leaves no workers behind, and never mixes
its folder with another study's runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from step.cli import main
from step.study.sweep import LOG, read_log

pytestmark = pytest.mark.skipif(not Path("/proc/self/cmdline").exists(),
                                reason="finds worker processes through /proc")

TINY = {"model": "spiking_mlp", "preset": "tiny", "dataset": "digits", "epochs": 1,
        "train_subset": 120, "eval_subset": 60, "batch_size": 32, "backends": ["reference"],
        "conformance": False, "jobs": 1, "seeds": 2}


def _config(tmp_path: Path, out: Path, **extra: object) -> Path:
    f = tmp_path / "study.yaml"
    f.write_text(yaml.safe_dump({**TINY, "out": str(out), **extra}))
    return f


def _workers(out: Path) -> list[int]:
    """Pids of live study workers: processes with a file under ``out`` open (a forked run
    writes its output to ``OUT/runs/B/seedN/worker.log``)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            state = Path(f"/proc/{entry}/stat").read_text().split(") ")[-1][:1]
            fds = os.listdir(f"/proc/{entry}/fd")
            paths = [os.readlink(f"/proc/{entry}/fd/{fd}") for fd in fds]
        except OSError:
            continue
        if state != "Z" and any(p.startswith(str(out) + os.sep) for p in paths):
            pids.append(int(entry))
    return pids


def _descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (its workers, the fork server they come from)."""
    parents = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().split(") ")[-1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            parents[int(entry)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - found
        found |= frontier
    return found


def _wait_for(condition, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _start(config: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "step", "study", "--config", str(config),
                             "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)


def test_sigkill_then_rerun_reuses_finished_runs(tmp_path: Path):
    out = tmp_path / "out"
    config = _config(tmp_path, out, seeds=3)
    proc = _start(config)
    try:
        _wait_for(lambda: len(read_log(out / LOG)) >= 1 or proc.poll() is not None, 180,
                  "the first finished run")
        # the next run's worker (forked in milliseconds, but not at the same instant)
        _wait_for(lambda: _workers(out) or proc.poll() is not None, 60, "the next run")
        below = _descendants(proc.pid)
        assert _workers(out), "the kill must land while a run trains"
        proc.kill()
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    # The orphaned worker notices its study is gone and exits (it polls every 0.5 s); so does
    # the fork server it came from.
    _wait_for(lambda: not _workers(out), 10, "the orphaned worker to exit")
    _wait_for(lambda: not [p for p in below if _alive(p)], 15,
              "every process the study started to exit")
    finished = read_log(out / LOG)
    assert 1 <= len(finished) < 3, "the kill must land mid-way for this test to mean anything"
    assert not (out / "study.json").exists()
    before = {e["point"]["seed"]: (Path(e["out"]) / "result.json").stat().st_mtime_ns
              for e in finished.values()}

    assert main(["study", "--config", str(config), "--quiet"]) == 0
    study = json.loads((out / "study.json").read_text())
    row = study["rows"][0]
    assert row["status"] == "ok" and row["seeds"] == [42, 43, 44]
    assert sorted(row["reused_seeds"]) == sorted(before)  # reused, not retrained
    for e in read_log(out / LOG).values():
        if e["point"]["seed"] in before:
            assert (Path(e["out"]) / "result.json").stat().st_mtime_ns == before[e["point"]["seed"]]
    assert len(read_log(out / LOG)) == 3 and len((out / LOG).read_text().splitlines()) == 3
    assert study["paired"]["verdict"] is None  # one backend: nothing to compare


def test_sigterm_stops_every_worker(tmp_path: Path):
    out = tmp_path / "out"
    proc = _start(_config(tmp_path, out, seeds=4, jobs=2))
    try:
        _wait_for(lambda: _workers(out) or proc.poll() is not None, 120, "a worker")
        assert proc.poll() is None, proc.stderr.read()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 130 and "interrupted" in proc.stderr.read()
    assert _workers(out) == []  # the study waited for its workers to end before exiting
    assert not (out / "study.json").exists()
    # The runs in flight were stopped, not left to finish, and a run cut short is not logged
    # as failed (the rerun trains it): SIGTERM came as the first worker started, so the log
    # is empty.
    assert read_log(out / LOG) == {}


def test_other_settings_refused_unless_overwrite(tmp_path: Path, capsys):
    out = tmp_path / "out"
    args = ["study", "--config", str(_config(tmp_path, out, isolate=False)), "--quiet"]
    assert main([*args, "--backends", "reference,reference", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert [r["backend"] for r in summary["rows"]] == ["reference"]  # duplicates removed
    assert summary["rows"][0]["acc_per_seed"] == json.loads(
        (out / "study.json").read_text())["rows"][0]["acc_per_seed"]
    first = (out / "study.json").read_bytes()
    assert main([*args, "--epochs", "2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "other settings (epochs)" in err and "--overwrite" in err
    assert (out / "study.json").read_bytes() == first  # nothing touched
    assert main([*args, "--epochs", "2", "--overwrite", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["config"]["epochs"] == 2
    assert [e["status"] for e in read_log(out / LOG).values()] == ["trained", "trained"]


_PARENT = """
import os, subprocess, sys
from step.study.workers import PARENT_PID, worker_command
child = subprocess.Popen(worker_command("sleeper"), env=dict(os.environ,
                         **{PARENT_PID: str(os.getpid())}))
print(child.pid, flush=True)
child.wait()
"""


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1] != "Z"
    except OSError:
        return False


def test_worker_exits_when_its_parent_is_killed(tmp_path: Path):
    # The worker command runs any module; this one only sleeps (no torch: fast and exact).
    (tmp_path / "sleeper.py").write_text("import time\nprint('ready', flush=True)\n"
                                         "time.sleep(300)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])])}
    parent = subprocess.Popen([sys.executable, "-c", _PARENT], stdout=subprocess.PIPE, text=True,
                              env=env)
    child = int(parent.stdout.readline())
    try:
        assert parent.stdout.readline().strip() == "ready"
        parent.kill()
        parent.wait()
        _wait_for(lambda: not _alive(child), 5, "the orphaned worker to exit")
    finally:
        if _alive(child):
            os.kill(child, signal.SIGKILL)
