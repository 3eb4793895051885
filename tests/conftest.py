"""Shared test settings: deterministic torch, few threads (CI has 2 cores)."""

from __future__ import annotations

import os

import pytest
import torch
from hypothesis import settings

torch.set_num_threads(1)
torch.manual_seed(0)

settings.register_profile("ci", max_examples=30, deadline=None, derandomize=True)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch):
    """Reload the plugin registry after the test, once its monkeypatches are undone.

    Asking for ``monkeypatch`` here makes pytest tear this fixture down first, so the registry
    is rebuilt from the real environment, not from a patched ``find_spec``.
    """
    from step.registry import load_plugins

    yield
    monkeypatch.undo()
    load_plugins(reload=True)
