"""The reference backend meets the oracle on every field combination and every exact tie of
every kind (forward): a quick check of the shared functional equations (soft reset, non-zero
v_reset, decay_input, the fire rule at a tie) where the hand traces run at their defaults."""

from __future__ import annotations

import pytest

from step.conformance.cases import catalogue
from step.conformance.expect import expected
from step.conformance.runner import run_case
from step.registry import get_backend

COMBINATIONS = [c for c in catalogue(["float32"]) if "[" in c.name and c.mode == "multi-step"
                and c.spec.kind not in ("hh", "izhikevich")]
COMBINATIONS += [c for c in catalogue(["float64"]) if "-tie" in c.name and c.spec.kind != "hh"]


def test_the_combinations_cover_soft_resets_with_a_non_zero_v_reset_and_ties() -> None:
    kinds = {c.spec.kind for c in COMBINATIONS if c.spec.reset == "soft" and c.spec.v_reset}
    assert {"if", "lif", "plif", "klif", "alif", "cuba_lif", "eif", "hdlif"} <= kinds
    assert {c.spec.fire for c in COMBINATIONS if c.strict_threshold} == {"gt", "ge"}


@pytest.mark.parametrize("kind", sorted({c.spec.kind for c in COMBINATIONS}))
def test_reference_matches_the_oracle_on_every_combination(kind: str) -> None:
    reference = get_backend("reference")
    for case in [c for c in COMBINATIONS if c.spec.kind == kind]:
        result = run_case(reference, case, expected(case))
        assert result.status.value == "pass", (case.id, result.detail)
