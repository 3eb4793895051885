"""Doctests of the folders the packaging maps into ``step`` (models/, plugins/, conformance/).

pytest's ``--doctest-modules`` would import ``models/sdt.py`` as a top-level ``models.sdt``: a
second copy of every module beside ``step.models.sdt``, registering every model twice. These
modules are therefore run here under their one installed name; ``step/`` itself is collected
by pytest directly (its files are ``step.*`` already).
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAPPED = {"models": "step.models", "plugins": "step.plugins", "conformance": "step.conformance"}


def _modules_with_doctests() -> list[str]:
    found = []
    for folder, package in MAPPED.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            if ">>>" in path.read_text():
                parts = path.relative_to(ROOT / folder).with_suffix("").parts
                parts = parts[:-1] if parts[-1] == "__init__" else parts
                found.append(".".join((package, *parts)))
    return found


MODULES = _modules_with_doctests()


def test_the_mapped_folders_have_doctests() -> None:
    assert "step.models._registry" in MODULES  # the scan itself works


@pytest.mark.parametrize("name", MODULES)
def test_doctests_of_mapped_module(name: str) -> None:
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    tests = [t for t in finder.find(module, name) if t.examples]
    assert tests, f"{name} mentions >>> but has no doctest the finder sees"
    for test in tests:
        runner.run(test)
    failed, attempted = runner.summarize(verbose=False)
    assert attempted > 0 and failed == 0, f"{failed} of {attempted} doctest examples failed"


def test_top_level_folders_are_not_step_subpackages() -> None:
    """Only the packaging's mapping makes a folder ``step.*``: no second registry, no
    ``step.tests``; the mapped ones import under their one name."""
    import step.conformance
    import step.models
    import step.plugins

    for name in ("step.step", "step.tests", "step.benchmarks", "step.build", "step.step.registry"):
        with pytest.raises(ImportError):
            importlib.import_module(name)
    assert Path(step.models.__file__).parent == ROOT / "models"
    assert Path(step.plugins.__file__).parent == ROOT / "plugins"
    assert Path(step.conformance.__file__).parent == ROOT / "conformance"
