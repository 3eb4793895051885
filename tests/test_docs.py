"""The reference docs match the code, and nothing public is undocumented."""

from __future__ import annotations

import inspect

import pytest

from step import _docs


@pytest.mark.parametrize("page", list(_docs.PAGES))
def test_generated_page_is_up_to_date(page: str) -> None:
    current = (_docs.DOCS / page).read_text()
    assert current == _docs.PAGES[page]() + "\n", f"run: python -m step._docs ({page} is stale)"


def test_every_spec_field_is_described() -> None:
    from step.specs import ENCODER_KINDS, NEURON_KINDS, SurrogateSpec

    for cls in [*NEURON_KINDS.values(), *ENCODER_KINDS.values(), SurrogateSpec]:
        for name, field in cls.model_fields.items():
            if name != "kind":
                assert field.description, f"{cls.__name__}.{name} has no description"
        assert inspect.getdoc(cls), f"{cls.__name__} has no docstring"


def test_every_cli_option_has_help() -> None:
    from step.cli import build_parser

    for name, parser in _docs.subcommands(build_parser()).items():
        assert parser.description, f"step {name} has no description"
        for action in _docs._actions(parser):
            assert action.help, f"step {name} {action.option_strings} has no help"


def test_every_hook_is_documented() -> None:
    from step import hookspecs

    hooks = [f for n, f in inspect.getmembers(hookspecs, inspect.isfunction)
             if n.startswith("step_")]
    assert hooks
    for fn in hooks:
        doc = inspect.getdoc(fn) or ""
        assert "Return" in doc and "Called" in doc, f"{fn.__name__}: say when, and what it returns"


def test_neuron_table_has_a_column_for_every_shipped_backend() -> None:
    """docs/neurons.md's support table names every backend step registers itself (read from
    pyproject.toml, so an adapter added there without a column fails here)."""
    import tomllib
    from pathlib import Path

    from step._docs_neurons import BUILT_IN

    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    shipped = set(pyproject["project"]["entry-points"]["step.backends"])
    assert set(BUILT_IN) == shipped
    header = next(line for line in (_docs.DOCS / "neurons.md").read_text().splitlines()
                  if line.startswith("| kind |"))
    assert [c.strip() for c in header.strip("|").split("|")][3:] == list(BUILT_IN)
