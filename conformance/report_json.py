"""The machine-readable report, ``report.json``, and its versioned schema.

The schema name changes (``step.conformance/2``) whenever a key is removed or changes meaning;
adding keys keeps the version. docs/conformance.md renders the same description.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from step.conformance.policy import SEVERITY, TOLERANCES, Status

if TYPE_CHECKING:
    from step.conformance.runner import SuiteReport

SCHEMA = "step.conformance/1"

#: The schema of report.json, key by key (kept in step with docs/conformance.md).
SCHEMA_DOC = """\
step.conformance/1 -- report.json

{
  "schema": "step.conformance/1",
  "created": ISO-8601 UTC time of the run,
  "seconds": wall time of the whole suite,
  "environment": {"python", "platform", "machine", "torch", "step", "cpu_count",
                  "torch_threads", "libraries": {backend: library version or null}},
  "selection": {"dtypes": [..], "cases": PATTERN or null, "case_count": n},
  "tolerances": {dtype: {"membrane_atol", "membrane_rtol", "threshold_band",
                         "gradient_atol", "gradient_rtol"}},
  "backends": {name: {"version": str or null, "available": bool, "reason": str,
                      "library": str or null, "plugin": entry-point name or null,
                      "plugin_distribution": the plugin's package or null,
                      "plugin_version": its version or null}},
  "summary": {name: {status: count for every status}},
  "results": [
    {"backend": name, "case": case id "spec/drive/mode/T<n>[/r<rank>[-strided]]/dtype",
     "feature": capability-matrix column, "status": one of
       pass | pass-noted | emulated-pass | fail | unsupported | error,
     "detail": one line for a person (first divergence, reason, exception),
     "aspect": "forward" | "gradient", "mode", "dtype", "kind": neuron kind,
     "support": {"forward", "gradient", "forward_how", "gradient_how"} or null,
     "divergence": {"quantity", "where", "t", "index", "got", "expected", "margin",
                    "message"} or null,
     "notes": [near-threshold notes], "seconds": time of the case}
  ]
}
"""


def environment(backends: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Where the suite ran: enough to reproduce a result or explain a difference."""
    from step._env import environment as machine

    return machine(libraries={name: info.get("version") for name, info in backends.items()})


def to_json(report: SuiteReport) -> dict[str, Any]:
    """The report as the JSON object described by :data:`SCHEMA_DOC`."""
    return {
        "schema": SCHEMA,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(report.seconds, 3),
        "environment": report.environment,
        "selection": {"dtypes": report.dtypes, "cases": report.pattern,
                      "case_count": len(report.cases)},
        "tolerances": {d: TOLERANCES[d].to_dict() for d in report.dtypes},
        "backends": report.backends,
        "summary": report.counts(),
        "results": [r.to_dict() for r in report.results],
    }


def validate(data: dict[str, Any]) -> list[str]:
    """Problems with a report object (empty when it follows the schema); used by the tests
    and by anyone who consumes reports from another version of STEP."""
    problems = []
    if data.get("schema") != SCHEMA:
        problems.append(f"schema is {data.get('schema')!r}, expected {SCHEMA!r}")
    for key in ("environment", "backends", "results", "summary", "tolerances"):
        if key not in data:
            problems.append(f"missing key {key!r}")
    statuses = {s.value for s in SEVERITY} | {s.value for s in Status}
    for i, row in enumerate(data.get("results", [])):
        for key in ("backend", "case", "feature", "status", "detail"):
            if key not in row:
                problems.append(f"results[{i}] lacks {key!r}")
        if row.get("status") not in statuses:
            problems.append(f"results[{i}] has unknown status {row.get('status')!r}")
        if row.get("backend") not in data.get("backends", {}):
            problems.append(f"results[{i}] names backend {row.get('backend')!r} not in backends")
    return problems
