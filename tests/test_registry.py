"""Plugin discovery: entry points, isolation of broken plugins, clear errors."""

from __future__ import annotations

import importlib.metadata
import types

import pytest

import step
from step import registry
from step.backend import Backend
from step.errors import BackendUnavailableError, UnknownBackendError
from step.reference.backend import ReferenceBackend
from step.support import Support


class _EP:
    """Stands in for an importlib.metadata.EntryPoint."""

    def __init__(self, name: str, load) -> None:  # noqa: ANN001
        self.name, self.value, self._load = name, f"fake:{name}", load

    def load(self):  # noqa: ANN201
        return self._load()


def _missing_import():  # noqa: ANN202
    raise ModuleNotFoundError("No module named 'step_plugin_gone'")


def _plugin(fn) -> types.SimpleNamespace:  # noqa: ANN001
    return types.SimpleNamespace(step_backends=step.hookimpl(fn))


class _Twin(ReferenceBackend):
    name = "twin"


class _NeedsLib(ReferenceBackend):
    name = "needslib"
    library = "step_library_that_is_not_installed"
    install_hint = "pip install step-library-that-is-not-installed"


@pytest.fixture
def fake_entry_points(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    def raising():  # noqa: ANN202
        raise RuntimeError("boom")

    plugins = {
        "reference": lambda: importlib.import_module("step.reference.plugin"),
        "gone": _missing_import,
        "raises": lambda: _plugin(raising),
        "wrongtype": lambda: _plugin(lambda: ["not a backend"]),
        "typo": lambda: types.SimpleNamespace(step_backend=step.hookimpl(lambda: [])),
        "twin": lambda: _plugin(lambda: [_Twin()]),
        "dup": lambda: _plugin(lambda: [ReferenceBackend()]),
        "needslib": lambda: _plugin(lambda: [_NeedsLib()]),
    }
    eps = [_EP(name, load) for name, load in plugins.items()]
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group=None: eps)
    registry.load_plugins(reload=True)
    yield registry.backend_statuses()
    monkeypatch.undo()
    registry.load_plugins(reload=True)


def test_broken_plugins_are_listed_and_others_work(fake_entry_points) -> None:  # noqa: ANN001
    st = fake_entry_points
    assert st["reference"].available and st["twin"].available
    assert not st["gone"].available and "failed to import" in st["gone"].reason
    assert "step_plugin_gone" in st["gone"].reason
    assert "raised in step_backends: RuntimeError: boom" in st["raises"].reason
    assert "returned str, not a step.backend.Backend" in st["wrongtype"].reason
    assert "unknown hook 'step_backend'" in st["typo"].reason
    assert "already provided by plugin 'reference'" in st["reference@dup"].reason
    assert not st["needslib"].available
    assert "not installed" in st["needslib"].reason
    assert st["needslib"].install_hint == "pip install step-library-that-is-not-installed"
    # the working ones really work
    assert registry.get_backend("twin").build_neuron("lif").backend_name == "reference"
    with pytest.raises(BackendUnavailableError, match="pip install step-library"):
        registry.get_backend("needslib")


def test_reference_is_discovered_through_its_entry_point() -> None:
    registry.load_plugins(reload=True)
    st = registry.backend_statuses()["reference"]
    assert st.available and st.plugin == "reference"
    names = [ep.name for ep in importlib.metadata.entry_points(group="step.backends")]
    assert "reference" in names


def test_unknown_backend_suggests_a_close_name() -> None:
    with pytest.raises(UnknownBackendError, match="did you mean 'reference'"):
        registry.get_backend("referense")


def test_use_backend_context() -> None:
    import step.nn

    assert step.current_backend() == "reference"
    with step.use_backend("reference"):
        assert step.nn.Neuron("if").backend_name == "reference"
    with pytest.raises(UnknownBackendError), step.use_backend("nope"):
        pass
    assert step.current_backend() == "reference"


def test_register_plugin_by_hand() -> None:
    class Custom(Backend):
        name = "custom-test"

        def neuron_support(self, spec):  # noqa: ANN001, ANN201
            return Support.unsupported("this test backend computes nothing")

        def _build_neuron(self, spec, support):  # noqa: ANN001, ANN201
            raise AssertionError("never reached: every spec is unsupported")

    registry.register_plugin(_plugin(lambda: [Custom()]), "custom-test")
    try:
        from step.errors import UnsupportedSpecError

        with pytest.raises(UnsupportedSpecError, match="computes nothing"):
            registry.get_backend("custom-test").build_neuron("lif")
    finally:
        registry.unregister_plugin("custom-test")
    assert "custom-test" not in registry.backend_statuses()
