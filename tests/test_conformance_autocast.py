"""The bf16 autocast case set: a backend that is right conforms, a faulty one does not.

The set runs each module on a bfloat16 input under ``torch.autocast(bfloat16)`` and compares it
with the float32 oracle on the same input, under the ``bf16-autocast`` tolerance
(conformance/policy.py). Which backends conform under autocast is measured in
docs/conformance.md; here the reference must pass every case, and faulty backends (tests/
faulty_backends.py) must each fail at least one.
"""

from __future__ import annotations

import pytest
import torch
from faulty_backends import SpecFault, first_failure

from step.cli import main
from step.conformance.cases import autocast_cases
from step.conformance.placement import Placed
from step.conformance.policy import AUTOCAST, TOLERANCES
from step.conformance.runner import run_suite
from step.registry import get_backend
from step.specs import LIFSpec


def test_the_set_and_its_tolerance() -> None:
    cases = autocast_cases()
    assert cases and all(c.dtype == AUTOCAST for c in cases)
    assert {c.spec.kind for c in cases} == {"if", "lif", "plif"}
    assert {c.mode for c in cases} == {"multi-step", "input-grad"}
    assert not any(c.spec.reset == "soft" or c.strict_threshold for c in cases)
    # bfloat16 spacing at 1.0 is 2^-7: the band must hold at least one spacing
    assert TOLERANCES[AUTOCAST].threshold_band >= 2**-7


def test_the_module_really_runs_in_bfloat16_under_autocast() -> None:
    seen = {}

    class Spy(torch.nn.Module):
        spec = LIFSpec()
        record_v = False
        v_seq = None
        last_state = None

        def forward(self, x, state=None):
            seen["dtype"], seen["autocast"] = x.dtype, torch.is_autocast_enabled("cpu")
            return (x > 1).to(x.dtype)

    placed = Placed(Spy(), "cpu", True, torch.float32)
    out = placed(torch.full((2, 1, 3), 1.5))
    assert seen == {"dtype": torch.bfloat16, "autocast": True} and out.dtype == torch.float32


def test_the_reference_conforms_under_autocast() -> None:
    report = run_suite([get_backend("reference")], autocast_cases())
    assert not report.failed, [r.detail for r in report.results if r.status.failed][:3]


@pytest.mark.parametrize("name,transform", [
    ("autocast-tau-off", lambda s: s.model_copy(update={"tau": s.tau * 1.3})
     if hasattr(s, "tau") else s),
    ("autocast-reset-to-zero", lambda s: s.model_copy(update={"v_reset": 0.0})),
    ("autocast-threshold-off", lambda s: s.model_copy(update={"v_threshold":
                                                              s.v_threshold * 1.05})),
])
def test_a_faulty_backend_fails_the_autocast_set(name, transform) -> None:
    assert first_failure(SpecFault(name, transform), autocast_cases()) is not None


def test_cli_runs_the_set(tmp_path, capsys) -> None:
    out = tmp_path / "r"
    assert main(["conformance", "--backends", "reference", "--dtype", "bf16-autocast",
                 "--cases", "lif-tau5/random", "--out", str(out)]) == 0
    assert f"/T32/{AUTOCAST}" in (out / "report.json").read_text()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_the_reference_conforms_on_cuda() -> None:
    from step.conformance.cases import catalogue

    report = run_suite([get_backend("reference")], catalogue(["float32"], "lif-tau5"),
                       device="cuda")
    assert not report.failed
