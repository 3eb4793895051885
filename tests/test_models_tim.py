"""TIM beyond the golden file: the module's recurrence by hand, it learns the embedded event
digits, and its config refuses what it cannot build.

Equivalence with STEP's code is in tests/test_official_equivalence.py, counts in
tests/test_models_counts.py, cross-backend identity in tests/test_models_backends.py (all
parametrised over the registry or listing this model).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from train_helpers import loss_drop, train_briefly

import step.models as models
import step.nn as snn
from step.errors import SpecError
from step.models.tim import TemporalInteraction


def _tim(threshold: float, alpha: float, weight: float) -> TemporalInteraction:
    """TIM over one token of one channel, kernel 1 (the interactor is ``weight * y``)."""
    spec = {"kind": "lif", "tau": 2.0, "v_threshold": threshold, "reset": "hard",
            "detach_reset": True, "fire": "gt"}
    module = TemporalInteraction(1, lambda role="neuron": snn.Neuron(spec), alpha, kernel=1)
    with torch.no_grad():
        module.interactor.module.weight.fill_(weight)
        module.interactor.module.bias.zero_()
    return module


def _run(module: TemporalInteraction, q: list[float]) -> list[float]:
    with torch.no_grad():
        return module(torch.tensor(q).reshape(len(q), 1, 1, 1, 1)).flatten().tolist()


def test_the_output_neuron_keeps_its_membrane_across_steps() -> None:
    """alpha 0 (no interaction), threshold 0.6, q = 0, 1, 1, 1. Step 0 passes q. Then the
    output LIF charges h = v + (q - v) / 2: 0.5 (no spike), 0.5 + 0.25 = 0.75 > 0.6 (spike,
    reset to 0), 0.5 (no spike). A neuron restarted every step would see 0.5 each time and
    never fire."""
    assert _run(_tim(0.6, 0.0, 0.0), [0.0, 1.0, 1.0, 1.0]) == [0.0, 0.0, 1.0, 0.0]


def test_the_interactor_carries_the_previous_output_forward() -> None:
    """alpha 1 (only the interaction), weight 4, threshold 0.4: a query spike at step 0 only.
    Step 1: in-LIF h = 4 / 2 = 2 > 0.4 (spike), out-LIF h = 1 / 2 = 0.5 > 0.4 (spike); the
    same each later step (both reset to 0): the step-0 spike is carried to every step. With
    no query spike at step 0 nothing ever fires."""
    assert _run(_tim(0.4, 1.0, 4.0), [1.0, 0.0, 0.0, 0.0]) == [1.0, 1.0, 1.0, 1.0]
    assert _run(_tim(0.4, 1.0, 4.0), [0.0, 0.0, 0.0, 0.0]) == [0.0, 0.0, 0.0, 0.0]


def test_step_train_learns_the_embedded_event_digits_above_chance(tmp_path: Path,
                                                                  capsys) -> None:
    """``step train`` on the embedded saccade-event digits (8 x 8 ON/OFF frames, T = 4; no
    download), 5 epochs of 320 recordings. Chance is 10 %; 150 test recordings at chance
    reach 20 % with probability below 1e-3."""
    result = train_briefly(tmp_path / "run", capsys, "tim", "tiny", "digits_events", epochs=5,
                           train=320, evaluate=150, batch=32, lr=0.03)
    assert result["dataset"]["layout"] == "event"
    assert loss_drop(result) > 0.15, result["history"]
    assert result["test"]["n"] == 150 and result["test"]["acc"] > 0.2


@pytest.mark.parametrize(("overrides", "message"), [
    ({"tim_kernel": 4}, "tim_kernel must be odd"),
    ({"attention": "sdsa"}, "attention ssa"),
    ({"pre_activation": True}, "attention ssa"),
])
def test_what_tim_cannot_build_is_a_spec_error(overrides: dict, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        models.get_config("tim", "tiny", **overrides)
