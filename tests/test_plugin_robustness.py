"""A plugin that raises in ``neuron_support`` or while building its neuron is one row that says
so, in every command; the other backends keep working. Also: hook tracing and plugin
versions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from step import hookimpl
from step.cli import main
from step.cli.exit_codes import ExitCode
from step.conformance.cases import catalogue
from step.conformance.policy import Status
from step.conformance.runner import run_suite
from step.reference.backend import ReferenceBackend
from step.registry import backend_statuses, get_backend, register_plugin, unregister_plugin
from step.specs import LIFSpec


class SupportRaises(ReferenceBackend):
    name = "raises-support"

    def neuron_support(self, spec):
        raise RuntimeError("broken support table")


class BuildRaises(ReferenceBackend):
    name = "raises-build"

    def _build_neuron(self, spec, support):
        raise KeyError("no such neuron class")


class Plugin:
    @hookimpl
    def step_backends(self):
        return [SupportRaises(), BuildRaises()]


@pytest.fixture
def broken() -> Iterator[None]:
    register_plugin(Plugin(), "broken-plugin")
    try:
        yield
    finally:
        unregister_plugin("broken-plugin")


def test_backends_table_and_json_survive(broken, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # one line per row in rich's table
    assert main(["backends", "--json"]) == ExitCode.OK
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)["backends"]}
    assert rows["raises-support"]["support"] is None
    assert "RuntimeError: broken support table" in rows["raises-support"]["support_error"]
    assert rows["reference"]["support"]["forward"]["native"] > 0
    assert rows["reference"]["support_error"] == ""
    assert main(["backends"]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "raises-support" in out and "broken support table" in out and "reference" in out


def test_trace_all_gives_each_broken_backend_its_row(
        broken, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    code = main(["trace", "--backend", "all", "--input", "2,2,2", "--set", "tau=2", "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert code == ExitCode.CHECK_FAILED
    assert rows["reference"]["spikes"] == [0, 1, 0]
    assert rows["raises-support"]["support"] == "error"
    assert "broken support table" in rows["raises-support"]["reason"]
    assert rows["raises-build"]["support"] == "error"
    assert "KeyError" in rows["raises-build"]["reason"]
    assert main(["trace", "--backend", "all", "--input", "2,2,2"]) == ExitCode.CHECK_FAILED
    assert "broken support table" in capsys.readouterr().out


def test_conformance_reports_errors_and_goes_on(broken) -> None:
    cases = catalogue(["float32"], "lif-tau2/constant/multi-step")
    report = run_suite([get_backend(n) for n in ("raises-support", "raises-build",
                                                 "reference")], cases)
    by = {r.backend: r for r in report.results}
    assert by["raises-support"].status is Status.ERROR
    assert "broken support table" in by["raises-support"].detail
    assert by["raises-build"].status is Status.ERROR and "KeyError" in by["raises-build"].detail
    assert by["reference"].status is Status.PASS


def test_study_skips_a_raising_backend_with_its_reason(broken) -> None:
    from step.study.runner import support_of

    table, reason = support_of("raises-support", {"neuron": LIFSpec()})
    assert table["neuron"]["forward"] == "error"
    assert reason is not None and "broken support table" in reason


def test_plugin_tracing_prints_hook_calls() -> None:
    code = "from step.registry import load_plugins; load_plugins()"
    env = {**os.environ, "STEP_TRACE_PLUGINS": "1"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "step_backends [hook]" in proc.stderr
    assert "ReferenceBackend" in proc.stderr  # the result of the call is traced too
    quiet = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={k: v for k, v in os.environ.items()
                                if k != "STEP_TRACE_PLUGINS"}, timeout=120)
    assert "[hook]" not in quiet.stderr


def test_statuses_record_the_plugins_own_distribution() -> None:
    ref = backend_statuses()["reference"]
    assert ref.plugin_distribution == "step-snn" and ref.plugin_version
    from step.registry import plugin_record

    assert plugin_record("reference")["plugin_distribution"] == "step-snn"
