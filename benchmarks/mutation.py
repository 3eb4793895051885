"""Mutation testing of the conformance suite's judge and the reference: how strong are the tests?

mutmut (2.x) generates the mutants (``mutmut.list_mutations`` / ``mutmut.mutate``: operators,
numbers, comparisons, keywords...). Running them is done here, in a warm process: the parent
imports torch, numpy, pytest and the parts of step that do not import the target once, then
each mutant runs in a forked child that drops the target and every module importing it from
``sys.modules``, serves the mutated source of the target through an import hook, and runs the
given tests with ``pytest.main`` (``-x``, so the first failing test kills the mutant).
Nothing in the working tree is written, so the run can go on beside other work; a fork
costs milliseconds where a fresh ``python -m pytest`` per mutant (mutmut 2's own runner) pays
torch's import each time.

    python -m benchmarks.mutation [--json OUT] [--only MODULE]    # or: make mutation

A mutant that no test kills is *survived*; listed with its line so it can be judged
(a missing test, or an equivalent mutant). Not run in CI: it takes tens of minutes.
"""

from __future__ import annotations

import argparse
import importlib.abc
import importlib.util
import json
import os
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: The fast tests of the zoo's equations: hand traces, the reference against the oracle on the
#: derived combinations, the zoo's properties and the published presets.
ZOO_TESTS = ["tests/test_oracle_hand_traces.py", "tests/test_conformance_reference_combinations.py",
             "tests/test_zoo.py", "tests/test_zoo_published.py"]

#: module -> (its file, the fast tests that should kill its mutants)
TARGETS: dict[str, tuple[str, list[str]]] = {
    "step.conformance.compare": ("conformance/compare.py", [
        "tests/test_conformance_compare.py", "tests/test_conformance_compare_messages.py",
        "tests/test_conformance_plots.py"]),
    "step.reference.functional": ("step/reference/functional.py", [
        "tests/test_oracle_hand_traces.py", "tests/test_reference.py",
        "tests/test_reference_fused.py", "tests/test_conformance_reference_combinations.py"]),
    "step.surrogates": ("step/surrogates.py", [
        "tests/test_oracle_hand_traces.py", "tests/test_reference.py",
        "tests/test_conformance_reference_combinations.py"]),
    "step.reference.lif_variants": ("step/reference/lif_variants.py", [
        *ZOO_TESTS, "tests/test_oracle_brian2.py"]),
    "step.reference.biophysical": ("step/reference/biophysical.py", [
        *ZOO_TESTS, "tests/test_oracle_brian2.py", "tests/test_zoo_numerics.py",
        "tests/test_oracle_published.py"]),
    "step.reference.integer": ("step/reference/integer.py", [
        *ZOO_TESTS, "tests/test_zoo_numerics.py"]),
    "step.reference.gated": ("step/reference/gated.py", ZOO_TESTS),
    "step.reference._dynamics": ("step/reference/_dynamics.py", [
        *ZOO_TESTS, "tests/test_reference.py"]),
    "step.reference.fused": ("step/reference/fused.py", [
        "tests/test_reference_fused.py", "tests/test_reference.py",
        "tests/test_oracle_hand_traces.py", "tests/test_conformance_reference_combinations.py"]),
    "step.reference.neurons": ("step/reference/neurons.py", [
        "tests/test_reference.py", "tests/test_reference_fused.py", *ZOO_TESTS]),
    "step.reference.encoders": ("step/reference/encoders.py", ["tests/test_encoders.py"]),
}


class _Serve(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves ``source`` as module ``name`` (first on sys.meta_path, in the child only)."""

    def __init__(self, name: str, path: str, source: str) -> None:
        self.name, self.path, self.source = name, path, source

    def find_spec(self, fullname, path=None, target=None):  # noqa: ANN001
        if fullname != self.name:
            return None
        return importlib.util.spec_from_loader(fullname, self, origin=self.path)

    def create_module(self, spec):  # noqa: ANN001
        return None

    def exec_module(self, module) -> None:  # noqa: ANN001
        module.__file__ = self.path
        exec(compile(self.source, self.path, "exec"), module.__dict__)


#: Modules the parent imports before forking (kept warm in every child unless they import the
#: target): the specs, registry and plugins, the catalogue with its derived cases.
WARM = ("step.specs", "step.registry", "step.reference.neurons", "step.conformance.cases",
        "step.conformance.expect", "step.conformance.spec_space")


def _warm_up() -> None:
    import importlib

    for name in WARM:
        importlib.import_module(name)
    from step.conformance.cases import catalogue
    from step.registry import load_plugins

    load_plugins()
    catalogue()  # fills the derived cases' cache


def dependents(target: str) -> set[str]:
    """``target`` and every loaded step module that imports it, directly or not."""
    def imports(name: str) -> set[str]:
        module = sys.modules.get(name)
        path = getattr(module, "__file__", None)
        if not path or not path.endswith(".py"):
            return set()
        text = Path(path).read_text()
        found = set()
        for other in [m for m in sys.modules if m.startswith("step.")]:
            short = other.rsplit(".", 1)
            if other in text or (len(short) == 2 and f"from {short[0]} import {short[1]}"
                                 in text) or f"from .{short[-1]} import" in text:
                found.add(other)
        return found

    graph = {m: imports(m) for m in list(sys.modules) if m.startswith("step.")}
    out = {target}
    changed = True
    while changed:
        changed = False
        for m, deps in graph.items():
            if m not in out and deps & out:
                out.add(m)
                changed = True
    return out


def _run_tests(tests: list[str], serve: _Serve | None, purge: set[str]) -> int:
    """In a forked child: the target and its importers afresh (the mutant served), the tests,
    the exit code."""
    import pytest

    for name in [m for m in sys.modules
                 if m in purge or m.startswith(("test_", "faulty_backends", "brian2_oracle",
                                                "conftest"))]:
        del sys.modules[name]
    if serve is not None:
        sys.meta_path.insert(0, serve)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    # --assert=plain: pytest would otherwise rewrite (re-import from disk) the step package,
    # which its pytest11 plugin lives in, past the hook that serves the mutant
    return pytest.main(["-x", "-q", "--assert=plain", "-o", "addopts=", "-p", "no:cacheprovider",
                        *tests])


def _fork(tests: list[str], serve: _Serve | None, timeout: float,
          purge: set[str]) -> tuple[str, float]:
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            code = int(_run_tests(tests, serve, purge))
        finally:
            os._exit(code)
    deadline = start + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            return ("survived" if code == 0 else "killed"), time.perf_counter() - start
        if time.perf_counter() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "timeout", time.perf_counter() - start
        time.sleep(0.05)


def mutants(path: Path) -> list[tuple[int, str, str]]:
    """(line number, original line, mutated source) of every mutant mutmut makes of ``path``."""
    from mutmut import ALL, Context, list_mutations, mutate

    source = path.read_text()
    ids = list_mutations(Context(source=source, mutation_id=ALL, filename=str(path)))
    out = []
    for mid in ids:
        ctx = Context(source=source, mutation_id=mid, filename=str(path))
        mutated, n = mutate(ctx)
        if n:
            out.append((mid.line_number + 1, mid.line.strip(), mutated))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="module(s) of TARGETS to run")
    parser.add_argument("--json", help="write the per-mutant results here")
    parser.add_argument("--limit", type=int, default=0, help="at most this many per module")
    args = parser.parse_args()
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT / "tests"))
    import numpy  # noqa: F401  (warm: imported once, shared by every fork)
    import pytest  # noqa: F401
    import torch

    torch.set_num_threads(1)
    _warm_up()
    report: dict[str, dict] = {}
    for module, (file, tests) in TARGETS.items():
        if args.only and module not in args.only:
            continue
        purge = dependents(module)
        baseline, seconds = _fork(tests, None, 1800, purge)
        if baseline != "survived":
            print(f"{module}: the tests fail without a mutant; fix them first")
            return 2
        found = mutants(ROOT / file)
        if args.limit:
            found = found[:args.limit]
        rows = []
        for line, text, source in found:
            status, took = _fork(tests, _Serve(module, str(ROOT / file), source),
                                 max(60.0, 5 * seconds), purge)
            lines = source.splitlines()
            mutant = lines[line - 1].strip() if line <= len(lines) else ""
            rows.append({"line": line, "code": text, "mutant": mutant, "status": status,
                         "seconds": round(took, 2)})
            print(f"{module}:{line} {status:9s} {took:5.1f}s {text[:60]}  ->  {mutant[:60]}",
                  flush=True)
        killed = sum(r["status"] != "survived" for r in rows)  # a timeout counts as killed
        report[module] = {"file": file, "tests": tests, "mutants": len(rows), "killed": killed,
                          "rate": round(killed / len(rows), 4) if rows else None,
                          "results": rows}
        print(f"== {module}: {killed}/{len(rows)} killed", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    total = sum(r["mutants"] for r in report.values())
    killed = sum(r["killed"] for r in report.values())
    print(f"kill rate {killed}/{total} = {killed / max(total, 1):.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
