"""Every relative link in the repository's Markdown files points at a file that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP = {".venv", "mutants", "step_snn.egg-info", ".git", "node_modules", "build", "dist"}
#: [text](target) and ![alt](target); <img src="target"> / <a href="target">
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)"
                  r"|<(?:img|a)\b[^>]*?\b(?:src|href)=\"([^\"]+)\"")


def markdown_files() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.md")
                  if not SKIP.intersection(p.relative_to(ROOT).parts))


def relative_links(text: str) -> list[str]:
    """Link targets that are paths in this repository (not URLs, mail or in-page anchors)."""
    out = []
    for match in LINK.finditer(text):
        target = (match.group(1) or match.group(2)).split("#", 1)[0]
        if target and not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target):
            out.append(target)
    return out


def test_the_link_finder_sees_links() -> None:
    text = ('[a](docs/x.md#s) ![p](img.png) <img src="b.png"> [u](https://e.org) [m](#top) '
            '[mail](mailto:a@b.c)')
    assert relative_links(text) == ["docs/x.md", "img.png", "b.png"]


@pytest.mark.parametrize("md", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(md: Path) -> None:
    broken = [t for t in relative_links(md.read_text(encoding="utf-8"))
              if not (md.parent / t).exists()]
    assert not broken, f"{md.relative_to(ROOT)} links to missing files: {broken}"
