"""Packaging: every package folder is listed, and the wheel installs only under step/."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = {"step": "step", "step.plugins": "plugins", "step.conformance": "conformance",
               "step.models": "models"}


def _declared() -> list[str]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]


def _on_disk() -> set[str]:
    found = set()
    for pkg, folder in PACKAGE_DIR.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join([pkg, *rel.parts]) if rel.parts else pkg)
    return found


def test_every_package_folder_is_declared() -> None:
    assert set(_declared()) == _on_disk()


def test_package_dir_mapping_matches() -> None:
    mapping = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert mapping["package-dir"] == PACKAGE_DIR


@pytest.mark.slow
def test_wheel_puts_everything_under_step(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
         "-q", "-w", str(tmp_path)],
        check=True, capture_output=True, timeout=300,
    )
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    name, version = wheel.name.split("-")[:2]
    assert tops == {"step", f"{name}-{version}.dist-info"}
    assert "step/plugins/__init__.py" in names
    assert "step/reference/plugin.py" in names
    assert "step/energy/profiles/45nm.yaml" in names  # package data: the hardware profiles
    assert "step/models/spikformer.py" in names and "step/conformance/runner.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[step.backends]" in text and "reference = step.reference.plugin" in text
