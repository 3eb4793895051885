"""The conformance suite as a pytest plugin, for backend authors' own test runs.

::

    pytest --step-backend NAME [--step-dtype float32] [--step-cases PATTERN]

(the plugin is registered through step's ``pytest11`` entry point, so installing step is
enough)
adds one test per (backend, case) of the catalogue, named ``conformance[NAME:CASE-ID]``, next to
the project's own tests. A case fails when the suite says ``fail`` or ``error`` (the message is
the first divergence or the exception), is skipped when the backend declares it unsupported
(the skip reason is the adapter's), and passes otherwise; ``pass-noted`` and ``emulated-pass``
leave their note in the report section "conformance" (shown with ``-rA``). ``--step-backend``
may be repeated. Without it the plugin adds nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

#: The reference's expectation per case id, shared by the backends of one session.
_EXPECTED: dict[str, Any] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("step-conformance", "STEP backend conformance")
    group.addoption("--step-backend", action="append", default=[], metavar="NAME",
                    help="run the STEP conformance suite on this backend (repeatable)")
    group.addoption("--step-dtype", default="both", choices=["float32", "float64", "both"],
                    help="dtypes of the conformance cases (default both)")
    group.addoption("--step-cases", default=None, metavar="PATTERN",
                    help="only conformance cases whose id matches (glob or substring)")


def pytest_configure(config: pytest.Config) -> None:
    """Check the backend names early: an unknown one is a usage error, not 300 failures."""
    from step.errors import StepError
    from step.registry import get_backend

    for name in config.getoption("--step-backend"):
        try:
            get_backend(name)
        except StepError as err:
            raise pytest.UsageError(f"--step-backend: {err}") from None


class ConformanceFailure(Exception):
    """A case whose outcome is fail or error; the message is the suite's detail."""


class ConformanceSuite(pytest.Collector):
    """Parent of the conformance items of one backend (never collected from disk)."""

    def collect(self) -> list[pytest.Item]:  # pragma: no cover - items are made directly
        return []


class ConformanceItem(pytest.Item):
    """One (backend, case) of the catalogue."""

    def __init__(self, *, backend: str, case: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.backend_name = backend
        self.case = case

    def runtest(self) -> None:
        from step.conformance.expect import expected
        from step.conformance.policy import Status
        from step.conformance.runner import run_case
        from step.registry import get_backend

        if self.case.id not in _EXPECTED:
            try:
                _EXPECTED[self.case.id] = expected(self.case)
            except Exception as err:
                _EXPECTED[self.case.id] = err
        result = run_case(get_backend(self.backend_name), self.case, _EXPECTED[self.case.id])
        self.user_properties.append(("conformance_status", result.status.value))
        if result.status is Status.UNSUPPORTED:
            pytest.skip(result.detail)
        if result.status.failed:
            raise ConformanceFailure(f"{result.status.value}: {result.detail}")
        if result.status is not Status.PASS:
            self.add_report_section("call", "conformance", f"{result.status.value}: "
                                                           f"{result.detail}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style=None) -> Any:
        if isinstance(excinfo.value, ConformanceFailure):
            return f"{self.backend_name} {self.case.id}: {excinfo.value}"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"conformance {self.backend_name} {self.case.id}"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Append the conformance items (first, so that -k and -m can still deselect them)."""
    backends = config.getoption("--step-backend")
    if not backends:
        return
    from step.conformance.cases import catalogue

    option = config.getoption("--step-dtype")
    dtypes = ["float32", "float64"] if option == "both" else [option]
    cases = catalogue(dtypes, config.getoption("--step-cases"))
    if not cases:
        raise pytest.UsageError(f"--step-cases {config.getoption('--step-cases')!r} matches "
                                "no conformance case")
    for name in dict.fromkeys(backends):
        suite = ConformanceSuite.from_parent(session, name=f"step-conformance[{name}]",
                                             nodeid=f"step-conformance[{name}]")
        for case in cases:
            items.append(ConformanceItem.from_parent(
                suite, name=f"conformance[{name}:{case.id}]", backend=name, case=case))
