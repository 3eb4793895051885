"""The suite as a pytest plugin: one test per case, failing on fail/error, skipping unsupported."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

# the plugin is loaded through its pytest11 entry point, as in a backend author's project
PLUGIN = ["-p", "no:cacheprovider"]

#: A conftest that registers a backend with no PLIF and a LIF that never fires.
BROKEN_BACKEND = '''
from step import hookimpl
from step.reference.backend import ReferenceBackend
from step.reference.neurons import ReferenceNeuron
from step.registry import register_plugin, unregister_plugin
from step.support import Support


class Mute(ReferenceNeuron):
    def run(self, x, state, record_v):
        spikes, v_seq, final = super().run(x, state, record_v)
        return spikes * 0, v_seq, final


class Broken(ReferenceBackend):
    name = "broken"

    def neuron_support(self, spec):
        if spec.kind == "plif":
            return Support.unsupported("broken has no PLIF")
        return super().neuron_support(spec)

    def _build_neuron(self, spec, support):
        return Mute(spec)


class Plugin:
    @hookimpl
    def step_backends(self):
        return [Broken()]


register_plugin(Plugin(), "broken-plugin")


def pytest_unconfigure(config):
    unregister_plugin("broken-plugin")  # the registry outlives this in-process run
'''


def test_one_passing_test_per_case_for_the_reference(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_own="def test_own():\n    assert True\n")
    result = pytester.runpytest_inprocess(
        *PLUGIN, "--step-backend", "reference", "--step-dtype", "float32",
        "--step-cases", "lif-tau5/*/multi-step/T32/*", "-v")
    result.assert_outcomes(passed=8)  # the project's own test and 7 drives
    result.stdout.fnmatch_lines(["*conformance?reference:lif-tau5/random/multi-step/T32/"
                                 "float32? PASSED*"])


def test_fail_fails_unsupported_skips_with_the_reason(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(BROKEN_BACKEND)
    result = pytester.runpytest_inprocess(
        *PLUGIN, "--step-backend", "broken", "--step-dtype", "float32",
        "--step-cases", "*-tau2/constant/multi-step/*", "-rs")
    result.assert_outcomes(failed=1, skipped=1)  # lif-tau2 fails, plif-tau2 is skipped
    result.stdout.fnmatch_lines(["*broken lif-tau2/constant/*fail: spikes differ*",
                                 "*broken has no PLIF*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_without_the_option_the_plugin_adds_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_own="def test_own():\n    assert True\n")
    result = pytester.runpytest_inprocess(*PLUGIN)
    result.assert_outcomes(passed=1)


def test_unknown_backend_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess(*PLUGIN, "--step-backend", "nosuch")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown backend 'nosuch'*"])
