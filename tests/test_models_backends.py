"""Cross-backend identity: a model built with the same seed has the same initial weights on
every backend, and computes the same outputs and gradients (1e-5) where the neurons conform.

Parametrised over ``step.registry.available_backends()`` and ``list_models()``; a backend that
cannot compute a model's neuron specs is skipped with its reason. The presets' neurons detach the
reset (``detach_reset=True``, as the original code), so BrainCog, which always detaches, can run.
Two faulty backends built here on purpose show that the comparison catches a neuron that draws
random numbers while being built (shifted weights) and one that fires at another threshold.
"""

from __future__ import annotations

import pytest
import torch

import step
import step.models as models
from step.backend import Backend
from step.nn import NeuronModule
from step.reference.backend import ReferenceBackend
from step.reference.neurons import ReferenceNeuron
from step.registry import available_backends, get_backend, register_plugin, unregister_plugin
from step.support import Level

TOL = 1e-5
SEED = 7
OTHERS = [b for b in available_backends() if b != "reference"]


def _build(name: str, backend: str, **overrides: object) -> torch.nn.Module:
    torch.manual_seed(SEED)
    return models.create(name, "tiny", backend=backend, **overrides)


def _weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Parameters and buffers outside the neurons (neurons may keep their own tensors)."""
    neurons = {n for n, m in model.named_modules() if isinstance(m, NeuronModule)}
    return {k: v for k, v in model.state_dict().items()
            if not any(k.startswith(n + ".") for n in neurons)}


def _biases_into_batchnorm(model: torch.nn.Module, x: torch.Tensor) -> set[str]:
    """Biases of layers whose output goes straight into a BatchNorm. Their exact gradient is 0
    (BatchNorm subtracts the mean); what the float32 backward leaves is rounding noise, which
    a near-constant input (SPT's neighbour offsets rarely make its first neuron fire, so the
    next BatchNorm divides by sqrt(eps)) blows up to 1e-3. They are not compared."""
    produced: dict[int, str] = {}
    consumed: set[int] = set()
    alive: list[object] = []  # ids are only unique while the tensors live

    def hook(module: torch.nn.Module, args: tuple, out: object, name: str) -> None:
        alive.extend((args[0] if args else None, out))
        inner = getattr(module, "module", module)
        if isinstance(inner, torch.nn.modules.batchnorm._BatchNorm):
            consumed.add(id(args[0]))
        elif getattr(inner, "bias", None) is not None and isinstance(
                inner, (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Linear)):
            produced[id(out)] = name + (".module" if inner is not module else "") + ".bias"

    handles = [m.register_forward_hook(lambda mod, a, o, n=n: hook(mod, a, o, n))
               for n, m in model.named_modules() if n]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return {name for key, name in produced.items() if key in consumed}


def _run(model: torch.nn.Module, grad: bool) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    c = model.config
    shape = ((c.num_points, c.in_channels) if hasattr(c, "num_points")  # a point cloud
             else (c.in_channels, c.img_size, c.img_size))
    x = torch.rand(2, *shape, generator=torch.Generator().manual_seed(3))
    if not grad:
        with torch.no_grad():
            return model(x), {}
    noise = _biases_into_batchnorm(model, x)
    out = model(x)
    (out * torch.linspace(-1, 1, out.shape[-1])).sum().backward()
    return out.detach(), {n: p.grad for n, p in model.named_parameters()
                          if p.grad is not None and n not in noise}


def compare(name: str, backend: str, grad: bool = True, **overrides: object) -> dict[str, float]:
    """Largest differences between ``backend`` and the reference for model ``name``."""
    ref, other = _build(name, "reference", **overrides), _build(name, backend, **overrides)
    wr, wo = _weights(ref), _weights(other)
    assert wr.keys() == wo.keys()
    weights = max((wr[k].float() - wo[k].float()).abs().max().item() for k in wr)
    out_r, g_r = _run(ref, grad)
    out_o, g_o = _run(other, grad)
    result = {"weights": weights, "output": (out_r - out_o).abs().max().item()}
    if grad:
        assert g_r.keys() == g_o.keys()
        result["grad"] = max((g_r[k] - g_o[k]).abs().max().item() for k in g_r)
    return result


@pytest.mark.parametrize("backend", OTHERS)
@pytest.mark.parametrize("name", models.list_models())
def test_same_weights_outputs_and_gradients_on_every_backend(name: str, backend: str) -> None:
    config = models.get_config(name, "tiny")
    supports = [get_backend(backend).neuron_support(config.spec(r)) for r in config.neuron_roles]
    for s in supports:
        if s.forward is Level.UNSUPPORTED:
            pytest.skip(f"backend {backend!r} cannot run {name}'s neurons: {s.forward_how}")
    grad = all(s.gradient is not Level.UNSUPPORTED for s in supports)
    overrides: dict[str, object] = {}
    if not grad:
        # the preset's surrogate has no gradient there (Norse has no atan): train-path check
        # with sigmoid(4), which Norse computes natively (tanh, k = 2)
        overrides = {"surrogate": {"kind": "sigmoid", "alpha": 4.0}}
        config = models.get_config(name, "tiny", **overrides)
        supports = [get_backend(backend).neuron_support(config.spec(r))
                    for r in config.neuron_roles]
        grad = all(s.gradient is not Level.UNSUPPORTED for s in supports)
    diff = compare(name, backend, grad=grad, **overrides)
    assert diff["weights"] == 0.0, f"{backend}: initial weights differ from the reference"
    assert diff["output"] <= TOL, f"{backend}: outputs differ by {diff['output']}"
    if grad:
        assert diff["grad"] <= TOL, f"{backend}: gradients differ by {diff['grad']}"
    else:
        pytest.skip(f"backend {backend!r} has no gradient for {name}'s neurons; forward agreed")


# -- the comparison must be able to fail --------------------------------------------------------


class _RandomDrawingBackend(ReferenceBackend):
    """Reference neurons, but building one draws a random number (shifts later weights)."""

    name = "test_rng_drawing"

    def _build_neuron(self, spec, support):
        torch.rand(1)
        return ReferenceNeuron(spec)


class _HighThresholdBackend(ReferenceBackend):
    """Reference neurons firing at 1.25 x the configured threshold."""

    name = "test_high_threshold"

    def _build_neuron(self, spec, support):
        module = ReferenceNeuron(spec.model_copy(update={"v_threshold": spec.v_threshold * 1.25}))
        module.backend_name = self.name
        return module


class _Faulty:
    @step.hookimpl
    def step_backends(self) -> list[Backend]:
        return [_RandomDrawingBackend(), _HighThresholdBackend()]


@pytest.fixture
def faulty_backends():
    register_plugin(_Faulty(), "test_models_faulty")
    try:
        yield
    finally:
        unregister_plugin("test_models_faulty")


@pytest.mark.usefixtures("faulty_backends")
def test_a_neuron_that_draws_random_numbers_shifts_the_weights() -> None:
    assert compare("spikformer", "test_rng_drawing", grad=False)["weights"] > 0


@pytest.mark.usefixtures("faulty_backends")
def test_a_neuron_with_another_threshold_changes_outputs_and_gradients() -> None:
    diff = compare("spikformer", "test_high_threshold")
    assert diff["weights"] == 0.0
    assert diff["output"] > TOL and diff["grad"] > TOL


def test_the_reference_agrees_with_itself() -> None:
    diff = compare("sdt", "reference")
    assert diff == {"weights": 0.0, "output": 0.0, "grad": 0.0}


def test_only_biases_that_feed_a_batchnorm_are_left_out_of_the_gradients() -> None:
    """Spikformer's token projections are 1x1 convolutions with bias followed by BatchNorm:
    exactly their biases are left out; the head's bias (no BatchNorm after it) is compared."""
    from step.models.blocks import Pointwise

    model = _build("spikformer", "reference")
    x = torch.rand(2, 1, 8, 8)
    expected = {f"{n}.0.module.bias" for n, m in model.named_modules()
                if isinstance(m, Pointwise) and m[0].module.bias is not None}
    assert expected and _biases_into_batchnorm(model, x) == expected
