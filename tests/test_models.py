"""The model registry and every registered model's tiny preset (parametrised over the registry)."""

from __future__ import annotations

import pytest
import torch

import step.models as models
from step.errors import InputError, SpecError
from step.models.config import ModelConfig
from step.nn import NeuronModule

MODELS = models.list_models()
B = 2


def _is_points(name: str) -> bool:
    """A point-cloud model (SPT) takes clouds ``[B, N, C]``, not images."""
    return hasattr(models.get_config(name, "tiny"), "num_points")


IMAGE_MODELS = [n for n in MODELS if not _is_points(n)]


def _tiny_input(config: ModelConfig, batch: int = B) -> torch.Tensor:
    torch.manual_seed(1)
    if hasattr(config, "num_points"):
        return torch.rand(batch, config.num_points, config.in_channels)
    return torch.rand(batch, config.in_channels, config.img_size, config.img_size)


def _neurons(model: torch.nn.Module) -> dict[str, NeuronModule]:
    return {n: m for n, m in model.named_modules() if isinstance(m, NeuronModule)}


# -- registry ---------------------------------------------------------------------------------


def test_every_family_is_registered() -> None:
    expected = {"spiking_mlp", "spiking_cnn", "spikformer", "sdt", "qkformer", "spikingformer",
                "spikingresformer"}
    assert expected <= set(MODELS)


def test_list_models_takes_wildcards() -> None:
    assert models.list_models("spiking_*") == ["spiking_cnn", "spiking_mlp", "spiking_rnn"]
    assert models.list_models("nothing*") == []


@pytest.mark.parametrize("name", MODELS)
def test_every_model_has_a_tiny_preset_and_its_default_first(name: str) -> None:
    presets = models.list_presets(name)
    assert "tiny" in presets
    assert presets[0] == models.model_entry(name).default_preset


def test_create_applies_nested_overrides_and_records_config_and_backend() -> None:
    model = models.create("spikformer", "tiny", depth=2, neuron={"tau": 3.0})
    assert model.backend_name == "reference"
    assert model.config.depth == 2 and len(model.blocks) == 2
    assert model.config.neuron.tau == 3.0
    assert model.config.neuron.v_threshold == 1.0  # the rest of the preset's neuron stays
    assert model.config.attn_neuron.v_threshold == 0.5


def test_override_with_another_kind_replaces_the_neuron() -> None:
    config = models.get_config("spiking_cnn", "tiny", neuron={"kind": "if"})
    assert config.neuron.kind == "if"


def test_unknown_config_key_is_one_line_error() -> None:
    with pytest.raises(SpecError, match="emb_dim") as err:
        models.create("spikformer", "tiny", emb_dim=64)
    assert "\n" not in str(err.value)
    with pytest.raises(SpecError, match="taux"):
        models.get_config("sdt", "tiny", neuron={"taux": 3.0})


def test_invalid_shapes_are_spec_errors() -> None:
    with pytest.raises(SpecError, match="num_heads"):
        models.get_config("spikformer", "tiny", num_heads=3)
    with pytest.raises(SpecError, match="patch_size"):
        models.get_config("spikformer", "tiny", patch_size=3)


def test_unknown_names_suggest_close_matches() -> None:
    with pytest.raises(models.UnknownModelError, match="did you mean 'spikformer'"):
        models.create("spikformr")
    with pytest.raises(models.UnknownModelError, match="did you mean 'cifar10'"):
        models.get_config("spikformer", "cifar1O")


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(SpecError.__mro__[1]):  # StepError
        models.create("spiking_mlp", "tiny", backend="no_such_backend")


def test_duplicate_registration_raises() -> None:
    def spikformer(config, backend):  # same name as a registered model
        raise AssertionError("never built")

    with pytest.raises(SpecError, match="registered twice"):
        models.register_model(ModelConfig, {"tiny": {}})(spikformer)


def test_a_new_registration_is_listed_and_created() -> None:
    from step.models.baselines import SpikingMLP, SpikingMLPConfig

    def throwaway_mlp(config, backend):
        return SpikingMLP(config, backend)

    models.register_model(SpikingMLPConfig, {"tiny": {"img_size": 4, "in_channels": 1}})(
        throwaway_mlp)
    try:
        assert "throwaway_mlp" in models.list_models()
        assert models.create("throwaway_mlp")(torch.rand(2, 1, 4, 4)).shape == (2, 10)
    finally:
        models._registry.unregister_model("throwaway_mlp")


def test_config_T_drives_the_encoder_and_conflicts_are_errors() -> None:
    assert models.get_config("spiking_mlp", "tiny", T=3).encoder.T == 3
    assert models.get_config("spiking_mlp", "tiny", T=3, encoder="rate").encoder.T == 3
    with pytest.raises(SpecError, match="encoder.T"):
        models.get_config("spiking_mlp", "tiny", T=4, encoder={"kind": "rate", "T": 5})


def test_wrong_input_shape_is_input_error() -> None:
    model = models.create("spikformer", "tiny")
    with pytest.raises(InputError, match="img_size"):
        model(torch.rand(2, 1, 16, 16))
    with pytest.raises(InputError):
        model(torch.rand(2, 64))


def test_spiking_mlp_takes_vectors_sequences_and_frames() -> None:
    model = models.create("spiking_mlp", "tiny")
    assert model(torch.rand(2, 64)).shape == (2, 10)
    assert model(torch.rand(5, 2, 64)).shape == (2, 10)
    assert model(torch.rand(3, 2, 1, 8, 8)).shape == (2, 10)


def test_static_input_equals_its_direct_encoding_as_frames() -> None:
    model = models.create("spikformer", "tiny")
    x = _tiny_input(model.config)
    frames = x.unsqueeze(0).repeat(model.config.T, 1, 1, 1, 1)
    assert torch.equal(model(x), model(frames))


# -- every model ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", MODELS)
def test_tiny_preset_trains_on_the_reference(name: str) -> None:
    torch.manual_seed(0)
    model = models.create(name, "tiny")
    x = _tiny_input(model.config)
    out = model(x)
    assert out.shape == (B, model.config.num_classes)
    assert torch.isfinite(out).all()
    out.logsumexp(-1).sum().backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{pname} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{pname} has a non-finite gradient"
    assert any(p.grad.abs().sum() > 0 for p in model.parameters())


@pytest.mark.parametrize("name", MODELS)
def test_every_neuron_carries_the_configured_spec(name: str) -> None:
    """The published STEP lost its surrogate through a misnamed kwarg; here every neuron
    module's spec must be the config's spec for its role, surrogate and parameters included."""
    sg = {"kind": "triangle", "alpha": 0.7}
    model = models.create(name, "tiny", surrogate=sg, neuron={"tau": 3.0, "v_threshold": 0.9})
    config = model.config
    role_specs = [config.spec(r) for r in config.neuron_roles]
    neurons = _neurons(model)
    assert neurons, "a spiking model without neurons"
    used = set()
    for mname, module in neurons.items():
        assert module.spec in role_specs, f"{mname}: {module.spec!r} is no configured role"
        assert module.spec.surrogate.kind == "triangle" and module.spec.surrogate.alpha == 0.7
        assert module.backend_name == "reference"
        used.add(role_specs.index(module.spec))
        assert "lif" in mname.rsplit(".", 1)[-1] or mname.split(".")[-2] in ("lifs",), mname
    assert config.neuron.tau == 3.0 and config.neuron.v_threshold == 0.9
    assert used == set(range(len(role_specs))), "a configured neuron role is never used"


@pytest.mark.parametrize("name", MODELS)
def test_time_first_frames_of_any_length(name: str) -> None:
    """Except for a model whose head has a weight per time step (``fixed_time_steps``:
    SGLFormer's head convolution spans its T steps): frames of another length are refused."""
    model = models.create(name, "tiny")
    c = model.config
    if getattr(model, "fixed_time_steps", False):
        with pytest.raises(InputError, match=f"T={c.T} time steps, got 3"):
            model(torch.rand(3, B, c.in_channels, c.img_size, c.img_size))
        return
    if _is_points(name):  # encoded steps [T, B, points, channels]
        frames = torch.rand(3, B, c.points_per_step, c.in_channels)
    else:
        frames = torch.rand(3, B, c.in_channels, c.img_size, c.img_size)
    with torch.no_grad():
        out = model(frames)
    assert out.shape == (B, c.num_classes)


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_tiny_preset_runs_on_cifar_sized_input(name: str) -> None:
    """A batch of two: in training mode SGLFormer's head BatchNorm sees one value per channel
    and sample (as the original's), which a batch of one cannot normalise."""
    model = models.create(name, "tiny", img_size=32, in_channels=3, T=2)
    with torch.no_grad():
        out = model(torch.rand(B, 3, 32, 32))
    assert out.shape == (B, model.config.num_classes) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", ["spikformer", "sdt", "spikingformer"])
@pytest.mark.parametrize("attention", ["ssa", "sdsa", "qk_token"])
def test_attention_is_one_config_key(name: str, attention: str) -> None:
    model = models.create(name, "tiny", attention=attention)
    assert all(b.attn.kind == attention for b in model.blocks)
    assert hasattr(model.blocks[0].attn, "v") == (attention != "qk_token")
    model(_tiny_input(model.config)).sum().backward()


@pytest.mark.parametrize("embedding", ["sps", "sps_membrane", "sps_pre", "conv"])
def test_embedding_is_one_config_key(embedding: str) -> None:
    model = models.create("spikformer", "tiny", embedding=embedding)
    assert model.embed.style == embedding
    assert model(_tiny_input(model.config)).shape == (B, 10)
