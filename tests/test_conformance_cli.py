"""``step conformance``: the three reports, exit codes, the JSON schema, the self-contained page."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from step import hookimpl
from step.cli import main
from step.conformance.policy import Status
from step.conformance.report_json import SCHEMA, validate
from step.reference.backend import ReferenceBackend
from step.reference.neurons import ReferenceNeuron
from step.registry import available_backends, register_plugin, unregister_plugin

REPORTS = {"report.json", "report.md", "report.html"}
FAST = ["--backends", "reference", "--dtype", "float32"]


def _run(tmp_path: Path, *args: str) -> tuple[int, Path]:
    out = tmp_path / "out"
    return main(["conformance", *args, "--out", str(out)]), out


def test_reference_run_writes_three_whole_files_and_exits_0(tmp_path: Path) -> None:
    code, out = _run(tmp_path, *FAST, "--cases", "lif-tau5/")
    assert code == 0
    assert {p.name for p in out.iterdir()} == REPORTS  # no temporary file left behind
    data = json.loads((out / "report.json").read_text())
    assert validate(data) == []
    assert data["schema"] == SCHEMA
    assert {"environment", "backends", "results"} <= set(data)
    assert data["backends"]["reference"]["available"] is True
    assert {"python", "torch", "platform"} <= set(data["environment"])
    rows = data["results"]
    assert rows and {r["status"] for r in rows} == {"pass"}
    assert all(r["case"].startswith("lif-tau5/") and r["backend"] == "reference" for r in rows)
    assert set(rows[0]) >= {"backend", "case", "feature", "status", "detail"}
    markdown = (out / "report.md").read_text()
    assert "## Capability matrix (float32)" in markdown and "| reference |" in markdown


def test_html_is_self_contained_with_embedded_pngs(tmp_path: Path) -> None:
    code, out = _run(tmp_path, *FAST, "--cases", "lif-tau5/random/multi-step/T32")
    assert code == 0
    page = (out / "report.html").read_text()
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) >= 2  # the capability matrix and a sample case
    import base64

    assert all(base64.b64decode(b).startswith(b"\x89PNG") for b in images)
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing fetched from elsewhere
    assert "<script" not in page
    for heading in ("Capability matrix", "Environment", "Tolerance policy"):
        assert heading in page


class _Silent(ReferenceBackend):
    """Never fires: every case with a spike in it fails."""

    name = "silent"

    def _build_neuron(self, spec, support):
        class Neuron(ReferenceNeuron):
            def run(self, x, state, record_v):
                spikes, v_seq, final = super().run(x, state, record_v)
                return spikes * 0, v_seq, final

        return Neuron(spec)


class _SilentPlugin:
    @hookimpl
    def step_backends(self):
        return [_Silent()]


@pytest.fixture
def silent() -> Iterator[str]:
    register_plugin(_SilentPlugin(), "silent-plugin")
    try:
        yield "silent"
    finally:
        unregister_plugin("silent-plugin")


def test_a_failing_backend_exits_1_and_its_failure_is_plotted(
    tmp_path: Path, silent: str
) -> None:
    code, out = _run(tmp_path, "--backends", f"reference,{silent}", "--dtype", "float32",
                     "--cases", "lif-tau5/constant/multi-step")
    assert code == 1
    data = json.loads((out / "report.json").read_text())
    status = {r["backend"]: r["status"] for r in data["results"]}
    assert status == {"reference": "pass", "silent": "fail"}
    failure = next(r for r in data["results"] if r["backend"] == "silent")
    assert failure["divergence"]["quantity"] == "spikes"
    assert "t=" in failure["detail"] and "expected 1" in failure["detail"]
    page = (out / "report.html").read_text()
    assert page.count('<img src="data:image/png;base64,') >= 3  # matrix, failure, sample
    assert "FAILED" in (out / "report.md").read_text()


def test_json_flag_prints_only_json_on_stdout(tmp_path: Path, capsys) -> None:
    code, _ = _run(tmp_path, *FAST, "--cases", "if/silence", "--json")
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["schema"] == SCHEMA and validate(printed) == []


def test_unknown_backend_is_one_line_and_exit_2(tmp_path: Path, capsys) -> None:
    code, out = _run(tmp_path, "--backends", "reference,nosuch", "--cases", "if/silence")
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nosuch" in err and "Traceback" not in err
    assert not out.exists()


def test_pattern_matching_nothing_is_bad_usage(tmp_path: Path, capsys) -> None:
    code, out = _run(tmp_path, *FAST, "--cases", "no-such-case")
    assert code == 2
    assert "no conformance case matches" in capsys.readouterr().err
    assert not out.exists()


def test_bad_dtype_is_bad_usage(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["conformance", "--dtype", "float16", "--out", str(tmp_path / "o")])
    assert exc.value.code == 2


def test_a_report_that_cannot_be_rendered_writes_nothing(tmp_path: Path, monkeypatch) -> None:
    import step.conformance.report_html as report_html

    def broken(report):
        raise RuntimeError("renderer broke")

    monkeypatch.setattr(report_html, "to_html", broken)
    with pytest.raises(RuntimeError, match="renderer broke"):
        _run(tmp_path, *FAST, "--cases", "if/silence")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_all_available_backends_on_a_few_cases(tmp_path: Path) -> None:
    """Every available backend gets exactly one honest outcome per case, whatever it is."""
    pattern = "lif-tau5/random/*/T32/float32"
    code, out = _run(tmp_path, "--cases", pattern, "--dtype", "float32")
    data = json.loads((out / "report.json").read_text())
    assert validate(data) == []
    names = available_backends()
    assert set(data["summary"]) == set(names)
    per_backend = {n: [r for r in data["results"] if r["backend"] == n] for n in names}
    counts = {len(rows) for rows in per_backend.values()}
    assert len(counts) == 1 and counts.pop() == data["selection"]["case_count"]
    assert all(r["status"] == "pass" for r in per_backend["reference"])
    failed = any(Status(r["status"]).failed for r in data["results"])
    assert code == (1 if failed else 0)
    for r in data["results"]:
        if r["status"] == "unsupported":
            assert r["detail"].split(":", 1)[1].strip()  # the adapter's reason, not empty
